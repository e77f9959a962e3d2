"""The shell on every screen, the error modal, abort (confirmed, never after the finish) and F1."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.widgets import Markdown

from ceremony.errors import CeremonyError
from ceremony.tui import runbook
from ceremony.tui.modals import AbortModal, ErrorModal, HelpModal
from ceremony.tui.screens.component_entry import ComponentEntryScreen
from ceremony.tui.screens.finish import FinishScreen, FinishView
from ceremony.tui.screens.working import WorkingScreen
from ceremony.tui.widgets.journal_panel import JournalPanel, hash_lines
from tests.tui import fixtures
from tests.tui.conftest import app_with
from tests.tui.screen_text import screen_text, static_text


def entry_screen() -> ComponentEntryScreen:
    return ComponentEntryScreen(fixtures.EMMA, fixtures.header(), None)


async def test_header_banner_keyboard_line_and_journal() -> None:
    entries = fixtures.entries()
    app = app_with(entry_screen, journal=entries)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "ceremony 2025-07-zmk-backup  ·  split-backup" in text
        assert "step 7 of 12" in text
        assert "REHEARSAL: nothing made here may be used for a real key" in text
        assert "Now at the keyboard: Emma Brown, key custodian" in text
        assert "09:30:41 participant_present amartin" in text
        for line in hash_lines(entries[-1].hash):
            assert line in text
        # A new entry shows at once, with the new running hash.
        more = fixtures.entries(8)
        app.append_journal(more[6])
        app.append_journal(more[7])
        await pilot.pause()
        panel = app.screen.query_one(JournalPanel)
        assert panel.entries[-1] == more[7]
        assert hash_lines(more[7].hash)[0] in screen_text(app)


async def test_an_entry_the_panel_already_shows_is_not_listed_twice() -> None:
    entries = fixtures.entries()
    app = app_with(entry_screen, journal=entries)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(JournalPanel)
        panel.append(entries[-1])  # the signal of an entry the screen copied when it mounted
        panel.append(entries[0])
        assert panel.entries == tuple(entries)


async def test_no_banner_in_production() -> None:
    app = app_with(entry_screen, shell=replace(fixtures.SHELL, rehearsal=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "REHEARSAL" not in screen_text(app)


async def test_one_error_modal_says_what_happened_and_what_to_do() -> None:
    app = app_with(entry_screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.show_error(CeremonyError("the token was removed", hint="plug it in and start again"))
        app.show_error(CeremonyError("second problem", hint="second hint"))
        await pilot.pause()
        assert isinstance(app.screen, ErrorModal)
        text = screen_text(app)
        assert "What happened" in text and "the token was removed" in text
        assert "What to do" in text and "plug it in and start again" in text
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ErrorModal)  # the second waits its turn, same modal
        assert "second problem" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ComponentEntryScreen)


async def test_abort_is_one_key_away_and_asks_first() -> None:
    reasons: list[str] = []
    app = app_with(entry_screen, on_abort=reasons.append)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f10")
        await pilot.pause()
        assert isinstance(app.screen, AbortModal)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, ComponentEntryScreen)
        assert reasons == []
        await pilot.press("ctrl+q")  # leaving is an abort too
        await pilot.pause()
        assert isinstance(app.screen, AbortModal)
        await pilot.press("y")
        await pilot.pause()
        assert reasons == [
            "aborted by the operator at step 7 of 12: Emma Brown enters component "
            "1 of 3 of key 'zmk-prod'"
        ]


async def test_abort_without_an_engine_leaves_with_code_3() -> None:
    app = app_with(entry_screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f10", "y")
        await pilot.pause()
    assert app.return_code == 3 and app.return_value == 3


async def test_the_finish_screen_offers_no_abort() -> None:
    reasons: list[str] = []
    view = FinishView(True, None, fixtures.entries()[-1].hash, Path("x.journal.jsonl"), None, ())
    app = app_with(lambda: FinishScreen(view), on_abort=reasons.append)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "Abort" not in screen_text(app).splitlines()[-1]  # the footer
        assert "Leave" in screen_text(app).splitlines()[-1]
        await pilot.press("f10")
        await pilot.pause()
        await pilot.press("ctrl+q", "ctrl+c")
        await pilot.pause()
        assert isinstance(app.screen, FinishScreen)
        assert reasons == [] and app.aborted_reason is None
        await pilot.press("f1")  # under a modal too
        await pilot.pause()
        assert isinstance(app.screen, HelpModal)
        await pilot.press("f10")
        await pilot.pause()
        assert not any(isinstance(s, AbortModal) for s in app.screen_stack)
        assert reasons == []


async def test_f1_shows_the_runbook_for_the_current_step() -> None:
    app = app_with(entry_screen)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpModal)
        section = runbook.section("Component entry")
        assert section is not None
        help_modal = app.screen
        assert help_modal.section == section
        assert static_text(app, ".modal-title") == f"Runbook, step {section.heading}"
        assert section.title.startswith("Component entry") and "- CHECK:" in section.body
        assert help_modal.query_one(Markdown).source == section.body
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ComponentEntryScreen)


async def test_the_working_screen_keeps_what_the_engine_said_before_it_was_composed() -> None:
    # The engine's worker may reach the screen before Textual composed it (a slow UI under
    # load); a query that found nothing then killed the worker and the run hung.
    working = WorkingScreen()
    working.set_status("checking the ceremony file")
    working.add_notices(["the token reports no serial"])
    app = app_with(lambda: working)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.screen is working
        assert static_text(app, "#working-status") == "checking the ceremony file"
        assert static_text(app, "#working-notices") == "• the token reports no serial"
        working.set_status("opening the journal")
        await pilot.pause()
        assert "opening the journal" in screen_text(app)

"""Component entry: live line checks at the right line, masking, KCV, scanner and paste."""

from __future__ import annotations

from typing import Any

from textual.events import Paste
from textual.widgets import Input

from ceremony.core import encoding
from ceremony.tui.screens.component_entry import ComponentEntryScreen, EnteredComponent
from ceremony.tui.widgets.component_entry import ComponentEntry, LineState, ScanInput
from tests.tui import fixtures
from tests.tui.conftest import app_with, burst
from tests.tui.screen_text import screen_text

CHECK = encoding.component_kcv(fixtures.component())
LINES = [line.split(":", 1)[1].strip() for line in fixtures.value_lines()]  # 4 value + SUM


def entry_screen(*, check: Any = CHECK, index: int = 1) -> ComponentEntryScreen:
    return ComponentEntryScreen(fixtures.EMMA, fixtures.header(index), check)


def swapped(line: str) -> str:
    """The line with two different neighbouring hex digits swapped (the letter catches it)."""
    i = next(
        i for i in range(len(line) - 1) if line[i] != line[i + 1] and " " not in line[i : i + 2]
    )
    return line[:i] + line[i + 1] + line[i] + line[i + 2 :]


async def test_a_wrong_line_is_flagged_at_that_line_as_it_is_typed() -> None:
    app = app_with(entry_screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        entry = app.screen.query_one(ComponentEntry)
        await burst(pilot, LINES[0] + "\n")
        # Line 02 typed with two digits swapped: flagged when its check letter is typed,
        # before Enter, at line 02 and nowhere else.
        await burst(pilot, swapped(LINES[1]))
        await pilot.pause()
        assert entry.line_state(1) is LineState.OK
        assert entry.line_state(2) is LineState.WRONG
        assert all(entry.line_state(n) is LineState.EMPTY for n in (3, 4, 0))
        text = screen_text(app)
        assert "✗ value line 02: the check letter does not match" in text
        # Partly typed lines are not judged yet.
        await pilot.press("ctrl+u")
        await burst(pilot, LINES[1][:6])
        await pilot.pause()
        assert entry.line_state(2) is LineState.TYPING
        await pilot.press("ctrl+u")
        await burst(pilot, LINES[1] + "\n")
        await pilot.pause()
        assert entry.line_state(2) is LineState.OK
        assert app.screen.focused is entry.line_input(3)


async def test_typed_lines_complete_the_component_with_its_kcv() -> None:
    results: list[EnteredComponent | None] = []
    app = app_with(entry_screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.dismiss = lambda result=None: results.append(result)  # type: ignore[method-assign,assignment]
        await pilot.press("f5")  # nothing to accept yet
        assert results == []
        for line in LINES:
            await burst(pilot, line + "\n")
        await pilot.pause()
        assert f"Its KCV: {CHECK}" in screen_text(app)
        await pilot.press("f5")
        await pilot.pause()
        entered = results[0]
        assert entered is not None
        assert encoding.component_kcv(entered.component) == CHECK
        assert entered.component.value.reveal() == fixtures.VALUE
        assert entered.lines == (f"KCV: {CHECK}", *fixtures.value_lines())


async def test_masking_on_request() -> None:
    app = app_with(entry_screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        entry = app.screen.query_one(ComponentEntry)
        await burst(pilot, LINES[0])
        assert not any(i.password for i in entry.inputs())
        assert LINES[0][:4] in screen_text(app)
        await pilot.press("f3")
        await pilot.pause()
        assert all(i.password for i in entry.inputs())
        assert LINES[0][:9] not in screen_text(app)
        await pilot.press("f3")
        await pilot.pause()
        assert not any(i.password for i in entry.inputs())


async def test_the_kcv_line_is_asked_for_when_the_ceremony_does_not_know_it() -> None:
    app = app_with(lambda: entry_screen(check=None))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        entry = app.screen.query_one(ComponentEntry)
        assert app.screen.focused is entry.query_one("#input-kcv", Input)
        await burst(pilot, "00000F\n")
        await pilot.pause()
        for line in LINES:
            await burst(pilot, line + "\n")
        await pilot.pause()
        assert entry.component_kcv is None
        assert "KCV" in entry.problem  # the KCV typed does not fit the value
        await pilot.press("f4")
        await burst(pilot, CHECK.hex + "\n")
        for line in LINES:
            await burst(pilot, line + "\n")
        await pilot.pause()
        assert entry.component_kcv == CHECK


async def test_a_scanner_typing_the_qr_payload_fills_the_whole_component() -> None:
    results: list[EnteredComponent | None] = []
    app = app_with(entry_screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.dismiss = lambda result=None: results.append(result)  # type: ignore[method-assign,assignment]
        entry = app.screen.query_one(ComponentEntry)
        assert isinstance(entry.first_input(), ScanInput)
        await burst(pilot, encoding.qr_payload(fixtures.component()))
        await pilot.pause()
        assert entry.complete
        assert all(entry.line_state(n) is LineState.OK for n in (1, 2, 3, 4, 0))
        assert all(i.password for i in entry.inputs())  # scanned digits stay masked
        assert not entry.first_input().scanning
        await pilot.press("f5")
        await pilot.pause()
        assert results and results[0] is not None
        assert results[0].component.value.reveal() == fixtures.VALUE


async def test_a_pasted_component_text_fills_the_component() -> None:
    app = app_with(entry_screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        entry = app.screen.query_one(ComponentEntry)
        entry.first_input().post_message(Paste(encoding.to_text(fixtures.component())))
        await pilot.pause()
        assert entry.complete
        assert entry.component_kcv == CHECK


async def test_a_scanned_paper_of_another_component_is_refused() -> None:
    app = app_with(lambda: entry_screen(index=2))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        entry = app.screen.query_one(ComponentEntry)
        await burst(pilot, encoding.qr_payload(fixtures.component(1)))
        await pilot.pause()
        assert not entry.complete
        assert entry.component_kcv is None
        assert entry.problem.startswith("this paper is component 1 of 3 of key 'zmk-prod'")
        assert "not the one asked for here" in entry.problem


async def test_a_damaged_scan_names_the_line() -> None:
    app = app_with(entry_screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        entry = app.screen.query_one(ComponentEntry)
        text = encoding.to_text(fixtures.component())
        damaged = text.replace(LINES[2], swapped(LINES[2]))
        entry.first_input().post_message(Paste(damaged))
        await pilot.pause()
        assert not entry.complete
        assert entry.problem.startswith("scan: value line 03")

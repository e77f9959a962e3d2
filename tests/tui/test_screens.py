"""Confirmation, approval, start, finish."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from textual.widgets import Input, OptionList

from ceremony.core import journal
from ceremony.core.ceremony_file import parse_ceremony_file
from ceremony.core.rules import Role
from ceremony.engine.requests import Request, RequestKind, Who
from ceremony.engine.step_id import StepId
from ceremony.tui.app import CeremonyApp
from ceremony.tui.modals import ErrorModal, ReportModal
from ceremony.tui.requests import People, Reply
from ceremony.tui.screens.approval import Approval, ApprovalScreen
from ceremony.tui.screens.confirm import ConfirmScreen, as_keypress
from ceremony.tui.screens.finish import FinishScreen, FinishView
from ceremony.tui.screens.start import StartChoice, StartScreen
from ceremony.tui.widgets.approval import Approver
from ceremony.tui.widgets.journal_panel import hash_lines
from tests.tui import fixtures
from tests.tui.conftest import app_with, burst
from tests.tui.screen_text import screen_text, static_text

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
APPROVERS = [
    Approver("amartin", "Alice Martin", "security officer"),
    Approver("cwright", "Chloe Wright", "witness"),
    Approver("bnoor", "Bilal Noor", "security officer"),
]


def capture(app: CeremonyApp) -> list[Any]:
    results: list[Any] = []
    app.screen.dismiss = lambda result=None: results.append(result)  # type: ignore[method-assign,assignment]
    return results


def test_type_yes_reads_press_y_and_nothing_else_changes() -> None:
    assert as_keypress("Emma Brown: type yes when nobody else can see the screen.") == (
        "Emma Brown: press Y when nobody else can see the screen."
    )
    assert as_keypress("A wrong PIN locks it. Type yes to use the last try.") == (
        "A wrong PIN locks it. Press Y to use the last try."
    )
    assert as_keypress("type yesterday's time; say yes aloud") == (
        "type yesterday's time; say yes aloud"
    )


async def test_a_confirmation_says_press_y_and_takes_the_one_key() -> None:
    people = People(parse_ceremony_file((DATA / "rehearsal.toml").read_bytes()).roster)
    confirmation = Request(
        step_id=StepId.parse("roll-call/ebrown/present"),
        stage=2,
        stages=12,
        title="Roll call: Emma Brown",
        who=Who("ebrown", Role.KEY_CUSTODIAN, ("ebrown",), "Emma Brown"),
        kind=RequestKind.CONFIRMATION,
        prompt="Emma Brown: show staff badge 0211 to the security officer, then type yes to "
        "confirm you are Emma Brown (ebrown) and take part as key custodian.",
    )
    app = app_with(lambda: ConfirmScreen(confirmation, people))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        results = capture(app)
        prompt = static_text(app, "#request-prompt")
        assert "then press Y to confirm you are Emma Brown (ebrown)" in prompt
        assert "type yes" not in screen_text(app)
        await pilot.press("y")
        await pilot.pause()
        assert results == [Reply("yes", "ebrown")]


async def test_the_approver_selects_their_name_and_types_a_masked_passphrase() -> None:
    app = app_with(lambda: ApprovalScreen("export key zmk-prod in clear", APPROVERS, ["cwright"]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        results = capture(app)
        options = app.screen.query_one(OptionList)
        # Whoever approved already cannot be chosen again.
        assert options.get_option("cwright").disabled
        await pilot.press("down", "enter")  # from Alice, down skips the disabled entry
        await pilot.pause()
        passphrase = app.screen.query_one("#approval-passphrase", Input)
        assert passphrase.password and app.screen.focused is passphrase
        await burst(pilot, "correct horse battery\n")
        await pilot.pause()
        assert "correct horse" not in screen_text(app)
        assert results == [Approval("bnoor", "correct horse battery")]
        assert passphrase.value == ""


async def test_start_shows_the_summary_and_checks_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "ceremony.toml"
    shutil.copy(DATA / "rehearsal.toml", path)
    app = app_with(lambda: StartScreen(path, workdir=tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        results = capture(app)
        text = static_text(app, "#start-summary")
        assert "Ceremony 2025-07-tui-rehearsal: split-backup" in text
        assert "This is a REHEARSAL" in text
        assert "Ceremony file SHA-256:" in text
        header = screen_text(app).splitlines()[0]
        assert "ceremony 2025-07-tui-rehearsal  ·  split-backup" in header
        # Production chosen for a rehearsal file: refused in the error modal.
        await pilot.press("tab", "down", "enter")  # the mode radio set: Production
        await pilot.press("f5")
        await pilot.pause()
        assert isinstance(app.screen, ErrorModal)
        assert "the other mode was chosen" in static_text(app, "#error-message")
        await pilot.press("enter", "up", "enter", "f5")
        await pilot.pause()
        (choice,) = results
        assert isinstance(choice, StartChoice)
        assert choice.rehearsal and choice.file.path == path
        # What the F5 hands on is what the summary's SHA-256 was computed from: the file's bytes.
        assert choice.file.data == path.read_bytes()
        assert choice.file.sha256 == journal.FileDigest.of(path.read_bytes())
        assert "\n".join(choice.file.digest_lines()) in text


async def test_start_copies_a_template_and_never_overwrites(tmp_path: Path) -> None:
    app = app_with(lambda: StartScreen(workdir=tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        options = app.screen.query_one("#template-list", OptionList)
        names = [options.get_option_at_index(i).prompt for i in range(options.option_count)]
        assert "split-backup" in names
        options.focus()
        options.highlighted = names.index("split-backup")
        await pilot.press("enter")
        await pilot.pause()
        copy = tmp_path / "split-backup.toml"
        assert copy.read_bytes() == (ROOT / "templates" / "split-backup.toml").read_bytes()
        assert app.screen.query_one("#start-path", Input).value == str(copy)
        copy.write_text("# edited\n" + copy.read_text())
        await pilot.press("enter")  # the same template again
        await pilot.pause()
        assert isinstance(app.screen, ErrorModal)
        assert "already exists; it was not overwritten" in static_text(app, "#error-message")
        assert copy.read_text().startswith("# edited")


REPORT = "\n".join(
    [
        "ceremony verify: FAIL (1 of 37 checks failed)",
        "ceremony verify: out",
        "",
        *(f"PASS  check number {i:<20}  the reason it passed" for i in range(36)),
        "FAIL  record signature          the signature does not match the record",
    ]
)


async def test_finish_reads_hash_words_qr_then_the_verdict_and_the_report_behind_v() -> None:
    final = fixtures.entries()[-1].hash
    view = FinishView(
        True,
        None,
        final,
        Path("out/x.journal.jsonl"),
        Path("out"),
        ("bundle/REHEARSAL.txt",),
    )
    app = app_with(lambda: FinishScreen(view, verify=lambda: (REPORT, False)))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        finish = app.screen
        assert isinstance(finish, FinishScreen)
        text = screen_text(app)
        # At 80x24 the hash in hex and in words is on the first screen, not pushed down.
        assert all(line in text for line in hash_lines(final))
        assert journal.hash_word_lines(final)[-1].strip() in text
        order = [
            w.id
            for w in finish.query_one("#finish-scroll").query("*")
            if w.id and w.id.startswith("finish-") and w.id != "finish-hash-row"
        ]
        assert order == [
            "finish-hash",
            "finish-hex",
            "finish-words",
            "finish-qr",
            "finish-verify",
            "finish-journal",
            "finish-outputs",
        ]
        # The verdict is one line; the table is not on the screen.
        assert static_text(app, "#finish-verify") == "ceremony verify: FAIL (1 of 37 checks failed)"
        assert "check number" not in text
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, ReportModal)
        assert static_text(app, "#report-text") == REPORT
        assert "FAIL  record signature" not in screen_text(app)  # below: scrolls
        await pilot.press("end")
        await pilot.pause()
        assert "FAIL  record signature" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is finish


async def test_what_is_approved_stays_on_screen_with_many_names() -> None:
    many = [Approver(f"p{i}", f"Person {i}", "witness") for i in range(8)]
    prompt = (
        "Approval 1 of 2 to show a component on screen (demo-zmk component 1): the approver "
        "chooses themselves and types their approval passphrase."
    )
    app = app_with(lambda: ApprovalScreen("show a component on screen", many, prompt=prompt))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        summary = app.screen.query_one("#approval-summary")
        assert summary.parent is app.screen.query_one("#body")  # not in the scrolling part
        assert static_text(app, "#approval-summary") == (
            "Approval 1 of 2 to show a component on screen (demo-zmk component 1)"
        )
        assert "The approver chooses themselves" in screen_text(app)
        await pilot.press(*["down"] * 7, "enter")  # the last name: the list scrolls in itself
        await pilot.pause()
        text = screen_text(app)
        assert "(demo-zmk component 1)" in text
        assert "Person 7: type your passphrase." in text
        names = app.screen.query_one("#approver-list", OptionList)
        assert names.region.height < 10 and names.max_scroll_y > 0
        assert app.screen.focused is app.screen.query_one("#approval-passphrase", Input)

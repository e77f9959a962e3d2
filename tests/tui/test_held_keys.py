"""A doubled Enter, a held key and keys typed while the engine works never abort a ceremony.

A whole run on the fake token, its answers given with keys doubled and held (twelve at once) in
turn, and while the engine works on an answer (held there on purpose) a burst of keys is typed on
the working screen: the run finishes. Then each screen alone (every request screen, the import key,
the start, abort, report and finish screens): it answers once, however many times
its key arrives, and the screen under it stays. An error of the tool in the engine's worker
reaches the error modal, and F10 still leaves.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.screen import Screen

from ceremony.core import encoding, journal
from ceremony.core.ceremony_file import parse_ceremony_file
from ceremony.core.rules import Role
from ceremony.engine.machine import Machine
from ceremony.engine.requests import Request, RequestKind, Who
from ceremony.engine.step_id import StepId
from ceremony.errors import CeremonyError
from ceremony.tui.app import CeremonyApp
from ceremony.tui.driver import CeremonyRun
from ceremony.tui.main import MainApp
from ceremony.tui.modals import AbortModal, ConfirmModal, ErrorModal, HelpModal
from ceremony.tui.requests import People, Reply
from ceremony.tui.screens.approval import ApprovalScreen
from ceremony.tui.screens.choice import ChoiceScreen
from ceremony.tui.screens.component_display import ComponentDisplayScreen
from ceremony.tui.screens.component_entry import ComponentEntryScreen
from ceremony.tui.screens.confirm import ConfirmScreen
from ceremony.tui.screens.finish import FinishScreen
from ceremony.tui.screens.import_key import ImportKeyScreen
from ceremony.tui.screens.secret import SecretScreen
from ceremony.tui.screens.text import TextScreen
from ceremony.tui.screens.working import WorkingScreen
from ceremony.tui.widgets.approval import Approver
from tests.conftest import STUCK
from tests.tui import fixtures, test_ceremony_run
from tests.tui.conftest import app_with, burst
from tests.tui.test_ceremony_run import DATA, Room
from tests.tui.test_tries_again_fingerprints import PINS, _fake_token, ceremony

__all__ = ["_fake_token"]  # the fake-token fixture, used here too

# Typed on the working screen while the engine works: answers of every screen, and then some.
STRAY = ["enter", "y", "space", "a", "1", "n", "escape", "f4", "f5", "f6", "enter", "y"]


def send(pilot: Pilot[Any], keys: list[str]) -> None:
    """Queue ``keys`` at once, as a keyboard's auto-repeat or a fast double press does."""
    driver = pilot.app._driver
    assert driver is not None
    for name in keys:
        char = {"enter": "\r", "space": " ", "escape": "\x1b"}.get(name)
        event = events.Key(name, char if char is not None else (name if len(name) == 1 else None))
        event.set_sender(pilot.app)
        driver.send_message(event)


class Repeats:
    """How many times each key arrives at once, answer after answer: doubled, then held."""

    def __init__(self, times: tuple[int, ...]) -> None:
        self.times = itertools.cycle(times)

    def next(self) -> int:
        return next(self.times)


class RepeatingPilot(Pilot[Any]):
    """A pilot whose every key press arrives as many times at once as ``repeats`` says."""

    def __init__(self, app: Any, repeats: Repeats) -> None:
        super().__init__(app)
        self.repeats = repeats

    async def press(self, *keys: str) -> None:
        times = self.repeats.next()
        send(self, [key for key in keys for _ in range(times)])
        await self.pause()
        await self.pause()


class Gate:
    """Holds the engine inside ``Machine.answer`` until the test has typed on the working screen."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.go = threading.Event()
        self.held = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        answer = Machine.answer

        def gated(machine: Machine, value: str, *, by: str | None = None) -> Request | None:
            self.go.clear()
            self.holding.set()
            self.go.wait()
            return answer(machine, value, by=by)

        monkeypatch.setattr(Machine, "answer", gated)

    async def type_while_held(self, app: CeremonyApp, pilot: Pilot[Any]) -> None:
        assert isinstance(app.screen, WorkingScreen), app.screen
        send(pilot, STRAY)
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, WorkingScreen), app.screen  # nothing answered, no modal
        self.held += 1
        self.holding.clear()
        self.go.set()


def repeat_enter(monkeypatch: pytest.MonkeyPatch, repeats: Repeats) -> None:
    """Every text the room types ends in as many Enters as ``repeats`` says, not one."""
    burst = test_ceremony_run.burst

    async def repeated(pilot: Pilot[Any], text: str) -> None:
        if text.endswith("\n"):
            text += "\n" * (repeats.next() - 1)
        await burst(pilot, text)

    monkeypatch.setattr(test_ceremony_run, "burst", repeated)


async def run_with_keys(
    tmp_path: Path, kind: str, repeats: Repeats, gate: Gate
) -> tuple[Room, Any]:
    app = MainApp(ceremony(tmp_path, kind))
    room = Room(PINS)
    async with app.run_test(size=(120, 40)) as pilot:
        repeating = RepeatingPilot(app, repeats)
        await pilot.pause()
        await pilot.press("f5")
        deadline = time.monotonic() + STUCK
        while True:
            assert time.monotonic() < deadline, f"stuck: {room.screens[-5:]}"
            await pilot.pause()
            if gate.holding.is_set():
                await gate.type_while_held(app, pilot)
                continue
            screen = app.screen
            if isinstance(screen, FinishScreen):
                break
            if isinstance(screen, WorkingScreen) or not screen.is_mounted:
                await pilot.pause(0.05)
                continue
            await room.answer(repeating, app)
        view = screen.view
    assert view.finished, view.reason
    assert view.journal is not None
    assert journal.verify(view.journal.read_bytes(), require_closed=True).last.event == "finished"
    return room, view


async def test_a_generate_export_with_keys_doubled_and_held_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One run, not one per repeat count: the screens are the same, and each full run is slow.
    repeats = Repeats((2, 12))
    repeat_enter(monkeypatch, repeats)
    gate = Gate()
    gate.install(monkeypatch)
    room, _ = await run_with_keys(tmp_path, "generate-export", repeats, gate)
    seen = set(room.screens)
    assert {"SecretScreen", "ConfirmScreen", "TextScreen", "ImportKeyScreen"} <= seen, seen
    assert gate.held >= 10  # keys typed on the working screen at every answer


# ---- each screen alone ----------------------------------------------------------------------

PEOPLE = People(parse_ceremony_file((DATA / "rehearsal.toml").read_bytes()).roster)
APPROVERS = [
    Approver("amartin", "Alice Martin", "security officer"),
    Approver("bnoor", "Bilal Noor", "security officer"),
]


def request(kind: RequestKind, step: str = "clock", **extra: Any) -> Request:
    return Request(
        step_id=StepId.parse(step),
        stage=5,
        stages=12,
        title="a step",
        who=Who("amartin", Role.SECURITY_OFFICER, ("amartin",), "Alice Martin"),
        kind=kind,
        prompt="Alice Martin: answer.",
        **extra,
    )


async def answered_once(
    make: Callable[[], Screen[Any]], prepare: list[str], answer: list[str]
) -> list[Any]:
    """Push ``make()`` over a working screen, type each text of ``prepare``, then send the keys
    ``answer`` all at once; what the screen answered. The working screen must be on top after
    it and the app still running."""
    app = app_with(WorkingScreen)
    results: list[Any] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        base = app.screen
        screen = make()
        app.push_screen(screen, results.append)
        await pilot.pause()
        await pilot.pause()
        for text in prepare:
            await burst(pilot, text)
            await pilot.pause()
        send(pilot, answer)
        for _ in range(5):
            await pilot.pause()
        assert app.is_running
        assert app.screen is base and base.is_mounted, app.screen_stack
    return results


@pytest.mark.parametrize("times", [20], ids=["held"])  # doubled: in the full run
async def test_every_screen_answers_once(times: int) -> None:
    enter = ["enter"] * times
    secret = request(RequestKind.SECRET, "roll-call/amartin/passphrase")
    assert await answered_once(lambda: SecretScreen(secret, PEOPLE), ["secret text"], enter) == [
        Reply("secret text", "amartin")
    ]
    text = request(RequestKind.PUBLIC)
    assert await answered_once(lambda: TextScreen(text, PEOPLE), ["same"], enter) == [
        Reply("same", "amartin")
    ]
    confirm = request(RequestKind.CONFIRMATION, "roll-call/amartin/present")
    assert await answered_once(lambda: ConfirmScreen(confirm, PEOPLE), [], ["y"] * times) == [
        Reply("yes", "amartin")
    ]
    choice = request(RequestKind.CHOICE, choices=("recheck", "stop"))
    assert await answered_once(lambda: ChoiceScreen(choice, PEOPLE), [], enter) == [
        Reply("recheck", "amartin")
    ]
    approval = await answered_once(
        lambda: ApprovalScreen("show a component", APPROVERS),
        ["\n", "approval passphrase"],
        enter,
    )
    assert [(a.participant, a.passphrase) for a in approval] == [("amartin", "approval passphrase")]
    error = CeremonyError("refused", hint="again")
    assert await answered_once(lambda: ErrorModal(error), [], enter) == [None]
    assert await answered_once(lambda: ConfirmModal("sure?", "text"), [], ["y"] * times) == [True]
    assert await answered_once(HelpModal, [], ["escape"] * times) == [None]


def _import_key_screen() -> ImportKeyScreen:
    from tests.tui.test_snapshots import import_key

    step = "approve/confirm-import-key/zmk-prod/aws-prod/1"
    return ImportKeyScreen(import_key(fixtures.FINGERPRINT, RequestKind.APPROVAL, step), PEOPLE)


@pytest.mark.parametrize("times", [2, 20], ids=["doubled", "held"])
async def test_the_other_screens_answer_once(times: int, tmp_path: Path) -> None:
    from ceremony.tui.modals import ReportModal
    from ceremony.tui.screens.start import StartScreen

    # The import key: Y held shows the form once; a name, a passphrase, Enter held: one answer.
    approved = await answered_once(
        _import_key_screen, ["y" * times, "\n", "approval passphrase"], ["enter"] * times
    )
    assert [(r.by, r.value) for r in approved] == [("amartin", "approval passphrase")]
    assert await answered_once(AbortModal, [], ["y"] * times) == [True]
    assert await answered_once(lambda: ReportModal("report", "line"), [], ["escape"] * times) == [
        None
    ]
    start = await answered_once(
        lambda: StartScreen(DATA / "rehearsal.toml", workdir=tmp_path), [], ["f5"] * times
    )
    assert [(c.file.path, c.rehearsal) for c in start] == [(DATA / "rehearsal.toml", True)]


async def test_f6_with_no_name_chosen_never_approves_the_import_key() -> None:
    """F6 first (no name yet): the form that appears names who refuses; its Enter asks to confirm
    the refusal and never approves; N goes back, and the form approves again."""
    app = app_with(WorkingScreen)
    results: list[Any] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = _import_key_screen()
        app.push_screen(screen, results.append)
        await pilot.pause()
        send(pilot, ["f6"])  # "it does not match", before any name is chosen
        await pilot.pause()
        for text in ("\n", "approval passphrase", "\n"):  # a name, a passphrase, Enter
            await burst(pilot, text)
        for _ in range(3):
            await pilot.pause()
        assert results == [] and isinstance(app.screen, ConfirmModal)  # refuse? never approve
        send(pilot, ["n"])  # back to the fingerprint: the form approves again
        await pilot.pause()
        assert app.screen is screen
        for text in ("approval passphrase", "\n"):
            await burst(pilot, text)
        for _ in range(3):
            await pilot.pause()
    assert [(r.by, r.value) for r in results] == [("amartin", "approval passphrase")]


@pytest.mark.parametrize("times", [2, 20], ids=["doubled", "held"])
async def test_the_finish_screen_leaves_once(times: int) -> None:
    from ceremony.tui.screens.finish import FinishScreen, FinishView

    view = FinishView(True, None, "00" * 32, Path("j.jsonl"), Path("out"), ("bundle",))
    app = app_with(lambda: FinishScreen(view))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        send(pilot, ["q"] * times)
        for _ in range(5):
            await pilot.pause()
    assert app.return_code == 0


@pytest.mark.parametrize("times", [2, 20], ids=["doubled", "held"])  # not in the full run
async def test_the_component_screens_answer_once(times: int) -> None:
    check = encoding.component_kcv(fixtures.component())
    display = await answered_once(
        lambda: ComponentDisplayScreen(
            fixtures.EMMA,
            "component 1",
            None,
            check,
            privacy_confirmed=True,
            check_locally=False,
        ),
        [check.hex],
        ["enter"] * times,
    )
    assert [r.typed for r in display] == [check.hex]
    lines = [line.split(":", 1)[1].strip() for line in fixtures.value_lines()]
    entered = await answered_once(
        lambda: ComponentEntryScreen(fixtures.EMMA, fixtures.header(), check),
        [line + "\n" for line in lines],
        ["f5"] * times,
    )
    assert len(entered) == 1 and len(entered[0].component.value) == 32
    entered[0].component.value.close()


async def test_a_dismiss_under_help_waits_until_help_closes() -> None:
    secret = request(RequestKind.SECRET, "roll-call/amartin/passphrase")
    app = app_with(WorkingScreen)
    results: list[Any] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        base = app.screen
        screen = SecretScreen(secret, PEOPLE)
        app.push_screen(screen, results.append)
        await pilot.pause()
        app.push_screen(HelpModal())
        await pilot.pause()
        screen.reply("typed before F1")  # its Enter was on its way when F1 opened help
        await pilot.pause()
        assert results == [] and isinstance(app.screen, HelpModal)
        await pilot.press("escape")
        for _ in range(3):
            await pilot.pause()
        assert results == [Reply("typed before F1", "amartin")]
        assert app.screen is base


# ---- an error of the tool in the engine's worker --------------------------------------------


async def test_an_unexpected_error_in_the_engine_reaches_the_error_modal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    answer = Machine.answer

    def failing(machine: Machine, value: str, *, by: str | None = None) -> Request | None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("a bug holding 0123456789abcdef")  # never shown
        return answer(machine, value, by=by)

    monkeypatch.setattr(Machine, "answer", failing)
    app = MainApp(ceremony(tmp_path, "split-backup"))
    room = Room(PINS)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        deadline = time.monotonic() + STUCK
        while not isinstance(app.screen, ErrorModal):
            assert time.monotonic() < deadline, "no error modal"
            await pilot.pause(0.05)
            screen = app.screen
            if isinstance(screen, RequestScreenTypes) and screen.is_mounted:
                await room.answer(pilot, app)
        from tests.tui.screen_text import static_text

        message = static_text(app, "#error-message")
        assert "failed unexpectedly (RuntimeError)" in message
        assert "0123456789abcdef" not in message
        await pilot.press("enter")
        deadline = time.monotonic() + STUCK
        while not isinstance(app.screen, FinishScreen):
            assert time.monotonic() < deadline, "no finish screen"
            await pilot.pause(0.05)
        view = app.screen.view
    assert not view.finished
    assert view.journal is not None
    last = journal.verify(view.journal.read_bytes(), require_closed=True).last
    assert last.event == "aborted"


async def test_f10_still_leaves_when_the_engine_worker_dies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def dies(run: CeremonyRun) -> None:
        raise RuntimeError("escaped the run")

    monkeypatch.setattr(CeremonyRun, "run", dies)
    app = MainApp(ceremony(tmp_path, "split-backup"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        deadline = time.monotonic() + STUCK
        while not isinstance(app.screen, ErrorModal):
            assert time.monotonic() < deadline, "no error modal"
            await pilot.pause(0.05)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("f10")
        await pilot.pause()
        assert isinstance(app.screen, AbortModal)
        await pilot.press("y")
        deadline = time.monotonic() + STUCK
        while app.is_running:
            assert time.monotonic() < deadline, "F10 did not leave"
            await pilot.pause(0.05)
    assert app.return_code == 3


RequestScreenTypes = (
    SecretScreen,
    TextScreen,
    ConfirmScreen,
    ChoiceScreen,
    ApprovalScreen,
    ImportKeyScreen,
    ComponentDisplayScreen,
)

"""Issue #7 through the TUI on the fake token: tries left at the PIN, showing a component again
under dual control, and an import key refused on its officer's screen. (Each officer confirming
an import key on their own screen: the generate-export run in test_ceremony_run.py.)"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from ceremony.core import journal
from ceremony.core.providers.common import Fingerprint
from ceremony.hsm.fake import FakeBackend, FakeToken
from ceremony.tui import driver
from ceremony.tui.main import MainApp
from ceremony.tui.modals import ConfirmModal, ErrorModal
from ceremony.tui.screens.approval import ApprovalScreen
from ceremony.tui.screens.component_display import ComponentDisplayScreen, Phase
from ceremony.tui.screens.finish import FinishScreen
from ceremony.tui.screens.import_key import ImportKeyScreen
from ceremony.tui.screens.secret import SecretScreen
from ceremony.tui.screens.working import WorkingScreen
from ceremony.tui.widgets.approval import ApprovalForm
from tests.conftest import STUCK
from tests.engine import helpers
from tests.hsm.conftest import FixedPinPrompter
from tests.tui.screen_text import screen_text, static_text
from tests.tui.test_ceremony_run import Room, ceremony_file

PINS = FixedPinPrompter("1234", "5678")


@pytest.fixture(autouse=True)
def _fake_token(monkeypatch: pytest.MonkeyPatch, cheap_scrypt: None) -> None:
    # The display's guard against the rest of a typed word has its own test; here keys count.
    monkeypatch.setattr(ComponentDisplayScreen, "KEY_GUARD", 0.0)
    fake = FakeBackend(FakeToken())
    monkeypatch.setattr(
        driver,
        "default_services",
        lambda *, delivery: helpers.services(lambda config: fake, delivery),
    )


def ceremony(folder: Path, kind: str, pin: dict[int, str] | None = None) -> Path:
    doc = helpers.rehearsal_doc(kind, module="<fake>", label="fake-token", ceremony_id="tui-7")
    helpers.write_imports(folder)
    if pin is not None:
        pairs = helpers.import_key_pairs().public
        from cryptography.hazmat.primitives import serialization

        keys = (pairs.aws, pairs.azure, pairs.gcp)
        for i, target in enumerate(doc["keys"][0]["targets"]):
            der = keys[i].public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            target["fingerprint"] = pin.get(i, Fingerprint.of_spki(der).hex)
    return helpers.write_ceremony(folder, doc)


async def until(
    app: MainApp, pilot: Pilot[Any], room: Room, wanted: Any, seconds: float = STUCK
) -> Any:
    """Answer screens with ``room`` until ``wanted(screen)`` is true; that screen."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await pilot.pause()
        screen = app.screen
        if isinstance(screen, WorkingScreen) or not screen.is_mounted:
            await pilot.pause(0.05)
            continue
        if wanted(screen):
            return screen
        if isinstance(screen, FinishScreen):
            raise AssertionError(f"finished first: {screen.view.reason}")
        await room.answer(pilot, app)
    raise AssertionError(f"not reached in {seconds} s: {room.screens[-5:]}")


def finished(screen: Any) -> bool:
    return isinstance(screen, FinishScreen)


async def test_the_pin_screen_shows_the_tries_and_a_component_is_shown_again(
    tmp_path: Path,
) -> None:
    app = MainApp(ceremony_file(tmp_path))
    room = Room(PINS)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        pin = await until(
            app,
            pilot,
            room,
            lambda s: isinstance(s, SecretScreen) and s.request.step.startswith("hsm/"),
        )
        assert static_text(app, "#tries") == "Tries left: 3 of 3"
        assert static_text(app, "#pin-tries").startswith(
            "The token reports: the token does not report"
        )
        first = await until(app, pilot, room, lambda s: isinstance(s, ComponentDisplayScreen))
        assert first is not pin and first.phase is Phase.SHOWN
        lines = [ln.strip() for ln in screen_text(app).splitlines() if ln.startswith(" 01: ")]
        assert lines
        await pilot.press("space")
        await pilot.pause()
        assert first.phase is Phase.HIDDEN and lines[0] not in screen_text(app)
        await pilot.press("f6")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        approval = await until(app, pilot, room, lambda s: isinstance(s, ApprovalScreen))
        offered = [a.id for a in approval.query_one(ApprovalForm).approvers]
        assert "ebrown" not in offered and "jlee" not in offered  # the holders never approve
        again = await until(app, pilot, room, lambda s: isinstance(s, ComponentDisplayScreen))
        assert again is not first and again.phase is Phase.SHOWN  # after privacy, once more
        assert lines[0] in screen_text(app)
        await until(app, pilot, room, finished)
        finish = app.screen
        assert isinstance(finish, FinishScreen) and finish.view.finished, finish.view.reason
        assert finish.view.journal is not None
        entries = journal.verify(finish.view.journal.read_bytes(), require_closed=True).entries
    shown = [e for e in entries if e.event == "component_shown_again"]
    assert len(shown) == 1 and shown[0].data["index"] == 1
    approval_entry = entries[shown[0].seq - 1]
    assert approval_entry.data["operation"] == "show-component-again"
    assert sum(e.event == "component_issued" for e in entries) == 2


async def test_an_officer_refuses_with_f6_and_the_ceremony_stops(tmp_path: Path) -> None:
    app = MainApp(ceremony(tmp_path, "generate-export"))
    room = Room(PINS)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        screen = await until(app, pilot, room, lambda s: isinstance(s, ImportKeyScreen))
        assert not screen.query_one(ApprovalForm).display  # the fingerprint comes first
        await pilot.press("f6")  # asks who refuses
        await pilot.pause()
        assert screen.query_one(ApprovalForm).display
        await pilot.press("enter")  # the first officer selects their name
        await pilot.pause()
        chosen = screen.query_one(ApprovalForm).chosen
        await pilot.press("f6")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        error = await until(app, pilot, room, lambda s: isinstance(s, ErrorModal))
        assert "refused the import key" in static_text(app, "#error-message")
        await pilot.press("enter")
        del error
        await until(app, pilot, room, finished)
        finish = app.screen
        assert isinstance(finish, FinishScreen) and not finish.view.finished
        assert finish.view.journal is not None
        last = journal.verify(finish.view.journal.read_bytes(), require_closed=True).last
    assert last.event == "aborted" and last.actors == (chosen,)
    assert f"refused the import key of target {screen.check.target!r}" in str(last.data["reason"])


async def test_a_pinned_mismatch_can_only_be_refused(tmp_path: Path) -> None:
    app = MainApp(ceremony(tmp_path, "generate-export", pin={1: "ab" * 32}))
    room = Room(PINS)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        screen = await until(
            app, pilot, room, lambda s: isinstance(s, ImportKeyScreen) and s.mismatch
        )
        assert "NOT the one pinned" in static_text(app, "#fingerprint-mismatch")
        assert not screen.query(ApprovalForm)  # no way to approve it
        await pilot.press("f6", "y")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("enter")  # the first officer stops
        await until(app, pilot, room, lambda s: isinstance(s, ErrorModal))
        assert "not the one the ceremony file pins" in static_text(app, "#error-message")
        await pilot.press("enter")
        await until(app, pilot, room, finished)
        finish = app.screen
        assert isinstance(finish, FinishScreen) and not finish.view.finished
        assert finish.view.journal is not None
        entries = journal.verify(finish.view.journal.read_bytes(), require_closed=True).entries
    events = [e.event for e in entries]
    assert events[-2:] == ["step_failed", "aborted"]
    assert events.count("import_key_confirmed") == 1 and "hsm_opened" not in events

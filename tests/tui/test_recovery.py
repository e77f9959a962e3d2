"""The TUI rerun of a file whose first run was killed after a component was issued: the first
screen says what the kill left, the orphaned key is destroyed, the component voided, and the run
finishes as a new ceremony linked to the aborted one."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from ceremony.core import journal
from ceremony.core.registry import RecordEvent, parse_registry
from ceremony.engine.machine import Machine
from ceremony.hsm.fake import FakeBackend, FakeToken
from ceremony.tui import driver
from ceremony.tui.main import MainApp
from ceremony.tui.screens.component_display import ComponentDisplayScreen
from ceremony.tui.screens.confirm import ConfirmScreen
from tests.engine import helpers
from tests.engine.test_recovery import Killed
from tests.engine.test_recovery import _die_after as die_after
from tests.tui.screen_text import screen_text, static_text
from tests.tui.test_ceremony_run import Room
from tests.tui.test_tries_again_fingerprints import PINS, ceremony, finished, until


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, cheap_scrypt: None) -> FakeBackend:
    monkeypatch.setattr(ComponentDisplayScreen, "KEY_GUARD", 0.0)
    backend = FakeBackend(FakeToken())
    monkeypatch.setattr(
        driver,
        "default_services",
        lambda *, delivery: helpers.services(lambda config: backend, delivery),
    )
    return backend


async def test_a_rerun_in_the_tui_says_what_the_kill_left_and_recovers(
    tmp_path: Path, fake: FakeBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ceremony(tmp_path, "split-backup")
    doc = tomllib.loads(path.read_text())
    label = doc["keys"][0]["label"]
    with monkeypatch.context() as patch:
        die_after("key_imported", patch)  # every part issued, the key stored: then the power fails
        first = Machine(path, services=helpers.services(lambda c: fake, helpers.Capture()))
        with pytest.raises(Killed):
            helpers.drive(first, helpers.script_for(doc, {"user": "1234", "so": "5678"}))
    made = fake.state.keys[label]

    app = MainApp(path)
    room = Room(PINS)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        review = await until(
            app,
            pilot,
            room,
            lambda s: (
                isinstance(s, ConfirmScreen) and "Recovery: what ceremony" in screen_text(app)
            ),
        )
        first_seen = screen_text(app)  # the screen opens on its prompt, not scrolled past it
        said = static_text(app, "#request-lines")
        await room.answer(pilot, app)
        screen = await until(app, pilot, room, finished)
        view = screen.view
    assert isinstance(review, ConfirmScreen)
    assert "Ceremony tui-7 did not finish. A security officer reads" in first_seen
    assert "Press Y to go" in first_seen
    assert "Ceremony tui-7 was interrupted after entry" in said
    assert f"On the token: key {label}" in said
    count = len(doc["keys"][0]["split"]["components"])
    for index in range(1, count + 1):
        assert f"Component {index} of key {label}" in said
    assert "it is voided" in said
    assert view.finished, view.reason
    assert view.journal.name == "tui-7.r2.journal.jsonl"
    entries = journal.verify(view.journal.read_bytes(), require_closed=True).entries
    events = [e.event for e in entries]
    assert events[1] == "recovery_reviewed" and events[-1] == journal.FINISHED
    assert any(e.event == "key_destroyed" and e.data.get("left_by") == "tui-7" for e in entries)
    restart = [
        e for e in entries if e.event == "approval" and e.data["operation"] == "restart-ceremony"
    ]
    assert len(restart) == 1 and len(restart[0].actors) == 2
    assert fake.state.keys[label] is not made  # the orphan went; this run's key is there
    registry = parse_registry((tmp_path / doc["ceremony"]["registry"]).read_bytes())
    voided = [(r.set, r.component) for r in registry.records if r.event is RecordEvent.VOIDED]
    assert sorted({c for s, c in voided if s == "tui-7"}) == list(range(1, count + 1))

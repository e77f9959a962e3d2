"""Through the TUI: the bytes whose SHA-256 the start screen shows are the bytes that run.

F5 hands the file read on the start screen to the machine (it never reads the path again): the
journal's genesis hashes exactly those bytes, and a file changed on disk after it was read
stops the start in the error modal, with both digests, before anything is written.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from ceremony.core import journal
from ceremony.hsm.fake import FakeBackend, FakeToken
from ceremony.tui import driver
from ceremony.tui.main import MainApp
from ceremony.tui.modals import ErrorModal
from ceremony.tui.screens.base import RequestScreen
from ceremony.tui.screens.start import StartScreen
from ceremony.tui.screens.working import WorkingScreen
from tests.conftest import STUCK
from tests.engine import helpers
from tests.tui.screen_text import static_text


@pytest.fixture(autouse=True)
def _fake_token(monkeypatch: pytest.MonkeyPatch, cheap_scrypt: None) -> None:
    fake = FakeBackend(FakeToken())
    monkeypatch.setattr(
        driver,
        "default_services",
        lambda *, delivery: helpers.services(lambda config: fake, delivery),
    )


def _ceremony(folder: Path) -> Path:
    doc = helpers.rehearsal_doc("destroy", module="<fake>", label="fake-token", ceremony_id="t-1")
    helpers.write_imports(folder)
    return helpers.write_ceremony(folder, doc)


def _groups(data: bytes) -> str:
    return journal.hash_groups(journal.FileDigest.of(data).hex)


async def _loaded(app: MainApp, pilot: Pilot[Any]) -> StartScreen:
    deadline = time.monotonic() + STUCK
    while not (isinstance(app.screen, StartScreen) and app.screen.loaded is not None):
        assert time.monotonic() < deadline, "the start screen never loaded the file"
        await pilot.pause(0.05)
    return app.screen


async def _until(pilot: Pilot[Any], reached: Any, what: str) -> None:
    deadline = time.monotonic() + STUCK
    while not reached():
        assert time.monotonic() < deadline, f"{what}: not reached in 60 s"
        await pilot.pause(0.05)


async def test_f5_runs_the_bytes_the_start_screen_hashed(tmp_path: Path) -> None:
    path = _ceremony(tmp_path)
    app = MainApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        start = await _loaded(app, pilot)
        assert start.loaded is not None
        shown = start.loaded.file
        assert f"Ceremony file SHA-256: {_groups(path.read_bytes())}" in static_text(
            app, "#start-summary"
        )
        await pilot.press("f5")
        await _until(
            pilot,
            lambda: isinstance(app.screen, RequestScreen) and app.ceremony_run is not None,
            "the first request",
        )
        run = app.ceremony_run
        assert run is not None and run.machine.checked is shown  # the same object, not re-read
        (written,) = (tmp_path / "out").glob("*.journal.jsonl")
        genesis = journal.verify(written.read_bytes()).entries[0]
        assert genesis.data["ceremony_file_sha256"] == shown.sha256.hex
    deadline = time.monotonic() + STUCK
    while run.outcome is None:  # closing the app aborted the run; its worker ends
        assert time.monotonic() < deadline, "the ceremony worker is still waiting"
        time.sleep(0.05)


async def test_a_file_changed_after_the_start_screen_read_it_is_refused(tmp_path: Path) -> None:
    path = _ceremony(tmp_path)
    approved = path.read_bytes()
    app = MainApp(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await _loaded(app, pilot)
        path.write_bytes(approved.replace(b"id = ", b"# edited after the review\nid = ", 1))
        await pilot.press("f5")
        await _until(pilot, lambda: isinstance(app.screen, ErrorModal), "the error modal")
        message = static_text(app, "#error-message")
        assert "changed on disk after it was checked" in message
        assert f"approved SHA-256 {_groups(approved)}" in message
        assert f"on disk now SHA-256 {_groups(path.read_bytes())}" in message
        assert not (tmp_path / "out").exists()  # nothing journaled, nothing written
        await pilot.press("enter")
        await _until(
            pilot,
            lambda: app.ceremony_run is not None and app.ceremony_run.outcome is not None,
            "the end of the refused run",
        )
        assert not isinstance(app.screen, (ErrorModal, WorkingScreen))

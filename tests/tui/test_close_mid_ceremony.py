"""Closing the app while the engine waits for an answer journals an abort and ends the worker."""

from __future__ import annotations

import time
from pathlib import Path

from ceremony.core import journal
from ceremony.tui.main import MainApp
from ceremony.tui.screens.working import WorkingScreen
from tests.conftest import STUCK
from tests.tui.test_tries_again_fingerprints import _fake_token, ceremony

__all__ = ["_fake_token"]  # the fake-token fixture, used here too


async def test_closing_the_app_mid_ceremony_journals_an_abort(tmp_path: Path) -> None:
    app = MainApp(ceremony(tmp_path, "split-backup"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f5")
        deadline = time.monotonic() + STUCK
        while isinstance(app.screen, WorkingScreen) or app.ceremony_run is None:
            assert time.monotonic() < deadline, "the ceremony never asked anything"
            await pilot.pause(0.05)
        run = app.ceremony_run
    # The context closed the app with a screen waiting: the worker woke, journaled and ended.
    deadline = time.monotonic() + STUCK
    while run.outcome is None:
        assert time.monotonic() < deadline, "the ceremony worker is still waiting"
        time.sleep(0.05)
    (path,) = (tmp_path / "out").glob("*.journal.jsonl")
    last = journal.verify(path.read_bytes(), require_closed=True).last
    assert last.event == "aborted"
    assert "closed before the ceremony ended" in str(last.data["reason"])

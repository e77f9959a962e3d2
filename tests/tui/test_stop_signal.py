"""SIGTERM while the TUI waits for an answer: the worker journals the abort, then the app exits.

SIGHUP ends the process at once once the abort is journaled (the terminal is gone): that is
tests/tui/test_tmux_stop.py, in a real terminal.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from ceremony.core import journal
from ceremony.hardening import stop_hook, stop_signals_as_interrupt
from ceremony.tui.main import MainApp
from ceremony.tui.screens.working import WorkingScreen
from ceremony.tui.stop import stop_signal_hook
from tests.tui.test_tries_again_fingerprints import _fake_token, ceremony

__all__ = ["_fake_token"]  # the fake-token fixture, used here too


async def test_sigterm_mid_ceremony_journals_an_abort(tmp_path: Path) -> None:
    app = MainApp(ceremony(tmp_path, "split-backup"))
    # What run_tui and the CLI's main set up around app.run().
    with stop_signals_as_interrupt(), stop_hook(stop_signal_hook(app)):
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await pilot.press("f5")
            deadline = time.monotonic() + 30
            while isinstance(app.screen, WorkingScreen) or app.ceremony_run is None:
                assert time.monotonic() < deadline, "the ceremony never asked anything"
                await pilot.pause(0.05)
            run = app.ceremony_run
            signal.raise_signal(signal.SIGTERM)
            deadline = time.monotonic() + 30
            while app.is_running:
                assert time.monotonic() < deadline, "the app did not exit on the signal"
                await pilot.pause(0.05)
    assert run.outcome is not None  # the app left only once the abort was journaled
    assert app.return_code == 128 + signal.SIGTERM
    (path,) = (tmp_path / "out").glob("*.journal.jsonl")
    last = journal.verify(path.read_bytes(), require_closed=True).last
    assert last.event == "aborted"
    assert "stopped by SIGTERM" in str(last.data["reason"])

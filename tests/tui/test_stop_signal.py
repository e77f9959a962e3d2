"""SIGTERM while the TUI waits for an answer: the worker journals the abort, then the app exits.

SIGHUP ends the process at once once the abort is journaled (the terminal is gone): that is
tests/tui/test_tmux_stop.py, in a real terminal.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from ceremony.core import journal
from ceremony.core.secret import Secret
from ceremony.hardening import stop_hook, stop_signals_as_interrupt
from ceremony.hsm.fake import FakeBackend, FakeToken
from ceremony.tui import driver
from ceremony.tui.main import MainApp
from ceremony.tui.screens.component_display import ComponentDisplayScreen
from ceremony.tui.screens.working import WorkingScreen
from ceremony.tui.stop import stop_signal_hook
from tests.conftest import STUCK
from tests.engine import helpers
from tests.tui.test_ceremony_run import Room
from tests.tui.test_tries_again_fingerprints import PINS, _fake_token, ceremony, until

__all__ = ["_fake_token"]  # the fake-token fixture, used here too


async def test_sigterm_mid_ceremony_journals_an_abort(tmp_path: Path) -> None:
    app = MainApp(ceremony(tmp_path, "split-backup"))
    # What run_tui and the CLI's main set up around app.run().
    with stop_signals_as_interrupt(), stop_hook(stop_signal_hook(app)):
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await pilot.press("f5")
            deadline = time.monotonic() + STUCK
            while isinstance(app.screen, WorkingScreen) or app.ceremony_run is None:
                assert time.monotonic() < deadline, "the ceremony never asked anything"
                await pilot.pause(0.05)
            run = app.ceremony_run
            signal.raise_signal(signal.SIGTERM)
            deadline = time.monotonic() + STUCK
            while app.is_running:
                assert time.monotonic() < deadline, "the app did not exit on the signal"
                await pilot.pause(0.05)
    assert run.outcome is not None  # the app left only once the abort was journaled
    assert app.return_code == 128 + signal.SIGTERM
    (path,) = (tmp_path / "out").glob("*.journal.jsonl")
    last = journal.verify(path.read_bytes(), require_closed=True).last
    assert last.event == "aborted"
    assert "stopped by SIGTERM" in str(last.data["reason"])


async def test_sigterm_after_key_generation_closes_the_session_and_wipes_the_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeBackend(FakeToken())
    monkeypatch.setattr(
        driver,
        "default_services",
        lambda *, delivery: helpers.services(lambda config: fake, delivery),
    )
    drawn: list[Secret] = []
    generate = Secret.generate.__func__  # type: ignore[attr-defined]

    def kept(cls: type[Secret], length: int, label: str = "secret") -> Secret:
        secret: Secret = generate(cls, length, label)
        drawn.append(secret)
        return secret

    monkeypatch.setattr(Secret, "generate", classmethod(kept))
    app = MainApp(ceremony(tmp_path, "split-backup"))
    room = Room(PINS)
    with stop_signals_as_interrupt(), stop_hook(stop_signal_hook(app)):
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await pilot.press("f5")
            await until(app, pilot, room, lambda s: isinstance(s, ComponentDisplayScreen))
            assert fake.state.logged_in and drawn and not any(s.closed for s in drawn)
            signal.raise_signal(signal.SIGTERM)
            deadline = time.monotonic() + STUCK
            while app.is_running:
                assert time.monotonic() < deadline, "the app did not exit on the signal"
                await pilot.pause(0.05)
    assert app.return_code == 128 + signal.SIGTERM
    assert not fake.state.logged_in  # the token session was closed
    assert all(s.closed for s in drawn)  # the key and every component drawn were wiped
    (path,) = (tmp_path / "out").glob("*.journal.jsonl")
    entries = journal.verify(path.read_bytes(), require_closed=True).entries
    assert "key_generated" in [e.event for e in entries]
    assert entries[-1].event == "aborted"
    assert "stopped by SIGTERM" in str(entries[-1].data["reason"])

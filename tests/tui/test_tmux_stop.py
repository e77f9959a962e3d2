"""The console script in a real terminal (tmux), stopped mid-ceremony by SIGTERM or by the
terminal closing (SIGHUP), in the TUI and in ``ceremony run``: the journal ends ``aborted`` with
the signal's name and the process ends."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from ceremony.core import journal
from ceremony.errors import JournalError
from ceremony.hsm import config
from tests.conftest import STUCK
from tests.hsm.conftest import FixedPinPrompter
from tests.tui.test_tmux import DATA, OFFICER_PASSPHRASE, SCRIPT, SECRET, Terminal, terminal

__all__ = ["terminal"]  # the tmux fixture, used here too
pytestmark = [pytest.mark.hsm, pytest.mark.slow]


def _ceremony_pid(term: Terminal) -> int:
    """The console script: the one child of the pane's shell."""
    shell = int(term.tmux("display", "-p", "-t", "ceremony", "#{pane_pid}"))
    (child,) = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
    return int(child)


def _closed(path: Path, timeout: float = STUCK) -> journal.Verified:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return journal.verify(path.read_bytes(), require_closed=True)
        except JournalError:
            assert time.monotonic() < deadline, "the journal was never closed"
            time.sleep(0.1)


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP"])
def test_the_tui_stopped_by_a_signal_journals_the_abort(
    terminal: Terminal, token: FixedPinPrompter, tmp_path: Path, how: str
) -> None:
    (tmp_path / "ceremony.toml").write_text((DATA / "rehearsal.toml").read_text("utf-8"))
    env = {
        config.ENV_STATE_DIR: os.environ[config.ENV_STATE_DIR],
        config.ENV_TOKEN_LABEL: os.environ[config.ENV_TOKEN_LABEL],
        "TERM": "xterm-256color",
        "COLUMNS": "120",
        "LINES": "40",
    }
    terminal.start(tmp_path, env, f"{SCRIPT} tui ceremony.toml")
    terminal.wait_for("Ceremony 2025-07-tui-rehearsal: split-backup")
    terminal.keys("F5")
    terminal.wait_for("to confirm you are")
    terminal.confirm("to confirm you are", "choose your approval passphrase")
    terminal.type(OFFICER_PASSPHRASE.format("amartin"), SECRET)
    terminal.wait_for("type your approval passphrase again")
    (path,) = (tmp_path / "out").glob("*.journal.jsonl")
    pid = _ceremony_pid(terminal)
    if how == "SIGHUP":
        terminal.close()  # the terminal goes away: the kernel sends SIGHUP
    else:
        os.kill(pid, signal.SIGTERM)
    verified = _closed(path)
    assert verified.last.event == "aborted"
    assert f"stopped by {how}" in str(verified.last.data["reason"])
    if how == "SIGTERM":
        terminal.wait_for(f"CEREMONY-EXIT={128 + signal.SIGTERM}")
    _ended(pid)


def _ended(pid: int) -> None:
    deadline = time.monotonic() + STUCK
    while Path(f"/proc/{pid}").exists():  # the process ends too, not only its journal
        assert time.monotonic() < deadline, "the ceremony process is still running"
        time.sleep(0.1)


def test_ceremony_run_at_a_terminal_that_closes_journals_the_abort(
    terminal: Terminal, token: FixedPinPrompter, tmp_path: Path
) -> None:
    (tmp_path / "ceremony.toml").write_text((DATA / "rehearsal.toml").read_text("utf-8"))
    env = {
        config.ENV_STATE_DIR: os.environ[config.ENV_STATE_DIR],
        config.ENV_TOKEN_LABEL: os.environ[config.ENV_TOKEN_LABEL],
        "TERM": "xterm-256color",
    }
    terminal.start(tmp_path, env, f"{SCRIPT} run ceremony.toml --rehearsal")
    terminal.wait_for("type yes to confirm you are")  # the runner waits for a typed answer
    (path,) = (tmp_path / "out").glob("*.journal.jsonl")
    pid = _ceremony_pid(terminal)
    terminal.close()
    verified = _closed(path)
    assert verified.last.event == "aborted"
    # The kernel wakes the reader (end of input) before it sends SIGHUP: whichever the runner
    # sees first is journaled (the signal, or the input that ended); either way the abort is,
    # and the process ends.
    reason = str(verified.last.data["reason"])
    assert "stopped by SIGHUP" in reason or "the input ended" in reason, reason
    _ended(pid)

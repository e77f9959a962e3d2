"""harden_process's report, the memlock rule, and SIGTERM/SIGHUP turned into a Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ceremony import hardening
from ceremony.hardening import (
    StopSignal,
    signals_deferred,
    stop_signals_as_interrupt,
)

ROOT = Path(__file__).resolve().parents[2]
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux prctl/mlockall")


_REPORT = """
import json, resource
from ceremony import hardening
report = hardening.harden_process()
assert hardening.harden_process() is report is hardening.last_report()  # once per process
print(json.dumps({
    "core": resource.getrlimit(resource.RLIMIT_CORE),
    "names": [s.name for s in report.steps],
    "lines": report.lines(),
    "journal": report.journal(),
    "notes": [s.detail for s in report.steps if not s.done],
}))
"""


def test_the_report_says_each_step_in_plain_words() -> None:
    # In a child: hardening cannot be undone, and pytest must stay able to start a dumping child.
    result = subprocess.run(
        [sys.executable, "-c", _REPORT],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(result.stdout)
    assert seen["core"] == [0, 0]
    assert seen["names"] == ["core_dumps_off", "not_dumpable", "memory_locked"]
    assert len(seen["lines"]) == 3 and all(line[:3] in ("yes", "NO ") for line in seen["lines"])
    record = seen["journal"]
    assert set(record) == {
        "core_dumps_off", "not_dumpable", "memory_locked", "memlock_limit", "notes",
    }  # fmt: skip
    assert record["notes"] == seen["notes"]
    assert hardening.last_report() is None  # this process was never hardened


@linux
def test_memory_is_not_locked_under_a_small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # MCL_FUTURE under a small limit would make later allocations fail: refused, and said.
    monkeypatch.setattr(hardening, "_has_ipc_lock", lambda: False)
    monkeypatch.setattr(hardening, "_memlock_limit", lambda: (8 << 20, 16 << 20))
    step = hardening._lock_memory(hardening._libc())
    assert not step.done
    assert "memory not locked: the memlock limit is 8192 KiB (hard 16384 KiB)" in step.detail
    assert "may be swapped" in step.detail


@linux
def test_a_failed_mlockall_names_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoLock:
        def mlockall(self, flags: int) -> int:
            import ctypes

            ctypes.set_errno(12)  # ENOMEM
            return -1

    monkeypatch.setattr(hardening, "_memlock_limit", lambda: (None, None))
    step = hardening._lock_memory(NoLock())  # type: ignore[arg-type]
    assert not step.done and step.errno_name == "ENOMEM"
    assert "mlockall failed" in step.detail and "memlock limit unlimited" in step.detail


@linux
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stop_signal_raises_like_ctrl_c_once(signum: signal.Signals) -> None:
    before = signal.getsignal(signum)
    with pytest.raises(KeyboardInterrupt) as raised, stop_signals_as_interrupt():
        try:
            signal.raise_signal(signum)  # to this thread: handled before the next line
            signal.pause()  # the handler raises right after the kill, or here
        finally:
            # A second stop signal while the abort is journaled is ignored, never raised.
            signal.raise_signal(signal.SIGTERM)
    assert isinstance(raised.value, StopSignal)
    assert raised.value.name == signum.name and raised.value.exit_code == 128 + signum
    assert str(raised.value) == f"stopped by {signum.name}"
    assert signal.getsignal(signum) is before


@linux
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_a_journal_write_waits_for_its_end(signum: signal.Signals) -> None:
    # Python's own Ctrl-C handler, as in the console script: an earlier test in this worker
    # (a Textual app) may have left another one, and then SIGINT is not ours to turn.
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _signal_during_a_write(signum)
    finally:
        signal.signal(signal.SIGINT, before)


def _signal_during_a_write(signum: signal.Signals) -> None:
    done: list[str] = []
    with (
        pytest.raises(KeyboardInterrupt) as raised,
        stop_signals_as_interrupt(),
        signals_deferred(),
    ):
        signal.raise_signal(signum)  # to this thread: handled before the next line
        with signals_deferred():  # nested: only the outermost end raises
            done.append("inner")
        done.append("whole")
    assert done == ["inner", "whole"]
    assert isinstance(raised.value, StopSignal) is (signum == signal.SIGTERM)

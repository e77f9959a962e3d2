"""harden_process's report, the memlock rule, and SIGTERM/SIGHUP turned into a Ctrl-C."""

from __future__ import annotations

import json
import os
import resource
import signal
import sys

import pytest

from ceremony import hardening
from ceremony.hardening import (
    StopSignal,
    harden_process,
    signals_deferred,
    stop_signals_as_interrupt,
)

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux prctl/mlockall")


def test_the_report_says_each_step_in_plain_words() -> None:
    report = harden_process()
    assert harden_process() is report is hardening.last_report()  # once per process
    assert resource.getrlimit(resource.RLIMIT_CORE) == (0, 0)
    assert [s.name for s in report.steps] == ["core_dumps_off", "not_dumpable", "memory_locked"]
    lines = report.lines()
    assert len(lines) == 3 and all(line[:3] in ("yes", "NO ") for line in lines)
    record = report.journal()
    assert json.loads(json.dumps(record)) == record
    assert set(record) == {
        "core_dumps_off", "not_dumpable", "memory_locked", "memlock_limit", "notes",
    }  # fmt: skip
    assert record["notes"] == [s.detail for s in report.steps if not s.done]


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
            os.kill(os.getpid(), signum)
            signal.pause()  # the handler raises right after the kill, or here
        finally:
            # A second stop signal while the abort is journaled is ignored, never raised.
            os.kill(os.getpid(), signal.SIGTERM)
    assert isinstance(raised.value, StopSignal)
    assert raised.value.name == signum.name and raised.value.exit_code == 128 + signum
    assert str(raised.value) == f"stopped by {signum.name}"
    assert signal.getsignal(signum) is before


@linux
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_a_journal_write_waits_for_its_end(signum: signal.Signals) -> None:
    done: list[str] = []
    with (
        pytest.raises(KeyboardInterrupt) as raised,
        stop_signals_as_interrupt(),
        signals_deferred(),
    ):
        os.kill(os.getpid(), signum)
        with signals_deferred():  # nested: only the outermost end raises
            done.append("inner")
        done.append("whole")
    assert done == ["inner", "whole"]
    assert isinstance(raised.value, StopSignal) is (signum == signal.SIGTERM)

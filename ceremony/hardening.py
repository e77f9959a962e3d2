"""Process hardening at start: no core dump, no ptrace by the same user, memory locked if it can."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import resource
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

PR_SET_DUMPABLE = 4
MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4
CAP_IPC_LOCK = 14

# mlockall(MCL_FUTURE) makes every later mapping count against RLIMIT_MEMLOCK: once the locked
# size reaches the limit, a new mapping fails with ENOMEM, which Python turns into a MemoryError
# and a C library (Textual's rendering, reportlab, the PKCS#11 module) may turn into a crash in
# the middle of a ceremony. The process grows by hundreds of MB of address space (threads,
# allocator arenas, fonts), so memory is locked only when nothing can run out: the process holds
# CAP_IPC_LOCK (root; the limit does not apply), the limit is unlimited, or it is at least this.
MEMLOCK_FLOOR = 4 << 30


@dataclass(frozen=True)
class Step:
    """One hardening measure: whether it holds, and the plain words saying so (or why not)."""

    name: str
    done: bool
    detail: str
    errno_name: str | None = None


@dataclass(frozen=True)
class HardeningReport:
    """What harden_process did, for the preflight (``lines``) and the journal (``journal``)."""

    core_dumps_off: Step
    not_dumpable: Step
    memory_locked: Step
    memlock_limit: tuple[int | None, int | None]  # (soft, hard) bytes; None = unlimited
    steps: tuple[Step, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "steps", (self.core_dumps_off, self.not_dumpable, self.memory_locked)
        )

    @property
    def complete(self) -> bool:
        return all(step.done for step in self.steps)

    def lines(self) -> list[str]:
        return [f"{'yes' if s.done else 'NO '}  {s.detail}" for s in self.steps]

    def journal(self) -> dict[str, object]:
        soft, hard = self.memlock_limit
        return {
            "core_dumps_off": self.core_dumps_off.done,
            "not_dumpable": self.not_dumpable.done,
            "memory_locked": self.memory_locked.done,
            "memlock_limit": {
                "soft": "unlimited" if soft is None else soft,
                "hard": "unlimited" if hard is None else hard,
            },
            "notes": [s.detail for s in self.steps if not s.done],
        }


_lock = threading.Lock()
_report: HardeningReport | None = None


def last_report() -> HardeningReport | None:
    """The report of this process's hardening, None if harden_process was never called."""
    return _report


def harden_process() -> HardeningReport:
    """Apply every measure once per process (later calls return the first report)."""
    global _report
    with _lock:
        if _report is None:
            libc = _libc()
            _report = HardeningReport(
                core_dumps_off=_no_core(),
                not_dumpable=_not_dumpable(libc),
                memory_locked=_lock_memory(libc),
                memlock_limit=_memlock_limit(),
            )
        return _report


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def _errno_name(number: int) -> str:
    return errno.errorcode.get(number, str(number))


def _no_core() -> Step:
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError) as ex:
        return Step("core_dumps_off", False, f"core dumps could not be turned off: {ex}")
    return Step("core_dumps_off", True, "core dumps are off (core file size limit 0)")


def _not_dumpable(libc: ctypes.CDLL | None) -> Step:
    name = "not_dumpable"
    if libc is None:
        return Step(name, False, f"the process cannot be made non-dumpable on {sys.platform}")
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        code = ctypes.get_errno()
        return Step(
            name,
            False,
            f"the process could not be made non-dumpable: {os.strerror(code)}",
            _errno_name(code),
        )
    return Step(name, True, "the process is not dumpable: no core, no ptrace by the same user")


def _limit(value: int) -> int | None:
    return None if value == resource.RLIM_INFINITY else value


def _memlock_limit() -> tuple[int | None, int | None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    return _limit(soft), _limit(hard)


def _has_ipc_lock() -> bool:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> CAP_IPC_LOCK & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False


def vm_locked_kib() -> int | None:
    """``VmLck`` of this process in KiB (locked memory), None where /proc cannot tell."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmLck:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _size(value: int | None) -> str:
    return "unlimited" if value is None else f"{value // 1024} KiB"


def _lock_memory(libc: ctypes.CDLL | None) -> Step:
    name = "memory_locked"
    if libc is None:
        return Step(name, False, f"memory cannot be locked on {sys.platform}: it may be swapped")
    soft, hard = _memlock_limit()
    if not _has_ipc_lock() and soft is not None and soft < MEMLOCK_FLOOR:
        return Step(
            name,
            False,
            f"memory not locked: the memlock limit is {_size(soft)} (hard {_size(hard)}), "
            f"below {_size(MEMLOCK_FLOOR)}; secrets may be swapped to disk "
            "(raise it with `ulimit -l unlimited` or run with CAP_IPC_LOCK)",
        )
    # MCL_ONFAULT locks pages as they are first touched instead of faulting in every reserved
    # page now; an untouched page holds no secret, so it protects the same.
    result = libc.mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)
    if result != 0 and ctypes.get_errno() == errno.EINVAL:  # kernel before 4.4: no ONFAULT
        result = libc.mlockall(MCL_CURRENT | MCL_FUTURE)
    if result != 0:
        code = ctypes.get_errno()
        return Step(
            name,
            False,
            f"memory not locked: mlockall failed ({os.strerror(code)}; memlock limit "
            f"{_size(soft)}, hard {_size(hard)}); secrets may be swapped to disk",
            _errno_name(code),
        )
    return Step(name, True, "memory is locked: secrets are not swapped to disk")


# ---- stop signals ---------------------------------------------------------------------------


class StopSignal(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C so the same path journals the abort."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"stopped by {self.name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)

# While set (the TUI), a stop signal is handed to it instead of raising in the main thread.
StopHook = Callable[[StopSignal], None]
_hook: StopHook | None = None


# Inside signals_deferred() (a journal write), an interrupt waits for the block's end.
_deferring = 0
_pending: list[KeyboardInterrupt] = []


@contextmanager
def stop_signals_as_interrupt() -> Iterator[None]:
    """SIGTERM/SIGHUP raise StopSignal in the main thread; the previous handlers come back after.

    Only the first raises: a second stop signal while the abort is being journaled is ignored,
    so it cannot cut the abort short (SIGKILL still ends the process). Ctrl-C keeps raising
    KeyboardInterrupt each time; all three wait for the end of a journal write.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if stopping:
            return
        stopping.append(signum)
        stop = StopSignal(signum)
        if _hook is not None:
            _hook(stop)
            return
        _raise(stop)

    def interrupt(signum: int, frame: FrameType | None) -> None:
        _raise(KeyboardInterrupt())

    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        for s, before in previous.items():
            signal.signal(s, before)


def _raise(stop: KeyboardInterrupt) -> None:
    if _deferring and threading.current_thread() is threading.main_thread():
        _pending.append(stop)
        return
    raise stop


@contextmanager
def signals_deferred() -> Iterator[None]:
    """A stop signal or Ctrl-C arriving in the block is raised at its end: a write stays whole.

    Also a decorator (``@signals_deferred()``). Only the main thread runs signal handlers, so a
    block in another thread defers nothing and needs not to.
    """
    global _deferring
    main = threading.current_thread() is threading.main_thread()
    if main:
        _deferring += 1
    try:
        yield
    finally:
        if main:
            _deferring -= 1
            if not _deferring and _pending:
                stop = _pending[0]
                _pending.clear()
                raise stop


@contextmanager
def stop_hook(hook: StopHook) -> Iterator[None]:
    """Hand stop signals to ``hook`` (called in the main thread) while the block runs."""
    global _hook
    before, _hook = _hook, hook
    try:
        yield
    finally:
        _hook = before

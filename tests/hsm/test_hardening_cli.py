"""``ceremony run`` held at a prompt after key generation, then stopped by a signal: SIGTERM and
SIGHUP journal an abort like Ctrl-C, and a SIGSEGV with ``ulimit -c unlimited`` leaves no core."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ceremony.core import journal
from ceremony.hardening import MEMLOCK_FLOOR, _has_ipc_lock
from tests.conftest import STUCK
from tests.engine.helpers import PASSPHRASE, scan, write_ceremony
from tests.hsm.conftest import HsmUnderTest
from tests.hsm.test_run_cli import _answers, _env, _small_split

pytestmark = pytest.mark.hsm
ROOT = Path(__file__).resolve().parents[2]


class Held:
    """A ceremony run by tests.hsm.staller, waiting at the first prompt after ``key_generated``."""

    def __init__(
        self, hsm: HsmUnderTest, base: Path, name: str, *, core_unlimited: bool = False
    ) -> None:
        self.folder = base / name
        self.doc = _small_split(hsm, name)
        self.label = f"zmk-{name}"
        self.doc["keys"][0]["label"] = self.label
        path = write_ceremony(self.folder, self.doc)
        # The answers hold the PINs and passphrases: kept out of the folder the scan reads.
        outside = base / f"{name}-answers"
        outside.mkdir()
        answers = _answers(outside, self.doc, hsm)
        marker = outside / "held.json"
        self.ended = marker.with_suffix(".ended.json")
        command = [
            sys.executable, "-m", "tests.hsm.staller", "key_generated", str(marker),
            "run", str(path), "--rehearsal", "--answers", str(answers),
        ]  # fmt: skip
        env = _env(self.folder)
        env["PYTHONPATH"] = str(ROOT)
        self.process = subprocess.Popen(
            command,
            cwd=self.folder,  # where a core file would land (core_pattern "core")
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_core_unlimited if core_unlimited else None,
        )
        deadline = time.monotonic() + STUCK
        while not marker.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                out, err = self.process.communicate(timeout=30)
                pytest.fail(f"the run never reached the prompt:\n{out[-2000:]}\n{err}")
            time.sleep(0.05)
        held = json.loads(marker.read_text())
        assert held["pid"] == self.process.pid
        self.drawn = [bytes.fromhex(h) for h in held["secrets"]]
        assert self.drawn, "no secret was drawn before the prompt"

    def stop(self, signum: int) -> tuple[int, str, str]:
        self.process.send_signal(signum)
        out, err = self.process.communicate(timeout=120)
        return self.process.returncode, out, err

    def journal_file(self) -> Path:
        return self.folder / "out" / f"{self.doc['ceremony']['id']}.journal.jsonl"


def _core_unlimited() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


def _secrets(hsm: HsmUnderTest, held: Held) -> list[bytes]:
    """The key (and any component) drawn before the prompt, the PINs and every passphrase."""
    secrets = [*held.drawn, hsm.user_pin.encode(), hsm.so_pin.encode()]
    secrets += [PASSPHRASE.format(p["id"]).encode() for p in held.doc["participants"]]
    return secrets


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stop_signal_at_a_prompt_journals_an_abort(
    hsm: HsmUnderTest, tmp_path: Path, signum: signal.Signals
) -> None:
    held = Held(hsm, tmp_path, f"stop-{signum.name.lower()}")
    code, out, err = held.stop(signum)
    assert code == 128 + signum, err
    assert f"ceremony: stopped by {signum.name}" in err
    assert "Traceback" not in err
    verified = journal.verify(held.journal_file().read_bytes(), require_closed=True)
    events = [e.event for e in verified.entries]
    assert "key_generated" in events and events[-1] == "aborted"
    hardened = verified.entries[1]  # what this process did to itself, journaled at start
    assert hardened.event == "process_hardened"
    assert hardened.data["core_dumps_off"] is True and hardened.data["not_dumpable"] is True
    assert f"stopped by {signum.name}" in str(verified.last.data["reason"])
    assert "STOPPED" in out and "Final journal hash" in out
    # Inside the process, once the abort was journaled: the session closed, every secret wiped.
    ended = json.loads(held.ended.read_text())
    assert ended["status"] == "aborted" and ended["session_closed"] is True, ended
    assert ended["drawn"] > 0 and ended["open_secrets"] == 0, ended
    secrets = _secrets(hsm, held)
    assert scan([held.folder], secrets) == []
    printed = (out + err).encode()
    assert not any(s in printed or s.hex().encode() in printed.lower() for s in secrets)


def _core_pattern() -> str:
    return Path("/proc/sys/kernel/core_pattern").read_text().strip()


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


def _max_core(pid: int) -> list[str]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max core file size"):
            return line.split()[4:6]
    raise AssertionError("no core limit in /proc/PID/limits")


def _cores(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("core*") if p.is_file()]


def _memory_can_be_locked() -> bool:
    soft, _ = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    return _has_ipc_lock() or soft == resource.RLIM_INFINITY or soft >= MEMLOCK_FLOOR


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux core dumps and /proc")
def test_a_crash_after_key_generation_leaves_no_core(hsm: HsmUnderTest, tmp_path: Path) -> None:
    pattern = _core_pattern()
    # "core" (or "core.%p"...) lands in the crashed process's folder; a pipe or a path elsewhere
    # does not, and then the limit is all this test can see.
    in_folder = not pattern.startswith("|") and "/" not in pattern
    # The control: a Python that does not harden itself, same limit, same folder, dumps a core.
    control = tmp_path / "control"
    control.mkdir()
    crashed = subprocess.run(
        [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"],
        cwd=control,
        preexec_fn=_core_unlimited,
        check=False,
    )
    assert crashed.returncode == -signal.SIGSEGV
    if in_folder:
        assert _cores(control), f"no core from the control with core_pattern {pattern!r}"
    held = Held(hsm, tmp_path, "crash-segv", core_unlimited=True)
    pid = held.process.pid
    assert _max_core(pid) == ["0", "0"]  # the child started with it unlimited
    locked_kib = int(_status(pid)["VmLck"].split()[0])
    if _memory_can_be_locked():
        assert locked_kib > 0
    else:
        assert locked_kib == 0  # the memlock limit is too small: the report says "not locked"
    code, _, _ = held.stop(signal.SIGSEGV)
    assert code == -signal.SIGSEGV
    if in_folder:
        assert _cores(tmp_path / "crash-segv") == []


def _child_dumpable(harden: bool) -> int:
    code = (
        "import ctypes, ctypes.util\n"
        + ("from ceremony.hardening import harden_process; harden_process()\n" if harden else "")
        + "libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)\n"
        + "print(libc.prctl(3, 0, 0, 0, 0))\n"  # PR_GET_DUMPABLE
    )
    env: dict[str, Any] = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return int(result.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux")
def test_the_hardened_process_is_not_dumpable() -> None:
    assert _child_dumpable(harden=False) == 1
    assert _child_dumpable(harden=True) == 0

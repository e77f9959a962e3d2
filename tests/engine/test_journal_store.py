"""The journal on disk: exclusive create, fsync per entry, crash recovery that rewrites nothing."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ceremony.core import journal
from ceremony.core.journal import FileDigest, JournalForeignError, Label, Text
from ceremony.engine import journal_store
from ceremony.engine.journal_store import JournalStore, start
from ceremony.errors import JournalError, OutputExistsError

FILE = FileDigest.of(b"the ceremony file")
ROOT = Path(__file__).resolve().parents[2]


def ticking() -> Callable[[], datetime]:
    state = {"now": datetime(2025, 6, 1, 9, 0, tzinfo=UTC)}
    lock = threading.Lock()

    def clock() -> datetime:
        with lock:
            state["now"] += timedelta(seconds=1)
            return state["now"]

    return clock


def new(path: Path, ceremony: str = "c1") -> JournalStore:
    return JournalStore.create(path, ceremony_id=ceremony, ceremony_file=FILE, clock=ticking())


def test_create_writes_a_complete_genesis_and_never_replaces(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with new(path) as store:
        assert store.last.event == journal.GENESIS
    data = path.read_bytes()
    assert journal.verify(data, ceremony_id="c1").ceremony_file_sha256 == FILE.hex
    assert [p.name for p in tmp_path.iterdir()] == ["journal.jsonl"]  # no temporary left
    with pytest.raises(OutputExistsError):
        new(path)
    assert path.read_bytes() == data


def test_a_symlink_in_place_of_the_journal_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_bytes(b"")
    (tmp_path / "journal.jsonl").symlink_to(target)
    with pytest.raises(OutputExistsError):
        new(tmp_path / "journal.jsonl")
    with pytest.raises(JournalError, match="plain file"):
        JournalStore.open(tmp_path / "journal.jsonl", ceremony_id="c1", clock=ticking())


def test_missing_folder_is_a_journal_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="cannot create"):
        new(tmp_path / "no" / "journal.jsonl")


def test_each_append_is_fsynced_before_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = new(tmp_path / "j")
    calls: list[int] = []
    real = os.fsync

    def spy(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(journal_store.os, "fsync", spy)
    for i in range(3):
        store.append("step", ["so1"], {"index": i})
        assert len(calls) == i + 1
    store.close()
    assert len(journal.verify((tmp_path / "j").read_bytes()).entries) == 4


def test_reopen_verifies_and_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "j"
    with new(path) as store:
        store.append("roll_call", ["so1"], {"who": [Label("so1")]})
        store.abort("stopped by the officer", ["so1"])
    started = start(path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())
    assert started.recovery is None and not started.created  # already closed by an abort
    with started.store as store:
        store.append("roll_call", ["so1"])
        end = store.finish(["so1"])
    verified = journal.verify(path.read_bytes(), require_closed=True)
    assert verified.finished and verified.final_hash == end.hash


def test_interrupted_run_is_marked_aborted(tmp_path: Path) -> None:
    path = tmp_path / "j"
    with new(path) as store:
        store.append("step", ["so1"], {"index": 1})
    before = path.read_bytes()
    started = start(path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())
    started.store.close()
    assert started.recovery is not None
    assert started.recovery.last_before.seq == 1 and started.recovery.torn_bytes == 0
    after = path.read_bytes()
    assert after.startswith(before)  # nothing overwritten
    last = journal.verify(after).last
    assert last.event == journal.ABORTED and "restarts from its beginning" in str(last.data)


def test_torn_tail_is_kept_and_recorded(tmp_path: Path) -> None:
    path = tmp_path / "j"
    with new(path) as store:
        entry = store.append("step", ["so1"], {"index": 1})
    # A crash in the middle of writing the next entry.
    torn = journal.next_entry(entry, "step", datetime.now(UTC), (), {"index": 2}).line()[:50]
    with path.open("ab") as f:
        f.write(torn)
    before = path.read_bytes()
    with pytest.raises(journal.JournalTruncatedError):
        journal.verify(before)
    started = start(path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())
    started.store.close()
    assert started.recovery is not None and started.recovery.torn_bytes == len(torn)
    after = path.read_bytes()
    assert after.startswith(before)
    verified = journal.verify(after)
    assert verified.recovered == (2,)
    assert verified.last.data["torn_bytes"] == len(torn)


def test_a_crash_during_recovery_is_recovered_too(tmp_path: Path) -> None:
    path = tmp_path / "j"
    with new(path) as store:
        entry = store.append("step")
    first_tear = b'{"actors":[],"ceremony":"c1","da'
    with path.open("ab") as f:
        f.write(first_tear)
    aborted = journal.aborted(entry, Text("x"), datetime.now(UTC), torn=first_tear)
    with path.open("ab") as f:
        f.write(b"\n" + aborted.line()[:30])  # the recovery itself was torn
    before = path.read_bytes()
    started = start(path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())
    started.store.close()
    assert started.recovery is not None
    after = path.read_bytes()
    assert after.startswith(before)
    assert journal.verify(after).last.event == journal.ABORTED


def test_a_whole_entry_without_its_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "j"
    with new(path) as store:
        entry = store.append("step")
    with path.open("ab") as f:
        f.write(journal.next_entry(entry, "step", datetime.now(UTC)).line()[:-1])
    started = start(path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())
    with started.store as store:
        store.append("roll_call")
    verified = journal.verify(path.read_bytes())
    assert [e.event for e in verified.entries] == [
        "genesis",
        "step",
        "step",
        "aborted",
        "roll_call",
    ]


def test_an_interrupted_run_is_never_resumed(tmp_path: Path) -> None:
    path = tmp_path / "j"
    with new(path) as store:
        store.append("step")
    store, verified = JournalStore.open(path, ceremony_id="c1", clock=ticking())
    with store:
        with pytest.raises(JournalError, match="interrupted run"):
            store.append("step")
        aborted = store.recover(verified, "restart")
        assert aborted is not None and aborted.event == journal.ABORTED
        store.append("roll_call")
    assert journal.verify(path.read_bytes()).last.event == "roll_call"


def test_finished_ceremony_never_runs_again(tmp_path: Path) -> None:
    path = tmp_path / "j"
    with new(path) as store:
        store.finish()
        with pytest.raises(JournalError, match="is finished"):
            store.append("step")
    with pytest.raises(JournalError, match="never runs twice"):
        start(path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())


def test_changed_ceremony_file_and_other_ceremony_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "j"
    new(path).close()
    with pytest.raises(JournalError, match="ceremony file changed"):
        start(path, ceremony_id="c1", ceremony_file=FileDigest.of(b"edited"), clock=ticking())
    with pytest.raises(JournalForeignError):
        start(path, ceremony_id="c2", ceremony_file=FILE, clock=ticking())


def test_a_broken_chain_is_never_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "j"
    with new(path) as store:
        store.append("step", (), {"index": 1})
        store.append("step", (), {"index": 2})
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"index":1', b'"index":7'))
    with pytest.raises(journal.JournalTamperedError, match="entry 1"):
        start(path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())


def test_a_change_behind_the_store_stops_it(tmp_path: Path) -> None:
    path = tmp_path / "j"
    store = new(path)
    store.append("step")
    with path.open("ab") as f:
        f.write(b"{}\n")
    with pytest.raises(JournalError, match="changed on disk"):
        store.append("step")
    with pytest.raises(JournalError, match="cannot be written any more"):
        store.append("step")
    store.close()


def test_a_write_failure_stops_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = new(tmp_path / "j")

    def full(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_store.os, "write", full)
    with pytest.raises(JournalError, match="No space left") as caught:
        store.append("step")
    assert "the step is not done" in str(caught.value)
    monkeypatch.undo()
    with pytest.raises(JournalError, match="cannot be written any more"):
        store.append("step")
    store.close()


def test_appends_from_worker_threads_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "j"
    store = new(path)
    workers = [
        threading.Thread(target=lambda n=n: [store.append("step", (), {"n": n}) for _ in range(10)])
        for n in range(4)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    store.close()
    verified = journal.verify(path.read_bytes())
    assert len(verified.entries) == 41


_WRITER = """
import sys
from datetime import UTC, datetime
from ceremony.core.journal import FileDigest
from ceremony.engine.journal_store import start
started = start(sys.argv[1], ceremony_id="c1", ceremony_file=FileDigest.of(b"the ceremony file"),
                clock=lambda: datetime.now(UTC))
print("ready", flush=True)
i = 0
while True:
    started.store.append("step", (), {"index": i})
    i += 1
"""


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3])
def test_kill_9_mid_run_then_restart(tmp_path: Path, delay: float) -> None:
    path = tmp_path / "j"
    for _round in range(2):
        before = path.read_bytes() if path.exists() else b""
        child = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path)],
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        after_kill = path.read_bytes()
        assert after_kill.startswith(before)
        started = start(path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())
        started.store.close()
        assert started.recovery is not None
        recovered = path.read_bytes()
        assert recovered.startswith(after_kill)
        verified = journal.verify(recovered, require_closed=True)
        assert verified.last.event == journal.ABORTED

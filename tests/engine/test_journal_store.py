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


def test_a_rerun_after_an_abort_is_a_new_ceremony_linked_to_it(tmp_path: Path) -> None:
    path = tmp_path / "c1.journal.jsonl"
    with new(path) as store:
        store.append("roll_call", ["so1"], {"who": [Label("so1")]})
        store.abort("stopped by the officer", ["so1"])
    aborted = path.read_bytes()
    started = start(tmp_path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())
    assert started.recovery is None and started.created  # already closed by an abort
    assert (started.ceremony_id, started.attempt) == ("c1.r2", 2)
    assert [a.ceremony_id for a in started.aborted] == ["c1"]
    with started.store as store:
        store.append("roll_call", ["so1"])
        end = store.finish(["so1"])
    assert path.read_bytes() == aborted  # the aborted journal is never touched again
    verified = journal.verify((tmp_path / "c1.r2.journal.jsonl").read_bytes(), require_closed=True)
    assert verified.finished and verified.final_hash == end.hash
    link = verified.entries[0].data["restarts"]
    assert link == {
        "ceremony": "c1",
        "journal": "c1.journal.jsonl",
        "entries": 3,
        "final_hash": journal.verify(aborted).final_hash,
        "journal_sha256": FileDigest.of(aborted).hex,
    }
    assert verified.entries[0].data["attempt"] == 2
    with pytest.raises(JournalError, match=r"c1\.r2 finished"):
        start(tmp_path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())


def test_a_replaced_earlier_journal_breaks_the_link(tmp_path: Path) -> None:
    path = tmp_path / "c1.journal.jsonl"
    with new(path) as store:
        store.abort("stopped", ["so1"])
    start(tmp_path, ceremony_id="c1", ceremony_file=FILE, clock=ticking()).store.close()
    path.unlink()
    with new(path) as store:  # another valid, aborted journal in its place
        store.append("step")
        store.abort("stopped", ["so1"])
    with pytest.raises(JournalError, match=r"does not name c1\.journal\.jsonl"):
        start(tmp_path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())


def test_each_rerun_after_an_interruption_adds_one_attempt(tmp_path: Path) -> None:
    new(tmp_path / "c1.journal.jsonl").close()  # interrupted after its genesis entry
    for attempt in (2, 3, 4):
        started = start(tmp_path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())
        started.store.close()  # interrupted again
        assert started.attempt == attempt and len(started.aborted) == attempt - 1
        assert started.recovery is not None  # the attempt before was interrupted
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"c1{s}.journal.jsonl" for s in ("", ".r2", ".r3", ".r4")]
    for name in names:
        if name != "c1.r4.journal.jsonl":
            data = (tmp_path / name).read_bytes()
            assert journal.verify(data, require_closed=True).last.event == journal.ABORTED


def test_interrupted_run_is_marked_aborted(tmp_path: Path) -> None:
    path = tmp_path / "c1.journal.jsonl"
    with new(path) as store:
        store.append("step", ["so1"], {"index": 1})
    before = path.read_bytes()
    started = start(tmp_path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())
    started.store.close()
    assert started.recovery is not None
    assert started.recovery.last_before.seq == 1 and started.recovery.torn_bytes == 0
    after = path.read_bytes()
    assert after.startswith(before)  # nothing overwritten
    last = journal.verify(after).last
    assert last.event == journal.ABORTED and "starts again from its beginning" in str(last.data)


def test_torn_tail_is_kept_and_recorded(tmp_path: Path) -> None:
    path = tmp_path / "c1.journal.jsonl"
    with new(path) as store:
        entry = store.append("step", ["so1"], {"index": 1})
    # A crash in the middle of writing the next entry.
    torn = journal.next_entry(entry, "step", datetime.now(UTC), (), {"index": 2}).line()[:50]
    with path.open("ab") as f:
        f.write(torn)
    before = path.read_bytes()
    with pytest.raises(journal.JournalTruncatedError):
        journal.verify(before)
    started = start(tmp_path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())
    started.store.close()
    assert started.recovery is not None and started.recovery.torn_bytes == len(torn)
    after = path.read_bytes()
    assert after.startswith(before)
    verified = journal.verify(after)
    assert verified.recovered == (2,)
    assert verified.last.data["torn_bytes"] == len(torn)


def test_a_crash_during_recovery_is_recovered_too(tmp_path: Path) -> None:
    path = tmp_path / "c1.journal.jsonl"
    with new(path) as store:
        entry = store.append("step")
    first_tear = b'{"actors":[],"ceremony":"c1","da'
    with path.open("ab") as f:
        f.write(first_tear)
    aborted = journal.aborted(entry, Text("x"), datetime.now(UTC), torn=first_tear)
    with path.open("ab") as f:
        f.write(b"\n" + aborted.line()[:30])  # the recovery itself was torn
    before = path.read_bytes()
    started = start(tmp_path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())
    started.store.close()
    assert started.recovery is not None
    after = path.read_bytes()
    assert after.startswith(before)
    assert journal.verify(after).last.event == journal.ABORTED


def test_a_whole_entry_without_its_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "c1.journal.jsonl"
    with new(path) as store:
        entry = store.append("step")
    with path.open("ab") as f:
        f.write(journal.next_entry(entry, "step", datetime.now(UTC)).line()[:-1])
    started = start(tmp_path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())
    with started.store as store:
        store.append("roll_call")
    verified = journal.verify(path.read_bytes())
    assert [e.event for e in verified.entries] == ["genesis", "step", "step", "aborted"]
    again = journal.verify((tmp_path / "c1.r2.journal.jsonl").read_bytes())
    assert [e.event for e in again.entries] == ["genesis", "roll_call"]


def test_an_interrupted_run_is_never_resumed(tmp_path: Path) -> None:
    path = tmp_path / "c1.journal.jsonl"
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
    path = tmp_path / "c1.journal.jsonl"
    with new(path) as store:
        store.finish()
        with pytest.raises(JournalError, match="is finished"):
            store.append("step")
    with pytest.raises(JournalError, match="never runs twice"):
        start(tmp_path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())


def test_changed_ceremony_file_and_other_ceremony_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "c1.journal.jsonl"
    new(path).close()
    with pytest.raises(JournalError, match="ceremony file changed"):
        start(tmp_path, ceremony_id="c1", ceremony_file=FileDigest.of(b"edited"), clock=ticking())
    os.rename(path, tmp_path / "c2.journal.jsonl")  # c1's journal under c2's name
    with pytest.raises(JournalForeignError):
        start(tmp_path, ceremony_id="c2", ceremony_file=FILE, clock=ticking())


def test_a_broken_chain_is_never_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "c1.journal.jsonl"
    with new(path) as store:
        store.append("step", (), {"index": 1})
        store.append("step", (), {"index": 2})
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"index":1', b'"index":7'))
    with pytest.raises(journal.JournalTamperedError, match="entry 1"):
        start(tmp_path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())


def test_a_change_behind_the_store_stops_it(tmp_path: Path) -> None:
    path = tmp_path / "c1.journal.jsonl"
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
    path = tmp_path / "c1.journal.jsonl"
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
    for _round in range(2):
        before = {p: p.read_bytes() for p in tmp_path.iterdir()}
        child = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path)],
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        after_kill = {p: p.read_bytes() for p in tmp_path.iterdir()}
        assert all(after_kill[p].startswith(data) for p, data in before.items())
        started = start(tmp_path, ceremony_id="c1", ceremony_file=FILE, clock=ticking())
        started.store.close()
        assert started.recovery is not None
        killed = started.aborted[-1].path
        recovered = killed.read_bytes()
        assert recovered.startswith(after_kill[killed])
        verified = journal.verify(recovered, require_closed=True)
        assert verified.last.event == journal.ABORTED

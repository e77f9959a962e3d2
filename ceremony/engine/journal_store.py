"""The journal on disk: exclusive create, fsync per entry, crash recovery; never rewritten."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ceremony.core import journal
from ceremony.core.journal import (
    Entry,
    FileDigest,
    FilePath,
    JournalValue,
    Label,
    Message,
    Text,
    Verified,
)
from ceremony.core.labels import restart_id
from ceremony.errors import JournalError, OutputExistsError
from ceremony.hardening import signals_deferred
from ceremony.output import install

Clock = Callable[[], datetime]

_APPEND_FLAGS = os.O_RDWR | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
_END_BYTES = 512


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _install(path: Path, line: bytes) -> None:
    """The journal's first line, whole and fsynced; an existing journal is never replaced."""
    try:
        install(path, line)
    except FileExistsError:
        raise OutputExistsError(
            f"the journal {path} already exists", hint="open it instead; it is never replaced"
        ) from None


class JournalStore:
    """An open journal file. Appends are serialised, written whole and fsynced before returning,
    so a step is reported done only once its entry is on disk. Safe to call from worker threads.
    """

    def __init__(
        self, path: Path, fd: int, last: Entry, end: bytes, size: int, clock: Clock
    ) -> None:
        self.path = path
        self._fd = fd
        self._last = last
        self._end = end[-_END_BYTES:]  # the file's last bytes as we left them
        self._size = size
        self._clock = clock
        self._lock = threading.Lock()
        self._broken: str | None = None
        # Set by open() when the last run never closed: it is marked aborted, never resumed.
        self._needs_recovery = False

    # ---- opening --------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: Path | str,
        *,
        ceremony_id: str,
        ceremony_file: FileDigest,
        clock: Clock,
        actors: Sequence[str] = (),
        data: Mapping[str, JournalValue] | None = None,
    ) -> JournalStore:
        """A new journal holding its genesis entry; refuses an existing file.

        The genesis line is written to a temporary name, fsynced and hard-linked into place, so
        the journal never exists without a complete genesis entry.
        """
        path = Path(path)
        first = journal.genesis(ceremony_id, ceremony_file, clock(), actors, data)
        line = first.line()
        if path.exists() or path.is_symlink():
            raise OutputExistsError(
                f"the journal {path} already exists", hint="open it instead; it is never replaced"
            )
        try:
            _install(path, line)
            fd = os.open(path, _APPEND_FLAGS)
        except OSError as ex:
            raise JournalError(
                f"cannot create the journal {path}: {ex.strerror or ex}",
                hint="check that the output folder exists and is writable",
            ) from ex
        return cls(path, fd, first, line, len(line), clock)

    @classmethod
    def open(
        cls, path: Path | str, *, ceremony_id: str, clock: Clock
    ) -> tuple[JournalStore, Verified]:
        """An existing journal, verified whole (a torn tail is reported, not refused)."""
        path = Path(path)
        try:
            fd = os.open(path, _APPEND_FLAGS)
        except FileNotFoundError:
            raise JournalError(
                f"there is no journal at {path}", hint="check the output folder"
            ) from None
        except OSError as ex:
            # O_NOFOLLOW: a symlink in place of the journal is refused too.
            raise JournalError(
                f"cannot open the journal {path}: {ex.strerror or ex}",
                hint="the journal must be a plain file in the output folder",
            ) from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise JournalError(
                    f"the journal {path} is not a regular file (a FIFO or a device?)",
                    hint="the journal must be a plain file in the output folder; move the "
                    "other file away and look at how it got there",
                )
            data = _read_all(fd)
            verified = journal.verify(data, ceremony_id=ceremony_id, allow_torn_tail=True)
        except BaseException:
            os.close(fd)
            raise
        store = cls(path, fd, verified.last, data, len(data), clock)
        store._needs_recovery = not verified.closed or verified.needs_newline
        return store, verified

    # ---- writing --------------------------------------------------------------------------

    @property
    def last(self) -> Entry:
        return self._last

    @property
    def final_hash(self) -> str:
        return self._last.hash

    def append(
        self,
        event: str,
        actors: Sequence[str] = (),
        data: Mapping[str, JournalValue] | None = None,
    ) -> Entry:
        """Build the next entry, write and fsync it; returns only once it is on disk."""
        with self._lock:
            entry = journal.next_entry(self._last, event, self._clock(), actors, data)
            self._write(entry.line(), entry)
            return entry

    def abort(self, reason: str | Message, actors: Sequence[str] = ()) -> Entry:
        """Close the current run with an ``aborted`` entry (a ``str`` reason is ``Text``)."""
        with self._lock:
            text = reason if isinstance(reason, Message) else Text(reason)
            entry = journal.aborted(self._last, text, self._clock(), actors)
            self._write(entry.line(), entry)
            return entry

    def finish(
        self, actors: Sequence[str] = (), data: Mapping[str, JournalValue] | None = None
    ) -> Entry:
        """The ``finished`` entry; nothing can be appended after it."""
        return self.append(journal.FINISHED, actors, data)

    def recover(self, verified: Verified, reason: str) -> Entry | None:
        """Mark an interrupted run aborted; None when the journal was already closed.

        A torn tail stays in the file, byte for byte: the aborted entry follows it on a new
        line and records its length and SHA-256, which is how ``verify`` accepts it.
        """
        with self._lock:
            if verified.last.hash != self._last.hash:
                raise JournalError("recover() needs the verification of this journal", hint="bug")
            if verified.closed and not verified.needs_newline:
                return None
            torn = verified.torn_tail.data if verified.torn_tail is not None else None
            entry = journal.aborted(self._last, Text(reason), self._clock(), (), torn)
            prefix = b"\n" if torn is not None or verified.needs_newline else b""
            self._write(prefix + entry.line(), entry, recovering=True)
            self._needs_recovery = False
            return entry

    @signals_deferred()  # a SIGTERM or Ctrl-C mid-write would leave _size behind the file
    def _write(self, payload: bytes, entry: Entry, recovering: bool = False) -> None:
        if self._needs_recovery and not recovering:
            raise JournalError(
                f"the journal {self.path} ends in an interrupted run",
                hint="this is a bug: recover() marks it aborted before anything is appended",
            )
        if self._broken is not None:
            raise JournalError(
                f"the journal {self.path} cannot be written any more: {self._broken}",
                hint="stop the ceremony; restart it from the beginning after checking the disk",
            )
        self._require_unchanged()
        try:
            _write_all(self._fd, payload)
            os.fsync(self._fd)
        except OSError as ex:
            self._broken = f"writing entry {entry.seq} failed ({ex.strerror or ex})"
            raise JournalError(
                f"the journal entry {entry.seq} could not be written: {ex.strerror or ex}",
                hint="stop: the step is not done. Check the medium (space, write protection); "
                "a restart marks this run aborted",
            ) from ex
        self._size += len(payload)
        self._end = (self._end + payload)[-_END_BYTES:]
        self._last = entry

    def _require_unchanged(self) -> None:
        # Refuse to append to a chain that someone else changed since our last write.
        size = os.fstat(self._fd).st_size
        end = self._end
        if size != self._size or os.pread(self._fd, len(end), size - len(end)) != end:
            self._broken = "the file changed on disk since the last entry"
            raise JournalError(
                f"the journal {self.path} changed on disk since entry {self._last.seq}",
                hint="stop the ceremony and keep the file as evidence",
            )

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> JournalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    offset = 0
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


@dataclass(frozen=True)
class Recovery:
    """What a restart found: the interrupted run's last entry and the aborted entry it added."""

    last_before: Entry
    torn_bytes: int
    aborted: Entry


@dataclass(frozen=True)
class AbortedJournal:
    """An earlier attempt of this ceremony file: a journal that ends ``aborted``.

    ``recovery`` is set when this start found it interrupted and marked it aborted; None when
    it was already closed by an abort (Ctrl-C, a stop signal, an error).
    """

    path: Path
    verified: Verified
    sha256: FileDigest  # of the file's bytes as they are now, the aborted entry included
    recovery: Recovery | None

    @property
    def ceremony_id(self) -> str:
        return self.verified.ceremony_id

    @property
    def final_hash(self) -> str:
        return self.verified.final_hash

    @property
    def reason(self) -> str:
        value = self.verified.last.data.get("reason")
        return value if isinstance(value, str) else "no reason recorded"


@dataclass(frozen=True)
class Started:
    store: JournalStore
    recovery: Recovery | None  # set when the last attempt was interrupted and is now marked aborted
    created: bool  # True when the journal was created now (always, since restarts are linked)
    ceremony_id: str = ""  # the id of the journal now open: the file's id, or ``<id>.r<n>``
    attempt: int = 1  # 1, or n for the n-th attempt of the file after n - 1 aborted ones
    aborted: tuple[AbortedJournal, ...] = ()  # the earlier attempts, oldest first


def journal_name(ceremony_id: str) -> str:
    return f"{ceremony_id}.journal.jsonl"


def restarts_data(previous: AbortedJournal) -> dict[str, JournalValue]:
    """The genesis fields linking a restart to the aborted attempt before it."""
    return {
        "ceremony": Label(previous.ceremony_id),
        "journal": FilePath(previous.path.name),
        "entries": len(previous.verified.entries),
        "final_hash": FileDigest(bytes.fromhex(previous.final_hash)),
        "journal_sha256": previous.sha256,
    }


def start(
    folder: Path | str,
    *,
    ceremony_id: str,
    ceremony_file: FileDigest,
    clock: Clock,
    actors: Sequence[str] = (),
    data: Mapping[str, JournalValue] | None = None,
) -> Started:
    """Open the journal of the next attempt of a ceremony file in ``folder``.

    The first attempt's journal is ``<id>.journal.jsonl``. When it exists and ended aborted
    (or was interrupted: it is marked aborted now, never resumed), the next attempt is a new
    ceremony ``<id>.r2`` whose genesis entry names the aborted journal by its final hash and
    SHA-256 (``restarts``), and so on. ``data`` is the genesis entry's data.

    Refuses a finished ceremony, a journal of another ceremony, a changed ceremony file and a
    chain whose link does not match. Secrets are never persisted, so nothing is resumed.
    """
    folder = Path(folder)
    chain: list[AbortedJournal] = []
    recovery: Recovery | None = None
    attempt = 1
    while True:
        current = restart_id(ceremony_id, attempt)
        path = folder / journal_name(current)
        if not path.exists() and not path.is_symlink():
            break
        aborted, recovery = _close_attempt(path, current, ceremony_file, clock, chain)
        chain.append(aborted)
        attempt += 1
    genesis: dict[str, JournalValue] = dict(data or {})
    if chain:
        genesis["attempt"] = attempt
        genesis["restarts"] = restarts_data(chain[-1])
    store = JournalStore.create(
        path,
        ceremony_id=current,
        ceremony_file=ceremony_file,
        clock=clock,
        actors=actors,
        data=genesis,
    )
    return Started(store, recovery, True, current, attempt, tuple(chain))


def _close_attempt(
    path: Path,
    ceremony_id: str,
    ceremony_file: FileDigest,
    clock: Clock,
    chain: Sequence[AbortedJournal],
) -> tuple[AbortedJournal, Recovery | None]:
    """An earlier attempt, verified and marked aborted if it was interrupted; then closed."""
    store, verified = JournalStore.open(path, ceremony_id=ceremony_id, clock=clock)
    with store:
        if verified.ceremony_file_sha256 != ceremony_file.hex:
            raise JournalError(
                f"the ceremony file changed since the journal {path} began",
                hint="a changed file is a new ceremony: give it a new id and output folder",
            )
        if verified.finished:
            raise JournalError(
                f"ceremony {ceremony_id} finished at entry {verified.last.seq}; "
                "it never runs twice",
                hint="a new ceremony needs a new ceremony id and output folder; if record.pdf "
                f"or journal.sig is missing, 'ceremony record {path.parent}' signs the "
                "finished journal (and writes only the half that is missing)",
            )
        if chain:
            _require_link(path, verified, chain[-1])
        before = verified.last
        torn = verified.torn_tail.length if verified.torn_tail is not None else 0
        entry = store.recover(
            verified,
            f"the run stopped after entry {before.seq} ({before.event}) without finishing; "
            "a rerun of the same file starts again from its beginning as a new ceremony "
            "linked to this one",
        )
    data = path.read_bytes()
    closed = journal.verify(data, ceremony_id=ceremony_id, require_closed=True)
    recovery = Recovery(before, torn, entry) if entry is not None else None
    return AbortedJournal(path, closed, FileDigest.of(data), recovery), recovery


def _require_link(path: Path, verified: Verified, previous: AbortedJournal) -> None:
    link = verified.entries[0].data.get("restarts")
    expected = {
        "ceremony": previous.ceremony_id,
        "journal": previous.path.name,
        "entries": len(previous.verified.entries),
        "final_hash": previous.final_hash,
        "journal_sha256": previous.sha256.hex,
    }
    if link != expected:
        raise JournalError(
            f"the journal {path} does not name {previous.path.name} as it is now (its final "
            "hash or SHA-256 differ)",
            hint="an earlier journal of this ceremony was changed or replaced; stop and keep "
            "every file as evidence",
        )

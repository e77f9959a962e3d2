"""Test helper: run the ceremony CLI and SIGKILL it right after its K-th journal entry is on disk.

    python -m tests.hsm.killer K run FILE --rehearsal --answers ANSWERS

K counts the entries this process writes (the genesis entry of a new journal is 1). With K = 0
nothing is killed: the run goes to its end, like ``ceremony run``.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from ceremony.cli import main
from ceremony.engine import journal_store

_written = 0


def _count(kill_at: int) -> None:
    global _written
    _written += 1
    if _written == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)


def install(kill_at: int) -> None:
    write = journal_store.JournalStore._write
    create = journal_store.JournalStore.create.__func__  # type: ignore[attr-defined]

    def counted_write(self: Any, payload: bytes, entry: Any, recovering: bool = False) -> None:
        write(self, payload, entry, recovering)
        _count(kill_at)

    def counted_create(cls: Any, *args: Any, **kwargs: Any) -> Any:
        store = create(cls, *args, **kwargs)
        _count(kill_at)
        return store

    journal_store.JournalStore._write = counted_write  # type: ignore[method-assign]
    journal_store.JournalStore.create = classmethod(counted_create)  # type: ignore[method-assign, assignment]


if __name__ == "__main__":
    install(int(sys.argv[1]))
    sys.exit(main(sys.argv[2:]))

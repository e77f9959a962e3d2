"""Test helper: ``ceremony run`` whose output medium fills up right after a journal entry.

    python -m tests.hsm.filler EVENT FOLDER run FILE --rehearsal --answers ANSWERS

Right after the first EVENT entry is on disk, ballast fills the filesystem of FOLDER (a small
tmpfs in the test), as a full USB stick would; the run goes on and meets the full medium.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ceremony.cli import main
from ceremony.engine import journal_store
from tests.engine.helpers import fill
from tests.hsm.killer import _cheap_scrypt


def install(event: str, folder: Path) -> None:
    write = journal_store.JournalStore._write
    done = {"yet": False}

    def filling(store: Any, payload: bytes, entry: Any, recovering: bool = False) -> None:
        write(store, payload, entry, recovering)
        if entry.event == event and not done["yet"]:
            done["yet"] = True
            fill(folder)

    journal_store.JournalStore._write = filling  # type: ignore[method-assign]


if __name__ == "__main__":
    _cheap_scrypt()
    install(sys.argv[1], Path(sys.argv[2]))
    sys.exit(main(sys.argv[3:]))

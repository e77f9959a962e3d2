"""Test helper: ``ceremony run`` whose token goes away right after a journal entry.

    python -m tests.hsm.unplugger EVENT run FILE --rehearsal --answers ANSWERS

After the first EVENT entry is on disk, every later PKCS#11 step of the ceremony's session
fails as a module reports an unplugged token (CKR_DEVICE_REMOVED), through the backend's own
translation; the token itself is untouched, as a token plugged back in would be.
"""

from __future__ import annotations

import sys
from typing import Any

from pkcs11.exceptions import DeviceRemoved

from ceremony.cli import main
from ceremony.engine import journal_store
from ceremony.hsm.pkcs11 import errors, link
from tests.hsm.killer import _cheap_scrypt


def install(event: str) -> None:
    write = journal_store.JournalStore._write
    step = link.Link.step
    gone = {"now": False}

    def writing(store: Any, payload: bytes, entry: Any, recovering: bool = False) -> None:
        write(store, payload, entry, recovering)
        if entry.event == event:
            gone["now"] = True

    def unplugged(self: Any, what: str) -> Any:
        if gone["now"]:
            raise errors.translate(DeviceRemoved(), what, self.where, lambda: False)
        return step(self, what)

    journal_store.JournalStore._write = writing  # type: ignore[method-assign]
    link.Link.step = unplugged  # type: ignore[method-assign]


if __name__ == "__main__":
    _cheap_scrypt()
    install(sys.argv[1])
    sys.exit(main(sys.argv[2:]))

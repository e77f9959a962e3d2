"""Test helper: ``ceremony run`` killed with SIGKILL right after ``record.pdf`` got its final name,
before ``journal.sig``: the power cut between the two halves of the signed record.

    python -m tests.hsm.record_killer run FILE --rehearsal --answers ANSWERS
"""

from __future__ import annotations

import os
import signal
import sys

from ceremony import output
from ceremony.cli import main
from tests.hsm.killer import _cheap_scrypt

_install_at = output.install_at


def _dying(dir_fd: int, name: str, data: bytes, mode: int, *, replace: bool = False) -> None:
    _install_at(dir_fd, name, data, mode, replace=replace)
    if name == "record.pdf":
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    _cheap_scrypt()
    output.install_at = _dying  # type: ignore[assignment]
    sys.exit(main(sys.argv[1:]))

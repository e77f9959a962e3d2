"""Test helper: run the ceremony CLI and stop it right after a journal entry is on disk.

    python -m tests.hsm.killer WHEN run FILE --rehearsal --answers ANSWERS

WHEN is ``K`` (the K-th entry this process writes; the genesis entry of a new journal is 1) or
an event name (the first entry of that event), optionally followed by ``:TERM``, ``:HUP`` or
``:INT`` to send that signal instead of SIGKILL. ``0`` kills nothing: the run goes to its end,
like ``ceremony run``.

Approval passphrases are hashed with the lowest scrypt cost the rules accept (the engine's own
choice is tested in tests/unit), as in-process tests do with the ``cheap_scrypt`` fixture.

With ``CEREMONY_TEST_SECRETS=FILE`` every secret the process held (key material, components;
not PINs) is appended to FILE in hex, for the test's scan of the disk: FILE must lie outside
what is scanned.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
from typing import Any

from ceremony.cli import main
from ceremony.core.secret import Secret
from ceremony.engine import journal_store

_written = 0
_secrets: list[Secret] = []
_SIGNALS = {"TERM": signal.SIGTERM, "HUP": signal.SIGHUP, "INT": signal.SIGINT}


def _dump(secrets: list[Secret]) -> None:
    path = os.environ.get("CEREMONY_TEST_SECRETS")
    if not path:
        return
    lines = []
    for s in secrets:
        if s.closed or "PIN" in s.label or len(s) < 16:
            continue
        value = bytes(s.reveal())
        if any(value):
            lines.append(value.hex() + "\n")
    if lines:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, "".join(lines).encode())
        finally:
            os.close(fd)


def _record_secrets() -> None:
    init, close = Secret.__init__, Secret.close

    def recorded_init(self: Secret, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        _secrets.append(self)

    def recorded_close(self: Secret) -> None:
        _dump([self])  # its value before the wipe: xor and shamir fill secrets after __init__
        close(self)

    Secret.__init__ = recorded_init  # type: ignore[method-assign]
    Secret.close = recorded_close  # type: ignore[method-assign]
    atexit.register(lambda: _dump(_secrets))


def install(when: str) -> None:
    point, _, name = when.partition(":")
    stop = _SIGNALS[name] if name else signal.SIGKILL
    write = journal_store.JournalStore._write
    create = journal_store.JournalStore.create.__func__  # type: ignore[attr-defined]

    def count(event: str) -> None:
        global _written
        _written += 1
        if point == event or (point.isdigit() and _written == int(point)):
            if stop is signal.SIGKILL:
                _dump(_secrets)
            os.kill(os.getpid(), stop)

    def counted_write(self: Any, payload: bytes, entry: Any, recovering: bool = False) -> None:
        write(self, payload, entry, recovering)
        count(entry.event)

    def counted_create(cls: Any, *args: Any, **kwargs: Any) -> Any:
        store = create(cls, *args, **kwargs)
        count("genesis")
        return store

    journal_store.JournalStore._write = counted_write  # type: ignore[method-assign]
    journal_store.JournalStore.create = classmethod(counted_create)  # type: ignore[method-assign, assignment]


def _cheap_scrypt() -> None:
    """The lowest scrypt work factor the rules accept, as the cheap_scrypt fixture sets it."""
    import functools

    from ceremony.core import rules
    from ceremony.engine.steps import people

    people.hash_passphrase = functools.partial(rules.hash_passphrase, n=2**14)  # type: ignore[assignment]


if __name__ == "__main__":
    _cheap_scrypt()
    _record_secrets()
    if sys.argv[1] != "0":
        install(sys.argv[1])
    sys.exit(main(sys.argv[2:]))

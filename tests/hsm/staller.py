"""Test helper: run the ceremony CLI and hold it at the first prompt after a journal event.

    python -m tests.hsm.staller EVENT MARKER run FILE --rehearsal --answers ANSWERS

Once the entry EVENT is on disk, the next scripted answer is not given: the helper writes MARKER
(JSON: its pid, and in hex every secret drawn so far, for the test's secret scan; so MARKER lies
outside the folder that is scanned) and waits there, as a custodian would at a prompt, for a
signal to end the process. When the machine ends (the abort journaled), it writes
``MARKER.ended.json``: whether the token session was closed and how many drawn secrets are still
open (both read inside the process, where only they can be seen).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from ceremony.cli import main
from ceremony.core.secret import Secret
from ceremony.engine import journal_store
from ceremony.engine.machine import Machine
from ceremony.engine.script import Script

_seen = False
_drawn: list[str] = []
_secrets: list[Secret] = []


def install(event: str, marker: Path) -> None:
    write = journal_store.JournalStore._write
    answer = Script.answer
    generate = Secret.generate.__func__  # type: ignore[attr-defined]

    def kept_generate(cls: Any, length: int, label: str = "secret") -> Secret:
        secret: Secret = generate(cls, length, label)
        _drawn.append(secret.reveal().hex())
        _secrets.append(secret)
        return secret

    def watched_write(self: Any, payload: bytes, entry: Any, recovering: bool = False) -> None:
        global _seen
        write(self, payload, entry, recovering)
        _seen = _seen or entry.event == event

    def held_answer(self: Script, request: Any) -> Any:
        if _seen:
            temporary = marker.with_suffix(".tmp")
            temporary.write_text(json.dumps({"pid": os.getpid(), "secrets": _drawn}))
            temporary.replace(marker)  # whole or absent: the test reads it as soon as it exists
            while True:
                signal.pause()
        return answer(self, request)

    end = Machine._end

    def watched_end(self: Machine, status: Any, reason: str | None) -> None:
        session = self._ctx.session if self._ctx is not None else None
        end(self, status, reason)
        link = getattr(session, "_link", None)
        ended = {
            "status": status.value,
            "session_closed": None if link is None else bool(link.closed),
            "open_secrets": sum(not s.closed for s in _secrets),
            "drawn": len(_secrets),
        }
        marker.with_suffix(".ended.json").write_text(json.dumps(ended))

    journal_store.JournalStore._write = watched_write  # type: ignore[method-assign]
    Machine._end = watched_end  # type: ignore[method-assign]
    Script.answer = held_answer  # type: ignore[method-assign]
    Secret.generate = classmethod(kept_generate)  # type: ignore[method-assign, assignment]


if __name__ == "__main__":
    install(sys.argv[1], Path(sys.argv[2]))
    sys.exit(main(sys.argv[3:]))

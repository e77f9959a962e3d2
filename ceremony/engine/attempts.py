"""Failed attempts: each wrong PIN, passphrase, KCV or serial journaled and counted to its limit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ceremony.core import events
from ceremony.core.events import TRY_LIMITS, AttemptKind
from ceremony.engine.step_id import StepId

if TYPE_CHECKING:
    from ceremony.engine.context import Context


class Attempts:
    """Failures per (kind, counter) in this run; a new run starts again from zero."""

    def __init__(self) -> None:
        self._used: dict[tuple[AttemptKind, str], int] = {}

    def used(self, kind: AttemptKind, counter: str) -> int:
        return self._used.get((kind, counter), 0)

    def left(self, kind: AttemptKind, counter: str) -> int:
        return TRY_LIMITS[kind] - self.used(kind, counter)

    def tries(self, kind: AttemptKind, counter: str) -> str:
        """``2 of 3``: what the screen shows as tries left before anyone types."""
        left, limit = self.left(kind, counter), TRY_LIMITS[kind]
        if left == 1:
            return f"1 of {limit}: one more failure stops the ceremony"
        return f"{left} of {limit}"

    def count(self, kind: AttemptKind, counter: str) -> int:
        n = self.used(kind, counter) + 1
        self._used[(kind, counter)] = n
        return n


def failed(
    ctx: Context,
    kind: AttemptKind,
    step: StepId,
    participants: Sequence[str],
    counter: str,
    *,
    role: str | None = None,
    token_reports: str | None = None,
) -> int:
    """Journal one failed attempt (never what was typed); the tries left after it."""
    attempt = ctx.attempts.count(kind, counter)
    ctx.journal(
        events.attempt_failed(
            kind=kind,
            step=str(step),
            participants=list(dict.fromkeys(participants)),
            counter=counter,
            attempt=attempt,
            screen=ctx.screen,
            role=role,
            token_reports=token_reports,
        ),
        participants,
    )
    return TRY_LIMITS[kind] - attempt


def left_text(left: int, limit: int) -> str:
    """``(2 of 3 tries left)`` for a refusal's message."""
    return f"{left} of {limit} tries left"

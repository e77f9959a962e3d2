"""The clock: a security officer reads an independent clock against the workstation's."""

from __future__ import annotations

from datetime import UTC, datetime

from ceremony.core import events
from ceremony.engine.context import Context, Flow
from ceremony.engine.requests import AnswerRefused, RequestKind
from ceremony.engine.step_id import Family, StepId

STAGE = StepId(Family.CLOCK)


def clock(ctx: Context) -> Flow[None]:
    ctx.stage(STAGE)
    system = ctx.now()
    shown = system.astimezone(UTC).strftime("%Y-%m-%d %H:%M")

    def accept(value: str, by: str) -> tuple[str, str]:
        text = value.strip()
        if text.lower() == "same":
            return shown, by
        try:
            moment = datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        except ValueError:
            raise AnswerRefused(
                "not a time in the form YYYY-MM-DD HH:MM",
                hint="type the UTC time an independent clock shows, or 'same'",
            ) from None
        return moment.strftime("%Y-%m-%d %H:%M"), by

    attested, by = yield from ctx.ask_for(
        STAGE,
        ctx.officers(),
        RequestKind.PUBLIC,
        f"The workstation clock reads {shown} UTC. Read an independent clock and type the "
        "UTC time it shows (YYYY-MM-DD HH:MM), or 'same' if it agrees to the minute.",
        accept,
    )
    ctx.journal(
        events.time_attested(system_time=system, attested_time=attested, attested_by=[by]),
        [by],
    )

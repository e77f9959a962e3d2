"""The air-gap check at the start, and the two-officer override after roll call."""

from __future__ import annotations

from collections.abc import Sequence

from ceremony.core import events
from ceremony.core.airgap_rules import AirGapVerdict, require_air_gap
from ceremony.core.rules import Operation
from ceremony.engine.context import Context, Flow, Stopped
from ceremony.engine.step_id import Action, Family, StepId
from ceremony.engine.steps.people import approve

STAGE = StepId(Family.AIRGAP)


def airgap(ctx: Context) -> Flow[None]:
    ctx.stage(STAGE)
    while True:
        verdict = ctx.services.airgap()
        ctx.notices += verdict.lines()
        if verdict.isolated or ctx.rehearsal:
            if not verdict.isolated:
                ctx.notice("This is a rehearsal: it goes on and the journal records it.")
            ctx.journal(_checked(verdict))
            return
        choice, by = yield from ctx.choose(
            STAGE.then(Action.CHOICE),
            ctx.officers(),
            "This machine is not air-gapped. Unplug every network cable, block every radio "
            "(rfkill block all) and recheck; or two security officers override after roll "
            "call; or stop.",
            ("recheck", "override", "stop"),
            hint="recheck after unplugging the network, override (two security "
            "officers approve after roll call) or stop",
            lines=tuple(verdict.lines()),
        )
        if choice == "stop":
            ctx.journal(_checked(verdict), [by])
            raise Stopped("stopped: the machine is not air-gapped", by)
        if choice == "override":
            ctx.airgap_override_pending = verdict
            return


def airgap_override(ctx: Context) -> Flow[None]:
    """After roll call: check again, and two security officers override if still networked."""
    if ctx.airgap_override_pending is None:
        return
    ctx.stage(STAGE)
    verdict = ctx.services.airgap()
    if verdict.isolated:
        ctx.notices += verdict.lines()
        ctx.journal(_checked(verdict))
        return
    officers = yield from approve(
        ctx, Operation.AIRGAP_OVERRIDE, ctx.ceremony_id, lines=verdict.lines(), journal=False
    )
    require_air_gap(verdict, rehearsal=False, overriders=officers, roster=ctx.roster)
    ctx.journal(_checked(verdict, officers), officers)
    ctx.notice("Air-gap override approved by " + ctx.roster.who(officers) + ".")


def _checked(verdict: AirGapVerdict, override_by: Sequence[str] | None = None) -> events.Event:
    return events.airgap_checked(
        isolated=verdict.isolated,
        findings=[f.describe() for f in verdict.findings],
        interfaces=verdict.interfaces,
        override_by=override_by,
    )

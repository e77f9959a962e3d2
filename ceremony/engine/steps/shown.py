"""A new component shown to its custodian on screen (or sent to the printer), and shown again."""

from __future__ import annotations

import functools

from ceremony.core import encoding, events
from ceremony.core.ceremony_file import ComponentSpec, KeyEntry, SplitSpec
from ceremony.core.component import Component, Scheme
from ceremony.core.events import TRY_LIMITS, AttemptKind
from ceremony.core.rules import (
    Operation,
    PlannedOperation,
    RuleBreach,
    require_dual_control_possible,
    require_may_see_component,
)
from ceremony.engine import attempts
from ceremony.engine.context import Context, Flow
from ceremony.engine.requests import AGAIN, AnswerRefused, ComponentSheet, RequestKind
from ceremony.engine.step_id import Action, Family, StepId
from ceremony.engine.steps.components import (
    confirm_privacy,
    journal_issued,
    require_split_knowledge,
    require_typed_back,
    typed_hex,
)
from ceremony.engine.steps.envelopes import seal_envelope
from ceremony.engine.steps.evidence import write_rehearsal_form
from ceremony.engine.steps.people import approve_component
from ceremony.engine.steps.printer import print_component
from ceremony.errors import CeremonyError, RuleViolation


def show_component(
    ctx: Context, key: KeyEntry, split: SplitSpec, split_set: str, component: Component
) -> Flow[None]:
    spec = next(c for c in split.components if c.index == component.index)
    stage = StepId.of(Family.COMPONENT, key.label, component.index)
    ctx.stage(stage)
    custodian = ctx.roster.get(spec.custodian)
    require_split_knowledge(ctx, key, split, split_set)
    require_may_see_component(spec.custodian, key.label, spec.assignment, ctx.roster)
    printing = ctx.printing
    operation = Operation.PRINT_COMPONENT if printing else Operation.SHOW_COMPONENT
    yield from approve_component(ctx, operation, key, spec)
    backup = f" and their backup {ctx.roster.who([spec.backup])}" if spec.backup else ""
    place = "the printer" if printing else "the screen"
    instruction = (
        f"Everyone except {custodian.describe()}{backup} turns away from {place} and "
        f"steps back. Nobody photographs or copies {'the form' if printing else place}."
    )
    yield from confirm_privacy(ctx, stage.then(Action.PRIVACY), spec, instruction, f" {place}")
    check = encoding.component_kcv(component)
    if printing:  # the printed form replaces the on-screen display (docs/evidence.md)
        yield from print_component(ctx, key, split_set, component, spec, check)
        return
    scheme = (
        f"XOR {component.count} OF {component.count}"
        if component.scheme is Scheme.XOR
        else f"SHAMIR {component.threshold} OF {component.count}"
    )
    sheet = ComponentSheet(
        key=key.label,
        split_set=split_set,
        index=component.index,
        count=component.count,
        scheme=scheme,
        custodian=spec.custodian,
        backup=spec.backup,
        kcv=check,
        instruction=instruction,
        lines=tuple(encoding.format_lines(component)),
        envelope=spec.envelope,
        rehearsal=ctx.rehearsal,
    )
    delivery = ctx.services.delivery
    if delivery is None:
        raise CeremonyError(
            "this front end cannot show a component", hint="use the runner or the TUI"
        )

    def typed_back(value: str, by: str, step: StepId, counter: str) -> bool:
        """True: the KCV typed back matches; False: the custodian asks to see it again."""
        if value.strip().lower() == AGAIN:
            require_show_again_possible(ctx, key, spec)
            return False
        try:
            require_typed_back(value, check, "on the form you copied it onto")
        except AnswerRefused as ex:
            if not typed_hex(value, check):
                raise  # not a KCV at all (a slip of the keyboard): asked again, not counted
            left = attempts.failed(ctx, AttemptKind.KCV, step, [spec.custodian], counter)
            limit = TRY_LIMITS[AttemptKind.KCV]
            if left == 0:
                raise RuleViolation(
                    f"{limit} KCVs typed back for component {component.index} of key "
                    f"{key.label!r} do not match: the ceremony stops",
                    hint="the component on the form cannot be trusted: destroy the form; the "
                    "ceremony starts again with new components",
                ) from None
            raise AnswerRefused(
                f"{ex.message} ({attempts.left_text(left, limit)}; or type {AGAIN} to see "
                "it once more)",
                hint=ex.hint,
            ) from None
        return True

    delivery.show(sheet)
    try:
        shown = 1
        while True:
            step = stage.then(Action.KCV, again=shown - 1 if shown > 1 else None)
            # Each showing gives fresh tries: a new copy is made from the screen.
            counter = f"KCV of {key.label} component {component.index}, showing {shown}"
            matched = yield from ctx.ask_for(
                step,
                ctx.person(spec.custodian),
                RequestKind.PUBLIC,
                f"{custodian.name}: copy your component onto your form, check it, then "
                f"type back its KCV (the hex digits after the method); or type {AGAIN} "
                "to ask to see it again (two approvals, journaled).",
                functools.partial(typed_back, step=step, counter=counter),
                tries=functools.partial(ctx.attempts.tries, AttemptKind.KCV, counter),
                display=sheet,
            )
            if matched:
                break
            delivery.hide(sheet)  # off the screen while the approvers come to the keyboard
            shown += 1
            yield from show_again(ctx, key, spec, split_set, sheet, shown)
            delivery.show(sheet)
    finally:
        delivery.hide(sheet)
    journal_issued(ctx, key, split_set, component, spec, check, delivery="screen")
    if ctx.rehearsal:
        write_rehearsal_form(ctx, key, component, spec.custodian, spec.envelope)
    yield from seal_envelope(ctx, key, component.index, spec)


def require_show_again_possible(ctx: Context, key: KeyEntry, spec: ComponentSpec) -> None:
    """Refuse the request to see a component again when nobody here could approve it."""
    planned = PlannedOperation(
        Operation.SHOW_COMPONENT_AGAIN,
        key.label,
        spec.index,
        involved=frozenset(spec.holders),
    )
    try:
        require_dual_control_possible(planned, ctx.roster)
    except RuleBreach as ex:
        raise AnswerRefused(
            ex.message, hint="copy the component from the screen next time, or stop"
        ) from None


def show_again(
    ctx: Context,
    key: KeyEntry,
    spec: ComponentSpec,
    split_set: str,
    sheet: ComponentSheet,
    shown: int,
) -> Flow[None]:
    """Two approvals and the privacy confirmation again, journaled just before it is shown."""
    approvers = yield from approve_component(ctx, Operation.SHOW_COMPONENT_AGAIN, key, spec)
    yield from confirm_privacy(
        ctx,
        StepId.of(Family.COMPONENT, key.label, spec.index).then(Action.PRIVACY, again=shown - 1),
        spec,
        sheet.instruction,
        " the screen",
    )
    ctx.journal(
        events.component_shown_again(
            key=key.label,
            split_set=split_set,
            index=spec.index,
            custodian=spec.custodian,
            approvers=approvers,
            shown=shown,
            backup=spec.backup,
        ),
        [*approvers, spec.custodian],
    )

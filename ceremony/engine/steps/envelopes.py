"""Tamper-evident envelopes: sealed at issue, checked against the record before opening."""

from __future__ import annotations

import functools

from ceremony.core import events
from ceremony.core.ceremony_file import ComponentSpec, KeyEntry, SplitSpec
from ceremony.core.events import TRY_LIMITS, AttemptKind
from ceremony.core.journal import looks_secret
from ceremony.core.rules import Role
from ceremony.engine import attempts
from ceremony.engine.context import Context, Flow
from ceremony.engine.requests import AnswerRefused, RequestKind
from ceremony.engine.step_id import Action, Family, StepId
from ceremony.errors import RuleViolation

# A misread serial is typed again; at the limit a mismatch is taken for a swap.
MAX_SERIAL_MISMATCHES = TRY_LIMITS[AttemptKind.ENVELOPE_SERIAL]


def seal_envelope(ctx: Context, key: KeyEntry, index: int, spec: ComponentSpec) -> Flow[None]:
    """The custodian seals the form in the envelope the file lists and types its serial."""
    if not spec.envelope:
        return
    envelope = spec.envelope
    custodian = ctx.roster.get(spec.custodian)
    step = StepId.of(Family.COMPONENT, key.label, index).then(Action.ENVELOPE)
    kind, counter = AttemptKind.ENVELOPE_SERIAL, f"envelope of {key.label} component {index} sealed"

    def serial(value: str, by: str) -> str:
        if value.strip() != envelope:
            if not value.strip():
                raise AnswerRefused("no serial was typed", hint="type the serial printed on it")
            left = attempts.failed(ctx, kind, step, [by], counter)
            if left == 0:
                raise RuleViolation(
                    f"{MAX_SERIAL_MISMATCHES} serials typed for the envelope of component "
                    f"{index} of key {key.label!r} are not {envelope}, the one the ceremony "
                    "file lists: the ceremony stops",
                    hint="keep the form in sight of the witnesses; use the envelope the file "
                    "lists, or correct the file and start again",
                )
            raise AnswerRefused(
                "that is not the envelope serial the ceremony file lists "
                f"({attempts.left_text(left, MAX_SERIAL_MISMATCHES)})",
                hint=f"use envelope {envelope}, or stop and correct the file",
            )
        return by

    yield from ctx.ask_for(
        step,
        ctx.person(spec.custodian),
        RequestKind.PUBLIC,
        f"{custodian.name}: seal your form in envelope {envelope} in front of the "
        "witnesses and type the serial printed on it.",
        serial,
        tries=functools.partial(ctx.attempts.tries, kind, counter),
        envelope=envelope,
    )
    ctx.journal(
        events.envelope_sealed(
            key=key.label, index=index, custodian=spec.custodian, envelope=envelope
        ),
        ctx.custodians(spec),
    )


def envelope_on_record(
    ctx: Context, key: KeyEntry, split: SplitSpec, spec: ComponentSpec
) -> tuple[str | None, str]:
    """The serial component ``spec`` must be in, and where it is recorded (PCI PIN 8-1, 9-2).

    The ceremony file's serial must be the one the registry recorded when the component
    was sealed; a component sealed in an envelope the file does not list stops too, since
    its envelope would be opened unchecked.
    """
    assert split.made_in is not None
    registry = ctx.registry.registry if ctx.registry is not None else None
    sealed = (
        registry.sealed_envelope(key.label, split.made_in, spec.index)
        if registry is not None
        else None
    )
    what = f"component {spec.index} of key {key.label!r} ({ctx.roster.who([spec.custodian])})"
    if sealed is not None and spec.envelope is None:
        raise RuleViolation(
            f"the custodian registry records {what} sealed in envelope {sealed}, but the "
            "ceremony file lists no envelope for it: do not open the envelope",
            hint=f'add envelope = "{sealed}" to that component in the ceremony file, have '
            "the file reviewed again and start a new ceremony",
        )
    if sealed is not None and spec.envelope != sealed:
        raise RuleViolation(
            f"the ceremony file lists envelope {spec.envelope} for {what}, the custodian "
            f"registry records it sealed in envelope {sealed}: do not open the envelope",
            hint="the envelope may have been swapped: treat the component as compromised "
            "until the security officers have compared the envelope log, the registry and "
            "the file",
        )
    return spec.envelope, "registry" if sealed is not None else "ceremony-file"


def check_envelopes(ctx: Context, key: KeyEntry, split: SplitSpec) -> None:
    """Every envelope of ``split`` against the registry, before the first one is opened."""
    for spec in split.components:
        envelope_on_record(ctx, key, split, spec)


def check_envelope(
    ctx: Context, key: KeyEntry, spec: ComponentSpec, recorded: str, recorded_in: str
) -> Flow[None]:
    """The checker types the serial they read; only a matching envelope is judged and opened."""
    custodian = ctx.roster.get(spec.custodian)
    checkers = [p.id for p in ctx.roster.with_role(Role.SECURITY_OFFICER, Role.WITNESS)]
    step = StepId.of(Family.ENTRY, key.label, spec.index)
    serial_step = step.then(Action.ENVELOPE_SERIAL)
    kind, counter = AttemptKind.ENVELOPE_SERIAL, f"envelope of {key.label} component {spec.index}"
    refused: AnswerRefused | None = None

    def read(value: str, by: str) -> tuple[str, str]:
        typed = value.strip()
        if not typed:
            raise AnswerRefused(
                "no serial was typed", hint="read the serial printed on the envelope"
            )
        if len(typed) > 64 or not typed.isprintable() or looks_secret(typed):
            raise AnswerRefused("that is not an envelope serial", hint="type the serial as printed")
        return typed, by

    def journal_check(typed: str, by: str, *, intact: bool | None) -> None:
        """``envelope_checked``; ``intact`` None: the serial differed, the seal unjudged."""
        ctx.journal(
            events.envelope_checked(
                key=key.label,
                index=spec.index,
                custodian=spec.custodian,
                envelope=typed,
                checked_by=by,
                intact=intact,
                serial_matches=typed == recorded,
                recorded=recorded,
                recorded_in=recorded_in,
            ),
            [by, spec.custodian],
        )

    while True:
        typed, by = yield from ctx.ask_for(
            serial_step,
            ctx.anyone(checkers, "a security officer or witness"),
            RequestKind.PUBLIC,
            f"Component {spec.index} ({custodian.describe()}): a security officer or "
            "witness reads the serial printed on its envelope and types it, before the "
            "envelope is opened.",
            read,
            refused,
            tries=functools.partial(ctx.attempts.tries, kind, counter),
            envelope=recorded,
        )
        if typed == recorded:
            break
        if ctx.attempts.left(kind, counter) == 1:
            journal_check(typed, by, intact=None)  # the last one: its record before the stop
        left = attempts.failed(ctx, kind, serial_step, [by], counter)
        if left == 0:
            raise RuleViolation(
                f"the envelope of component {spec.index} of key {key.label!r} "
                f"({custodian.describe()}) bears serial {typed}, not {recorded} as recorded: "
                "do not open it",
                hint="the envelope may have been swapped: treat the component as "
                "compromised; re-split the key from the other components in a new ceremony",
            )
        refused = AnswerRefused(
            f"serial {typed} is not the one recorded for component {spec.index} "
            f"({attempts.left_text(left, MAX_SERIAL_MISMATCHES)})",
            hint="read the serial again, character by character; do not open the envelope",
        )
    choice, _ = yield from ctx.choose(
        step.then(Action.ENVELOPE),
        ctx.person(by),
        f"Envelope {recorded} of component {spec.index} ({custodian.describe()}): its "
        "serial matches the record. Check the seal before it is opened. Is it intact?",
        ("intact", "damaged"),
        message="answer intact or damaged",
        hint="look at the seal",
        envelope=recorded,
    )
    intact = choice == "intact"
    journal_check(typed, by, intact=intact)
    if not intact:
        raise RuleViolation(
            f"envelope {recorded} of component {spec.index} of key {key.label!r} is "
            "damaged: the component must be treated as compromised",
            hint="stop; re-split the key from the other components in a new ceremony",
        )

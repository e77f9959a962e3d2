"""A component entered by its custodian: the envelope checked, then the KCV line and each line."""

from __future__ import annotations

import functools

from ceremony.core import encoding, events, kcv
from ceremony.core.ceremony_file import ComponentSpec, KeyEntry, SplitSpec
from ceremony.core.component import Component, KeyIdentity, Scheme
from ceremony.core.events import TRY_LIMITS, AttemptKind
from ceremony.core.kcv import CheckValue
from ceremony.core.rules import Operation
from ceremony.core.shamir import share_length
from ceremony.engine import attempts
from ceremony.engine.context import Context, Flow
from ceremony.engine.requests import AnswerRefused, EntryField, RequestKind
from ceremony.engine.step_id import Action, Family, StepId
from ceremony.engine.steps.components import confirm_privacy, require_split_knowledge
from ceremony.engine.steps.envelopes import check_envelope, envelope_on_record
from ceremony.engine.steps.people import approve_component
from ceremony.errors import CheckValueError, ComponentFormatError, RuleViolation


def enter_component(
    ctx: Context, key: KeyEntry, split: SplitSpec, spec: ComponentSpec
) -> Flow[Component]:
    assert key.algorithm is not None and key.length is not None and split.made_in is not None
    stage = StepId.of(Family.ENTRY, key.label, spec.index)
    ctx.stage(stage)
    custodian = ctx.roster.get(spec.custodian)
    require_split_knowledge(ctx, key, split, split.made_in)
    envelope, recorded_in = envelope_on_record(ctx, key, split, spec)
    if envelope is not None:
        yield from check_envelope(ctx, key, spec, envelope, recorded_in)
    yield from approve_component(ctx, Operation.ENTER_COMPONENT, key, spec)
    yield from confirm_privacy(
        ctx,
        stage.then(Action.PRIVACY),
        spec,
        f"Everyone except {custodian.describe()} turns away from the keyboard and screen.",
        "",
    )
    if split.plain:
        return (yield from _enter_plain(ctx, key, split, spec, stage))
    scheme = split.scheme or Scheme.XOR
    length = key.length if scheme is Scheme.XOR else share_length(key.length)
    header = encoding.ComponentHeader(
        KeyIdentity(split.made_in, key.label, key.algorithm, key.length),
        scheme,
        spec.index,
        split.count,
        split.k,
        length,
    )
    method = encoding.kcv_method_for(key.algorithm, length)
    structural = tuple(encoding.header_lines(header))
    who = ctx.person(spec.custodian)
    kcv_step = stage.then(Action.KCV)
    counter = f"KCV of {key.label} component {spec.index} entered"
    mismatch = functools.partial(_mismatch, ctx, key, spec, kcv_step, counter)

    refused: AnswerRefused | None = None
    while True:

        def read_kcv(value: str, by: str) -> CheckValue:
            text = value.strip()
            if text.upper().startswith("KCV:"):
                text = text[4:]
            try:
                check = kcv.parse_check_value(text)
            except CheckValueError as ex:
                raise AnswerRefused.of(ex) from None
            if check.method is not method:
                raise AnswerRefused(
                    f"this component's KCV is made with {method.label}",
                    hint="copy the KCV line of your form with its method",
                )
            if spec.kcv is not None:
                try:
                    kcv.require_match(spec.kcv, check, f"component {spec.index}")
                except CheckValueError as ex:
                    raise mismatch(
                        f"the KCV on this form is not the one the ceremony file records for "
                        f"component {spec.index}",
                        "is this the right form? " + (ex.hint or ""),
                    ) from None
            return check

        check = yield from ctx.ask_for(
            kcv_step,
            who,
            RequestKind.PUBLIC,
            f"{custodian.name}: type the KCV line of your form (for example "
            f"{method.label} followed by its hex digits).",
            read_kcv,
            refused,
            tries=functools.partial(ctx.attempts.tries, AttemptKind.KCV, counter),
            lines=structural,
            entry=EntryField(key.label, spec.index, None, header.line_count, structural),
        )
        typed: list[str] = []
        for n in [*range(1, header.line_count + 1), 0]:
            name = "SUM" if n == 0 else f"{n:02d}"

            def read_line(value: str, by: str, n: int = n, name: str = name) -> str:
                try:
                    if n == 0:
                        encoding.check_sum_line(header, value)
                    else:
                        encoding.check_line(header, n, value)
                except ComponentFormatError as ex:
                    raise AnswerRefused.of(ex) from None
                body = value.strip()
                prefix, colon, rest = body.partition(":")
                if colon and prefix.strip().upper() == name:
                    body = rest.strip()
                return f"{name}: {body}"

            typed.append(
                (
                    yield from ctx.ask_for(
                        stage.then(Action.LINE, line=n),
                        who,
                        RequestKind.SECRET,
                        f"{custodian.name}: type line {name} of your component.",
                        read_line,
                        entry=EntryField(key.label, spec.index, n, header.line_count, structural),
                    )
                )
            )
        text = "\n".join([*encoding.header_lines(header, check), *typed])
        try:
            component = encoding.from_text(text)
        except (ComponentFormatError, CheckValueError) as ex:
            # Every line passed its check letter, yet the whole does not give the form's KCV
            # (or SUM): a wrong value was typed, which counts as a failed attempt.
            refused = mismatch(
                f"component {spec.index} does not check: {ex.message}",
                "type the component again from its KCV line",
            )
            continue
        finally:
            typed.clear()
        ctx.keep(component.value)
        break
    _entered(ctx, key, split, spec, check)
    return component


def _enter_plain(
    ctx: Context, key: KeyEntry, split: SplitSpec, spec: ComponentSpec, stage: StepId
) -> Flow[Component]:
    """A component another system issued, typed as the hex digits of its key letter."""
    assert key.algorithm is not None and key.length is not None
    assert split.made_in is not None and spec.kcv is not None
    custodian = ctx.roster.get(spec.custodian)
    identity = KeyIdentity(split.made_in, key.label, key.algorithm, key.length)
    step = stage.then(Action.LINE, line=1)
    counter = f"KCV of {key.label} component {spec.index} entered"
    expected = spec.kcv

    def read_plain(value: str, by: str) -> Component:
        try:
            return encoding.from_plain(identity, spec.index, split.count, value, expected)
        except ComponentFormatError as ex:
            raise AnswerRefused.of(ex) from None
        except CheckValueError:
            raise _mismatch(
                ctx,
                key,
                spec,
                step,
                counter,
                f"component {spec.index} does not give the KCV {expected} of its key letter",
                "a digit is wrong or two are swapped; type the component again",
            ) from None

    component = yield from ctx.ask_for(
        step,
        ctx.person(spec.custodian),
        RequestKind.SECRET,
        f"{custodian.name}: type your component's hex digits as the key letter prints them "
        f"(spaces between groups are fine); it must give the KCV {expected}.",
        read_plain,
        tries=functools.partial(ctx.attempts.tries, AttemptKind.KCV, counter),
        entry=EntryField(key.label, spec.index, 1, 1, (), plain=True),
    )
    ctx.keep(component.value)
    _entered(ctx, key, split, spec, expected)
    return component


def _mismatch(
    ctx: Context,
    key: KeyEntry,
    spec: ComponentSpec,
    step: StepId,
    counter: str,
    message: str,
    hint: str,
) -> AnswerRefused:
    """A KCV that does not match, journaled and counted: refused, or the ceremony stops."""
    limit = TRY_LIMITS[AttemptKind.KCV]
    left = attempts.failed(ctx, AttemptKind.KCV, step, [spec.custodian], counter)
    if left == 0:
        raise RuleViolation(
            f"{limit} times the KCV of component {spec.index} of key {key.label!r} did not "
            "match: the ceremony stops",
            hint="check that this is the right form and the right key; start the ceremony again",
        )
    return AnswerRefused(f"{message} ({attempts.left_text(left, limit)})", hint=hint)


def _entered(
    ctx: Context, key: KeyEntry, split: SplitSpec, spec: ComponentSpec, check: CheckValue
) -> None:
    assert split.made_in is not None
    ctx.journal(
        events.component_entered(
            key=key.label,
            split_set=split.made_in,
            index=spec.index,
            custodian=spec.custodian,
            kcv=check,
        ),
        [spec.custodian],
    )
    ctx.count("component(s) entered")

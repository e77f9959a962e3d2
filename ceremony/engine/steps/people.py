"""People: the roll call (each sets an approval passphrase) and the two-person approvals."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from ceremony.core import events
from ceremony.core.ceremony_file import ComponentSpec, KeyEntry
from ceremony.core.events import TRY_LIMITS, AttemptKind
from ceremony.core.rules import (
    Operation,
    Participant,
    PassphraseRecord,
    RuleBreach,
    eligible_approvers,
    hash_passphrase,
    require_dual_control,
    require_may_approve,
    verify_passphrase,
)
from ceremony.engine import attempts
from ceremony.engine.context import Context, Flow, Stopped
from ceremony.engine.requests import REFUSE, AnswerRefused, FingerprintCheck, RequestKind
from ceremony.engine.step_id import Action, Family, StepId
from ceremony.errors import RuleViolation

MAX_PASSPHRASE_FAILURES = TRY_LIMITS[AttemptKind.PASSPHRASE]


def roll_call(ctx: Context) -> Flow[None]:
    for person in ctx.cf.participants:
        yield from _roll_call_one(ctx, person)


def _roll_call_one(ctx: Context, person: Participant) -> Flow[None]:
    stage = StepId(Family.ROLL_CALL, person=person.id)
    ctx.stage(stage)
    who = ctx.person(person.id)
    yield from ctx.confirm(
        stage.then(Action.PRESENT),
        who,
        f"{person.name}: show {person.id_reference} to the security officer, then type yes "
        f"to confirm you are {person.name} ({person.id}) and take part as "
        f"{person.role.title}.",
    )
    kind, counter = AttemptKind.PASSPHRASE_MISMATCH, f"roll call of {person.id}"
    again_step = stage.then(Action.PASSPHRASE_AGAIN)

    def choose(value: str, by: str) -> PassphraseRecord:
        try:
            return hash_passphrase(value)
        except RuleViolation as ex:
            raise AnswerRefused.of(ex) from None

    refused: AnswerRefused | None = None

    def tries() -> str:
        return ctx.attempts.tries(kind, counter)

    while True:
        record = yield from ctx.ask_for(
            stage.then(Action.PASSPHRASE),
            who,
            RequestKind.SECRET,
            f"{person.name}: choose your approval passphrase for this ceremony (at least 8 "
            "characters; only you type it; the others look away).",
            choose,
            refused,
            tries=tries,
        )

        def repeat(value: str, by: str, record: PassphraseRecord = record) -> bool:
            try:
                verify_passphrase(record, value)
            except RuleBreach:
                return False
            return True

        if (
            yield from ctx.ask_for(
                again_step,
                who,
                RequestKind.SECRET,
                f"{person.name}: type your approval passphrase again.",
                repeat,
                tries=tries,
            )
        ):
            break
        left = attempts.failed(ctx, kind, again_step, [person.id], counter)
        if left == 0:
            raise RuleViolation(
                f"the two passphrases of {person.describe()} differed {TRY_LIMITS[kind]} times: "
                "the ceremony stops",
                hint="a passphrase its owner cannot type twice cannot approve; start the "
                "ceremony again when they are ready",
            )
        refused = AnswerRefused(
            f"the two passphrases differ ({attempts.left_text(left, TRY_LIMITS[kind])})",
            hint="choose the passphrase again and type it twice",
        )
    ctx.passphrases[person.id] = record
    ctx.journal(events.participant_present(person, record), [person.id])


def _passphrase_counter(person_id: str) -> str:
    return f"passphrase of {person_id}"


def check_passphrase(ctx: Context, person_id: str, value: str, step: StepId) -> None:
    """The approval passphrase of ``person_id``; a wrong one is journaled and counted."""
    record = ctx.passphrases.get(person_id)
    who = ctx.roster.get(person_id).describe()
    if record is None:
        raise AnswerRefused(
            f"{who} has no approval passphrase", hint="only people at roll call approve"
        )
    try:
        verify_passphrase(record, value, who)
    except RuleBreach as ex:
        kind = AttemptKind.PASSPHRASE
        left = attempts.failed(ctx, kind, step, [person_id], _passphrase_counter(person_id))
        if left == 0:
            raise RuleViolation(
                f"{MAX_PASSPHRASE_FAILURES} wrong approval passphrases for {who}: the ceremony "
                "stops",
                hint="nobody may guess another's passphrase; start the ceremony again",
            ) from None
        raise AnswerRefused(
            f"{ex.message} ({attempts.left_text(left, MAX_PASSPHRASE_FAILURES)} for {who})",
            hint=ex.hint,
        ) from None


def approval_tries(ctx: Context, candidates: Sequence[str]) -> str:
    """Each candidate's approval passphrase tries left, as one line."""
    kind = AttemptKind.PASSPHRASE
    left = {c: ctx.attempts.left(kind, _passphrase_counter(c)) for c in candidates}
    if all(n == MAX_PASSPHRASE_FAILURES for n in left.values()):
        limit = MAX_PASSPHRASE_FAILURES
        return f"{limit} of {limit} for each approver"
    return ", ".join(f"{c} {n} of {MAX_PASSPHRASE_FAILURES}" for c, n in left.items())


def approve(
    ctx: Context,
    operation: Operation,
    key: str,
    *,
    index: int | None = None,
    target: str | None = None,
    involved: frozenset[str] = frozenset(),
    custodian: str | None = None,
    lines: Sequence[str] = (),
    journal: bool = True,
    fingerprint: FingerprintCheck | None = None,
) -> Flow[list[str]]:
    """Two approvals by distinct eligible people, each with their own passphrase.

    With ``fingerprint`` (an import key to compare with the cloud console) an approver may
    answer ``REFUSE`` instead: it does not match, and the ceremony stops.
    """
    subject = events.subject(key, index, target)
    roster = ctx.roster
    approvers: list[str] = []
    for n in (1, 2):
        candidates = eligible_approvers(operation, roster, approvers, involved)

        step = StepId.approve(operation, key, n, index=index, target=target)

        def accept(value: str, by: str, step: StepId = step) -> str:
            try:
                require_may_approve(operation, by, roster, approvers, involved, f"{subject}")
            except RuleBreach as ex:
                raise AnswerRefused.of(ex) from None
            if fingerprint is not None and value.strip().lower() == REFUSE:
                attempts.failed(
                    ctx,
                    AttemptKind.FINGERPRINT,
                    step,
                    [by],
                    f"import key of {fingerprint.key} target {fingerprint.target}",
                )
                raise Stopped(
                    f"{roster.get(by).describe()} refused the import key of target "
                    f"{fingerprint.target!r} ({fingerprint.provider}): its fingerprint does "
                    "not match the cloud console",
                    by,
                )
            check_passphrase(ctx, by, value, step)
            return by

        approver = yield from ctx.ask_for(
            step,
            ctx.anyone(candidates, "an approver: " + roster.who(candidates)),
            RequestKind.APPROVAL,
            f"Approval {n} of 2 to {operation.description} ({subject}): the approver "
            "chooses themselves and types their approval passphrase."
            + (
                f" If it does not match the cloud console, type {REFUSE} instead: the "
                "ceremony stops."
                if fingerprint is not None
                else ""
            ),
            accept,
            operation=operation,
            lines=tuple(lines),
            fingerprint=fingerprint,
            tries=functools.partial(approval_tries, ctx, candidates),
        )
        approvers.append(approver)
    require_dual_control(operation, approvers, roster, involved, subject)
    if journal:
        ctx.journal(
            events.approval(
                operation=operation,
                key=key,
                index=index,
                target=target,
                approvers=approvers,
                custodian=custodian,
            ),
            approvers,
        )
    return approvers


def approve_component(
    ctx: Context, operation: Operation, key: KeyEntry, spec: ComponentSpec
) -> Flow[list[str]]:
    """Two approvals of an operation on one component, its holders excluded."""
    return (
        yield from approve(
            ctx,
            operation,
            key.label,
            index=spec.index,
            involved=frozenset(spec.holders),
            custodian=spec.custodian,
        )
    )

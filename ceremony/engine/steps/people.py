"""People: the roll call (each sets an approval passphrase) and the two-person approvals."""

from __future__ import annotations

from collections.abc import Sequence

from ceremony.core import events
from ceremony.core.ceremony_file import ComponentSpec, KeyEntry
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
from ceremony.engine.context import Context, Flow, Stopped
from ceremony.engine.requests import REFUSE, AnswerRefused, FingerprintCheck, RequestKind
from ceremony.engine.step_id import Action, Family, StepId
from ceremony.errors import RuleViolation

MAX_PASSPHRASE_FAILURES = 3


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
    first = ctx.request(
        stage.then(Action.PASSPHRASE),
        who,
        RequestKind.SECRET,
        f"{person.name}: choose your approval passphrase for this ceremony (at least 8 "
        "characters; only you type it; the others look away).",
    )
    again = ctx.request(
        stage.then(Action.PASSPHRASE_AGAIN),
        who,
        RequestKind.SECRET,
        f"{person.name}: type your approval passphrase again.",
    )

    def choose(value: str, by: str) -> PassphraseRecord:
        try:
            return hash_passphrase(value)
        except RuleViolation as ex:
            raise AnswerRefused.of(ex) from None

    refused: AnswerRefused | None = None
    while True:
        record = yield from ctx.ask(first, choose, refused)

        def repeat(value: str, by: str, record: PassphraseRecord = record) -> bool:
            try:
                verify_passphrase(record, value)
            except RuleBreach:
                return False
            return True

        if (yield from ctx.ask(again, repeat)):
            break
        refused = AnswerRefused(
            "the two passphrases differ", hint="choose the passphrase again and type it twice"
        )
    ctx.passphrases[person.id] = record
    ctx.journal(events.participant_present(person, record), [person.id])


def check_passphrase(ctx: Context, person_id: str, value: str) -> None:
    record = ctx.passphrases.get(person_id)
    who = ctx.roster.get(person_id).describe()
    if record is None:
        raise AnswerRefused(
            f"{who} has no approval passphrase", hint="only people at roll call approve"
        )
    try:
        verify_passphrase(record, value, who)
    except RuleBreach as ex:
        failures = ctx.failures.get(person_id, 0) + 1
        ctx.failures[person_id] = failures
        if failures >= MAX_PASSPHRASE_FAILURES:
            raise RuleViolation(
                f"{failures} wrong approval passphrases for {who}: the ceremony stops",
                hint="nobody may guess another's passphrase; start the ceremony again",
            ) from None
        raise AnswerRefused.of(ex) from None


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

        def accept(value: str, by: str) -> str:
            try:
                require_may_approve(operation, by, roster, approvers, involved, f"{subject}")
            except RuleBreach as ex:
                raise AnswerRefused.of(ex) from None
            if fingerprint is not None and value.strip().lower() == REFUSE:
                raise Stopped(
                    f"{roster.get(by).describe()} refused the import key of target "
                    f"{fingerprint.target!r} ({fingerprint.provider}): its fingerprint does "
                    "not match the cloud console",
                    by,
                )
            check_passphrase(ctx, by, value)
            return by

        approver = yield from ctx.ask_for(
            StepId.approve(operation, key, n, index=index, target=target),
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

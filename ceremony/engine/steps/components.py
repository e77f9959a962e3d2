"""What every component step shares: split knowledge, privacy, the KCV typed back, records."""

from __future__ import annotations

from collections.abc import Sequence

from ceremony.core import events
from ceremony.core.ceremony_file import ComponentSpec, KeyEntry, SplitSpec
from ceremony.core.component import Component, Scheme
from ceremony.core.kcv import CheckValue
from ceremony.core.registry import RecordEvent, issue_records
from ceremony.core.rules import Role
from ceremony.engine.context import Context, Flow
from ceremony.engine.requests import AnswerRefused
from ceremony.engine.step_id import StepId


def require_split_knowledge(ctx: Context, key: KeyEntry, split: SplitSpec, split_set: str) -> None:
    """The split-knowledge rules again, at the step (file and registry as read at start)."""
    from ceremony.core.registry import Registry, check_assignments, require_not_voided

    old = key.split if split is key.new_split else None
    also = {p: {old.made_in or ctx.ceremony_id} for p in old.holders()} if old else {}
    registry = ctx.registry.registry if ctx.registry is not None else Registry()
    if split.made_in:
        require_not_voided(registry, key.label, split_set)
    check_assignments(
        registry,
        key.label,
        split_set,
        split.scheme or Scheme.XOR,
        split.k,
        split.assignments,
        ctx.roster,
        count=split.count,
        custodian_roles=(Role.KEY_CUSTODIAN, Role.BACKUP_CUSTODIAN)
        if split.made_in
        else (Role.KEY_CUSTODIAN,),
        also_held=also,
        attempts_of=ctx.cf.ceremony.id,
        new_set=not split.made_in,
    )


def confirm_privacy(
    ctx: Context, step: StepId, spec: ComponentSpec, instruction: str, place: str
) -> Flow[str]:
    """The custodian confirms that nobody else can see ``place`` (after ``instruction``)."""
    custodian = ctx.roster.get(spec.custodian)
    return (
        yield from ctx.confirm(
            step,
            ctx.person(spec.custodian),
            f"{instruction} {custodian.name}: type yes when nobody else can see{place}.",
        )
    )


def _typed_kcv(value: str, check: CheckValue) -> str:
    text = value.strip().upper().replace(" ", "")
    return text.removeprefix("KCV:").removeprefix(check.method.label.upper())


def typed_hex(value: str, check: CheckValue) -> bool:
    """Whether ``value`` is a KCV as typed (hex digits, maybe its label): a wrong one counts."""
    text = _typed_kcv(value, check)
    return bool(text) and all(c in "0123456789ABCDEF" for c in text)


def require_typed_back(value: str, check: CheckValue, where: str) -> None:
    """The custodian typed back this component's KCV (with or without its method label)."""
    text = _typed_kcv(value, check)
    if text != check.hex:
        raise AnswerRefused(
            "that is not this component's KCV",
            hint=f"read the {check.method.label} value {where} and type its "
            f"{len(check.hex)} hex digits",
        )


def journal_issued(
    ctx: Context,
    key: KeyEntry,
    split_set: str,
    component: Component,
    spec: ComponentSpec,
    check: CheckValue,
    *,
    delivery: str,
) -> None:
    """``component_issued``: the custodian has the component and typed its KCV back."""
    ctx.journal(
        events.component_issued(
            key=key.label,
            split_set=split_set,
            scheme=component.scheme,
            index=component.index,
            count=component.count,
            threshold=component.threshold,
            custodian=spec.custodian,
            backup=spec.backup,
            kcv=check,
            envelope=spec.envelope,
            confirmed=True,
            delivery=delivery,
        ),
        ctx.custodians(spec),
    )
    ctx.count("component(s) issued")


def record_set(
    ctx: Context,
    key: KeyEntry,
    split: SplitSpec,
    split_set: str,
    event: RecordEvent,
    components: Sequence[ComponentSpec] | None = None,
) -> None:
    """The custodian registry's records for ``split`` (written when the ceremony finishes)."""
    listed = split.components if components is None else components
    ctx.new_records += issue_records(
        ceremony_id=ctx.ceremony_id,
        key=key.label,
        split_set=split_set,
        scheme=split.scheme or Scheme.XOR,
        threshold=split.k,
        assignments=[c.assignment for c in listed],
        roster=ctx.roster,
        event=event,
        now=ctx.now(),
        count=split.count,
        envelopes={c.index: c.envelope for c in listed if c.envelope}
        if event is RecordEvent.ISSUED
        else None,
    )

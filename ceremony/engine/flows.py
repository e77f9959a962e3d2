"""The six ceremony types as flows over the shared steps (``ceremony.engine.steps``).

Every flow runs: air-gap check, token check (every capability, before anyone types), outputs
check (folder, names, free space), roll call, (air-gap override), clock, (printer check),
import-key confirmations, HSM login, the type's own steps key by key, then outputs and the
``finished`` entry.
"""

from __future__ import annotations

from collections.abc import Sequence

from ceremony.core import events, kcv, parity, recovery_events, shamir, xor
from ceremony.core.ceremony_file import (
    CeremonyFile,
    CeremonyType,
    KeyEntry,
    KeySource,
    SplitSpec,
    WrapPlace,
)
from ceremony.core.component import Component, Scheme
from ceremony.core.journal import FileDigest
from ceremony.core.kcv import CheckValue
from ceremony.core.registry import RecordEvent
from ceremony.core.rules import Operation
from ceremony.core.secret import Secret
from ceremony.engine.context import Context, Flow
from ceremony.engine.step_id import Family, StepId
from ceremony.engine.steps import (
    airgap,
    clock,
    envelopes,
    evidence,
    hsm_login,
    import_keys,
    key_blocks,
    outputs_check,
    people,
    printer,
    process,
    recovery,
    shown,
    signing,
    token_check,
    wraps,
)
from ceremony.engine.steps.components import record_set, require_split_knowledge
from ceremony.engine.steps.entered import enter_component
from ceremony.engine.steps.keys import attributes, key_kcv_method, token_key_spec
from ceremony.errors import CheckValueError, LabelExistsError, RuleViolation
from ceremony.hsm.base import TokenCheckValues


def plan(
    cf: CeremonyFile, rehearsal: bool | None = None, restart: recovery.Restart | None = None
) -> list[tuple[StepId, str]]:
    """The ceremony's stages in order, for "stage i of n"; the flows enter the same ids."""
    before, after = recovery.stages(restart)
    stages = [*before, (StepId(Family.AIRGAP), "Air-gap check")]
    stages.append((StepId(Family.TOKEN_CHECK), "Token check"))
    stages.append((StepId(Family.OUTPUTS_CHECK), "Outputs check"))
    stages += [
        (StepId(Family.ROLL_CALL, person=p.id), f"Roll call: {p.name}") for p in cf.participants
    ]
    stages.append((StepId(Family.CLOCK), "Clock"))
    if cf.prints_forms(rehearsal):
        stages.append((StepId(Family.PRINTER), "Printer check"))
    for key in cf.keys:
        for t in key.targets:
            stages.append(
                (
                    StepId(Family.IMPORT_KEY, key=key.label, target=t.label),
                    f"Import key of {t.label}",
                )
            )
    stages.append((StepId(Family.HSM), "HSM login"))
    if cf.signing is not None and cf.signing.token is not None:
        stages.append((StepId(Family.SIGNING), "Signing token login"))
    stages += after
    kind = cf.ceremony.type
    for key in cf.keys:
        label = key.label
        if kind in (CeremonyType.GENERATE_EXPORT, CeremonyType.SPLIT_BACKUP):
            stages.append((StepId.of(Family.KEY, label), f"Key {label}"))
        if kind is CeremonyType.RE_WRAP:
            stages.append((StepId.of(Family.KEY, label), f"Key {label}: checked on the token"))
        if key.key_block is not None:
            stages.append(
                (
                    StepId.of(Family.ASSEMBLE, label),
                    f"Key {label}: opened from its TR-31 block under {key.key_block.kbpk}",
                )
            )
        elif kind in (CeremonyType.RECONSTITUTE, CeremonyType.RE_SPLIT):
            for c in key.split.components:
                stages.append(
                    (
                        StepId.of(Family.ENTRY, label, c.index),
                        f"Key {label}: component {c.index} entered",
                    )
                )
            stages.append((StepId.of(Family.ASSEMBLE, label), f"Key {label}: assembled"))
        new = key.new_split if kind is CeremonyType.RE_SPLIT else key.split
        if kind in (CeremonyType.SPLIT_BACKUP, CeremonyType.RE_SPLIT) and new is not None:
            for c in new.components:
                stages.append(
                    (
                        StepId.of(Family.COMPONENT, label, c.index),
                        f"Key {label}: component {c.index} issued",
                    )
                )
        if key.store_in_hsm:
            stages.append((StepId.of(Family.STORE, label), f"Key {label}: stored in the HSM"))
        for t in key.targets:
            stages.append(
                (
                    StepId(Family.WRAP, key=label, target=t.label),
                    f"Key {label}: wrapped for {t.label}",
                )
            )
        if key.tr31:
            stages.append(
                (
                    StepId(Family.WRAP, key=label, target=key.tr31[0].label),
                    f"Key {label}: wrapped in TR-31 blocks",
                )
            )
        if kind is CeremonyType.DESTROY:
            stages.append((StepId.of(Family.DESTROY, label), f"Key {label}: destroyed"))
    stages.append((StepId(Family.FINISH), "Outputs and journal"))
    return stages


def ceremony(ctx: Context) -> Flow[None]:
    """The whole ceremony, start to ``finished``."""
    process.journal_hardening(ctx)  # first: before any secret, a refusal costs nothing
    yield from recovery.review(ctx)  # a restart: what the aborted attempts left
    yield from airgap.airgap(ctx)
    yield from token_check.token_check(ctx)
    yield from outputs_check.outputs_check(ctx)
    yield from people.roll_call(ctx)
    yield from airgap.airgap_override(ctx)
    yield from clock.clock(ctx)
    yield from printer.check_printer(ctx)
    yield from import_keys.confirm_import_keys(ctx)
    yield from hsm_login.hsm_login(ctx)
    yield from signing.signing_identity(ctx)
    yield from recovery.clean_up(ctx)  # a restart: orphans destroyed, components voided
    _require_labels_free(ctx)
    kind = ctx.cf.ceremony.type
    for key in ctx.cf.keys:
        if kind is CeremonyType.GENERATE_EXPORT:
            yield from generate_export(ctx, key)
        elif kind is CeremonyType.SPLIT_BACKUP:
            yield from split_backup(ctx, key)
        elif kind is CeremonyType.RECONSTITUTE:
            yield from reconstitute(ctx, key)
        elif kind is CeremonyType.RE_SPLIT:
            yield from re_split(ctx, key)
        elif kind is CeremonyType.RE_WRAP:
            yield from re_wrap(ctx, key)
        else:
            yield from destroy(ctx, key)
    evidence.finish(ctx)


def _creates_on_token(kind: CeremonyType, key: KeyEntry) -> bool:
    if kind is CeremonyType.GENERATE_EXPORT:
        return True
    if kind is CeremonyType.SPLIT_BACKUP and key.source is KeySource.HSM:
        return True
    return kind is not CeremonyType.DESTROY and key.store_in_hsm


def _require_labels_free(ctx: Context) -> None:
    """Every label this ceremony will create on the token is free, before any key or component.

    Otherwise a taken label is found only at key generation or at the store step, after
    components were shown, printed or sealed.
    """
    kind = ctx.cf.ceremony.type
    for key in ctx.cf.keys:
        if not _creates_on_token(kind, key):
            continue
        try:
            ctx.hsm.require_new_label(key.label)
        except LabelExistsError as ex:
            raise LabelExistsError(
                f"key {key.label!r} is already on the token, and this ceremony would create it; "
                "nothing was generated and no component was shown",
                hint="if that key is an earlier one, destroy it with a destroy ceremony first; "
                "otherwise give this key a new label in a reviewed ceremony file",
            ) from ex


# ---- generate-export ------------------------------------------------------------------------


def generate_export(ctx: Context, key: KeyEntry) -> Flow[None]:
    ctx.stage(StepId.of(Family.KEY, key.label))
    extractable = bool(key.targets)
    key_kcv = _generate_in_hsm(ctx, key, extractable)
    yield from _wrap_token_key(ctx, key, key_kcv)


def _wrap_token_key(ctx: Context, key: KeyEntry, key_kcv: CheckValue | None) -> Flow[None]:
    """Each target of a key on the token; a software wrap first exports it under dual control."""
    material: Secret | None = None
    if any(t.wrap is WrapPlace.SOFTWARE for t in key.targets):
        material = yield from _export(ctx, key, key_kcv)
    try:
        for loaded in ctx.targets.get(key.label, []):
            yield from wraps.wrap_target(ctx, key, loaded, material, key_kcv)
    finally:
        if material is not None:
            material.close()


def _generate_in_hsm(ctx: Context, key: KeyEntry, extractable: bool) -> CheckValue | None:
    ctx.journal(recovery_events.token_call(call=recovery_events.TokenCall.GENERATE, key=key.label))
    record = ctx.hsm.generate_key(key.label, token_key_spec(key), extractable=extractable)
    kcvs = list(record.check_values.values) if record.check_values is not None else []
    method = key_kcv_method(key)
    key_kcv = next((v for v in kcvs if v.method is method), None)
    public = FileDigest.of(record.public_key_der) if record.public_key_der is not None else None
    ctx.journal(
        events.key_generated(
            key=key.label,
            type=key.type.value,
            bits=key.bits,
            curve=key.curve,
            where="hsm",
            attributes=attributes(record.attributes),
            kcvs=kcvs,
            public_key_sha256=public,
            kcv_sources=_sources(record.check_values),
            role=role_text(key),
        )
    )
    shown = f"; KCV {key_kcv}" if key_kcv is not None else ""
    ctx.notice(f"Key {key.label} ({key.describe()}) generated inside the HSM{shown}.")
    ctx.count("key(s) generated")
    return key_kcv


def _sources(values: TokenCheckValues | None) -> list[tuple[str, str]]:
    """The record says how the token computed each value (CMAC from ECB is not CMAC)."""
    if values is None:
        return []
    return [(method.value, how) for method, how in values.sources if how]


def _export(ctx: Context, key: KeyEntry, expected: CheckValue | None) -> Flow[Secret]:
    """A clear export under dual control, checked against the token's KCV."""
    yield from people.approve(ctx, Operation.CLEAR_EXPORT, key.label, involved=ctx.holders(key))
    material = ctx.keep(ctx.hsm.export_clear(key.label))
    method = key_kcv_method(key)
    kcvs: list[CheckValue] = []
    if method is not None:
        computed = kcv.check_value(material, method)
        if expected is not None:
            kcv.require_match(expected, computed, f"key {key.label!r} exported")
        kcvs.append(computed)
    ctx.journal(events.key_exported(key=key.label, kcvs=kcvs))
    ctx.notice(f"Key {key.label} exported in clear to the workstation's memory (dual control).")
    return material


# ---- re-wrap --------------------------------------------------------------------------------


def re_wrap(ctx: Context, key: KeyEntry) -> Flow[None]:
    """A key already on the token, chosen by label and checked by KCV, wrapped for new targets."""
    ctx.stage(StepId.of(Family.KEY, key.label))
    yield from _wrap_token_key(ctx, key, _existing_key(ctx, key))


def _existing_key(ctx: Context, key: KeyEntry) -> CheckValue:
    """The token's key of this label: its KCV must be the recorded one, or nothing is wrapped."""
    assert key.kcv is not None  # the ceremony file requires it for a re-wrap
    attrs = ctx.hsm.key_attributes(key.label)
    token = ctx.hsm.check_values(key.label, len(key.kcv.value))
    current = token.of(key.kcv.method)
    try:
        kcv.require_match(key.kcv, current, f"key {key.label!r} on the token")
    except CheckValueError as ex:
        raise RuleViolation(
            f"key {key.label!r} on the token is not the key the ceremony file names: {ex.message}",
            hint="stop: nothing was wrapped; check the label and the recorded KCV",
        ) from None
    ctx.journal(
        events.key_checked(
            key=key.label,
            type=key.type.value,
            bits=key.bits,
            id=attrs.id_hex or "none",
            kcvs=list(token.values),
            attributes=attributes(attrs),
            role=role_text(key),
        )
    )
    ctx.notice(
        f"Key {key.label} found on the token (id {attrs.id_hex}); its KCV {current} is the "
        "recorded one."
    )
    ctx.count("key(s) checked on the token")
    return current


def role_text(key: KeyEntry) -> str | None:
    """A payment key's role for the journal; a data key's is left out, as before roles."""
    return key.describe_role() if key.role.payment else None


# ---- split-backup ---------------------------------------------------------------------------


def split_backup(ctx: Context, key: KeyEntry) -> Flow[None]:
    ctx.stage(StepId.of(Family.KEY, key.label))
    require_split_knowledge(ctx, key, key.split, ctx.ceremony_id)
    assert key.algorithm is not None and key.length is not None
    method = kcv.default_method(key.algorithm, key.length)
    if key.source is KeySource.HSM_RANDOM:
        yield from people.approve(
            ctx, Operation.GENERATE_OUTSIDE_HSM, key.label, involved=ctx.holders(key)
        )
        with ctx.token_random():
            material = ctx.keep(parity.generate(key.algorithm, key.length, key.label))
        key_kcv = kcv.check_value(material, method)
        ctx.journal(
            events.key_generated(
                key=key.label,
                type=key.type.value,
                bits=key.bits,
                where="memory",
                attributes={},
                kcvs=[key_kcv],
                role=role_text(key),
            )
        )
        ctx.notice(
            f"Key {key.label} drawn from the HSM's random generator in memory; KCV {key_kcv}."
        )
        ctx.count("key(s) generated")
    elif key.source is KeySource.HSM:
        generated = _generate_in_hsm(ctx, key, extractable=True)
        material = yield from _export(ctx, key, generated)
        key_kcv = kcv.check_value(material, method)
    else:
        token = ctx.hsm.check_values(key.label)
        recorded = token.of(method)
        if key.kcv is not None:
            kcv.require_match(key.kcv, recorded, f"key {key.label!r} on the token")
        material = yield from _export(ctx, key, recorded)
        key_kcv = kcv.check_value(material, method)
    components = yield from _split(ctx, key, key.split, material)
    yield from _store_and_wrap(ctx, key, material, key_kcv)
    yield from _blocks_and_close(ctx, key, material)
    del components


def _split(
    ctx: Context, key: KeyEntry, split: SplitSpec, material: Secret
) -> Flow[list[Component]]:
    """Split ``material`` for ``split`` (a new set named by this ceremony) and issue each part."""
    identity = key.identity(ctx.ceremony_id)
    with ctx.token_random():
        if split.scheme is Scheme.XOR:
            components = xor.split(material, identity, split.count)
        else:
            components = shamir.split(material, identity, split.k, split.count)
    for c in components:
        ctx.keep(c.value)
    for component in components:
        yield from shown.show_component(ctx, key, split, ctx.ceremony_id, component)
        component.value.close()
    record_set(ctx, key, split, ctx.ceremony_id, RecordEvent.ISSUED)
    return components


def _store_and_wrap(
    ctx: Context, key: KeyEntry, material: Secret | None, key_kcv: CheckValue | None
) -> Flow[None]:
    if key.store_in_hsm:
        ctx.stage(StepId.of(Family.STORE, key.label))
        assert key.algorithm is not None and material is not None and key_kcv is not None
        extractable = any(t.wrap is WrapPlace.HSM for t in key.targets)
        ctx.journal(
            recovery_events.token_call(call=recovery_events.TokenCall.IMPORT, key=key.label)
        )
        result = ctx.hsm.import_key(
            key.label, key.algorithm, material, expected=key_kcv, extractable=extractable
        )
        kcvs = list(result.key.check_values.values) if result.key.check_values else []
        ctx.journal(
            events.key_imported(
                key=key.label,
                path=result.path.name.lower().replace("_", "-"),
                attributes=attributes(result.key.attributes),
                kcvs=kcvs,
                kcv_sources=_sources(result.key.check_values),
            )
        )
        ctx.notice(f"Key {key.label} stored in the HSM; KCV {key_kcv}.")
        ctx.count("key(s) stored in the HSM")
    for loaded in ctx.targets.get(key.label, []):
        yield from wraps.wrap_target(ctx, key, loaded, material, key_kcv)


# ---- reconstitute and re-split --------------------------------------------------------------


def _assemble(ctx: Context, key: KeyEntry) -> Flow[tuple[Secret, CheckValue]]:
    split = key.split
    assert split.made_in is not None and key.kcv is not None
    entered: list[Component] = []
    envelopes.check_envelopes(
        ctx, key, split
    )  # every serial against the registry before one is opened
    for spec in split.components:
        entered.append((yield from enter_component(ctx, key, split, spec)))
    ctx.stage(StepId.of(Family.ASSEMBLE, key.label))
    holders = frozenset(p for c in split.components for p in c.holders)
    yield from people.approve(ctx, Operation.ASSEMBLE_KEY, key.label, involved=holders)
    identity = key.identity(split.made_in)
    combine = xor.combine if split.scheme is Scheme.XOR else shamir.combine
    material = ctx.keep(combine(entered, expected=key.kcv, identity=identity))
    for c in entered:
        c.value.close()
    computed = kcv.check_value(material, key.kcv.method, len(key.kcv.value))
    ctx.journal(
        events.key_combined(
            key=key.label,
            path="in-memory",
            kcv=computed,
            matches_recorded=True,
            manual_cleartext=True,
            role=role_text(key),
            type=key.type.value,
            bits=key.bits,
        ),
        sorted(holders),
    )
    ctx.notice(f"Key {key.label} assembled; its KCV {computed} matches the recorded one.")
    record_set(ctx, key, split, split.made_in, RecordEvent.ENTERED)
    return material, computed


def reconstitute(ctx: Context, key: KeyEntry) -> Flow[None]:
    if key.key_block is not None:
        kbpk = ctx.kbpks[key.key_block.kbpk]
        material, key_kcv = yield from key_blocks.open_key_block(ctx, key, kbpk)
    else:
        material, key_kcv = yield from _assemble(ctx, key)
    yield from _store_and_wrap(ctx, key, material, key_kcv)
    yield from _blocks_and_close(ctx, key, material)


def _blocks_and_close(ctx: Context, key: KeyEntry, material: Secret) -> Flow[None]:
    """Write the key's TR-31 blocks; keep it while a later block needs it as KBPK."""
    yield from key_blocks.write_key_blocks(ctx, key, material)
    if key.label in key_blocks.kbpk_labels(ctx.cf):
        # ctx.wipe() closes it at the end, with every other secret of the run.
        ctx.kbpks[key.label] = material
    else:
        material.close()


def re_split(ctx: Context, key: KeyEntry) -> Flow[None]:
    material, key_kcv = yield from _assemble(ctx, key)
    new = key.new_split
    assert new is not None and key.split.made_in is not None
    yield from _split(ctx, key, new, material)
    yield from _store_and_wrap(ctx, key, material, key_kcv)
    yield from _blocks_and_close(ctx, key, material)
    _old_components_to_destroy(ctx, key)


def _old_components_to_destroy(ctx: Context, key: KeyEntry) -> None:
    split = key.split
    assert split.made_in is not None
    listed = {c.index: c for c in split.components}
    known = ctx.registry.registry.holders(key.label, split.made_in) if ctx.registry else {}
    for index in range(1, split.count + 1):
        spec = listed.get(index)
        people: Sequence[str] = (
            [spec.custodian] if spec is not None else sorted(known.get(index, ()))
        )
        for person in people:
            ctx.journal(
                events.component_to_destroy(
                    key=key.label,
                    split_set=split.made_in,
                    index=index,
                    custodian=person,
                    envelope=spec.envelope if spec is not None else None,
                ),
                [person],
            )
            ctx.count("old component(s) to destroy")
    record_set(ctx, key, split, split.made_in, RecordEvent.TO_DESTROY)


# ---- destroy --------------------------------------------------------------------------------


def destroy(ctx: Context, key: KeyEntry) -> Flow[None]:
    ctx.stage(StepId.of(Family.DESTROY, key.label))
    if recovery.destroyed_earlier(ctx, key):
        return
    attrs = ctx.hsm.key_attributes(key.label)
    method = key_kcv_method(key)
    lines = [f"Key {key.label}: {attrs.object_class}, {attrs.key_type}, id {attrs.id_hex}"]
    current: CheckValue | None = None
    if method is not None and key.type.value in ("AES", "HMAC"):
        current = ctx.hsm.check_values(key.label).of(method)
        lines.append(f"Its KCV on the token: {current}")
        if key.kcv is not None:
            try:
                kcv.require_match(key.kcv, current, f"key {key.label!r} on the token")
            except CheckValueError as ex:
                raise RuleViolation(
                    f"key {key.label!r} on the token is not the key the ceremony file names: "
                    f"{ex.message}",
                    hint="stop: nothing was destroyed; check the label and the recorded KCV",
                ) from None
    yield from people.approve(ctx, Operation.DESTROY, key.label, lines=lines)
    ctx.journal(
        recovery_events.token_call(
            call=recovery_events.TokenCall.DESTROY,
            key=key.label,
            id=attrs.id_hex,
            kcvs=[current] if current is not None else [],
        )
    )
    record = ctx.hsm.destroy(key.label)
    ctx.journal(
        events.key_destroyed(
            key=key.label,
            id=record.id_hex or "none",
            kcvs=record.check_values,
            role=role_text(key),
        )
    )
    ctx.notice(f"Key {key.label} destroyed ({', '.join(record.objects)}).")
    ctx.count("key(s) destroyed")

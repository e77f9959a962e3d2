"""A key wrapped for a cloud target: inside the HSM, or in software under dual control."""

from __future__ import annotations

import hashlib

from ceremony.core import events, providers
from ceremony.core.ceremony_file import KeyEntry, KeyType, WrapPlace
from ceremony.core.kcv import CheckValue
from ceremony.core.rules import Operation
from ceremony.core.secret import Secret
from ceremony.core.wrap import host_wrap_by
from ceremony.engine.context import Context, Flow, LoadedTarget
from ceremony.engine.step_id import Family, StepId
from ceremony.engine.steps.evidence import write_files
from ceremony.engine.steps.people import approve
from ceremony.errors import HsmError
from ceremony.hsm.base import WrapConstruction


def wrap_target(
    ctx: Context,
    key: KeyEntry,
    loaded: LoadedTarget,
    material: Secret | None,
    key_kcv: CheckValue | None,
) -> Flow[None]:
    spec, target = loaded.spec, loaded.target
    ctx.stage(StepId(Family.WRAP, key=key.label, target=spec.label))
    kind = key.material_kind
    assert kind is not None
    kcv_text = str(key_kcv) if key_kcv is not None else None
    public_sha256: str | None = None
    if key.type in (KeyType.EC, KeyType.RSA):
        public_sha256 = hashlib.sha256(ctx.hsm.public_key(key.label)).hexdigest()
    if spec.wrap is WrapPlace.HSM:
        result = ctx.hsm.wrap_for_public_key(
            key.label,
            target.import_key.spki_der,
            method=WrapConstruction.of(target.method),
            oaep_hash=target.method.oaep_hash,
        )
        token = ctx.hsm.token.describe()
        files = providers.assemble_bundle(
            target,
            result.blob,
            kind,
            key_label=key.label,
            kcv=kcv_text,
            now=ctx.now(),
            wrapped_by=f"inside the HSM ({token}): {' + '.join(result.mechanisms)}",
            public_key_sha256=public_sha256,
            rehearsal=ctx.rehearsal,
        )
        mechanisms = list(result.mechanisms)
        where = "hsm"
    else:
        if material is None:
            raise HsmError(
                f"key {key.label!r} is not in memory for a software wrap",
                hint="this is a bug in the ceremony flow",
            )
        yield from approve(
            ctx,
            Operation.SOFTWARE_WRAP,
            key.label,
            target=spec.label,
            involved=ctx.holders(key),
        )
        with ctx.token_random():
            files = providers.build_bundle(
                [target],
                material,
                kind,
                key_label=key.label,
                kcv=kcv_text,
                now=ctx.now(),
                rehearsal=ctx.rehearsal,
            )
        mechanisms = [host_wrap_by(target.method.composite)]
        where = "software"
    written = write_files(ctx, files)
    ctx.journal(
        events.wrapped(
            key=key.label,
            target=spec.label,
            provider=spec.provider.name.lower(),
            method=target.method.value,
            where=where,
            mechanisms=mechanisms,
            files=written,
        )
    )
    ctx.count("wrap(s)")
    ctx.notice(f"Key {key.label} wrapped for {spec.label} ({where}).")

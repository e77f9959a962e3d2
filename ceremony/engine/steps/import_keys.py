"""Cloud import keys: two officers compare each fingerprint with the cloud console."""

from __future__ import annotations

from ceremony.core import events
from ceremony.core.ceremony_file import KeyEntry
from ceremony.core.journal import format_time
from ceremony.core.rules import Operation
from ceremony.engine.context import Context, Flow, LoadedTarget
from ceremony.engine.requests import FingerprintCheck
from ceremony.engine.step_id import Action, Family, StepId
from ceremony.engine.steps.people import approve
from ceremony.errors import RuleViolation


def confirm_import_keys(ctx: Context) -> Flow[None]:
    for key in ctx.cf.keys:
        for loaded in ctx.targets.get(key.label, []):
            yield from _confirm_import_key(ctx, key, loaded)


def _confirm_import_key(ctx: Context, key: KeyEntry, loaded: LoadedTarget) -> Flow[None]:
    spec, target = loaded.spec, loaded.target
    stage = StepId(Family.IMPORT_KEY, key=key.label, target=spec.label)
    ctx.stage(stage)
    import_key = target.import_key
    # A certified wrapping key (AWS Payment Cryptography) is confirmed by its root CA.
    root = import_key.root_fingerprint
    fingerprint = root if root is not None else import_key.fingerprint
    what = "SHA-256 of the root CA certificate" if root is not None else "SHA-256 of the key"
    pinned = spec.pinned
    details = [
        f"Target {spec.label}: {spec.provider.value}, {target.method.value}, "
        f"RSA-{import_key.key_bits}",
        f"Reference: {import_key.reference or '(none)'}",
    ]
    if import_key.valid_to is not None:
        details.append(f"Valid until {format_time(import_key.valid_to)}")
    if root is not None:
        details.append(
            "The wrapping key's certificate chains to this root (signatures checked); "
            f"wrapping key SHA-256 {import_key.fingerprint.groups()}"
        )
    check = FingerprintCheck(
        key.label, spec.label, spec.provider.value, fingerprint, pinned, tuple(details)
    )
    if check.mismatch:
        assert pinned is not None
        refused = RuleViolation(
            f"the import key of target {spec.label!r} ({spec.provider.value}) is not the one "
            "the ceremony file pins: the ceremony stops",
            hint="download the wrapping key again, compare it with the cloud console, and "
            "check the ceremony file; never edit the pin to make it pass",
        )
        # Shown before stopping, so the officers see both fingerprints, then journaled.
        yield from ctx.choose(
            stage.then(Action.MISMATCH),
            ctx.officers(),
            f"{refused.message}. A security officer reads both fingerprints and stops.",
            ("stop",),
            message="this import key can only be refused",
            hint="answer stop",
            lines=(
                *details,
                f"This key ({what}):    {fingerprint.groups()}",
                f"Pinned in the file:    {pinned.groups()}",
            ),
            fingerprint=check,
        )
        raise refused
    lines = [
        *details[:2],
        f"Fingerprint ({what}): {fingerprint.groups()}",
        *(f"  {line}" for line in fingerprint.word_lines()),
        "Pinned in the ceremony file: "
        + ("yes, and it matches" if pinned is not None else "no (rehearsal)"),
        *details[2:],
    ]
    officers = yield from approve(
        ctx,
        Operation.CONFIRM_IMPORT_KEY,
        key.label,
        target=spec.label,
        lines=lines,
        journal=False,
        fingerprint=check,
    )
    ctx.journal(
        events.import_key_confirmed(
            key=key.label,
            target=spec.label,
            provider=spec.provider.name.lower(),
            method=target.method.value,
            fingerprint=fingerprint,
            confirmed_by=officers,
            pinned=pinned is not None,
            valid_to=import_key.valid_to,
            wrapping_key=import_key.fingerprint if root is not None else None,
        ),
        officers,
    )

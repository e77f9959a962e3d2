"""The token against the file before roll call: every capability checked, no PIN typed yet."""

from __future__ import annotations

from dataclasses import dataclass

from ceremony.core.ceremony_file import CeremonyFile, KeyType, WrapPlace
from ceremony.engine.context import Context, Flow, LoadedTarget, Services
from ceremony.engine.step_id import Family, StepId
from ceremony.engine.steps import signing
from ceremony.hsm.base import Capability, HsmBackend, HsmConfig, Preflight

STAGE = StepId(Family.TOKEN_CHECK)

_GENERATE = {
    KeyType.AES: Capability.GENERATE_AES,
    KeyType.HMAC: Capability.GENERATE_HMAC,
    KeyType.TDES: Capability.GENERATE_TDES,
    KeyType.EC: Capability.GENERATE_EC,
    KeyType.RSA: Capability.GENERATE_RSA,
}
_ON_TOKEN = ("hsm", "hsm-key")
_ALTERNATIVES = (
    "choose a method this token can do, wrap = 'software' under dual control, or another "
    "token; the tool never falls back on its own"
)


@dataclass(frozen=True)
class Tokens:
    """The tokens a ceremony file names, probed and found able to do all it needs."""

    ceremony: tuple[HsmBackend, Preflight]
    signing: tuple[HsmBackend, Preflight] | None  # a second token that signs the record

    def lines(self) -> list[str]:
        found = [f"{self.ceremony[1].token.describe()} can do everything this ceremony needs."]
        if self.signing is not None:
            found.append(f"{self.signing[1].token.describe()} can sign the record.")
        return found


def check_tokens(
    cf: CeremonyFile,
    targets: dict[str, list[LoadedTarget]],
    hsm_config: HsmConfig,
    services: Services,
    rehearsal: bool,
) -> Tokens:
    """Every capability the file needs, asked of its tokens in public sessions (no PIN).

    The run calls it before roll call; ``ceremony check --token`` calls it the same way."""
    backend = services.backend(hsm_config)
    preflight = backend.preflight()
    capabilities, protected = needs(cf, targets)
    for capability, purpose, alternatives in capabilities:
        preflight.require(capability, purpose, alternatives)
    for purpose in protected:
        preflight.require_trusted_wrap(hsm_config.trusted_wrap, purpose)
    second = signing.check_signing_token(cf, rehearsal, services, preflight)
    return Tokens((backend, preflight), second)


def token_check(ctx: Context) -> Flow[None]:
    """Probe the token and refuse what it cannot do, before anyone is called or types a PIN."""
    ctx.stage(STAGE)
    tokens = check_tokens(ctx.cf, ctx.targets, ctx.hsm_config, ctx.services, ctx.rehearsal)
    ctx.token = tokens.ceremony
    ctx.signing_token = tokens.signing
    for line in tokens.lines():
        ctx.notice(line)
    yield from ()  # a step like the others; it asks nothing


def needs(
    cf: CeremonyFile, targets: dict[str, list[LoadedTarget]]
) -> tuple[list[tuple[Capability, str, str]], list[str]]:
    """What the ceremony needs of its token: (capability, purpose, alternatives) triples, and
    the purposes for which an extractable key leaves the token (the trusted-wrap policy)."""
    kind = cf.ceremony.type.value
    found: list[tuple[Capability, str]] = []
    protected: list[str] = []  # what leaves the token only under a trusted key
    for key in cf.keys:
        what = f"key {key.label!r}"
        if key.source.value == "hsm":
            found.append((_GENERATE[key.type], f"generating {what}"))
        if key.type is KeyType.AES:
            found.append((Capability.KCV_AES_CMAC, f"check values of {what}"))
        if key.type is KeyType.HMAC:
            found.append((Capability.KCV_HMAC, f"check values of {what}"))
        if key.type is KeyType.TDES and (key.store_in_hsm or key.source.value in _ON_TOKEN):
            found.append((Capability.KCV_TDES_ECB, f"check values of {what}"))
        software = any(t.wrap is WrapPlace.SOFTWARE for t in key.targets)
        if kind in ("split-backup", "re-split") or software:
            found.append((Capability.RANDOM, f"randomness for {what}"))
        if kind == "split-backup" and key.source.value in ("hsm", "hsm-key"):
            found.append((Capability.AES_KWP, f"exporting {what} to split it"))
            protected.append(f"exporting {what} to split it")
        if kind in ("generate-export", "re-wrap") and software:
            protected.append(f"exporting {what} to wrap it in software")
        for loaded in targets.get(key.label, []):
            if loaded.spec.wrap is not WrapPlace.HSM:
                continue
            method = loaded.target.method
            purpose = f"target {loaded.spec.label} ({method.value})"
            found.append((Capability.for_oaep(method.oaep_hash), purpose))
            if method.composite:
                found.append((Capability.AES_KWP, purpose))
            protected.append(f"wrapping {what} for {purpose}")
    return [(c, p, _ALTERNATIVES) for c, p in found], protected

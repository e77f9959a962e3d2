"""The key that signs the record: found, or created under two approvals, before any key exists."""

from __future__ import annotations

from datetime import timedelta

from cryptography import x509

from ceremony.core import events
from ceremony.core.ceremony_file import SIGNING_LABEL, CeremonyFile, HsmSpec, TrustedWrap
from ceremony.core.rules import Operation
from ceremony.engine.context import Context, Flow, Services
from ceremony.engine.step_id import Family, StepId
from ceremony.engine.steps import hsm_login
from ceremony.engine.steps.people import approve
from ceremony.errors import RuleViolation
from ceremony.hsm.base import Capability, HsmBackend, HsmConfig, HsmSession, Preflight, TrustRequest
from ceremony.hsm.signing import REHEARSAL_ORGANIZATION, ensure_signing_identity

STAGE = StepId(Family.SIGNING)


def signing_config(spec: HsmSpec) -> HsmConfig:
    """The second token as the backend sees it; it wraps nothing, so no trust policy applies."""
    return HsmConfig(
        spec.module, spec.token_label, spec.token_serial, spec.init_reserved, TrustedWrap.REQUIRED
    )


def needs(cf: CeremonyFile) -> list[tuple[Capability, str]]:
    """What signing the record needs of the token that signs it."""
    found = [(Capability.ECDSA_RAW, "signing the ceremony record")]
    if cf.signing is not None and cf.signing.create:
        found.append((Capability.GENERATE_EC, "creating the record signing key ([signing] create)"))
    return found


def check_signing_token(
    cf: CeremonyFile, rehearsal: bool, services: Services, ceremony_token: Preflight
) -> tuple[HsmBackend, Preflight] | None:
    """Before roll call: the token that signs can sign (and create the key where asked).

    Returns the second token ([signing] module) when the file names one, else None."""
    spec = cf.signing
    second = spec.token if spec is not None else None
    found: tuple[HsmBackend, Preflight] | None = None
    if second is None:
        if spec is None and rehearsal:
            return None  # a rehearsal without [signing] signs if the rehearsal token can
        preflight = ceremony_token
        alternatives = (
            "name a second token that signs the record in [signing] (module, token_label)"
        )
    else:
        config = signing_config(second)
        if rehearsal and not services.rehearsal_token(config):
            raise RuleViolation(
                f"a rehearsal signs only on the project's rehearsal SoftHSM2 store, not on "
                f"{config.describe()}",
                hint="a rehearsal never touches a production token; check the [signing] section",
            )
        backend = services.backend(config)
        preflight = backend.preflight()
        found = (backend, preflight)
        alternatives = "name another token in [signing]"
    for capability, purpose in needs(cf):
        preflight.require(capability, purpose, alternatives)
    return found


def signing_identity(ctx: Context) -> Flow[None]:
    """After HSM login: the session and label that sign the record, journaled."""
    spec = ctx.cf.signing
    assert ctx.session is not None  # after hsm_login
    session: HsmSession = ctx.session
    if ctx.signing_token is not None:
        session = yield from _second_login(ctx, ctx.signing_token[0])
    label = spec.key_label if spec is not None else SIGNING_LABEL
    ctx.signer = (session, label)
    certificate = session.certificate(label)
    approvers: list[str] = []
    if certificate is None:
        if spec is None or not spec.create:
            if ctx.rehearsal:
                ctx.signer = None  # nothing to sign with: no record, and no failure to report
                return  # hsm_login already said the record cannot be signed
            raise RuleViolation(
                f"{session.token.describe()} holds no certificate labelled {label!r} to sign "
                "the record of this production ceremony",
                hint="create it in this ceremony ([signing] create = true, organization = "
                '"..."; two security officers approve), or name the token and label that '
                "hold it in [signing]",
            )
        token = session.token
        approvers = yield from approve(
            ctx,
            Operation.CREATE_SIGNING_KEY,
            label,
            lines=[
                f"An EC P-256 key pair labelled {label!r} is created inside {token.describe()}.",
                f"Its self-signed certificate names O={spec.organization} and this token; it "
                f"is valid for {spec.validity_days} days.",
                "Every record this key signs is checked against this certificate: an auditor "
                "pins its SHA-256 (ceremony verify --trust-anchor).",
            ],
            journal=False,
        )
        assert spec.organization is not None  # validated: create needs it
        identity, _ = ensure_signing_identity(
            session,
            label,
            common_name=f"ceremony record signing key, token {token.label} serial "
            f"{token.serial} ({token.model})"[:64],
            now=ctx.now(),
            organization=spec.organization,
            validity=timedelta(days=spec.validity_days),
        )
        certificate = identity.certificate_der
    subject, organizations = _subject(certificate)
    if not ctx.rehearsal and REHEARSAL_ORGANIZATION in organizations:
        raise RuleViolation(
            f"the certificate labelled {label!r} on {session.token.describe()} is a rehearsal "
            "certificate: a production record is never signed by it",
            hint="create a production signing key ([signing] create = true with your "
            "organization) under another label, or name the token that holds one",
        )
    if spec is None:
        return  # hsm_opened named the certificate already
    token = session.token
    ctx.journal(
        events.signing_identity(
            key_label=label,
            key_id=session.key_attributes(label).id_hex,
            token_label=token.label,
            serial=token.serial,
            model=token.model,
            certificate=certificate,
            subject=subject,
            approved_by=approvers,
        ),
        approvers,
    )
    if approvers:
        ctx.notice(f"Created the record signing key {label!r} and its certificate ({subject}).")


def _second_login(ctx: Context, backend: HsmBackend) -> Flow[HsmSession]:
    ctx.stage(STAGE)
    session, _ = yield from hsm_login.open_session(ctx, STAGE, backend, TrustRequest())
    ctx.exit.callback(session.close)
    ctx.notice(f"Logged in to {session.token.describe()}, which signs the record.")
    return session


def _subject(der: bytes) -> tuple[str, list[str]]:
    try:
        name = x509.load_der_x509_certificate(der).subject
    except ValueError:
        return "(unreadable certificate)", []
    organizations = [
        str(a.value) for a in name.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    ]
    return name.rfc4514_string(), organizations

"""The ceremony signing key: EC P-256 in the token, and a self-signed certificate signed by it."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ceremony.core.ceremony_file import SIGNING_LABEL
from ceremony.errors import HsmError, KeyNotFoundError
from ceremony.hsm.base import KeyAttributes, KeyRecord, KeySpec, SignatureFormat, TokenInfo

log = logging.getLogger(__name__)

# Long enough for a rehearsal record to stay verifiable; a production key gets its own policy.
VALIDITY = timedelta(days=5 * 365)
# Every rehearsal certificate carries it, no production one does: verify tells them apart by it.
REHEARSAL_ORGANIZATION = "ceremony (rehearsal)"


class SigningSession(Protocol):
    """What making and reading the signing identity needs of a logged-in session."""

    @property
    def token(self) -> TokenInfo: ...

    def random_bytes(self, length: int) -> bytes: ...

    def key_attributes(self, label: str) -> KeyAttributes: ...

    def generate_key(
        self, label: str, spec: KeySpec, *, extractable: bool = False
    ) -> KeyRecord: ...

    def public_key(self, label: str) -> bytes: ...

    def sign_digest(
        self, label: str, digest: bytes, fmt: SignatureFormat = SignatureFormat.DER
    ) -> bytes: ...

    def certificate(self, label: str) -> bytes | None: ...

    def store_certificate(self, label: str, der: bytes) -> None: ...


@dataclass(frozen=True)
class SigningIdentity:
    """The key pair and certificate that sign ceremony records (a later issue, via pyHanko)."""

    label: str
    id_hex: str
    certificate_der: bytes
    public_key_der: bytes

    @property
    def certificate_sha256(self) -> str:
        return hashlib.sha256(self.certificate_der).hexdigest()


def _time(moment: datetime) -> asn1_x509.Time:
    # RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
    kind = "utc_time" if moment.year < 2050 else "general_time"
    return asn1_x509.Time(name=kind, value=moment)


def self_signed_certificate(
    session: SigningSession,
    label: str,
    common_name: str,
    now: datetime,
    validity: timedelta = VALIDITY,
    organization: str = REHEARSAL_ORGANIZATION,
) -> bytes:
    """TBS built with asn1crypto, its SHA-256 signed by raw ECDSA in the token, verified; DER."""
    spki_der = session.public_key(label)
    spki = asn1_keys.PublicKeyInfo.load(spki_der)
    # Positive, at most 20 octets (RFC 5280 4.1.2.2), drawn from the token.
    serial = int.from_bytes(session.random_bytes(16), "big") >> 1 or 1
    name = asn1_x509.Name.build({"common_name": common_name, "organization_name": organization})
    now = now.astimezone(UTC).replace(microsecond=0)
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": serial,
            "signature": {"algorithm": "sha256_ecdsa"},
            "issuer": name,
            "validity": {
                "not_before": _time(now - timedelta(minutes=5)),
                "not_after": _time(now + validity),
            },
            "subject": name,
            "subject_public_key_info": spki,
            "extensions": [
                {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": False}},
                {
                    "extn_id": "key_usage",
                    "critical": True,
                    "extn_value": {"digital_signature", "non_repudiation"},
                },
                {
                    "extn_id": "key_identifier",
                    "critical": False,
                    # RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits.
                    "extn_value": hashlib.sha1(
                        spki["public_key"].native, usedforsecurity=False
                    ).digest(),
                },
            ],
        }
    )
    tbs_der = tbs.dump()
    signature = session.sign_digest(label, hashlib.sha256(tbs_der).digest(), SignatureFormat.DER)
    der: bytes = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature_value": signature,
        }
    ).dump()
    _verify(der, spki_der)
    return der


def _verify(der: bytes, spki_der: bytes) -> None:
    # An independent library checks what the token signed before anything is stored.
    cert = x509.load_der_x509_certificate(der)
    public = cert.public_key()
    spki = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if spki != spki_der or not isinstance(public, ec.EllipticCurvePublicKey):
        raise HsmError(
            "the new certificate does not carry the token's signing key",
            hint="this is a bug in the certificate builder; nothing was stored",
        )
    try:
        public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
        cert.verify_directly_issued_by(cert)
    except (InvalidSignature, ValueError, TypeError) as ex:
        raise HsmError(
            "the token's signature on the new certificate does not verify",
            hint="stop: the token signed something else than asked; nothing was stored",
        ) from ex


def signing_identity(session: SigningSession, label: str = SIGNING_LABEL) -> SigningIdentity | None:
    """The stored key pair and certificate, or None if the certificate is missing."""
    cert = session.certificate(label)
    if cert is None:
        return None
    attrs = session.key_attributes(label)
    return SigningIdentity(label, attrs.id_hex, cert, session.public_key(label))


def ensure_signing_identity(
    session: SigningSession,
    label: str = SIGNING_LABEL,
    common_name: str | None = None,
    now: datetime | None = None,
    organization: str = REHEARSAL_ORGANIZATION,
    validity: timedelta = VALIDITY,
) -> tuple[SigningIdentity, bool]:
    """Create the EC P-256 key pair and certificate unless both exist; ``(identity, created)``."""
    existing = signing_identity(session, label)
    if existing is not None:
        return existing, False
    try:
        session.key_attributes(label)
    except KeyNotFoundError:
        session.generate_key(label, KeySpec.EC_P256)
    cn = common_name or f"ceremony signing key on {session.token.label}"
    der = self_signed_certificate(
        session, label, cn, now or datetime.now(UTC), validity, organization
    )
    session.store_certificate(label, der)
    log.info("created the signing key %r and its self-signed certificate", label)
    identity = signing_identity(session, label)
    assert identity is not None  # stored just above
    return identity, True

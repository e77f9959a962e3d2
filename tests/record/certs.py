"""A software EC P-256 key and self-signed certificate: the "other key" of the tamper tests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class SoftwareIdentity:
    key: ec.EllipticCurvePrivateKey
    certificate_der: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.certificate_der).hexdigest()

    @property
    def key_der(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def software_identity(
    common_name: str = "someone else", organization: str | None = None
) -> SoftwareIdentity:
    key = ec.generate_private_key(ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    name = x509.Name(attributes)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return SoftwareIdentity(key, cert.public_bytes(serialization.Encoding.DER))


class SoftwareSigner:
    """A RecordSigner on a software key: the "someone else re-signed it" case."""

    def __init__(self, identity: SoftwareIdentity | None = None) -> None:
        self.identity = identity or software_identity()

    @property
    def certificate_der(self) -> bytes:
        return self.identity.certificate_der

    def sign_digest(self, digest: bytes) -> bytes:
        from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

        return self.identity.key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))

    def pyhanko_signer(self) -> object:
        from asn1crypto import keys as asn1_keys
        from asn1crypto import x509 as asn1_x509
        from pyhanko.sign import signers

        return signers.SimpleSigner(
            signing_cert=asn1_x509.Certificate.load(self.identity.certificate_der),
            signing_key=asn1_keys.PrivateKeyInfo.load(self.identity.key_der),
            cert_registry=None,
        )

"""Shared test keys and provider downloads for the cloud-format tests, made once per process."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ceremony.core.providers import MaterialKind

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
AWS_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
AWS_ARN_2 = "arn:aws:kms:us-east-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef"
VAULT_KID = "https://contoso-byok.vault.azure.net/keys/KEKforBYOK/0123456789abcdef0123456789abcdef"
MHSM_KID = "https://contoso-mhsm.managedhsm.azure.net/keys/kek/fedcba9876543210fedcba9876543210"
GCP_JOB = "projects/ceremony-test/locations/europe-west1/keyRings/byok/importJobs/job-1"
TOKEN = bytes(range(256)) * 6  # 1536 opaque bytes, as AWS hands out


@cache
def rsa_key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, bits)


@cache
def _material_rsa(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, bits)


@cache
def wycheproof_key(bits: int) -> rsa.RSAPrivateKey:
    """A fixed public test key (Wycheproof OAEP group), for byte-stable golden bundles."""
    name = "rsa_oaep_2048_sha256_mgf1sha256_test.json"
    if bits != 2048:
        name = f"rsa_oaep_{bits}_sha256_mgf1sha256_test.json"
    doc = json.loads((VECTORS / "wycheproof" / name).read_text())
    pem = doc["testGroups"][0]["privateKeyPem"].encode()
    key = serialization.load_pem_private_key(pem, None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def spki(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def aws_json(
    key: rsa.RSAPrivateKey, valid_to: object = "2026-03-02T08:00:00+00:00", key_id: str = AWS_ARN
) -> str:
    return json.dumps(
        {
            "KeyId": key_id,
            "ImportToken": base64.b64encode(TOKEN).decode(),
            "PublicKey": base64.b64encode(spki(key)).decode(),
            "ParametersValidTo": valid_to,
        }
    )


def gcp_json(
    key: rsa.RSAPrivateKey,
    method: str,
    state: str = "ACTIVE",
    expire: str = "2026-03-03T10:11:12.123456789Z",
) -> str:
    return json.dumps(
        {
            "name": GCP_JOB,
            "importMethod": method,
            "protectionLevel": "HSM",
            "createTime": "2026-02-28T10:11:12.123456789Z",
            "expireTime": expire,
            "state": state,
            "publicKey": {"pem": pem(key).decode()},
        }
    )


def _seed_int(name: str, order: int) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest(), "big") % (order - 1) + 1


_ORDERS = {
    MaterialKind.EC_P256: (
        ec.SECP256R1(),
        0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    ),
    MaterialKind.EC_P384: (
        ec.SECP384R1(),
        int(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
            16,
        ),
    ),
    MaterialKind.EC_P521: (ec.SECP521R1(), 2**520),
    MaterialKind.EC_SECP256K1: (
        ec.SECP256K1(),
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
    ),
}


@cache
def material(kind: MaterialKind) -> bytes:
    """Fixed test key material of ``kind``: raw bytes or PKCS#8 DER (deterministic but for RSA)."""
    if kind.raw_length is not None:
        return hashlib.sha512(kind.value.encode()).digest()[: kind.raw_length]
    if kind.is_rsa:
        assert kind.rsa_bits is not None
        private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = _material_rsa(kind.rsa_bits)
    else:
        curve, order = _ORDERS[kind]
        private = ec.derive_private_key(_seed_int(kind.value, order), curve)
    return private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def later(hours: float) -> datetime:
    return NOW + timedelta(hours=hours)


# ---- AWS Payment Cryptography: a test root CA, an optional intermediate, a wrapping cert -------

APC_TOKEN = "import-token-abcdefghij0123456789"


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Payment Cryptography"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def certificate(
    subject: str,
    key: rsa.RSAPrivateKey,
    issuer: str,
    issuer_key: rsa.RSAPrivateKey,
    *,
    ca: bool,
    not_before: datetime = NOW - timedelta(days=1),
    not_after: datetime = NOW + timedelta(days=30),
) -> x509.Certificate:
    """A certificate made with pyca/cryptography's builder, RSA PKCS#1 v1.5 over SHA-256."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(issuer_key, hashes.SHA256())


def b64_pem(*certs: x509.Certificate) -> str:
    """ "PEM format (base64 encoded)", as the service returns certificates: base64 of PEM text."""
    text = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
    return base64.b64encode(text).decode()


@cache
def apc_root() -> x509.Certificate:
    return certificate("Test APC Root", rsa_key(3072), "Test APC Root", rsa_key(3072), ca=True)


def apc_params(
    wrapping: rsa.RSAPrivateKey,
    *,
    leaf: x509.Certificate | None = None,
    chain: tuple[x509.Certificate, ...] | None = None,
    algorithm: str | None = None,
    valid_until: object = 1772528400,  # 2026-03-03T09:00:00Z, two days after NOW
    token: str = APC_TOKEN,
) -> str:
    """``get-parameters-for-import --key-material-type KEY_CRYPTOGRAM`` output, built here: the
    wrapping key certified directly by the test root unless ``leaf``/``chain`` say otherwise."""
    if leaf is None:
        leaf = certificate(
            "Test APC wrapping key", wrapping, "Test APC Root", rsa_key(3072), ca=False
        )
    return json.dumps(
        {
            "ImportToken": token,
            "ParametersValidUntilTimestamp": valid_until,
            "WrappingKeyAlgorithm": algorithm or f"RSA_{wrapping.key_size}",
            "WrappingKeyCertificate": b64_pem(leaf),
            "WrappingKeyCertificateChain": b64_pem(
                *(chain if chain is not None else (apc_root(),))
            ),
        }
    )


def apc_root_sha256() -> bytes:
    return hashlib.sha256(apc_root().public_bytes(serialization.Encoding.DER)).digest()

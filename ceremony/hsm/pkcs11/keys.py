"""Keys in the token: generate, import, find, sign with, certify and destroy."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass

from ceremony.core import kcv, parity
from ceremony.core.component import KeyAlgorithm
from ceremony.core.kcv import CheckValue, KcvMethod
from ceremony.core.keylengths import require_key_length
from ceremony.core.secret import Secret
from ceremony.errors import (
    CheckValueError,
    HsmError,
    KeyMaterialError,
    KeyNotFoundError,
    LabelExistsError,
    MechanismNotSupportedError,
)
from ceremony.hsm.base import (
    DestroyRecord,
    ImportPath,
    ImportResult,
    KeyKind,
    KeyRecord,
    KeySpec,
    SignatureFormat,
)
from ceremony.hsm.pkcs11 import errors
from ceremony.hsm.pkcs11.checkvalues import check_values, require_expected, require_kcv_possible
from ceremony.hsm.pkcs11.link import Link, get
from ceremony.hsm.pkcs11.templates import (
    Purpose,
    TemplateKind,
    key_template,
    requested_record,
    secret_kind,
    tdes_key_type,
)

log = logging.getLogger(__name__)


def spki_of(public: Any) -> bytes:
    """DER SubjectPublicKeyInfo of a token public key object (EC or RSA)."""
    key_type = public[Attribute.KEY_TYPE]
    if key_type == KeyType.EC:
        der: bytes = pkcs11.util.ec.encode_ec_public_key(public)
        return der
    if key_type == KeyType.RSA:
        n = int.from_bytes(public[Attribute.MODULUS], "big")
        e = int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big")
        return (
            rsa.RSAPublicNumbers(e, n)
            .public_key()
            .public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    raise MechanismNotSupportedError(
        f"public keys of type {key_type!r} are not handled",
        hint="the backend handles EC and RSA key pairs",
    )


def generate_key(link: Link, label: str, spec: KeySpec, *, extractable: bool) -> KeyRecord:
    link.require_new_label(label)
    step = f"generating {spec.value} key {label!r}"
    if spec.kind is KeyKind.SECRET:
        # A secret key without an in-token check value could not be recorded: refuse first.
        require_kcv_possible(link, spec.family, spec.size, f"generating {spec.value}")
    if extractable:
        link.require_trusted_wrap(step)
    key_id = link.new_id()
    if spec.kind is KeyKind.SECRET:
        kind = secret_kind(spec.family)
        template = key_template(kind, Purpose.GENERATE, link.traits, extractable=extractable)
        if spec.family == "TDES":
            # CKM_DES2/DES3_KEY_GEN fix the length and set odd parity themselves.
            key_type, bits = tdes_key_type(spec.size), None
        else:
            key_type = KeyType.AES if spec.family == "AES" else KeyType.GENERIC_SECRET
            bits = spec.size * 8
        with link.step(step):
            key = link.session.generate_key(
                key_type, bits, id=key_id, label=label, store=True, template=template
            )
        public_der = None
    else:
        kind = TemplateKind.EC_PRIVATE if spec.family == "EC" else TemplateKind.RSA_PRIVATE
        template = key_template(kind, Purpose.GENERATE, link.traits, extractable=extractable)
        public_template = key_template(TemplateKind.PUBLIC, Purpose.GENERATE, link.traits)
        with link.step(step):
            if spec.family == "EC":
                curve = spec.curve or ""
                params = link.session.create_domain_parameters(
                    KeyType.EC,
                    {Attribute.EC_PARAMS: pkcs11.util.ec.encode_named_curve_parameters(curve)},
                    local=True,
                )
                public, key = params.generate_keypair(
                    id=key_id,
                    label=label,
                    store=True,
                    public_template=public_template,
                    private_template=template,
                )
            else:
                public, key = link.session.generate_keypair(
                    KeyType.RSA,
                    spec.size,
                    id=key_id,
                    label=label,
                    store=True,
                    public_template=public_template,
                    private_template=template,
                )
            public_der = spki_of(public)
    attributes = link.attributes(key)
    if extractable and link.traits.wrap_with_trusted and attributes.wrap_with_trusted is not True:
        link.destroy_all(label)
        raise MechanismNotSupportedError(
            f"{step}: the token did not keep CKA_WRAP_WITH_TRUSTED, so any key could wrap "
            "the new key out; it was destroyed",
            hint="generate it non-extractable, or use a token that enforces CKA_WRAP_WITH_TRUSTED",
        )
    checks = check_values(link, label) if spec.kind is KeyKind.SECRET else None
    log.info(
        "generated %s key %r id %s in %s", spec.value, label, key_id.hex(), link.info.describe()
    )
    return KeyRecord(
        label=label,
        id_hex=key_id.hex(),
        spec=spec,
        requested=requested_record(template),
        attributes=attributes,
        check_values=checks,
        public_key_der=public_der,
    )


def _secret_spec(link: Link, algorithm: KeyAlgorithm, length: int, purpose: str) -> KeySpec:
    require_key_length(algorithm, length)
    spec = KeySpec.for_secret(algorithm, length)
    require_kcv_possible(link, spec.family, spec.size, purpose)
    return spec


def import_key(
    link: Link,
    label: str,
    algorithm: KeyAlgorithm,
    key: Secret,
    *,
    expected: CheckValue,
    extractable: bool,
) -> ImportResult:
    """Create a token key from clear material held in process memory (manual clear-text)."""
    spec = _secret_spec(link, algorithm, len(key), f"importing key {label!r}")
    link.require_new_label(label)
    if extractable:
        link.require_trusted_wrap(f"importing key {label!r} extractable")
    # Catch a wrong key before it reaches the token.
    actual = kcv.check_value(key, expected.method, len(expected.value))
    kcv.require_match(expected, actual, f"key {label!r} before import")
    material = key.reveal()
    if spec.family == "TDES":
        # Combining adjusts parity, so a TDES key without it here is a bug, not a typo.
        parity.require_odd_parity(material, f"key {label!r}")
    if spec.family == "AES":
        token_cv = kcv.check_value(key, KcvMethod.AES_ECB_ZERO).value
    elif spec.family == "TDES":
        # PKCS#11 2.40: a DES key's CKA_CHECK_VALUE is its ECB encryption of a zero block.
        token_cv = kcv.check_value(key, KcvMethod.TDES_ECB_ZERO).value
    else:
        # PKCS#11: a generic secret's CKA_CHECK_VALUE is the first 3 bytes of SHA-1(value).
        token_cv = hashlib.sha1(material, usedforsecurity=False).digest()[:3]
    key_id = link.new_id()
    template: dict[Any, Any] = key_template(
        secret_kind(spec.family), Purpose.IMPORT, link.traits, extractable=extractable
    )
    if spec.family == "TDES":
        template[Attribute.KEY_TYPE] = tdes_key_type(spec.size)
    template[Attribute.LABEL] = label.encode("utf-8")
    template[Attribute.ID] = key_id
    if link.traits.check_value:
        # The token recomputes this from the value and refuses a mismatch.
        template[Attribute.CHECK_VALUE] = token_cv
    template[Attribute.VALUE] = material
    step = f"importing key {label!r}"
    try:
        with link.step(step):
            link.module.cryptoki.create_object(link.session.handle, template)
    except HsmError as ex:
        refused = errors.check_value_refused(ex, step)
        if refused is not None:
            raise refused from ex
        raise
    try:
        checks = require_expected(link, label, expected)
    except CheckValueError:
        link.destroy_all(label)
        raise
    attributes = link.attributes(link.key(label, f"reading attributes of {label!r}"))
    path = ImportPath.HOST_MEMORY
    log.info("imported key %r id %s: %s", label, key_id.hex(), path.value)
    return ImportResult(
        path,
        KeyRecord(
            label=label,
            id_hex=key_id.hex(),
            spec=spec,
            requested=requested_record(template),
            attributes=attributes,
            check_values=checks,
        ),
    )


def public_key(link: Link, label: str) -> bytes:
    public = link.find(label, (ObjectClass.PUBLIC_KEY,), f"reading public key {label!r}")
    with link.step(f"reading public key {label!r}"):
        return spki_of(public)


def sign_digest(link: Link, label: str, digest: bytes, fmt: SignatureFormat) -> bytes:
    """Raw CKM_ECDSA over a digest the caller computed (SoftHSM 2.6.1 lacks ECDSA_SHA256)."""
    if len(digest) not in (20, 28, 32, 48, 64):
        raise KeyMaterialError(
            f"a digest to sign is {len(digest)} bytes, not a SHA-1/SHA-2 length",
            hint="pass the digest itself, not the message",
        )
    step = f"signing with key {label!r}"
    key = link.find(label, (ObjectClass.PRIVATE_KEY,), step)
    with link.step(step):
        if key[Attribute.KEY_TYPE] != KeyType.EC:
            raise MechanismNotSupportedError(
                f"{step}: only EC keys sign digests here",
                hint="the ceremony signing key is EC P-256",
            )
        raw = bytes(key.sign(digest, mechanism=Mechanism.ECDSA))
    if fmt is SignatureFormat.RAW:
        return raw
    half = len(raw) // 2
    return encode_dss_signature(
        int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
    )


def certificate(link: Link, label: str) -> bytes | None:
    step = f"reading certificate {label!r}"
    for obj in link.objects(label, step):
        with link.step(step):
            if obj[Attribute.CLASS] == ObjectClass.CERTIFICATE:
                return bytes(obj[Attribute.VALUE])
    return None


def _der_integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return bytes([0x02, len(body)]) + body


def store_certificate(link: Link, label: str, der: bytes) -> None:
    """Store an X.509 certificate next to key pair ``label`` (same CKA_ID)."""
    step = f"storing certificate {label!r}"
    if certificate(link, label) is not None:
        raise LabelExistsError(
            f"a certificate labelled {label!r} already exists",
            hint="the tool never replaces a certificate",
        )
    key = link.find(label, (ObjectClass.PRIVATE_KEY,), step)
    cert = x509.load_der_x509_certificate(der)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if spki != public_key(link, label):
        raise HsmError(
            f"{step}: the certificate is for another key",
            hint="this is a bug in the ceremony flow",
        )
    with link.step(step):
        link.session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: pkcs11.CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.PRIVATE: False,
                Attribute.LABEL: label,
                Attribute.ID: key[Attribute.ID],
                Attribute.SUBJECT: cert.subject.public_bytes(),
                Attribute.ISSUER: cert.issuer.public_bytes(),
                Attribute.SERIAL_NUMBER: _der_integer(cert.serial_number),
                Attribute.VALUE: der,
            }
        )


def destroy(link: Link, label: str) -> DestroyRecord:
    step = f"destroying key {label!r}"
    key = link.key(label, step)
    with link.step(step):
        cls = key[Attribute.CLASS]
        key_id = (get(key, Attribute.ID) or b"").hex()
    values: tuple[CheckValue, ...] = ()
    public_sha: str | None = None
    if cls == ObjectClass.SECRET_KEY:
        values = check_values(link, label).values
    else:
        try:
            public_sha = hashlib.sha256(public_key(link, label)).hexdigest()
        except KeyNotFoundError:
            public_sha = None
    destroyed = link.destroy_all(label)
    log.info("destroyed %s labelled %r id %s", ", ".join(destroyed), label, key_id)
    return DestroyRecord(label, key_id, tuple(destroyed), values, public_sha)

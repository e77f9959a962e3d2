"""Keys out of the token: wrapped for a provider's import key, or exported for a backup."""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding
from pkcs11 import MGF, Attribute, KeyType, Mechanism, ObjectClass

from ceremony.core import kcv
from ceremony.core.ceremony_file.vocabulary import TrustedWrap
from ceremony.core.kcv import KcvMethod
from ceremony.core.secret import Secret
from ceremony.core.wrap import OaepHash
from ceremony.errors import (
    CeremonyError,
    HsmError,
    ImportKeyError,
    KeyNotExtractableError,
    MechanismNotSupportedError,
    WrapError,
)
from ceremony.hsm.base import Capability, TrustedWrapSupport, WrapConstruction, WrapResult
from ceremony.hsm.pkcs11 import _cryptoki, mechanisms
from ceremony.hsm.pkcs11.checkvalues import check_values
from ceremony.hsm.pkcs11.link import Link, get
from ceremony.hsm.pkcs11.templates import (
    Purpose,
    TemplateKind,
    key_template,
    rsa_public_template,
)

log = logging.getLogger(__name__)

_OAEP = {
    OaepHash.SHA1: (Mechanism.SHA_1, MGF.SHA1),
    OaepHash.SHA256: (Mechanism.SHA256, MGF.SHA256),
    OaepHash.SHA512: (Mechanism.SHA512, MGF.SHA512),
}


def rsa_import_key(der: bytes) -> rsa.RSAPublicKey:
    """A provider's import key, refused unless it is an RSA SPKI of 2048 bits or more."""
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, TypeError) as ex:
        raise ImportKeyError(
            "the provider's import key is not a DER SubjectPublicKeyInfo",
            hint="download the wrapping public key again in DER form (PEM: convert it first)",
        ) from ex
    if not isinstance(key, rsa.RSAPublicKey):
        raise ImportKeyError(
            "the provider's import key is not an RSA key",
            hint="the clouds' BYOK import keys are RSA; check the file",
        )
    if key.key_size < 2048:
        raise ImportKeyError(
            f"the provider's import key is RSA-{key.key_size}, below 2048 bits",
            hint="ask the provider for an RSA-2048, 3072 or 4096 import key",
        )
    return key


def spki_sha256(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def _trust_hint(link: Link, request: str) -> str:
    if link.policy is TrustedWrap.NOT_ENFORCED:
        return (
            "the key was made CKA_WRAP_WITH_TRUSTED (under [hsm] trusted_wrap = "
            '"required"), and this ceremony\'s file says "not-enforced-by-token", so the security '
            'officer trusts nothing: run it with [hsm] trusted_wrap = "required"'
        )
    return f"open the session with {request}"


_KWP_NEEDED = (
    "this needs AES key wrap with padding (RFC 5649: CKM_AES_KEY_WRAP_KWP or "
    "CKM_AES_KEY_WRAP_PAD) in the token. Choose explicitly: (1) for a provider, a method that "
    "is RSA-OAEP alone where it takes this key (AWS RSAES_OAEP_SHA_1 / RSAES_OAEP_SHA_256 for "
    "an AES key), or (2) a token with that key wrap ('ceremony hsm info' shows it). Nothing "
    "left the token"
)


def _kwp(link: Link, purpose: str) -> int:
    preflight = link.preflight()
    preflight.require(Capability.AES_KWP, purpose, _KWP_NEEDED)
    value = mechanisms.kwp_mechanism_value(preflight)
    assert value is not None  # require() passed
    return value


def _extractable_key(link: Link, label: str, step: str) -> tuple[Any, bool]:
    """The key, and whether it leaves only under an SO-trusted key (attribute set, enforced)."""
    key = link.key(label, step)
    enforced = link.preflight().trusted_wrap is TrustedWrapSupport.ENFORCED
    with link.step(step):
        extractable = get(key, Attribute.EXTRACTABLE)
        with_trusted = enforced and bool(get(key, Attribute.WRAP_WITH_TRUSTED))
    if not extractable:
        raise KeyNotExtractableError(
            f"key {label!r} was made non-extractable: it can never leave "
            f"{link.info.describe()}, not even wrapped",
            hint="this is by design; a key that must go to a cloud or a backup is generated "
            "with the ceremony's explicit 'extractable' setting",
        )
    link.require_trusted_wrap(step)
    return key, with_trusted


def _value_length(key: Any) -> int | None:
    """A secret key's length in bytes (sizes the RFC 5649 output); None for a private key."""
    if key[Attribute.CLASS] != ObjectClass.SECRET_KEY:
        return None
    return secret_length(key)


_DES_LENGTHS = {KeyType.DES2: 16, KeyType.DES3: 24}


def secret_length(key: Any) -> int | None:
    """Bytes of a secret key: DES keys have no CKA_VALUE_LEN, their type fixes the length."""
    fixed = _DES_LENGTHS.get(key[Attribute.KEY_TYPE])
    if fixed is not None:
        return fixed
    length = get(key, Attribute.VALUE_LEN)
    return int(length) if length is not None else None


def _der_length(der: bytes) -> int:
    """Total length of the DER element at the start of ``der`` (PKCS#8 of a private key)."""
    if len(der) < 2:
        return len(der) + 1  # too short: the caller reports the mismatch
    first = der[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    return 2 + count + int.from_bytes(der[2 : 2 + count], "big")


def export_clear(link: Link, label: str) -> Secret:
    """Wrap under a throw-away AES key, unwrap in memory: a manual clear-text operation."""
    step = f"exporting key {label!r} for backup"
    key, with_trusted = _extractable_key(link, label, step)
    kwp = _kwp(link, step)
    if with_trusted:
        if not link.trusted.transport:
            raise KeyNotExtractableError(
                f"{step}: key {label!r} leaves the token only under a key the security "
                "officer trusted, and none was prepared",
                hint=_trust_hint(
                    link,
                    "TrustRequest(exports=1): the SO logs in first and marks a "
                    "transport key TRUSTED",
                ),
            )
        transport_label, transport_value = link.trusted.transport.pop(0)
    else:
        transport_label = f"ceremony-transport-{secrets.token_hex(6)}"
        transport_value = Secret(link.random_bytes(32), "transport key")
        template: dict[Any, Any] = key_template(TemplateKind.TRANSPORT, Purpose.IMPORT, link.traits)
        template[Attribute.VALUE] = transport_value.reveal()
        template[Attribute.LABEL] = transport_label.encode("utf-8")
        with link.step(step):
            link.module.cryptoki.create_object(link.session.handle, template)
    try:
        transport = link.find(transport_label, (ObjectClass.SECRET_KEY,), step)
        with link.step(step):
            blob = mechanisms.kwp_wrap(
                link.session, link.module.cryptoki, kwp, transport, key, _value_length(key)
            )
        try:
            # cryptography returns immutable bytes; the Secret is the copy we can wipe.
            unwrapped = aes_key_unwrap_with_padding(transport_value.reveal(), blob)
        except ValueError as ex:
            raise HsmError(
                f"{step}: the token's wrapped key does not unwrap as RFC 5649",
                hint="stop: the token's key wrap is not what the preflight proved",
            ) from ex
        length = _material_length(link, key, unwrapped, step)
        clear = Secret(memoryview(unwrapped)[:length], label)
    finally:
        transport_value.close()
        link.destroy_label_quietly(transport_label)
    _check_export(link, label, key, clear)
    log.info("exported key %r in clear for backup (manual clear-text operation)", label)
    return clear


def _material_length(link: Link, key: Any, unwrapped: bytes, step: str) -> int:
    """The true material length, dropping the zero padding a token added before RFC 5649."""
    with link.step(step):
        secret = key[Attribute.CLASS] == ObjectClass.SECRET_KEY
        known = secret_length(key) if secret else None
    if secret and known is None:
        raise HsmError(
            f"{step}: the token does not say how long the key is (CKA_VALUE_LEN)",
            hint="stop: without its length the exported key cannot be checked",
        )
    length = known if known is not None else _der_length(unwrapped)
    padding = unwrapped[length:]
    aligned_only = link.preflight().kwp_multiple_of_8_only
    if length > len(unwrapped) or (padding and not aligned_only) or any(padding):
        raise HsmError(
            f"{step}: the unwrapped material is {len(unwrapped)} bytes, the key {length}",
            hint="stop: the token's key wrap is not what the preflight proved",
        )
    return length


def _check_export(link: Link, label: str, key: Any, clear: Secret) -> None:
    with link.step("checking the exported key"):
        cls = key[Attribute.CLASS]
        key_type = key[Attribute.KEY_TYPE]
    if cls != ObjectClass.SECRET_KEY:
        return
    method = {
        KeyType.AES: KcvMethod.AES_CMAC,
        KeyType.DES2: KcvMethod.TDES_ECB_ZERO,
        KeyType.DES3: KcvMethod.TDES_ECB_ZERO,
    }.get(key_type, KcvMethod.HMAC_SHA256_ZERO)
    try:
        token_value = check_values(link, label).of(method)
        kcv.require_match(token_value, kcv.check_value(clear, method), f"exported key {label!r}")
    except CeremonyError:
        clear.close()
        raise


def wrap_for_public_key(
    link: Link,
    label: str,
    import_key_der: bytes,
    *,
    method: WrapConstruction,
    oaep_hash: OaepHash,
) -> WrapResult:
    """Wrap ``label`` inside the token for a provider's RSA import key; never falls back."""
    step = f"wrapping key {label!r} ({method.value}, {oaep_hash.value})"
    public = rsa_import_key(import_key_der)
    plan = _wrap_plan(link, method, oaep_hash, step)
    key, with_trusted = _extractable_key(link, label, step)
    with link.step(step):
        key_id = (get(key, Attribute.ID) or b"").hex()
        is_private_rsa = (
            key[Attribute.CLASS] == ObjectClass.PRIVATE_KEY
            and key[Attribute.KEY_TYPE] == KeyType.RSA
        )
    if method is WrapConstruction.RSA_OAEP and is_private_rsa:
        raise WrapError(
            f"{step}: an RSA private key is too long for RSA-OAEP alone",
            hint="use an RSA-AES method (AWS RSA_AES_KEY_WRAP_*, GCP *_AES_256, Azure .byok)",
        )
    if plan == "two-step" and link.preflight().kwp_multiple_of_8_only:
        _refuse_padded_kwp(link, key, step)
    fingerprint = spki_sha256(import_key_der)
    made: list[str] = []
    if with_trusted:
        kek_label = link.trusted.import_keys.get(fingerprint)
        if kek_label is None:
            raise KeyNotExtractableError(
                f"{step}: key {label!r} may only be wrapped under an import key the security "
                "officer trusted, and this import key was not trusted in this session",
                hint=_trust_hint(link, "TrustRequest(import_keys=(<the DER key>,))")
                + f"; import key SHA-256 {fingerprint}",
            )
    else:
        kek_label = f"ceremony-kek-{secrets.token_hex(6)}"
        with link.step(step):
            link.session.create_object(rsa_public_template(public, kek_label))
        made.append(kek_label)
    try:
        kek = link.find(kek_label, (ObjectClass.PUBLIC_KEY,), step)
        oaep = (*_OAEP[oaep_hash], None)
        with link.step(step):
            if plan == "oaep":
                blob = _oaep_wrap(link, kek, key, oaep, step)
                used: tuple[str, ...] = ("CKM_RSA_PKCS_OAEP",)
            elif plan == "rsa-aes":
                hash_mech, mgf = _OAEP[oaep_hash]
                param = _cryptoki.rsa_aes_key_wrap_parameter(256, int(hash_mech), int(mgf))
                blob = link.module.cryptoki.wrap_key(
                    link.session.handle,
                    mechanisms.CKM_RSA_AES_KEY_WRAP,
                    param,
                    kek.handle,
                    key.handle,
                )
                param.release()
                used = ("CKM_RSA_AES_KEY_WRAP",)
            else:
                blob, used = _two_step(link, key, kek, oaep, with_trusted, made, step)
    finally:
        for obj_label in made:
            link.destroy_label_quietly(obj_label)
    log.info("wrapped key %r for import key %s with %s", label, fingerprint[:16], ", ".join(used))
    return WrapResult(
        blob=blob,
        method=method,
        oaep_hash=oaep_hash,
        mechanisms=used,
        import_key_sha256=fingerprint,
        trusted_import_key=with_trusted,
        target_label=label,
        target_id_hex=key_id,
    )


def _refuse_padded_kwp(link: Link, key: Any, step: str) -> None:
    with link.step(step):
        is_secret = key[Attribute.CLASS] == ObjectClass.SECRET_KEY
        length = secret_length(key) if is_secret else None
    if length is not None and length % 8 == 0:
        return
    what = f"a {length}-byte key" if length is not None else "a private key (PKCS#8)"
    raise MechanismNotSupportedError(
        f"{step}: this token's AES key wrap with padding zero-pads key material to a "
        f"multiple of 8 bytes before RFC 5649, so {what} would reach the provider with "
        "extra zero bytes; not supported by this token",
        hint="choose explicitly: (1) a software wrap after a dual-controlled export of the "
        "key (a manual clear-text operation: 'ceremony run' with a generate-export ceremony "
        'file whose target says wrap = "software"), or (2) a token whose RFC 5649 wrap is '
        "exact ('ceremony hsm info' shows it). Nothing was wrapped",
    )


def _wrap_plan(link: Link, method: WrapConstruction, oaep_hash: OaepHash, step: str) -> str:
    """Decide the mechanism before any work; refuse with explicit alternatives."""
    preflight = link.preflight()
    other = OaepHash.SHA1 if oaep_hash is OaepHash.SHA256 else OaepHash.SHA256
    variants = (
        "AWS Payment Cryptography RSA_OAEP_SHA_256"
        if oaep_hash is OaepHash.SHA512
        else "AWS RSAES_OAEP_SHA_1 / RSA_AES_KEY_WRAP_SHA_1, GCP RSA_OAEP_*_SHA1_AES_256; "
        "Azure .byok uses SHA-1"
    )
    alternatives = (
        f"choose explicitly: (1) ask the provider for the {other.value} variant if this token "
        f"can do it ({variants}), or (2) a software wrap after a dual-controlled export of "
        f"the key (a manual clear-text operation), or (3) a token that supports "
        f"{oaep_hash.value}. Nothing was wrapped"
    )
    if method is WrapConstruction.RSA_OAEP:
        preflight.require(Capability.for_oaep(oaep_hash), step, alternatives)
        return "oaep"
    if preflight.supports(Capability.for_rsa_aes(oaep_hash)):
        return "rsa-aes"
    preflight.require(Capability.for_oaep(oaep_hash), step, alternatives)
    preflight.require(Capability.AES_KWP, step, _KWP_NEEDED)
    return "two-step"


def _oaep_wrap(link: Link, kek: Any, key: Any, oaep: tuple[Any, ...], step: str) -> bytes:
    try:
        with link.step(step):
            return bytes(kek.wrap_key(key, mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=oaep))
    except KeyNotExtractableError as ex:
        with link.step(step):
            private = key[Attribute.CLASS] == ObjectClass.PRIVATE_KEY
        if not private:
            raise
        # The key is extractable and the import key allowed: the token refuses the mechanism.
        raise MechanismNotSupportedError(
            f"{step}: this token does not wrap private keys with RSA-OAEP",
            hint="use an RSA-AES method (AWS RSA_AES_KEY_WRAP_*, GCP *_AES_256, Azure .byok)",
        ) from ex


def _two_step(
    link: Link,
    key: Any,
    kek: Any,
    oaep: tuple[Any, ...],
    with_trusted: bool,
    made: list[str],
    step: str,
) -> tuple[bytes, tuple[str, ...]]:
    kwp = _kwp(link, step)
    if with_trusted:
        if not link.trusted.ephemeral:
            raise KeyNotExtractableError(
                f"{step}: the RSA-AES wrap needs an ephemeral AES key the security officer "
                "trusted, and none is left",
                hint=_trust_hint(link, "TrustRequest(rsa_aes_wraps=1)"),
            )
        ephemeral_label = link.trusted.ephemeral.pop(0)
    else:
        ephemeral_label = f"ceremony-ephemeral-{secrets.token_hex(6)}"
        link.session.generate_key(
            KeyType.AES,
            256,
            label=ephemeral_label,
            template=key_template(TemplateKind.EPHEMERAL, Purpose.GENERATE, link.traits),
        )
    # Destroyed in every case once the blob exists (or the step fails).
    made.append(ephemeral_label)
    ephemeral = link.find(ephemeral_label, (ObjectClass.SECRET_KEY,), step)
    wrapped_target = mechanisms.kwp_wrap(
        link.session, link.module.cryptoki, kwp, ephemeral, key, _value_length(key)
    )
    wrapped_ephemeral = kek.wrap_key(
        ephemeral, mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=oaep
    )
    return wrapped_ephemeral + wrapped_target, (
        "CKM_AES_KEY_GEN (ephemeral AES-256)",
        mechanisms.mechanism_name(kwp),
        "CKM_RSA_PKCS_OAEP",
    )

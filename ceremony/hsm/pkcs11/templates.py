"""Key-attribute policy in one table: which attributes each kind of key gets, per purpose.

As python-pkcs11 keeps its defaults in ``pkcs11/defaults.py``. Every template the backend sends
for a key comes from ``key_template``; callers add only identity and value (label, id, value,
check value, modulus). ``TokenTraits`` is the hook where a token's limits change a template.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from pkcs11 import Attribute, KeyType, ObjectClass

from ceremony.core.ceremony_file.vocabulary import TrustedWrap
from ceremony.hsm.base import TrustedWrapSupport


class TemplateKind(enum.Enum):
    """What a key is for, as far as its attributes go."""

    AES = "AES secret key"
    HMAC = "HMAC generic secret"
    TDES = "TDES secret key (CKK_DES2 or CKK_DES3)"
    EC_PRIVATE = "EC private key of a generated key pair (signs)"
    RSA_PRIVATE = "RSA private key of a generated key pair (signs)"
    PUBLIC = "public key of a generated key pair (verifies)"
    IMPORT_KEY = "a provider's RSA import key: a session object that wraps for the provider"
    EPHEMERAL = "session AES-256 key of a two-step RSA-AES wrap: wraps the target, then leaves"
    TRANSPORT = "session AES key that carries a key out of the token for a backup"


class Purpose(enum.Enum):
    GENERATE = "C_GenerateKey / C_GenerateKeyPair"
    IMPORT = "C_CreateObject with the key value"
    UNWRAP = "C_UnwrapKey"


@dataclass(frozen=True)
class TokenTraits:
    """Where a token (and the ceremony's policy) changes a template; SoftHSM2 2.6.1: nothing."""

    # Extractable keys carry CKA_WRAP_WITH_TRUSTED: the ceremony requires it and the token
    # enforces it. Otherwise the attribute is never sent (opencryptoki 3.8 answers
    # CKR_ATTRIBUTE_TYPE_INVALID to it; NSS softokn accepts and ignores it).
    wrap_with_trusted: bool = True
    # An imported secret key carries CKA_CHECK_VALUE for the token to verify (opencryptoki 3.8
    # does not know the attribute: CKR_ATTRIBUTE_TYPE_INVALID).
    check_value: bool = True

    @classmethod
    def of(
        cls, support: TrustedWrapSupport, policy: TrustedWrap, *, check_value: bool = True
    ) -> TokenTraits:
        """The traits for a token whose preflight found ``support``, under ``policy``."""
        return cls(
            wrap_with_trusted=policy is TrustedWrap.REQUIRED
            and support is TrustedWrapSupport.ENFORCED,
            check_value=check_value,
        )


SOFTHSM2 = TokenTraits()


class _Extractable:
    """In a row: the value is the caller's ``extractable``."""


EXTRACTABLE = _Extractable()
Row = Mapping[Attribute, Any]

# Stored, private, sensitive, unchangeable; where the traits allow, only a key the SO trusted
# may carry an extractable key out (CKA_WRAP_WITH_TRUSTED, sent only on an extractable key:
# FALSE is its default, and a key that never leaves needs no rule for how it leaves).
_PROTECTED: Row = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: EXTRACTABLE,
    Attribute.WRAP_WITH_TRUSTED: EXTRACTABLE,
    Attribute.MODIFIABLE: False,
}
# Minimal use: what the in-token check values need, nothing that moves other keys.
_AES_USE: Row = {
    Attribute.ENCRYPT: True,  # AES-ECB zero-block KCV
    Attribute.DECRYPT: False,
    Attribute.SIGN: True,  # AES-CMAC KCV
    Attribute.VERIFY: False,
    Attribute.WRAP: False,
    Attribute.UNWRAP: False,
    Attribute.DERIVE: False,
}
_HMAC_USE: Row = {
    Attribute.ENCRYPT: False,
    Attribute.DECRYPT: False,
    Attribute.SIGN: True,  # HMAC KCV
    Attribute.VERIFY: True,
    Attribute.WRAP: False,
    Attribute.UNWRAP: False,
    Attribute.DERIVE: False,
}
# A payment KEK (ZMK) moves other keys only through the ceremony's own software paths here:
# the token keeps it for its check value and for the record, nothing else.
_TDES_USE: Row = {
    Attribute.ENCRYPT: True,  # TDES-ECB zero-block KCV
    Attribute.DECRYPT: False,
    Attribute.SIGN: False,
    Attribute.VERIFY: False,
    Attribute.WRAP: False,
    Attribute.UNWRAP: False,
    Attribute.DERIVE: False,
}
_SIGNING_PRIVATE: Row = {
    **_PROTECTED,
    Attribute.SIGN: True,
    Attribute.DECRYPT: False,
    Attribute.UNWRAP: False,
    Attribute.DERIVE: False,
}
_AES_OBJECT: Row = {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.KEY_TYPE: KeyType.AES}
# The key type (CKK_DES2 or CKK_DES3) follows the length; keys.py adds it.
_TDES_OBJECT: Row = {Attribute.CLASS: ObjectClass.SECRET_KEY}
_HMAC_OBJECT: Row = {
    Attribute.CLASS: ObjectClass.SECRET_KEY,
    Attribute.KEY_TYPE: KeyType.GENERIC_SECRET,
}

TABLE: Mapping[tuple[TemplateKind, Purpose], Row] = {
    (TemplateKind.AES, Purpose.GENERATE): {**_PROTECTED, **_AES_USE},
    (TemplateKind.AES, Purpose.IMPORT): {**_AES_OBJECT, **_PROTECTED, **_AES_USE},
    (TemplateKind.AES, Purpose.UNWRAP): {**_AES_OBJECT, **_PROTECTED, **_AES_USE},
    (TemplateKind.HMAC, Purpose.GENERATE): {**_PROTECTED, **_HMAC_USE},
    (TemplateKind.HMAC, Purpose.IMPORT): {**_HMAC_OBJECT, **_PROTECTED, **_HMAC_USE},
    (TemplateKind.HMAC, Purpose.UNWRAP): {**_HMAC_OBJECT, **_PROTECTED, **_HMAC_USE},
    (TemplateKind.TDES, Purpose.GENERATE): {**_PROTECTED, **_TDES_USE},
    (TemplateKind.TDES, Purpose.IMPORT): {**_TDES_OBJECT, **_PROTECTED, **_TDES_USE},
    (TemplateKind.TDES, Purpose.UNWRAP): {**_TDES_OBJECT, **_PROTECTED, **_TDES_USE},
    (TemplateKind.EC_PRIVATE, Purpose.GENERATE): _SIGNING_PRIVATE,
    (TemplateKind.RSA_PRIVATE, Purpose.GENERATE): _SIGNING_PRIVATE,
    (TemplateKind.PUBLIC, Purpose.GENERATE): {
        Attribute.TOKEN: True,
        Attribute.PRIVATE: False,
        Attribute.VERIFY: True,
        Attribute.ENCRYPT: False,
        Attribute.WRAP: False,
    },
    (TemplateKind.IMPORT_KEY, Purpose.IMPORT): {
        Attribute.CLASS: ObjectClass.PUBLIC_KEY,
        Attribute.KEY_TYPE: KeyType.RSA,
        Attribute.TOKEN: False,
        Attribute.PRIVATE: False,
        Attribute.WRAP: True,
        Attribute.ENCRYPT: False,
    },
    # Extractable because RSA-OAEP then wraps it for the provider.
    (TemplateKind.EPHEMERAL, Purpose.GENERATE): {
        Attribute.TOKEN: False,
        Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: True,
        Attribute.WRAP: True,
        Attribute.ENCRYPT: False,
        Attribute.DECRYPT: False,
        Attribute.SIGN: False,
        Attribute.VERIFY: False,
        Attribute.UNWRAP: False,
        Attribute.DERIVE: False,
    },
    (TemplateKind.TRANSPORT, Purpose.IMPORT): {
        **_AES_OBJECT,
        Attribute.TOKEN: False,
        Attribute.WRAP: True,
        Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: False,
    },
}
# Added to a session object the SO creates: public, so the user's session sees it, and trusted.
_TRUSTED: Row = {Attribute.PRIVATE: False, Attribute.TRUSTED: True}


def key_template(
    kind: TemplateKind,
    purpose: Purpose,
    traits: TokenTraits = SOFTHSM2,
    *,
    extractable: bool = False,
    trusted: bool = False,
) -> dict[Attribute, Any]:
    """The attributes ``kind`` gets for ``purpose`` on a token with ``traits``."""
    row = TABLE.get((kind, purpose))
    if row is None:
        raise ValueError(f"no template for a {kind.value} by {purpose.value}")
    template = {k: extractable if v is EXTRACTABLE else v for k, v in row.items()}
    if trusted:
        template.update(_TRUSTED)
    if not (extractable and traits.wrap_with_trusted):
        template.pop(Attribute.WRAP_WITH_TRUSTED, None)
    return template


def secret_kind(family: str) -> TemplateKind:
    """The kind of a secret key of a ``KeySpec.family`` ("AES", "TDES" or "HMAC")."""
    return {"AES": TemplateKind.AES, "TDES": TemplateKind.TDES}.get(family, TemplateKind.HMAC)


def tdes_key_type(length: int) -> KeyType:
    """CKK_DES2 for a double-length key (16 bytes), CKK_DES3 for a triple-length one (24)."""
    return KeyType.DES2 if length == 16 else KeyType.DES3


def rsa_public_template(
    public: rsa.RSAPublicKey, label: str, *, encrypt: bool = False, trusted: bool = False
) -> dict[Attribute, Any]:
    """A session RSA public key to wrap under; only the SO may create it ``trusted``."""
    numbers = public.public_numbers()
    template = key_template(TemplateKind.IMPORT_KEY, Purpose.IMPORT, trusted=trusted)
    template[Attribute.ENCRYPT] = encrypt  # the preflight's probe key also encrypts
    template[Attribute.MODULUS] = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    template[Attribute.PUBLIC_EXPONENT] = numbers.e.to_bytes(
        (numbers.e.bit_length() + 7) // 8, "big"
    )
    template[Attribute.LABEL] = label
    return template


def requested_record(template: Mapping[Attribute, Any]) -> dict[str, bool]:
    """The boolean attributes asked for, as the record shows them (``CKA_...``: value)."""
    return {f"CKA_{Attribute(k).name}": bool(v) for k, v in template.items() if isinstance(v, bool)}

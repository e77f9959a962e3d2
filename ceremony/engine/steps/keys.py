"""Keys on the token: the backend's spec for a file's key, its KCV method, its attributes."""

from __future__ import annotations

from ceremony.core import kcv
from ceremony.core.ceremony_file import KeyEntry, KeyType
from ceremony.core.journal import JournalValue, Label, PublicId, Text
from ceremony.errors import MechanismNotSupportedError
from ceremony.hsm.base import KeyAttributes
from ceremony.hsm.base import KeySpec as TokenKeySpec


def attributes(a: KeyAttributes) -> dict[str, JournalValue]:
    """A token's key attributes as journal values (lowercase PKCS#11 names without CKA_)."""
    return {
        "label": Label(a.label),
        "id": PublicId(a.id_hex) if a.id_hex else None,
        "class": Text(a.object_class),
        "key_type": Text(a.key_type),
        "token": a.token,
        "private": a.private,
        "local": a.local,
        "sensitive": a.sensitive,
        "always_sensitive": a.always_sensitive,
        "extractable": a.extractable,
        "never_extractable": a.never_extractable,
        "wrap_with_trusted": a.wrap_with_trusted,
        "trusted": a.trusted,
        "modifiable": a.modifiable,
        "check_value": Text(a.check_value_hex) if a.check_value_hex else None,
    }


def token_key_spec(key: KeyEntry) -> TokenKeySpec:
    """The HSM backend's spec for a ceremony-file key."""
    try:
        if key.type is KeyType.AES:
            return TokenKeySpec[f"AES_{key.bits}"]
        if key.type is KeyType.RSA:
            return TokenKeySpec[f"RSA_{key.bits}"]
        if key.type is KeyType.EC:
            return {"P-256": TokenKeySpec.EC_P256, "P-384": TokenKeySpec.EC_P384}[key.curve or ""]
    except KeyError:
        pass
    if (
        key.type in (KeyType.HMAC, KeyType.TDES)
        and key.algorithm is not None
        and key.length is not None
    ):
        return TokenKeySpec.for_secret(key.algorithm, key.length)
    raise MechanismNotSupportedError(
        f"the HSM backend does not generate a {key.describe()} key",
        hint="AES-128/192/256, TDES-128/192, HMAC of a digest length, EC P-256/P-384, "
        "RSA-2048/3072/4096",
    )


def key_kcv_method(key: KeyEntry) -> kcv.KcvMethod | None:
    if key.algorithm is None or key.length is None:
        return None
    return kcv.default_method(key.algorithm, key.length)

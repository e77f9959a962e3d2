"""The ceremony file's words: its enums and their tables, FileError, and the field checks."""

from __future__ import annotations

import enum
import unicodedata
from types import MappingProxyType

from ceremony.core.journal import looks_secret
from ceremony.core.labels import LABEL_RULE, is_label
from ceremony.core.providers.methods import MaterialKind, Provider
from ceremony.core.rules import (
    Role,
)
from ceremony.errors import ConfigError


class FileError(ConfigError):
    """A ceremony-file error at ``path`` (``keys[0].targets[1].algorithm``)."""

    def __init__(self, path: str, problem: str, hint: str | None = None) -> None:
        super().__init__(f"{path} {problem}", hint=hint)
        self.path = path


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---- vocabulary -------------------------------------------------------------------------------


class CeremonyType(enum.Enum):
    GENERATE_EXPORT = "generate-export"
    SPLIT_BACKUP = "split-backup"
    RECONSTITUTE = "reconstitute"
    RE_SPLIT = "re-split"
    DESTROY = "destroy"
    RE_WRAP = "re-wrap"

    @property
    def description(self) -> str:
        return _TYPE_TEXT[self]


_TYPE_TEXT = MappingProxyType(
    {
        CeremonyType.GENERATE_EXPORT: "generate keys inside the HSM and export them wrapped "
        "for cloud import",
        CeremonyType.SPLIT_BACKUP: "split keys into components for custodians to keep as a backup",
        CeremonyType.RECONSTITUTE: "rebuild keys from custodians' components",
        CeremonyType.RE_SPLIT: "rebuild keys from their components and split them again for a "
        "new set of custodians",
        CeremonyType.DESTROY: "destroy keys in the HSM",
        CeremonyType.RE_WRAP: "wrap keys already in the HSM again for new cloud targets",
    }
)


class KeyType(enum.Enum):
    AES = "AES"
    HMAC = "HMAC"
    TDES = "TDES"
    EC = "EC"
    RSA = "RSA"

    @property
    def symmetric(self) -> bool:
        return self in (KeyType.AES, KeyType.HMAC, KeyType.TDES)


class KeySource(enum.Enum):
    """Where a key's material comes from in this ceremony."""

    HSM = "hsm"  # generated inside the HSM
    HSM_RANDOM = "hsm-random"  # drawn from the HSM's random generator, split on the workstation
    HSM_KEY = "hsm-key"  # a key already on the token
    COMPONENTS = "components"  # entered by its custodians
    KEY_BLOCK = "key-block"  # received as a TR-31 key block under a key loaded in this ceremony

    @property
    def description(self) -> str:
        return _SOURCE_TEXT[self]


_SOURCE_TEXT = MappingProxyType(
    {
        KeySource.HSM: "generated inside the HSM",
        KeySource.HSM_RANDOM: "drawn from the HSM's random generator and split on the workstation",
        KeySource.HSM_KEY: "an existing key on the HSM",
        KeySource.COMPONENTS: "rebuilt from its custodians' components",
        KeySource.KEY_BLOCK: "received as a TR-31 key block, opened under a key loaded here",
    }
)
# Allowed sources per ceremony type; the first is the default.
_SOURCES = MappingProxyType(
    {
        CeremonyType.GENERATE_EXPORT: (KeySource.HSM,),
        CeremonyType.SPLIT_BACKUP: (KeySource.HSM_RANDOM, KeySource.HSM_KEY, KeySource.HSM),
        CeremonyType.RECONSTITUTE: (KeySource.COMPONENTS, KeySource.KEY_BLOCK),
        CeremonyType.RE_SPLIT: (KeySource.COMPONENTS,),
        CeremonyType.DESTROY: (KeySource.HSM_KEY,),
        CeremonyType.RE_WRAP: (KeySource.HSM_KEY,),
    }
)


_CUSTODIAN_ROLE = frozenset({Role.KEY_CUSTODIAN})
_HOLDER_ROLES = frozenset({Role.KEY_CUSTODIAN, Role.BACKUP_CUSTODIAN})
# Ceremony types that make or keep using a key; single DES is refused for them.
_NEW_KEY_TYPES = frozenset(
    {
        CeremonyType.GENERATE_EXPORT,
        CeremonyType.SPLIT_BACKUP,
        CeremonyType.RE_SPLIT,
        CeremonyType.RE_WRAP,
    }
)


class HsmLogin(enum.Enum):
    """How the PINs are typed: by one security officer, or split between two (dual control)."""

    PIN = "pin"
    SPLIT_PIN = "split-pin"


class TrustedWrap(enum.Enum):
    """What the ceremony requires of CKA_WRAP_WITH_TRUSTED on an extractable key."""

    REQUIRED = "required"  # the token must enforce it; production stops before roll call if not
    NOT_ENFORCED = "not-enforced-by-token"  # stated in the file and the record: wrap without it


class WrapPlace(enum.Enum):
    HSM = "hsm"  # the HSM wraps; the key never leaves it in clear
    SOFTWARE = "software"  # the workstation wraps the clear key (a manual clear-text operation)


_PROVIDERS = MappingProxyType(
    {
        "aws": Provider.AWS,
        "azure": Provider.AZURE,
        "gcp": Provider.GCP,
        "aws-payment-cryptography": Provider.AWS_PAYMENT_CRYPTOGRAPHY,
    }
)
_CURVES = MappingProxyType(
    {
        "P-256": MaterialKind.EC_P256,
        "P-384": MaterialKind.EC_P384,
        "P-521": MaterialKind.EC_P521,
        "secp256k1": MaterialKind.EC_SECP256K1,
    }
)
_HMAC_KINDS = MappingProxyType(
    {
        20: MaterialKind.HMAC_SHA1,
        28: MaterialKind.HMAC_SHA224,
        32: MaterialKind.HMAC_SHA256,
        48: MaterialKind.HMAC_SHA384,
        64: MaterialKind.HMAC_SHA512,
    }
)
_RSA_BITS = (2048, 3072, 4096)


def _require_label(path: str, value: str, what: str = "a label") -> None:
    if not is_label(value):
        raise FileError(
            path,
            f"is {_show(value)}, not {what}",
            hint=f"use {LABEL_RULE}",
        )
    if looks_secret(value):
        raise FileError(path, "looks like key material", hint="use a descriptive name")


def _require_text(path: str, value: str, limit: int = 200) -> None:
    if not value.strip() or len(value) > limit:
        raise FileError(path, f"must be 1-{limit} characters", hint="write it on one line")
    if not value.isprintable():
        odd = next(c for c in value if not c.isprintable())
        if unicodedata.category(odd) == "Zs":  # a no-break or other odd space, not a control
            raise FileError(
                path,
                f"holds the space character U+{ord(odd):04X} "
                f"({unicodedata.name(odd, 'unnamed')}), not a plain space",
                hint="type it again with ordinary spaces",
            )
        raise FileError(path, "holds control characters or line breaks", hint="one line only")
    reason = looks_secret(value)
    if reason:
        raise FileError(
            path,
            f"looks like key material ({reason})",
            hint="a ceremony file never holds key material; describe it in words",
        )


def _require_path(path: str, value: str) -> None:
    if not value.strip() or len(value) > 4096 or not value.isprintable():
        raise FileError(path, "must be a file or folder path on one line", hint="check the path")

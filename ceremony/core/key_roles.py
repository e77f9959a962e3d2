"""What a key is for (ZMK, KEK, BDK, ...), mapped to TR-31 usage and mode and AWS key attributes."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ceremony.core.component import KeyAlgorithm

_T, _A, _H = KeyAlgorithm.TDES, KeyAlgorithm.AES, KeyAlgorithm.HMAC
_CRYPT = ("Encrypt", "Decrypt", "Wrap", "Unwrap")


class KeyRole(enum.Enum):
    """The value is the ceremony file's word (``role = "zmk"``)."""

    DATA = "data"
    ZMK = "zmk"
    KEK = "kek"
    KBPK = "kbpk"
    BDK = "bdk"
    PEK = "pek"
    MAC = "mac"

    @property
    def facts(self) -> RoleFacts:
        return _FACTS[self]

    @property
    def payment(self) -> bool:
        """A payment key (PCI PIN): it leaves in clear only as components under dual control."""
        return self is not KeyRole.DATA

    def allows(self, algorithm: KeyAlgorithm) -> bool:
        return algorithm in self.facts.usages

    def usage(self, algorithm: KeyAlgorithm) -> str:
        """The TR-31 key usage (``K0``) of a key of this role and ``algorithm``."""
        return self.facts.usages[algorithm][0]

    def aws_usage(self, algorithm: KeyAlgorithm) -> str:
        """The AWS Payment Cryptography ``KeyUsage`` of a key of this role and ``algorithm``."""
        return self.facts.usages[algorithm][1]

    def describe(self, algorithm: KeyAlgorithm | None) -> str:
        """As the record prints it: ``ZMK, zone master key (TR-31 K0, mode B)``."""
        facts = self.facts
        if algorithm is None or algorithm not in facts.usages:
            return f"{facts.name}, {facts.text}"
        return (
            f"{facts.name}, {facts.text} (TR-31 {self.usage(algorithm)}, mode {facts.mode_of_use})"
        )


@dataclass(frozen=True)
class RoleFacts:
    name: str  # as printed: "ZMK"
    text: str  # what it is, in words
    # Per algorithm: (TR-31 key usage, AWS Payment Cryptography KeyUsage).
    usages: Mapping[KeyAlgorithm, tuple[str, str]]
    mode_of_use: str  # TR-31 mode of use (B both, C generate and verify, X derive)
    aws_modes: tuple[str, ...]  # AWS KeyModesOfUse set to true


def _same(
    usage: str, aws: str, *algorithms: KeyAlgorithm
) -> Mapping[KeyAlgorithm, tuple[str, str]]:
    return MappingProxyType({a: (usage, aws) for a in algorithms})


_K0 = ("K0", "TR31_K0_KEY_ENCRYPTION_KEY")
_FACTS: Mapping[KeyRole, RoleFacts] = MappingProxyType(
    {
        KeyRole.DATA: RoleFacts(
            "Data key",
            "a generic symmetric data key",
            _same("D0", "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY", _T, _A),
            "B",
            _CRYPT,
        ),
        KeyRole.ZMK: RoleFacts(
            "ZMK", "zone master key, shared with a partner", _same(*_K0, _T, _A), "B", _CRYPT
        ),
        KeyRole.KEK: RoleFacts("KEK", "key-encrypting key", _same(*_K0, _T, _A), "B", _CRYPT),
        KeyRole.KBPK: RoleFacts(
            "KBPK",
            "TR-31 key block protection key",
            _same("K1", "TR31_K1_KEY_BLOCK_PROTECTION_KEY", _T, _A),
            "B",
            _CRYPT,
        ),
        KeyRole.BDK: RoleFacts(
            "BDK",
            "DUKPT base derivation key",
            _same("B0", "TR31_B0_BASE_DERIVATION_KEY", _T, _A),
            "X",
            ("DeriveKey",),
        ),
        KeyRole.PEK: RoleFacts(
            "PEK",
            "PIN encryption key",
            _same("P0", "TR31_P0_PIN_ENCRYPTION_KEY", _T, _A),
            "B",
            _CRYPT,
        ),
        KeyRole.MAC: RoleFacts(
            "MAC key",
            "message authentication key",
            MappingProxyType(
                {
                    _T: ("M3", "TR31_M3_ISO_9797_3_MAC_KEY"),
                    _A: ("M6", "TR31_M6_ISO_9797_5_CMAC_KEY"),
                    _H: ("M7", "TR31_M7_HMAC_KEY"),
                }
            ),
            "C",
            ("Generate", "Verify"),
        ),
    }
)


def permitted(role: KeyRole, algorithm: KeyAlgorithm) -> bool:
    """Whether a key of ``algorithm`` may have ``role`` (a data key may be anything)."""
    return role is KeyRole.DATA or role.allows(algorithm)

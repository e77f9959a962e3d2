"""Shared vocabulary of split knowledge: key algorithms, schemes, key identity and one component."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ceremony.core.secret import Secret


class KeyAlgorithm(enum.Enum):
    """What a symmetric key is for; decides the allowed lengths and the check-value method."""

    AES = "AES"
    TDES = "TDES"
    HMAC = "HMAC"


class Scheme(enum.Enum):
    """How a key is divided among custodians."""

    XOR = "XOR"  # n-of-n, every component is needed
    SHAMIR = "SHAMIR"  # k-of-n threshold shares


@dataclass(frozen=True)
class KeyIdentity:
    """Which ceremony and key a component belongs to; a share from another identity is refused."""

    ceremony_id: str
    key_label: str
    algorithm: KeyAlgorithm
    key_length: int  # bytes of the key itself, not of the component


@dataclass(frozen=True, eq=False)
class Component:
    """One custodian's piece of a key: an XOR component or a Shamir share.

    ``value`` stays wrapped in a Secret so that repr and logs cannot show it; its check value is
    computed by ``ceremony.core.kcv`` when needed, never stored apart from its method.
    """

    identity: KeyIdentity
    scheme: Scheme
    index: int  # 1-based; for Shamir it is also the x-coordinate
    count: int  # n
    threshold: int  # k; equals n for XOR
    value: Secret

"""Allowed key lengths per algorithm, checked before any key is split, combined or wrapped."""

from __future__ import annotations

from types import MappingProxyType

from ceremony.core.component import KeyAlgorithm, KeyIdentity
from ceremony.errors import KeyMaterialError

# Bytes. TDES 8 is single-length DES, kept only so legacy components can be combined and retired.
ALLOWED_LENGTHS: MappingProxyType[KeyAlgorithm, tuple[int, ...]] = MappingProxyType(
    {
        KeyAlgorithm.AES: (16, 24, 32),
        KeyAlgorithm.TDES: (8, 16, 24),
        # HMAC: 128-bit security floor up to 64 bytes, one SHA-256 block: longer keys get hashed.
        KeyAlgorithm.HMAC: tuple(range(16, 65)),
    }
)


# Bytes of the secret keys the HSM layer creates on a token (generate or import): AES, double-
# and triple-length TDES, and HMAC at a digest length. Single-length DES never goes on a token.
TOKEN_SECRET_LENGTHS: MappingProxyType[KeyAlgorithm, tuple[int, ...]] = MappingProxyType(
    {
        KeyAlgorithm.AES: (16, 24, 32),
        KeyAlgorithm.TDES: (16, 24),
        KeyAlgorithm.HMAC: (20, 28, 32, 48, 64),
    }
)


def allowed_lengths(algorithm: KeyAlgorithm) -> tuple[int, ...]:
    """Lengths in bytes that ``algorithm`` accepts."""
    return ALLOWED_LENGTHS[algorithm]


def describe(algorithm: KeyAlgorithm) -> str:
    """Allowed lengths as a custodian reads them, e.g. ``16, 24 or 32 bytes``."""
    lengths = ALLOWED_LENGTHS[algorithm]
    if len(lengths) > 3:
        return f"{lengths[0]} to {lengths[-1]} bytes"
    return ", ".join(str(n) for n in lengths[:-1]) + f" or {lengths[-1]} bytes"


def require_key_length(algorithm: KeyAlgorithm, length: int, what: str = "key") -> None:
    """Raise KeyMaterialError unless ``length`` bytes is a valid ``algorithm`` key length."""
    if length not in ALLOWED_LENGTHS[algorithm]:
        raise KeyMaterialError(
            f"{what} is {length} bytes, but {algorithm.value} keys must be {describe(algorithm)}",
            hint="check the key algorithm and length in the ceremony file",
        )


def require_identity(identity: KeyIdentity) -> None:
    """Raise KeyMaterialError if the identity's declared key length is not allowed."""
    require_key_length(identity.algorithm, identity.key_length, f"key {identity.key_label!r}")

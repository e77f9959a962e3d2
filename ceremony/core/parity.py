"""DES odd parity: adjusted on every TDES key and XOR component, checked on what is typed."""

from __future__ import annotations

from ceremony.core.component import KeyAlgorithm
from ceremony.core.secret import Secret
from ceremony.errors import KeyMaterialError

# Payment HSMs (and PKCS#11 CKK_DES2/CKK_DES3 values) expect each byte of a DES key to have an
# odd number of set bits; the low bit of each byte is the parity bit and never keys the cipher.
_ODD = bytes(b ^ (bin(b).count("1") + 1) % 2 for b in range(256))


def needs_parity(algorithm: KeyAlgorithm) -> bool:
    """Whether keys of ``algorithm`` carry DES parity bits."""
    return algorithm is KeyAlgorithm.TDES


def adjust(buf: bytearray) -> None:
    """Set each byte's low bit so that the byte has odd parity, in place (no copy to wipe)."""
    for i, b in enumerate(buf):
        buf[i] = _ODD[b]


def clear(buf: bytearray) -> None:
    """Zero each byte's parity bit in place, so that only the bits that key DES are left."""
    for i, b in enumerate(buf):
        buf[i] = b & 0xFE


def has_odd_parity(value: bytes | bytearray | memoryview) -> bool:
    """True when every byte of ``value`` already has odd parity (for reports, not checks)."""
    return all(_ODD[b] == b for b in value)


def even_parity_bytes(value: bytes | bytearray | memoryview) -> list[int]:
    """Positions (from 1) of the bytes whose parity is even; never the bytes themselves."""
    return [i for i, b in enumerate(value, start=1) if _ODD[b] != b]


def require_odd_parity(value: bytes | bytearray | memoryview, what: str) -> None:
    """Raise KeyMaterialError naming the byte positions of ``what`` that have even parity."""
    wrong = even_parity_bytes(value)
    if wrong:
        places = ", ".join(str(i) for i in wrong[:8]) + (" ..." if len(wrong) > 8 else "")
        raise KeyMaterialError(
            f"{what} has even parity in byte {places}: a DES key byte has odd parity",
            hint="a digit was typed wrong or the paper is not a parity-adjusted DES component; "
            "check the digits against the paper",
        )


def generate(algorithm: KeyAlgorithm, length: int, label: str) -> Secret:
    """Fresh key material from the installed random source, parity-adjusted for TDES."""
    key = Secret.generate(length, label)
    if needs_parity(algorithm):
        adjust(key.reveal())
    return key

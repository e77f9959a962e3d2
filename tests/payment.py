"""Test helpers for payment keys: TDES keys as payment HSMs make them, blocks as a partner sends."""

from __future__ import annotations

import secrets
from pathlib import Path

import psec.tr31

from ceremony.core import kcv, parity
from ceremony.core.kcv import CheckValue, KcvMethod


def tdes_key(length: int = 16) -> tuple[bytearray, CheckValue]:
    """A random TDES key with DES odd parity, and its TDES-ECB check value."""
    value = bytearray(secrets.token_bytes(length))
    parity.adjust(value)
    return value, kcv.check_value(value, KcvMethod.TDES_ECB_ZERO)


def received_block(folder: Path, kbpk: bytes | bytearray, key: bytes | bytearray) -> None:
    """A PEK sent under ``kbpk`` by the partner's side (psec, not this tool), where the
    zmk-load template expects it: ``received/pek-acquirer.tr31``."""
    (folder / "received").mkdir(parents=True, exist_ok=True)
    (folder / "received" / "pek-acquirer.tr31").write_text(
        psec.tr31.wrap(bytes(kbpk), "B0000P0TE00N0000", bytes(key)) + "\n", "ascii"
    )

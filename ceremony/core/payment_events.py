"""Typed builders of the journal events of TR-31 key blocks (docs/journal-events.md)."""

from __future__ import annotations

from ceremony.core.event_base import Event
from ceremony.core.journal import FileDigest, JournalValue, Label, Text
from ceremony.core.kcv import CheckValue
from ceremony.core.tr31 import Header


def _header(header: Header) -> dict[str, JournalValue]:
    """A block's clear header fields, as both events journal them."""
    return {
        "version": Label(header.version),
        "key_usage": Label(header.key_usage),
        "algorithm": Label(header.algorithm),
        "mode_of_use": Label(header.mode_of_use),
        "key_version": Label(header.key_version),
        "exportability": Label(header.exportability),
    }


def key_block_opened(
    *,
    key: str,
    type: str,
    bits: int,
    kbpk: str,
    header: Header,
    block_sha256: FileDigest,
    kcv: CheckValue,
    role: str | None,
) -> Event:
    """A TR-31 block opened in memory under a KBPK loaded in this ceremony (manual clear-text)."""
    data: dict[str, JournalValue] = {
        "key": Label(key),
        "type": Label(type),
        "bits": bits,
        "kbpk": Label(kbpk),
        "block_sha256": block_sha256,
        **_header(header),
        "kcv_method": Label(kcv.method.label),
        "kcv": Text(kcv.hex),
        "matches_recorded": True,
        "manual_cleartext": True,
    }
    if role is not None:
        data["role"] = Text(role)
    return Event("key_block_opened", data)


def key_block_written(
    *,
    key: str,
    label: str,
    kbpk: str,
    header: Header,
    name: str,
    sha256: FileDigest,
    kcv: CheckValue,
    kbpk_kcv: CheckValue,
) -> Event:
    """A key wrapped in memory in a TR-31 block under a KBPK of this ceremony, as ``name``."""
    return Event(
        "key_block_written",
        {
            "key": Label(key),
            "label": Label(label),
            "kbpk": Label(kbpk),
            "name": Text(name),
            "sha256": sha256,
            **_header(header),
            "kcv_method": Label(kcv.method.label),
            "kcv": Text(kcv.hex),
            "kbpk_kcv_method": Label(kbpk_kcv.method.label),
            "kbpk_kcv": Text(kbpk_kcv.hex),
        },
    )

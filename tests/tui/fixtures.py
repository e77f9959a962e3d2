"""Fixed, made-up ceremony data for TUI tests and snapshots (deterministic: no clock, no RNG)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ceremony.core import encoding, journal
from ceremony.core.component import Component, KeyAlgorithm, KeyIdentity, Scheme
from ceremony.core.journal import Entry, FileDigest, Label, Text
from ceremony.core.providers.common import Fingerprint
from ceremony.core.secret import Secret
from ceremony.tui.state import AtKeyboard, ShellState

T0 = datetime(2025, 7, 1, 9, 30, tzinfo=UTC)
IDENTITY = KeyIdentity("2025-07-zmk-backup", "zmk-prod", KeyAlgorithm.AES, 32)
# A made-up test pattern, never a real key.
VALUE = bytes.fromhex("00112233445566778899AABBCCDDEEFF0123456789ABCDEFFEDCBA9876543210")
EMMA = AtKeyboard("Emma Brown", "key custodian")
SHELL = ShellState(
    ceremony_id="2025-07-zmk-backup",
    ceremony_type="split-backup",
    rehearsal=True,
    step=7,
    steps=12,
    step_title="component entry",
    at_keyboard=EMMA,
)


def component(index: int = 1, count: int = 3) -> Component:
    return Component(
        IDENTITY, Scheme.XOR, index, count, count, Secret(bytearray(VALUE), "test component")
    )


def header(index: int = 1, count: int = 3) -> encoding.ComponentHeader:
    return encoding.ComponentHeader.of(component(index, count))


def lines(index: int = 1, count: int = 3) -> list[str]:
    return encoding.format_lines(component(index, count))


def value_lines(index: int = 1, count: int = 3) -> list[str]:
    """The value lines and the SUM line, as printed (with their NN: prefixes)."""
    all_lines = lines(index, count)
    return all_lines[-(header(index, count).line_count + 1) :]


def entries(count: int = 6) -> list[Entry]:
    first = journal.genesis(
        "2025-07-zmk-backup",
        FileDigest.of(b"ceremony file"),
        T0,
        data={"ceremony_type": Label("split-backup"), "rehearsal": True},
    )
    result = [first]
    people = ["amartin", "cwright", "ebrown", "fgarcia", "gkim"]
    for i in range(1, count):
        who = people[(i - 1) % len(people)]
        result.append(
            journal.next_entry(
                result[-1],
                "participant_present",
                T0 + timedelta(seconds=41 * i),
                actors=[who],
                data={"participant": Label(who), "name": Text(who)},
            )
        )
    return result


FINGERPRINT = Fingerprint(bytes(range(32)))
OTHER_FINGERPRINT = Fingerprint(bytes(range(1, 33)))

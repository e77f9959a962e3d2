"""The component check letters and SUM line, re-implemented from docs/formats.md alone.

Escrowed components must outlive the tool: this file uses nothing of ``ceremony.core.encoding``
but ``to_text`` (the tool's output) and checks every letter and SUM line against the doc's words.
"""

from __future__ import annotations

import hashlib

from hypothesis import HealthCheck, given, settings

from ceremony.core.component import Component
from ceremony.core.encoding import to_text
from tests.unit.test_encoding import components

ALPHABET = "GHJKLMNPQRTUVWXYZ"  # docs/formats.md, step 3


def doc_h(header: list[str]) -> int:
    # Step 1: "line check" + the first eight header lines, LF-joined, no final LF.
    digest = hashlib.sha256("\n".join(["line check", *header[:8]]).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 17


def doc_letter(hex_part: str, line_number: int, h: int) -> str:
    # Steps 2 and 3.
    digits = [int(c, 16) for c in hex_part if c != " "]
    assert len(digits) <= 16
    total = sum(j * d for j, d in enumerate(digits, start=1)) + line_number + h
    return ALPHABET[total % 17]


def doc_sum(header: list[str], value: bytes) -> str:
    data = "".join(f"{line}\n" for line in ["checksum", *header[:9]]).encode("utf-8") + value
    first = hashlib.sha256(data).hexdigest()[:8].upper()
    return f"{first[:4]} {first[4:]}"


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(component=components())
def test_every_letter_and_sum_line_is_what_the_doc_says(component: Component) -> None:
    lines = to_text(component).splitlines()
    header, body = lines[:9], lines[9:]
    assert header[8].startswith("KCV: ") and body[-1].startswith("SUM: ")
    h = doc_h(header)
    value = bytearray()
    for number, line in enumerate(body[:-1], start=1):
        label, rest = line.split(": ", 1)
        hex_part, letter = rest[:-2], rest[-1]
        assert label == f"{number:02d}" and rest[-2] == " "
        assert letter == doc_letter(hex_part, number, h), line
        value += bytes.fromhex(hex_part.replace(" ", ""))
    with component.value as secret:
        assert bytes(value) == secret.reveal()
    sum_part, sum_letter = body[-1][len("SUM: ") : -2], body[-1][-1]
    assert sum_part == doc_sum(header, bytes(value))
    assert sum_letter == doc_letter(sum_part, 0, h)

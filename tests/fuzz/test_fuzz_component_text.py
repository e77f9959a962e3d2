"""Fuzz the component text (paper, keyboard) and the QR payload, whole and line by line."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceremony.core import encoding
from ceremony.core.component import Component, KeyAlgorithm, KeyIdentity, Scheme
from ceremony.core.secret import Secret
from tests.fuzz import harness, mutate

pytestmark = pytest.mark.fuzz


def _component(
    algorithm: KeyAlgorithm, length: int, scheme: Scheme, index: int, count: int, threshold: int
) -> Component:
    value = hashlib.sha512(f"fuzz/{algorithm}/{length}/{index}".encode()).digest()[:length]
    identity = KeyIdentity("2025-05-zmk-rotation", "zmk-prod", algorithm, length)
    return Component(identity, scheme, index, count, threshold, Secret(value, "fuzz component"))


COMPONENTS = [
    _component(KeyAlgorithm.AES, 16, Scheme.XOR, 1, 2, 2),
    _component(KeyAlgorithm.AES, 32, Scheme.XOR, 2, 3, 3),
    _component(KeyAlgorithm.AES, 24, Scheme.SHAMIR, 4, 5, 3),
    _component(KeyAlgorithm.TDES, 16, Scheme.XOR, 1, 2, 2),
    _component(KeyAlgorithm.TDES, 24, Scheme.SHAMIR, 2, 3, 2),
    _component(KeyAlgorithm.HMAC, 64, Scheme.XOR, 3, 3, 3),
]
TEXTS = [encoding.to_text(c) for c in COMPONENTS]
PAYLOADS = [encoding.qr_payload(c) for c in COMPONENTS]
HEADERS = [encoding.header_of(c) for c in COMPONENTS]
LINES = [line for text in TEXTS for line in text.splitlines() if line[:2].isdigit()]
SUMS = [line for text in TEXTS for line in text.splitlines() if line.startswith("SUM")]


def _parse(text: str) -> None:
    component = encoding.from_text(text)
    encoding.to_text(component)


@harness.fuzz_settings()
@given(mutate.text_inputs(TEXTS))
def test_component_text(text: str) -> None:
    harness.expect_refusal_or_result("component.text", lambda: _parse(text), text)


@harness.fuzz_settings()
@given(
    st.one_of(
        mutate.byte_inputs([p.encode("ascii") for p in PAYLOADS]).map(
            lambda b: b.decode("latin-1")  # a scanner hands over whatever bytes it read
        ),
        mutate.text_inputs(PAYLOADS),
    )
)
def test_qr_payload(text: str) -> None:
    harness.expect_refusal_or_result("component.qr", lambda: _parse(text), text)


@harness.fuzz_settings()
@given(
    st.sampled_from(HEADERS),
    st.integers(-2, 20),
    mutate.text_inputs(LINES + SUMS),
    st.booleans(),
)
def test_component_line(
    header: encoding.ComponentHeader, number: int, text: str, sum_line: bool
) -> None:
    def call() -> None:
        if sum_line:
            encoding.check_sum_line(header, text)
        else:
            encoding.check_line(header, number, text)

    harness.expect_refusal_or_result("component.line", call, (header, number, text, sum_line))

"""Fuzz the ceremony file: TOML text or bytes into the strict parser and the summary read aloud."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given

from ceremony.core.ceremony_file import parse_ceremony_file, summary
from tests.fuzz import harness, mutate
from tests.unit.ceremony_files import TEMPLATES, TYPES, dumps

pytestmark = pytest.mark.fuzz

TEXTS = [(TEMPLATES / f"{name}.toml").read_text("utf-8") for name in TYPES]
DOCS = [tomllib.loads(text) for text in TEXTS]


def _parse(source: str | bytes) -> None:
    ceremony = parse_ceremony_file(source)
    summary(ceremony)


@harness.fuzz_settings()
@given(mutate.text_inputs(TEXTS))
def test_ceremony_file_text(text: str) -> None:
    harness.expect_refusal_or_result("ceremony_file.text", lambda: _parse(text), text)


@harness.fuzz_settings()
@given(mutate.doc_texts(DOCS, dumps, with_null=False))
def test_ceremony_file_fields(text: str) -> None:
    harness.expect_refusal_or_result("ceremony_file.fields", lambda: _parse(text), text)


@harness.fuzz_settings()
@given(mutate.byte_inputs([t.encode("utf-8") for t in TEXTS]))
def test_ceremony_file_bytes(data: bytes) -> None:
    harness.expect_refusal_or_result("ceremony_file.bytes", lambda: _parse(data), data)

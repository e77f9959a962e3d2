"""Fuzz the custodian registry: JSON bytes into the strict reader, then into the rules."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceremony.core.ceremony_file import parse_ceremony_file
from ceremony.core.registry import (
    Holding,
    RecordEvent,
    Registry,
    parse_registry,
    serialise_registry,
)
from tests.fuzz import harness, mutate
from tests.unit.ceremony_files import TEMPLATES, zmk_issue_record

pytestmark = pytest.mark.fuzz

_RECORDS = [
    zmk_issue_record("kc-dan", 1, "badge 0101", "Dan Okafor"),
    zmk_issue_record("kc-erin", 2, "badge 0102", "Erin Novak"),
    replace(zmk_issue_record("kc-frank", 3, "badge 0103"), envelope="TE-2025-000301"),
    replace(zmk_issue_record("kc-dan", 2, "badge 0101"), holding=Holding.BACKUP),
    replace(zmk_issue_record("kc-erin", 2, "badge 0102"), event=RecordEvent.ENTERED),
]
SAMPLES = [
    serialise_registry(Registry(tuple(_RECORDS[:3]))),
    serialise_registry(Registry(tuple(_RECORDS))),
    serialise_registry(Registry(())),
]
DOCS = [json.loads(s) for s in SAMPLES]
# Templates that name a registry: the fuzzed registry is checked against their plans.
WITH_REGISTRY = [
    (TEMPLATES / f"{name}.toml").read_text("utf-8")
    for name in ("split-backup", "reconstitute", "re-split")
]


def _registry_inputs() -> st.SearchStrategy[bytes]:
    return st.one_of(
        mutate.byte_inputs(SAMPLES),
        mutate.doc_texts(DOCS, lambda d: json.dumps(d, ensure_ascii=False)).map(
            lambda t: t.encode("utf-8", "surrogatepass")
        ),
    )


def _read(data: bytes) -> Registry:
    registry = parse_registry(data)
    for record in registry.records:
        key, split_set = record.key, record.set
        if isinstance(key, str) and isinstance(split_set, str):
            registry.knowledge(key, split_set)
            registry.holders(key, split_set)
            registry.shape(key, split_set)
            registry.other_sets(key, split_set)
    serialise_registry(registry)
    return registry


@harness.fuzz_settings()
@given(_registry_inputs())
def test_registry(data: bytes) -> None:
    harness.expect_refusal_or_result("registry.read", lambda: _read(data), data)


@harness.fuzz_settings()
@given(_registry_inputs(), st.sampled_from(WITH_REGISTRY))
def test_registry_against_a_ceremony_file(data: bytes, text: str) -> None:
    def call() -> None:
        parse_ceremony_file(text, registry=_read(data))

    harness.expect_refusal_or_result("registry.rules", call, data)


assert all(tomllib.loads(t)["ceremony"].get("registry") for t in WITH_REGISTRY)

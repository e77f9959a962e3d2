"""The fuzz harness itself: its verdicts, and that every tolerated failure has its xfail test."""

from __future__ import annotations

import importlib
import re

import pytest

from ceremony.errors import ConfigError
from tests.fuzz import harness


def test_every_known_failure_names_an_existing_strict_xfail_test() -> None:
    for key, tests in harness.KNOWN.items():
        names = re.findall(r"(?:(\w+)\.py)?::(\w+)", tests)
        assert names, key
        module_name = ""
        for module, name in names:
            module_name = module or module_name
            module_obj = importlib.import_module(f"tests.fuzz.{module_name}")
            test = getattr(module_obj, name)
            marks = [m for m in getattr(test, "pytestmark", []) if m.name == "xfail"]
            assert marks and marks[0].kwargs.get("strict") is True, (key, name)


def test_a_ceremony_error_or_a_result_passes() -> None:
    harness.expect_refusal_or_result("harness", lambda: 1, None)

    def refuse() -> None:
        raise ConfigError("refused", hint="fix it")

    harness.expect_refusal_or_result("harness", refuse, None)


def test_any_other_exception_fails_and_names_where_it_escaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(harness, "SURVEY", "")

    def broken() -> None:
        {}["missing"]

    with pytest.raises(KeyError) as caught:
        harness.expect_refusal_or_result("harness", broken, None)
    assert any("fuzz: KeyError escaped" in note for note in caught.value.__notes__)
    assert harness.signature(caught.value).kind == "KeyError"

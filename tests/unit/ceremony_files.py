"""Test helpers: the templates as dicts, and a small TOML writer for edited dicts."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ceremony.core.component import Scheme
from ceremony.core.registry import Holding, RecordEvent, RegistryRecord

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
TYPES = ("generate-export", "split-backup", "reconstitute", "re-split", "destroy", "re-wrap")
# The payment templates users run first, by name, with the ceremony type each one is.
PAYMENT = {"zmk-issue": "split-backup", "zmk-load": "reconstitute"}


def template(name: str) -> dict[str, Any]:
    """A fresh, editable copy of ``templates/<name>.toml``."""
    return copy.deepcopy(tomllib.loads((TEMPLATES / f"{name}.toml").read_text("utf-8")))


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def _is_tables(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def dumps(doc: dict[str, Any]) -> str:
    """TOML text for ``doc`` (tables, arrays of tables, strings, numbers, booleans, datetimes)."""
    lines: list[str] = []

    def emit(table: dict[str, Any], prefix: str) -> None:
        for k, v in table.items():
            if not isinstance(v, dict) and not _is_tables(v):
                lines.append(f"{_key(k)} = {_value(v)}")
        for k, v in table.items():
            name = prefix + _key(k)
            if isinstance(v, dict):
                lines.append(f"[{name}]")
                emit(v, name + ".")
            elif _is_tables(v):
                for item in v:
                    lines.append(f"[[{name}]]")
                    emit(item, name + ".")

    emit(doc, "")
    return "\n".join(lines) + "\n"


def zmk_issue_record(
    person: str, index: int, reference: str, name: str = "someone"
) -> RegistryRecord:
    """A registry record: ``person`` was issued component ``index`` of the templates' zmk-prod."""
    return RegistryRecord(
        ceremony="2025-07-zmk-xor",
        key="zmk-prod",
        set="2025-07-zmk-xor",
        scheme=Scheme.XOR,
        threshold=3,
        count=3,
        component=index,
        person=person,
        name=name,
        id_reference=reference,
        holding=Holding.CUSTODIAN,
        event=RecordEvent.ISSUED,
        time="2025-07-01T10:00:00.000Z",
    )

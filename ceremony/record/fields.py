"""The journal's ``data`` (plain JSON, maybe hostile) read defensively: a bad field reads "?"."""

from __future__ import annotations

from collections.abc import Mapping

from ceremony.core.journal import JsonValue

UNKNOWN = "?"


def text(data: Mapping[str, JsonValue], name: str) -> str:
    value = data.get(name)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str | int):
        return str(value)
    return UNKNOWN


def number(data: Mapping[str, JsonValue], name: str) -> int | None:
    value = data.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def flag(data: Mapping[str, JsonValue], name: str) -> bool | None:
    value = data.get(name)
    return value if isinstance(value, bool) else None


def texts(data: Mapping[str, JsonValue], name: str) -> list[str]:
    value = data.get(name)
    if not isinstance(value, list):
        return []
    return [v if isinstance(v, str) else UNKNOWN for v in value]


def mapping(data: Mapping[str, JsonValue], name: str) -> dict[str, JsonValue]:
    value = data.get(name)
    return dict(value) if isinstance(value, dict) else {}


def kcv_text(data: Mapping[str, JsonValue]) -> str:
    """``AES-CMAC 08793E`` from the two journal fields."""
    return f"{text(data, 'kcv_method')} {text(data, 'kcv')}"


def kcv_list(data: Mapping[str, JsonValue], name: str = "kcvs") -> list[str]:
    value = data.get(name)
    if not isinstance(value, list):
        return []
    return [kcv_text(v) if isinstance(v, dict) else UNKNOWN for v in value]


def show_value(value: JsonValue) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if value is None:
        return "-"
    if isinstance(value, str | int):
        return str(value)
    if isinstance(value, list):
        return ", ".join(show_value(v) for v in value)
    return ", ".join(f"{k}={show_value(v)}" for k, v in sorted(value.items()))

"""What every journal event builder shares: the event, a list of labels, optional fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from ceremony.core.journal import JournalValue, Label


class Event(NamedTuple):
    name: str
    data: Mapping[str, JournalValue]


def labels(values: Sequence[str]) -> list[JournalValue]:
    return [Label(v) for v in values]


def optional(data: dict[str, JournalValue], **fields: JournalValue) -> dict[str, JournalValue]:
    """``data`` with each field that is not None."""
    data.update({k: v for k, v in fields.items() if v is not None})
    return data

"""Every journal event has its line in the record; an unknown one is named, not dropped."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from ceremony.core import journal
from ceremony.record.describe import DESCRIPTIONS, describe
from tests.record import journals

DOC = Path(__file__).parents[2] / "docs" / "journal-events.md"


def test_every_documented_event_has_a_description() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", DOC.read_text(), re.MULTILINE))
    assert documented, "docs/journal-events.md lists no event"
    assert documented == set(DESCRIPTIONS)


def test_an_event_missing_from_the_table_is_named_as_unknown() -> None:
    entry = journal.verify(journals.split_backup().data).entries[0]
    unknown = dataclasses.replace(entry, event="key_teleported", data={})
    assert describe(unknown) == "key_teleported (an event this record version does not describe)"


def test_a_missing_field_reads_as_unknown_and_a_missing_list_as_empty() -> None:
    entry = journal.verify(journals.split_backup().data).entries[0]
    bare = dataclasses.replace(entry, event="approval", data={})
    assert describe(bare) == "approved ? of ? by "

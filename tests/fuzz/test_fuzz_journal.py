"""Fuzz the journal reader and the record model built from a journal that verifies.

Byte edits mostly stop at the hash chain, which is the point of the chain; to reach the record
model, entries are also edited as JSON and the chain recomputed, as a forger (or a buggy writer)
would hand over a journal whose hashes are fine and whose content is not.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceremony.core import journal
from ceremony.record import model, pdf
from tests.fuzz import harness, mutate
from tests.record import journals

pytestmark = pytest.mark.fuzz

BUILT = [
    journals.generate_export(),
    journals.split_backup(),
    journals.reconstitute(),
    journals.destroy(),
    journals.aborted(),
]
DATA = [b.data for b in BUILT]
ENTRIES = [[json.loads(line) for line in b.data.splitlines()] for b in BUILT]
_FIELDS = sorted({k for entries in ENTRIES for e in entries for k in e["data"]})
_FIELD_NAMES = st.sampled_from(_FIELDS)
BODIES = [[{k: v for k, v in e.items() if k not in ("hash", "prev")} for e in es] for es in ENTRIES]
EVENTS = sorted({e["event"] for entries in ENTRIES for e in entries})


def rechained(entries: list[dict[str, Any]]) -> bytes:
    """The entries as journal lines with ``prev`` and ``hash`` recomputed (a valid chain)."""
    out = []
    prev = journal.ZERO_HASH
    for entry in entries:
        body = {k: v for k, v in entry.items() if k != "hash"}
        body["prev"] = prev
        try:
            digest = hashlib.sha256(journal.canonical(body)).hexdigest()
            line = journal.canonical({**body, "hash": digest})
        except (ValueError, TypeError):
            digest = "0" * 64
            line = json.dumps({**body, "hash": digest}).encode("utf-8", "surrogatepass")
        out.append(line + b"\n")
        prev = digest
    return b"".join(out)


@st.composite
def edited_journals(draw: st.DrawFn) -> bytes:
    which = draw(st.integers(0, len(ENTRIES) - 1))
    entries = copy.deepcopy(ENTRIES[which])
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(entries) - 1))
        op = draw(st.sampled_from(("edit", "edit", "edit", "event", "drop", "dup", "swap")))
        if op == "edit":
            # An edited copy of the original entry at this place (the samples stay fixed).
            original = BODIES[which][min(i, len(BODIES[which]) - 1)]
            entries[i] = draw(mutate.mutated_doc(original, keys=_FIELD_NAMES))
        elif op == "event":
            entries[i]["event"] = draw(st.sampled_from(EVENTS))
        elif op == "drop" and len(entries) > 1:
            del entries[i]
        elif op == "dup":
            entries.insert(i, copy.deepcopy(entries[i]))
        elif op == "swap":
            j = draw(st.integers(0, len(entries) - 1))
            entries[i], entries[j] = entries[j], entries[i]
    if draw(st.booleans()):
        for seq, entry in enumerate(entries):
            if isinstance(entry, dict):
                entry["seq"] = seq
    return rechained(entries)


def _read(data: bytes, torn: bool) -> None:
    verified = journal.verify(data, allow_torn_tail=torn)
    built = model.build(verified)
    assert isinstance(built.failures, list)
    assert isinstance(built.all_files, list)
    model.signer_at_login(built)
    model.sealed_envelopes(verified)


@harness.fuzz_settings()
@given(edited_journals(), st.booleans())
def test_journal_fields(data: bytes, torn: bool) -> None:
    harness.expect_refusal_or_result("journal.fields", lambda: _read(data, torn), data)


@harness.fuzz_settings()
@given(mutate.byte_inputs(DATA), st.booleans())
def test_journal_bytes(data: bytes, torn: bool) -> None:
    harness.expect_refusal_or_result("journal.bytes", lambda: _read(data, torn), data)


@harness.fuzz_settings(share=0.02)  # a record takes 0.5 s: a few per run
@given(edited_journals())
def test_journal_record_pdf(data: bytes) -> None:
    harness.expect_refusal_or_result("journal.pdf", lambda: pdf.render_record(data), data)

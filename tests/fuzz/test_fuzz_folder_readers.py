"""Fuzz what `verify` and `record` read from a folder before any journal verifies: the first line
of each `*.journal.jsonl` (the restart link), `journal.sig`, and the order check of a journal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceremony.errors import CeremonyError
from ceremony.record import links, sign
from ceremony.record import verify as V
from tests.fuzz import harness, mutate
from tests.record import journals
from tests.record.certs import SoftwareSigner

pytestmark = pytest.mark.fuzz

DEEP = b"[" * 5000 + b"]" * 5000
BUILT = journals.split_backup()
SIGNATURE = sign.sign_journal(BUILT.data, SoftwareSigner()).to_bytes()


def test_a_deeply_nested_first_line_is_no_restart_link(tmp_path: Path) -> None:
    path = tmp_path / "x.journal.jsonl"
    path.write_bytes(DEEP + b"\n")
    assert links.current_journals([path]) == [path]
    try:
        report = V.verify_evidence(tmp_path)
    except CeremonyError:
        return  # refused by name: as good as a failing report
    assert not report.ok


def test_a_deep_line_in_a_reordered_journal_keeps_the_fallback() -> None:
    assert V._order_reason(b'{"seq": 1}\n' + DEEP + b"\n", "fallback") == "fallback"


def test_a_journal_sig_with_a_huge_entry_count_is_refused() -> None:
    huge = re.sub(rb"entries: \d+", b"entries: " + b"9" * 5000, SIGNATURE)
    with pytest.raises(CeremonyError):
        sign.JournalSignature.parse(huge)


@harness.fuzz_settings(share=0.5)
@given(mutate.byte_inputs([BUILT.data.split(b"\n", 1)[0], DEEP]))
def test_any_first_line_is_read_or_ignored(first: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.journal.jsonl"
        path.write_bytes(first + b"\n")
        harness.expect_refusal_or_result(
            "folder.first-line", lambda: links.current_journals([path]), first
        )


@harness.fuzz_settings(share=0.5)
@given(st.one_of(mutate.byte_inputs([SIGNATURE]), st.binary(max_size=3000)))
def test_any_journal_sig_is_read_or_refused(data: bytes) -> None:
    harness.expect_refusal_or_result(
        "folder.journal-sig", lambda: sign.JournalSignature.parse(data).verify(), data
    )

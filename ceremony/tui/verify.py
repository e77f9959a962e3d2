"""After the run: ``ceremony verify`` on what the run wrote, in words for the finish screen."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ceremony.core import journal
from ceremony.engine.machine import Outcome
from ceremony.errors import CeremonyError

if TYPE_CHECKING:
    from ceremony.record.verify import Report


def evidence_folder(outcome: Outcome) -> Path | None:
    """The folder ``ceremony verify`` checks: the output folder once the record is signed."""
    folder = outcome.output_folder
    if folder is None:
        return None
    if outcome.signed_record is not None or (folder / "record.pdf").is_file():
        return folder
    return None


def verdict_line(report: Report) -> str:
    """``ceremony verify: PASS (37 checks)``, or FAIL with how many failed, in one line."""
    checked = [line for line in report.lines if line.checkable]
    failed = sum(1 for line in report.lines if not line.ok)
    unchecked = len(report.lines) - len(checked)
    more = f", {unchecked} not checkable" if unchecked else ""
    if report.ok:
        return f"ceremony verify: PASS ({len(checked)} checks{more})"
    return f"ceremony verify: FAIL ({failed} of {len(checked)} checks failed{more})"


def verify_outcome(outcome: Outcome) -> tuple[str, bool | None]:
    """The verify result: the full ``ceremony verify`` of the output folder when the engine
    signed the record, else the journal's own hash-chain check. ``ok`` None: nothing to verify.

    The first line is the verdict in one line; the lines after it are the whole report.
    """
    folder = evidence_folder(outcome)
    if folder is not None:
        try:
            from ceremony.record.verify import verify_evidence

            report = verify_evidence(folder)
        except CeremonyError as ex:
            return f"ceremony verify: could not run\n{folder}: {ex.message}", False
        return f"{verdict_line(report)}\n{report.text()}", report.ok
    if outcome.journal is None:
        return "Nothing to verify: no journal was written.", None
    try:
        verified = journal.verify(outcome.journal.read_bytes(), require_closed=True)
    except (OSError, CeremonyError) as ex:
        message = ex.message if isinstance(ex, CeremonyError) else str(ex)
        return f"journal check: FAIL\nThe journal does not verify: {message}", False
    return (
        f"journal check: PASS ({len(verified.entries)} entries; no signed record)\n"
        f"The journal verifies: {len(verified.entries)} entries, hash chain intact, closed with "
        f"'{verified.last.event}'. No signed record: `ceremony record {outcome.journal.parent}` "
        "signs it, then `ceremony verify` checks the whole folder.",
        True,
    )

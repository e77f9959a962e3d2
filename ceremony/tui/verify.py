"""After the run: ``ceremony verify`` on what the run wrote, in words for the finish screen."""

from __future__ import annotations

from pathlib import Path

from ceremony.core import journal
from ceremony.engine.machine import Outcome
from ceremony.errors import CeremonyError


def evidence_folder(outcome: Outcome) -> Path | None:
    """The folder ``ceremony verify`` checks: the output folder once the record is signed."""
    folder = outcome.output_folder
    if folder is None:
        return None
    if outcome.signed_record is not None or (folder / "record.pdf").is_file():
        return folder
    return None


def verify_outcome(outcome: Outcome) -> tuple[str, bool | None]:
    """The verify result: the full ``ceremony verify`` of the output folder when the engine
    signed the record, else the journal's own hash-chain check. ``ok`` None: nothing to verify.
    """
    folder = evidence_folder(outcome)
    if folder is not None:
        try:
            from ceremony.record.verify import verify_evidence

            report = verify_evidence(folder)
        except CeremonyError as ex:
            return f"ceremony verify {folder}: {ex.message}", False
        verdict = "PASS" if report.ok else "FAIL"
        return f"ceremony verify {folder}: {verdict}\n{report.text()}", report.ok
    if outcome.journal is None:
        return "Nothing to verify: no journal was written.", None
    try:
        verified = journal.verify(outcome.journal.read_bytes(), require_closed=True)
    except (OSError, CeremonyError) as ex:
        message = ex.message if isinstance(ex, CeremonyError) else str(ex)
        return f"The journal does not verify: {message}", False
    return (
        f"The journal verifies: {len(verified.entries)} entries, hash chain intact, closed with "
        f"'{verified.last.event}'. No signed record: `ceremony record {outcome.journal.parent}` "
        "signs it, then `ceremony verify` checks the whole folder.",
        True,
    )

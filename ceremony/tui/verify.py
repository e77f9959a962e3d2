"""After the run: ``ceremony verify`` on what the run wrote, in words for the finish screen."""

from __future__ import annotations

from pathlib import Path

from ceremony.core import journal
from ceremony.engine.machine import Outcome
from ceremony.errors import CeremonyError


def bundle_folder(outcome: Outcome) -> Path | None:
    """The bundle folder of this run (the one holding the record or the journal), if any."""
    folder = outcome.output_folder
    if folder is None:
        return None
    names = {name.split("/", 1)[0] for name in outcome.outputs if "/" in name}
    for name in sorted(names):
        candidate = folder / name
        if (candidate / "record.pdf").is_file() or (candidate / "journal.jsonl").is_file():
            return candidate
    return None


def verify_outcome(outcome: Outcome) -> tuple[str, bool | None]:
    """The verify result: the full ``ceremony verify`` of the bundle when it holds the record,
    else the journal's own hash-chain check. ``ok`` None: nothing to verify."""
    bundle = bundle_folder(outcome)
    if bundle is not None:
        try:
            from ceremony.record.verify import verify_evidence

            report = verify_evidence(bundle)
        except CeremonyError as ex:
            return f"ceremony verify {bundle}: {ex.message}", False
        verdict = "PASS" if report.ok else "FAIL"
        return f"ceremony verify {bundle}: {verdict}\n{report.text()}", report.ok
    if outcome.journal is None:
        return "Nothing to verify: no journal was written.", None
    try:
        verified = journal.verify(outcome.journal.read_bytes(), require_closed=True)
    except (OSError, CeremonyError) as ex:
        message = ex.message if isinstance(ex, CeremonyError) else str(ex)
        return f"The journal does not verify: {message}", False
    return (
        f"The journal verifies: {len(verified.entries)} entries, hash chain intact, closed with "
        f"'{verified.last.event}'. Sign its record with `ceremony record`, then `ceremony verify` "
        "checks the whole bundle.",
        True,
    )

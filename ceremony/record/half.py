"""A record cut in half by a stop between its two writes: which half is missing, checked."""

from __future__ import annotations

import os
from pathlib import Path

from ceremony.errors import CeremonyError, RecordError
from ceremony.record import pdf as record_pdf
from ceremony.record.pdf_signature import check_pdf
from ceremony.record.sign import RECORD_NAME, SIGNATURE_NAME, JournalSignature
from ceremony.record.verdict import Report


def missing_half(folder: Path, journal_data: bytes) -> str | None:
    """Which of ``record.pdf`` and ``journal.sig`` a stop between their writes left out.

    None when neither exists (both are made). RecordError when both exist, or when the one
    there is not this journal's, correctly signed: it stays as it is, and is never replaced.
    """
    record, signature = folder / RECORD_NAME, folder / SIGNATURE_NAME
    have_record, have_signature = os.path.lexists(record), os.path.lexists(signature)
    if not have_record and not have_signature:
        return None
    if have_record and have_signature:
        raise RecordError(
            f"{folder} already holds {RECORD_NAME} and {SIGNATURE_NAME}: the record is signed",
            hint="check it with 'ceremony verify'; nothing is ever overwritten",
        )
    hint = (
        "move the file aside (keep it as evidence), then run 'ceremony record' again to make "
        "both files"
    )
    verified = record_pdf.verified_journal(journal_data)
    if have_record:
        signed = check_pdf(Report("record"), record.read_bytes(), None)
        if not signed.signature_ok or signed.journal_data != journal_data:
            raise RecordError(
                f"{record} is there without {SIGNATURE_NAME}, and it is not this journal's "
                "validly signed record",
                hint=hint,
            )
        return SIGNATURE_NAME
    try:
        said = JournalSignature.parse(signature.read_bytes())
    except CeremonyError as ex:
        raise RecordError(
            f"{signature} is there without {RECORD_NAME}: {ex.message}", hint=hint
        ) from ex
    if said.final_hash != verified.final_hash or said.ceremony_id != verified.ceremony_id:
        raise RecordError(
            f"{signature} is there without {RECORD_NAME}, and it signs another journal",
            hint=hint,
        )
    return RECORD_NAME

"""A stop between the writes of `record.pdf` and `journal.sig` leaves one of them: the half that
is there is checked to be this journal's, and only the other is written; nothing is replaced."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceremony.errors import RecordError
from ceremony.record import half, sign
from ceremony.record.verify import REHEARSAL_ORGANIZATION, verify_evidence
from tests.record import journals
from tests.record.certs import software_identity
from tests.record.test_verify_robust import _OneCertificateSigner


def _signer() -> _OneCertificateSigner:
    return _OneCertificateSigner(software_identity("ceremony signing key", REHEARSAL_ORGANIZATION))


@pytest.fixture(scope="module")
def signed() -> tuple[journals.Built, sign.SignedRecord]:
    built = journals.split_backup()
    return built, sign.build_signed_record(built.data, _signer())


def _folder(tmp_path: Path, built: journals.Built) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / f"{built.ceremony_id}.journal.jsonl").write_bytes(built.data)
    for name, data in built.outputs.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize("left", [sign.RECORD_NAME, sign.SIGNATURE_NAME])
def test_the_missing_half_is_written_and_the_folder_verifies(
    tmp_path: Path, signed: tuple[journals.Built, sign.SignedRecord], left: str
) -> None:
    built, record = signed
    folder = _folder(tmp_path, built)
    assert half.missing_half(folder, built.data) is None
    (folder / left).write_bytes(next(f.data for f in record.files() if f.name == left))
    missing = half.missing_half(folder, built.data)
    assert missing is not None and missing != left
    before = (folder / left).read_bytes()
    sign.write_missing_half(folder, record, missing)
    assert (folder / left).read_bytes() == before  # the half that was there is untouched
    assert verify_evidence(folder).ok
    with pytest.raises(RecordError, match="the record is signed"):
        half.missing_half(folder, built.data)


def test_a_half_that_is_not_this_journals_is_left_as_it_is(
    tmp_path: Path, signed: tuple[journals.Built, sign.SignedRecord]
) -> None:
    built, _ = signed
    other = journals.reconstitute()
    foreign = sign.build_signed_record(other.data, _signer())
    folder = _folder(tmp_path, built)
    (folder / sign.RECORD_NAME).write_bytes(foreign.record_pdf)
    with pytest.raises(RecordError, match="not this journal's validly signed record"):
        half.missing_half(folder, built.data)
    (folder / sign.RECORD_NAME).unlink()
    (folder / sign.SIGNATURE_NAME).write_bytes(foreign.journal_signature.to_bytes())
    with pytest.raises(RecordError, match="signs another journal"):
        half.missing_half(folder, built.data)

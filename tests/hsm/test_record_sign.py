"""The record signed with the token's ceremony key: pyHanko and poppler's pdfsig both accept it."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from ceremony.hsm.pkcs11 import Pkcs11Session
from ceremony.record import pdf, sign
from tests.hsm.conftest import HsmUnderTest
from tests.record import journals


@pytest.fixture(scope="module")
def signed(hsm: HsmUnderTest) -> tuple[journals.Built, sign.SignedRecord, bytes]:
    built = journals.split_backup()
    with hsm.backend.open(hsm.prompter) as session:
        signer = sign.HsmSigner(session)
        record = sign.build_signed_record(built.data, signer)
        certificate = signer.certificate_der
    return built, record, certificate


def test_pyhanko_validates_the_pades_signature(
    signed: tuple[journals.Built, sign.SignedRecord, bytes],
) -> None:
    _, record, certificate = signed
    reader = PdfFileReader(io.BytesIO(record.record_pdf))
    (embedded,) = reader.embedded_signatures
    anchor = asn1_x509.Certificate.load(certificate)
    status = validate_pdf_signature(embedded, ValidationContext(trust_roots=[anchor]))
    assert status.bottom_line, status.pretty_print_details()
    assert status.intact and status.valid and status.trusted
    assert status.coverage.name == "ENTIRE_FILE"
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"


def test_the_cms_carries_the_signing_certificate_once(
    signed: tuple[journals.Built, sign.SignedRecord, bytes],
) -> None:
    # pyHanko's default (embed_roots=True) embedded the self-signed certificate a second time.
    _, record, certificate = signed
    (embedded,) = PdfFileReader(io.BytesIO(record.record_pdf)).embedded_signatures
    certificates = [c.chosen.dump() for c in embedded.signed_data["certificates"]]
    assert certificates == [certificate]
    assert record.record_pdf.count(certificate.hex().upper().encode()) == 1


def test_pdfsig_validates_the_signature(
    signed: tuple[journals.Built, sign.SignedRecord, bytes], tmp_path: Path
) -> None:
    _, record, _ = signed
    path = tmp_path / "record.pdf"
    path.write_bytes(record.record_pdf)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    assert "Signature is Valid." in out, out
    assert "Total document signed" in out, out
    assert "ETSI.CAdES.detached" in out


def test_signed_record_starts_with_the_rendered_record(
    signed: tuple[journals.Built, sign.SignedRecord, bytes],
) -> None:
    built, record, certificate = signed
    assert record.record_pdf.startswith(pdf.render_record(built.data, certificate))


def test_journal_signature_verifies_and_round_trips(
    signed: tuple[journals.Built, sign.SignedRecord, bytes],
) -> None:
    built, record, certificate = signed
    parsed = sign.JournalSignature.parse(record.journal_signature.to_bytes())
    assert parsed == record.journal_signature
    parsed.verify()
    assert parsed.certificate_der == certificate
    assert parsed.ceremony_id == built.ceremony_id and parsed.rehearsal


def test_no_second_session_while_signing(hsm: HsmUnderTest) -> None:
    # The signer borrows the open ceremony session; the token still refuses a second one.
    with hsm.backend.open(hsm.prompter) as session:
        assert isinstance(session, Pkcs11Session)
        sign.build_signed_record(journals.destroy().data, sign.HsmSigner(session))
        with pytest.raises(Exception, match="already open"):
            hsm.backend.open(hsm.prompter)


def test_no_secret_in_the_signed_record(
    signed: tuple[journals.Built, sign.SignedRecord, bytes], tmp_path: Path
) -> None:
    from tests.record.pdftools import decompressed, leaks

    built, record, _ = signed
    assert built.secrets
    plain = decompressed(record.record_pdf, tmp_path, "signed")
    assert leaks(plain, built.secrets) == []
    assert leaks(record.journal_signature.to_bytes(), built.secrets) == []


def test_async_path_inside_an_event_loop(hsm: HsmUnderTest) -> None:
    import asyncio

    built = journals.destroy()

    async def in_the_app() -> sign.SignedRecord:
        with hsm.backend.open(hsm.prompter) as session:
            return await sign.async_build_signed_record(built.data, sign.HsmSigner(session))

    record = asyncio.run(in_the_app())
    assert record.record_pdf.startswith(b"%PDF-")
    record.journal_signature.verify()

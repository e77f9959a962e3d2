"""The record PDF: built from the journal alone, reproducible, complete, watermarked, no secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceremony.core import journal
from ceremony.errors import RecordError
from ceremony.record import pdf
from tests.record import journals
from tests.record.pdftools import (
    all_text,
    attachments,
    decompressed,
    flat,
    leaks,
    page_texts,
    render_pages,
)


@pytest.fixture(scope="module")
def built() -> dict[str, journals.Built]:
    return {name: make() for name, make in journals.ALL.items()}


@pytest.fixture(scope="module")
def records(built: dict[str, journals.Built]) -> dict[str, bytes]:
    return {name: pdf.render_record(b.data) for name, b in built.items()}


@pytest.mark.parametrize("name", list(journals.ALL))
def test_every_ceremony_type_renders_every_page(
    name: str, records: dict[str, bytes], tmp_path: Path
) -> None:
    pages = render_pages(records[name], tmp_path, name)
    assert len(pages) == len(page_texts(records[name])) >= 4
    assert all(p.stat().st_size > 5_000 for p in pages)


def test_same_journal_same_bytes(built: dict[str, journals.Built]) -> None:
    data = built["split-backup"].data
    assert pdf.render_record(data) == pdf.render_record(data)


def test_another_journal_other_bytes(built: dict[str, journals.Built]) -> None:
    assert pdf.render_record(built["destroy"].data) != pdf.render_record(
        journals.destroy("2025-09-other").data
    )


def test_journal_embedded_as_attachment(
    built: dict[str, journals.Built], records: dict[str, bytes]
) -> None:
    for name, b in built.items():
        assert attachments(records[name]) == {"journal.jsonl": b.data}


def test_rehearsal_watermark_on_every_page_only_in_rehearsal() -> None:
    rehearsal = pdf.render_record(journals.destroy(rehearsal=True).data)
    production = pdf.render_record(journals.destroy(rehearsal=False).data)
    # The watermark is the word on a line of its own; the running header names the mode too.
    for text in page_texts(rehearsal):
        lines = [line.strip() for line in text.splitlines()]
        assert "REHEARSAL" in lines
        assert any(line.endswith(", REHEARSAL)") for line in lines)
    for text in page_texts(production):
        lines = [line.strip() for line in text.splitlines()]
        assert "REHEARSAL" not in lines
        assert any(line.endswith(", PRODUCTION)") for line in lines)


def test_cover_and_close_show_the_final_hash_as_hex_and_words(
    built: dict[str, journals.Built], records: dict[str, bytes]
) -> None:
    verified = journal.verify(built["generate-export"].data)
    text = all_text(records["generate-export"])
    squeezed = flat(text)
    assert flat(journal.hash_groups(verified.final_hash)) in squeezed
    for line in journal.hash_word_lines(verified.final_hash):
        assert flat(line) in squeezed
    assert "What an auditor should check" in text
    assert "2025-06-byok-gen" in text


def test_sections_hold_the_journal_facts(records: dict[str, bytes]) -> None:
    text = all_text(records["split-backup"])
    squeezed = flat(text)
    for expected in (
        "Alice Martin",
        "badge 0042",
        "SoftHSM v2",
        "0x5e2a91c4",
        "cannot",
        "C_GenerateRandom",
        "TE-40111",
        "TE-40113",
        "MANUAL CLEAR-TEXT",
        "forms/zmk-prod-component-1.pdf",
        "print-component",
    ):
        assert flat(expected) in squeezed, expected
    generate = flat(all_text(records["generate-export"]))
    for expected in ("aws-prod", "gcp-prod", "insidetheHSM", "EncryptedKeyMaterial.bin"):
        assert expected in generate


def test_preflight_table_takes_the_verdict_from_the_lines_the_engine_journals() -> None:
    from ceremony.hsm.base import Capability, CapabilityStatus

    can = CapabilityStatus(Capability.OAEP_SHA1, True, "CKM_RSA_PKCS_OAEP").line()
    cannot = CapabilityStatus(Capability.OAEP_SHA256, False, detail="refused").line()
    assert pdf.preflight_rows([can, cannot, "can: an older line", "a note"]) == [
        ("can", Capability.OAEP_SHA1.value + " [CKM_RSA_PKCS_OAEP]"),
        ("cannot", Capability.OAEP_SHA256.value + " (refused)"),
        ("can", "an older line"),
        ("", "a note"),
    ]


def test_component_kcvs_listed_never_components(
    built: dict[str, journals.Built], records: dict[str, bytes]
) -> None:
    from ceremony.core import encoding

    b = built["split-backup"]
    squeezed = flat(all_text(records["split-backup"]))
    for component in b.components:
        cv = encoding.component_kcv(component)
        assert f"{cv.method.label}{cv.hex}" in squeezed


@pytest.mark.parametrize("name", ["split-backup", "reconstitute"])
def test_no_secret_in_the_record(
    name: str, built: dict[str, journals.Built], records: dict[str, bytes], tmp_path: Path
) -> None:
    plain = decompressed(records[name], tmp_path, name)
    assert built[name].secrets
    assert leaks(plain, built[name].secrets) == []
    assert leaks(records[name], built[name].secrets) == []


def test_aborted_ceremony_is_recorded_as_aborted(records: dict[str, bytes]) -> None:
    text = all_text(records["aborted"])
    assert "ABORTED" in text
    assert "the token was removed" in text


def test_a_journal_that_does_not_verify_makes_no_record(built: dict[str, journals.Built]) -> None:
    lines = built["destroy"].entries
    with pytest.raises(RecordError, match="does not verify"):
        pdf.render_record(b"".join(lines[:-1]))  # no finished entry
    edited = lines[3].replace(b"Alice", b"Alicia")
    with pytest.raises(RecordError, match="entry 3"):
        pdf.render_record(b"".join([*lines[:3], edited, *lines[4:]]))


def test_signer_certificate_printed(built: dict[str, journals.Built]) -> None:
    from tests.record.certs import software_identity

    identity = software_identity("printed signer")
    text = flat(all_text(pdf.render_record(built["destroy"].data, identity.certificate_der)))
    assert flat(journal.hash_groups(identity.sha256)) in text
    assert "CN=printedsigner" in text


def test_environment_names_the_certificate_journaled_at_login() -> None:
    from tests.record.certs import software_identity

    ceremony_cert, other = software_identity("ceremony"), software_identity("other")
    built = journals.generate_export(signer=ceremony_cert.certificate_der)
    right = flat(all_text(pdf.render_record(built.data, ceremony_cert.certificate_der)))
    assert flat("SHA-256 " + journal.hash_groups(ceremony_cert.sha256)) in right
    assert flat("(the certificate signing this record)") in right
    wrong = flat(all_text(pdf.render_record(built.data, other.certificate_der)))
    assert flat("(NOT the certificate signing this record)") in wrong
    older = flat(all_text(pdf.render_record(journals.generate_export().data)))
    assert flat("not recorded at login") in older
    j = journals.Journal("2025-06-nocert", "destroy")
    j.opening(["so-alice", "so-bob"], no_signer=True)
    assert flat("none on the token at login") in flat(
        all_text(pdf.render_record(j.finish("x").data))
    )

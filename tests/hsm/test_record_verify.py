"""`ceremony verify` on bundles signed by the token's ceremony key: PASS, and every tamper case
failing on its own line with its own reason."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.cli import main
from ceremony.core import journal
from ceremony.record import pdf, sign
from ceremony.record.verify import SIGNER_CHECK, Report, verify_evidence
from tests.hsm.conftest import HsmUnderTest
from tests.record import journals
from tests.record.certs import SoftwareSigner
from tests.record.pdftools import page_texts


@pytest.fixture(scope="module")
def made(hsm: HsmUnderTest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Signed bundles for two ceremonies, built once; tests copy them before tampering."""
    root = tmp_path_factory.mktemp("bundles")
    with hsm.backend.open(hsm.prompter) as session:
        signer = sign.HsmSigner(session)
        # As the engine does: the certificate the token holds is journaled at HSM login.
        gen = journals.generate_export(signer=signer.certificate_der)
        split = journals.split_backup(signer=signer.certificate_der)
        gen_signed = sign.build_signed_record(gen.data, signer)
        split_signed = sign.build_signed_record(split.data, signer)
        certificate = signer.certificate_der
    bundles = {}
    for name, built, signed in (("gen", gen, gen_signed), ("split", split, split_signed)):
        folder = journals.write_bundle(root / name, built, {})
        sign.write_signed_record(folder, signed)
        bundles[name] = folder
    anchor = root / "ceremony-cert.pem"
    anchor.write_bytes(x509.load_der_x509_certificate(certificate).public_bytes(Encoding.PEM))
    return {
        "gen": bundles["gen"],
        "split": bundles["split"],
        "anchor": anchor,
        "certificate": certificate,
        "gen_built": gen,
        "split_built": split,
    }


@pytest.fixture
def bundle(made: dict[str, object], tmp_path: Path) -> Path:
    source = made["gen"]
    assert isinstance(source, Path)
    return Path(shutil.copytree(source, tmp_path / "bundle"))


def _failed(report: Report) -> dict[str, str]:
    return {line.check: line.reason for line in report.failures}


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


# ---- PASS -----------------------------------------------------------------------------------


def test_signed_bundle_passes(made: dict[str, object]) -> None:
    for name in ("gen", "split"):
        report = verify_evidence(made[name], made["anchor"])  # type: ignore[arg-type]
        assert report.ok, report.text()
        checks = [line.check for line in report.lines]
        assert "PDF signature" in checks and "record matches journal" in checks
        assert "journal.sig (signed final hash)" in checks
        (mixing,) = [line for line in report.lines if line.check == "rehearsal / production"]
        assert "signed with a rehearsal certificate" in mixing.reason  # the token's own


def test_signer_is_the_certificate_journaled_at_login(made: dict[str, object]) -> None:
    report = verify_evidence(made["gen"])  # type: ignore[arg-type]
    (line,) = [line for line in report.lines if line.check == SIGNER_CHECK]
    sha = hashlib.sha256(made["certificate"]).hexdigest()  # type: ignore[arg-type]
    assert line.result == "PASS"
    assert line.reason.startswith(
        "record.pdf and journal.sig: signer is the ceremony certificate journaled at HSM "
        f"login, sha256 {sha} (entry "
    )


def test_an_older_journal_without_the_certificate_is_not_checkable(
    hsm: HsmUnderTest, tmp_path: Path
) -> None:
    built = journals.generate_export()  # hsm_opened without signing_certificate_sha256
    with hsm.backend.open(hsm.prompter) as session:
        signed = sign.build_signed_record(built.data, sign.HsmSigner(session))
    folder = journals.write_bundle(tmp_path / "b", built, {})
    sign.write_signed_record(folder, signed)
    report = verify_evidence(folder)
    assert report.ok, report.text()
    (line,) = [line for line in report.lines if line.check == SIGNER_CHECK]
    assert line.result == "N/A" and line.reason.startswith("not recorded:")
    assert report.text().splitlines()[-1].endswith(", 0 failed, 1 not checkable")


def test_record_alone_passes(made: dict[str, object], tmp_path: Path) -> None:
    folder = made["split"]
    assert isinstance(folder, Path)
    shutil.copy(folder / "record.pdf", tmp_path / "record.pdf")  # handed the record alone
    report = verify_evidence(tmp_path / "record.pdf", made["anchor"])  # type: ignore[arg-type]
    assert report.ok, report.text()
    assert not any(line.check.startswith("output ") for line in report.lines)


def test_every_manual_operation_listed_with_its_approvers(made: dict[str, object]) -> None:
    report = verify_evidence(made["split"])  # type: ignore[arg-type]
    dual = [line for line in report.lines if line.check.startswith("dual control, entry")]
    assert len(dual) == 4  # generate outside the HSM, then three components printed
    assert all("Alice Martin (so-alice)" in line.reason for line in dual)
    assert any("print-component" in line.reason and "Carol Diaz" in line.reason for line in dual)


def test_cli_pass_table_and_report(made: dict[str, object], tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "auditor.pdf"
    code = main(
        ["verify", str(made["gen"]), "--trust-anchor", str(made["anchor"]), "--report", str(target)]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[-2].startswith("PASS:") or "PASS:" in out
    assert "FAIL " not in out
    text = "\n".join(page_texts(target.read_bytes()))
    assert "Verification report" in text and "PDF signature" in text and "PASS" in text
    # never overwritten
    assert main(["verify", str(made["gen"]), "--report", str(target)]) == 1


# ---- tamper cases, each with its own reason ---------------------------------------------------


def test_flipped_pdf_byte(bundle: Path) -> None:
    record = bundle / "record.pdf"
    data = bytearray(record.read_bytes())
    at = data.index(b"/Title (Ceremony record") + len(b"/Title (")
    data[at] ^= 0x01
    record.write_bytes(bytes(data))
    failed = _failed(verify_evidence(bundle))
    assert "signed bytes changed after signing" in failed["PDF signature"]


def test_bytes_appended_to_the_pdf(bundle: Path) -> None:
    record = bundle / "record.pdf"
    record.write_bytes(record.read_bytes() + b"1 0 obj\n(appended)\nendobj\n")
    failed = _failed(verify_evidence(bundle))
    assert "PDF signature" in failed


@pytest.mark.parametrize(
    ("case", "edit", "reason"),
    [
        (
            "edit",
            lambda ls: [*ls[:4], ls[4].replace(b"Bob Lee", b"Rob Lee"), *ls[5:]],
            "journal entry 4 is damaged or altered: its hash does not match",
        ),
        ("drop", lambda ls: ls[:6] + ls[7:], "entries missing: 6"),
        ("reorder", lambda ls: [*ls[:6], ls[7], ls[6], *ls[8:]], "out of order"),
        ("repeat", lambda ls: [*ls[:7], ls[6], *ls[7:]], "entries repeated: 6"),
    ],
)
def test_journal_line_tampered(
    bundle: Path, case: str, edit: Callable[[list[bytes]], list[bytes]], reason: str
) -> None:
    path = bundle / "journal.jsonl"
    path.write_bytes(b"".join(edit(_lines(path))))
    failed = _failed(verify_evidence(bundle))
    assert reason in failed["journal hash chain (journal.jsonl)"], failed
    assert "differs from the one embedded" in failed["journal.jsonl = record's journal"]
    assert "PDF signature" not in failed  # the record itself is intact


def test_journal_line_appended_after_finished(bundle: Path) -> None:
    path = bundle / "journal.jsonl"
    verified = journal.verify(path.read_bytes())
    last = verified.last
    extra = journal.Entry(
        last.seq + 1, last.time, last.ceremony, (), "output_written", {}, last.hash, ""
    )
    extra = replace(extra, hash=hashlib.sha256(journal.canonical(extra.body())).hexdigest())
    path.write_bytes(path.read_bytes() + extra.line())
    failed = _failed(verify_evidence(bundle))
    assert "follows the finished entry" in failed["journal hash chain (journal.jsonl)"]


def test_journal_from_another_ceremony(bundle: Path, made: dict[str, object]) -> None:
    other = made["split"]
    assert isinstance(other, Path)
    shutil.copy(other / "journal.jsonl", bundle / "journal.jsonl")
    failed = _failed(verify_evidence(bundle))
    assert (
        failed["journal.jsonl = record's journal"]
        == "journal.jsonl belongs to ceremony 2025-06-zmk-split, the record to 2025-06-byok-gen"
    )
    shutil.copy(other / "journal.sig", bundle / "journal.sig")
    failed = _failed(verify_evidence(bundle))
    assert "it signs ceremony 2025-06-zmk-split" in failed["journal.sig (signed final hash)"]


def test_output_file_changed(bundle: Path) -> None:
    target = bundle / "aws-prod" / "IMPORT.md"
    target.write_bytes(target.read_bytes() + b"\nimport somewhere else\n")
    failed = _failed(verify_evidence(bundle))
    assert "the file changed" in failed["output aws-prod/IMPORT.md"]
    assert len(failed) == 1


def test_output_file_missing_or_extra(bundle: Path) -> None:
    (bundle / "manifest.json").unlink()
    (bundle / "notes.txt").write_text("added later\n")
    failed = _failed(verify_evidence(bundle))
    assert "missing from the bundle" in failed["output manifest.json"]
    assert "not named in the journal" in failed["file notes.txt"]


def test_resigned_with_another_key(bundle: Path, made: dict[str, object]) -> None:
    built = made["gen_built"]
    assert isinstance(built, journals.Built)
    # The strongest forger: re-renders the record for their own certificate and signs it.
    forged = sign.build_signed_record(built.data, SoftwareSigner())
    (bundle / "record.pdf").write_bytes(forged.record_pdf)
    failed = _failed(verify_evidence(bundle))
    assert "the PDF by another certificate" in failed["journal.sig (signed final hash)"]
    # Without a trust anchor the journal itself names the ceremony certificate.
    assert (
        "record.pdf is signed by CN=someone else" in failed[SIGNER_CHECK]
        and "not the ceremony certificate journaled at HSM login" in failed[SIGNER_CHECK]
        and "journal.sig" not in failed[SIGNER_CHECK]
    ), failed
    alone_no_anchor = _failed(verify_evidence(bundle / "record.pdf"))
    assert "signed with another key" in alone_no_anchor[SIGNER_CHECK]
    # And journal.sig re-signed too: both named.
    (bundle / "journal.sig").write_bytes(sign.sign_journal(built.data, SoftwareSigner()).to_bytes())
    both = _failed(verify_evidence(bundle))[SIGNER_CHECK]
    assert "record.pdf is signed by" in both and "journal.sig is signed by" in both
    anchored = _failed(verify_evidence(bundle, made["anchor"]))  # type: ignore[arg-type]
    assert "which is not the trust anchor" in anchored["PDF signature"]
    alone = _failed(verify_evidence(bundle / "record.pdf", made["anchor"]))  # type: ignore[arg-type]
    assert "which is not the trust anchor" in alone["PDF signature"]


def test_record_signed_for_another_certificate_differs(
    bundle: Path, made: dict[str, object]
) -> None:
    built = made["gen_built"]
    assert isinstance(built, journals.Built)
    other = SoftwareSigner()
    # A record drawn for the ceremony certificate but signed by another key.
    unsigned = pdf.render_record(built.data, made["certificate"])  # type: ignore[arg-type]
    signed = sign.sign_pdf(unsigned, other, ceremony_id=built.ceremony_id)
    (bundle / "record.pdf").write_bytes(signed)
    failed = _failed(verify_evidence(bundle))
    assert "page 1 differs" in failed["record matches journal"]


def test_journal_signature_altered(bundle: Path) -> None:
    path = bundle / "journal.sig"
    path.write_bytes(path.read_bytes().replace(b"entries: 16", b"entries: 15"))
    failed = _failed(verify_evidence(bundle))
    assert "does not verify over its statement" in failed["journal.sig (signed final hash)"]


def test_production_on_the_rehearsal_token_is_mixed(hsm: HsmUnderTest, tmp_path: Path) -> None:
    built = journals.generate_export("2025-06-prod", rehearsal=False, token="ceremony-rehearsal")
    with hsm.backend.open(hsm.prompter) as session:
        signed = sign.build_signed_record(built.data, sign.HsmSigner(session))
    folder = journals.write_bundle(tmp_path / "b", built, {})
    sign.write_signed_record(folder, signed)
    failed = _failed(verify_evidence(folder))
    reason = failed["rehearsal / production"]
    assert "production ceremony ran on the rehearsal token" in reason
    assert "signed with a rehearsal certificate" in reason


def test_rehearsal_signed_by_a_production_key_is_mixed(
    bundle: Path, made: dict[str, object]
) -> None:
    built = made["gen_built"]
    assert isinstance(built, journals.Built)
    # A key outside the rehearsal store: its certificate is not the rehearsal token's.
    forged = sign.build_signed_record(built.data, SoftwareSigner())
    (bundle / "record.pdf").write_bytes(forged.record_pdf)
    reason = _failed(verify_evidence(bundle))["rehearsal / production"]
    assert "a rehearsal's record.pdf is signed with a certificate that is not a rehearsal" in (
        reason
    )
    assert "journal.sig" not in reason  # still the token's rehearsal certificate


def test_dual_control_and_split_knowledge_breaches(hsm: HsmUnderTest, tmp_path: Path) -> None:
    j = journals.Journal("2025-06-breach", "split-backup")
    j.opening(["so-alice", "so-bob", "w-carol", "kc-dan"])
    j.approval("print-component", "zmk component 1", ["so-alice"], "kc-dan")
    for index in (1, 2):
        j.add(
            "component_issued",
            ["kc-dan"],
            {
                "key": journal.Label("zmk"),
                "split_set": journal.Label("2025-06-breach"),
                "scheme": journal.Label("XOR"),
                "index": index,
                "count": 2,
                "threshold": 2,
                "custodian": journal.Label("kc-dan"),
                "kcv_method": journal.Label("AES-CMAC"),
                "kcv": journal.Label("A1B2C3"),
                "confirmed": True,
                "manual_cleartext": True,
            },
        )
    built = j.finish("two components to one custodian")
    with hsm.backend.open(hsm.prompter) as session:
        signed = sign.build_signed_record(built.data, sign.HsmSigner(session))
    folder = journals.write_bundle(tmp_path / "b", built, {})
    sign.write_signed_record(folder, signed)
    report = verify_evidence(folder)
    failed = _failed(report)
    assert "needs 2 distinct approvers, had 1" in failed["dual control, entry 10"]
    assert (
        "no earlier approval of show-component or print-component names zmk component 2"
        in (failed["dual control, entry 11"])
    )
    assert (
        "Dan Okafor (kc-dan) issued components 1, 2 of key zmk" in failed["split knowledge, kc-dan"]
    )
    assert report.lines[0].ok  # the signature itself is fine: the ceremony broke the rules
    text = "\n".join(page_texts(signed.record_pdf))
    assert "RULE BREACH" in text


def test_cli_exit_code_on_failure(bundle: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (bundle / "manifest.json").write_bytes(b"{}")
    assert main(["verify", str(bundle)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  output manifest.json" in out
    assert out.strip().splitlines()[-1].startswith("FAIL:")


def test_unreadable_evidence_is_an_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["verify", str(tmp_path / "nothing.pdf")]) == 1
    assert "does not exist" in capsys.readouterr().err
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf")
    report = verify_evidence(junk)
    assert not report.ok and "does not parse" in _failed(report)["PDF signature"]


def test_journal_verified_without_the_pdf(bundle: Path) -> None:
    (bundle / "record.pdf").unlink()
    report = verify_evidence(bundle)
    failed = _failed(report)
    assert failed == {"PDF signature": f"record.pdf is missing from {bundle}"}
    passed = {line.check for line in report.lines if line.ok}
    assert {"journal hash chain (journal.jsonl)", "journal.sig (signed final hash)"} <= passed


def test_engine_layout_journal_name(bundle: Path) -> None:
    (bundle / "journal.jsonl").rename(bundle / "2025-06-byok-gen.journal.jsonl")
    report = verify_evidence(bundle)
    assert report.ok, report.text()

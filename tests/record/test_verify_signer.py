"""`ceremony verify` ties the signer to the certificate journaled at HSM login, without a trust
anchor (software keys: the check compares certificates, it needs no token)."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.record import sign
from ceremony.record.verify import SIGNER_CHECK, Line, verify_evidence
from tests.record import journals
from tests.record.certs import SoftwareSigner


def _bundle(folder: Path, built: journals.Built, signer: SoftwareSigner) -> Path:
    path = journals.write_bundle(folder, built, {})
    sign.write_signed_record(path, sign.build_signed_record(built.data, signer))
    return path


def _line(folder: Path, anchor: Path | None = None) -> Line:
    report = verify_evidence(folder, anchor)
    (line,) = [line for line in report.lines if line.check == SIGNER_CHECK]
    return line


def test_pass_when_the_signer_is_the_journaled_certificate(tmp_path: Path) -> None:
    ceremony = SoftwareSigner()
    j = journals.Journal("2025-06-signed", "destroy")
    j.opening(["so-alice", "so-bob"], signer=ceremony.certificate_der)
    built = j.finish("nothing destroyed")
    line = _line(_bundle(tmp_path / "b", built, ceremony))
    assert line.result == "PASS", line
    assert "signer is the ceremony certificate journaled at HSM login, sha256 " in line.reason
    assert ceremony.identity.sha256 in line.reason


def test_fail_when_resigned_with_another_key(tmp_path: Path) -> None:
    ceremony, forger = SoftwareSigner(), SoftwareSigner()
    j = journals.Journal("2025-06-forged", "destroy")
    j.opening(["so-alice", "so-bob"], signer=ceremony.certificate_der)
    line = _line(_bundle(tmp_path / "b", j.finish("x"), forger))
    assert line.result == "FAIL"
    assert "record.pdf is signed by" in line.reason and "journal.sig is signed by" in line.reason
    assert "signed with another key" in line.reason


def test_a_token_without_a_certificate_fails_unless_an_anchor_decides(tmp_path: Path) -> None:
    signer = SoftwareSigner()
    j = journals.Journal("2025-06-nocert", "destroy")
    j.opening(["so-alice", "so-bob"], no_signer=True)
    folder = _bundle(tmp_path / "b", j.finish("x"), signer)
    line = _line(folder)
    assert line.result == "FAIL" and "held no ceremony signing certificate" in line.reason
    anchor = tmp_path / "anchor.pem"
    anchor.write_bytes(
        x509.load_der_x509_certificate(signer.certificate_der).public_bytes(Encoding.PEM)
    )
    anchored = _line(folder, anchor)
    assert anchored.result == "N/A" and "the trust anchor line decides" in anchored.reason


def test_an_older_journal_is_not_checkable_and_does_not_fail(tmp_path: Path) -> None:
    folder = _bundle(tmp_path / "b", journals.destroy(), SoftwareSigner())
    line = _line(folder)
    assert (line.result, line.ok, line.checkable) == ("N/A", True, False)
    assert line.reason.startswith("not recorded:")

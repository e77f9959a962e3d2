"""`ceremony verify` on damaged evidence: FAIL lines with their reasons, never a traceback.

Software keys sign the record (no token needed); the certificate is made like the rehearsal
token's, so the untouched bundle passes and every failure below comes from the damage.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ceremony.cli import main
from ceremony.record import sign
from ceremony.record.verify import (
    REHEARSAL_ORGANIZATION,
    Report,
    verify_evidence,
)
from tests.record import journals
from tests.record.certs import SoftwareIdentity, SoftwareSigner, software_identity

CHAIN = "journal hash chain (journal.jsonl)"
MIXING = "rehearsal / production"


def _identity(organization: str | None) -> SoftwareIdentity:
    return software_identity("ceremony signing key", organization)


class _OneCertificateSigner(SoftwareSigner):
    """As HsmSigner: the self-signed certificate embedded once (embed_roots=False)."""

    def pyhanko_signer(self) -> object:
        from asn1crypto import keys as asn1_keys
        from asn1crypto import x509 as asn1_x509
        from pyhanko.sign import signers

        return signers.SimpleSigner(
            signing_cert=asn1_x509.Certificate.load(self.identity.certificate_der),
            signing_key=asn1_keys.PrivateKeyInfo.load(self.identity.key_der),
            cert_registry=None,  # type: ignore[arg-type]
            embed_roots=False,
        )


def _bundle(folder: Path, built: journals.Built, signer: SoftwareSigner) -> Path:
    path = journals.write_bundle(folder, built, {})
    sign.write_signed_record(path, sign.build_signed_record(built.data, signer))
    return path


@pytest.fixture(scope="module")
def intact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    signer = _OneCertificateSigner(_identity(REHEARSAL_ORGANIZATION))
    j = journals.Journal("2025-06-robust", "destroy")
    j.opening(["so-alice", "so-bob"], signer=signer.certificate_der)
    j.output("manifest.json", b'{"ceremony": "2025-06-robust"}\n', "bundle")
    built = j.finish("nothing destroyed")
    return _bundle(tmp_path_factory.mktemp("robust") / "b", built, signer)


@pytest.fixture
def bundle(intact: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(intact, tmp_path / "bundle"))


def _lines(report: Report) -> dict[str, tuple[bool, str]]:
    return {line.check: (line.ok, line.reason) for line in report.lines}


def test_the_intact_bundle_passes(intact: Path) -> None:
    report = verify_evidence(intact)
    assert report.ok, report.text()


def test_a_flipped_byte_anywhere_fails_and_the_rest_still_reports(bundle: Path) -> None:
    record = bundle / "record.pdf"
    original = record.read_bytes()
    # Across the file, and more densely across the CMS: its unsigned fields and padding are
    # not covered by the signature's digest, so each needs a check of its own.
    cms_start = original.index(b"/Contents <") + len(b"/Contents <")
    cms_end = original.index(b">", cms_start)
    offsets = [
        *range(0, len(original), max(1, len(original) // 60)),
        *range(cms_start, cms_end, max(1, (cms_end - cms_start) // 30)),
    ]
    damaged_reasons: set[str] = set()
    for at in offsets:
        data = bytearray(original)
        data[at] ^= 0x01
        record.write_bytes(bytes(data))
        report = verify_evidence(bundle)  # raises nothing
        lines = _lines(report)
        assert not report.ok, f"flip at {at} passed:\n{report.text()}"
        # The bundle's own journal and outputs are checked whatever happened to the PDF.
        assert lines[CHAIN][0], f"flip at {at}:\n{report.text()}"
        assert lines["output manifest.json"][0], f"flip at {at}:\n{report.text()}"
        assert "verification completed" not in lines, f"flip at {at}:\n{report.text()}"
        assert "record matches journal" in lines, f"flip at {at}:\n{report.text()}"
        damaged_reasons |= {r for ok, r in lines.values() if not ok and "is damaged" in r}
    # Some flips broke the reading itself (not only the signature), each named as such.
    assert damaged_reasons


def test_a_truncated_pdf_fails(bundle: Path) -> None:
    record = bundle / "record.pdf"
    data = record.read_bytes()
    for keep in (len(data) // 2, len(data) - 40, 9):
        record.write_bytes(data[:keep])
        report = verify_evidence(bundle)
        lines = _lines(report)
        assert not report.ok and not lines["PDF signature"][0], report.text()
        assert lines[CHAIN][0] and lines["output manifest.json"][0], report.text()


def test_a_non_pdf_fails_alone_and_in_a_bundle(bundle: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"\x00\xffnot a pdf at all\n" * 50)
    alone = verify_evidence(junk)
    assert not alone.ok
    assert "does not parse" in _lines(alone)["PDF signature"][1]
    (bundle / "record.pdf").write_bytes(junk.read_bytes())
    report = verify_evidence(bundle)
    lines = _lines(report)
    assert "does not parse" in lines["PDF signature"][1]
    assert lines[CHAIN][0] and lines["journal.sig (signed final hash)"][0], report.text()


def test_cli_writes_the_table_and_the_report_for_a_damaged_pdf(
    bundle: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    record = bundle / "record.pdf"
    data = bytearray(record.read_bytes())
    # Inside the first compressed stream: the reader fails, not just the signature.
    at = data.index(b"stream\n") + len(b"stream\n") + 4
    data[at] ^= 0xFF
    record.write_bytes(bytes(data))
    target = tmp_path / "auditor.pdf"
    assert main(["verify", str(bundle), "--report", str(target)]) == 1
    captured = capsys.readouterr()
    assert "FAIL  PDF signature" in captured.out
    assert "the PDF is damaged and cannot be read (zlib.error)" in " ".join(captured.out.split())
    assert "PASS  journal hash chain (journal.jsonl)" in captured.out
    assert captured.out.strip().splitlines()[-1].startswith("report written to")
    assert target.read_bytes().startswith(b"%PDF-")
    assert "Traceback" not in captured.err


class _RedundantCertificateSigner(_OneCertificateSigner):
    """pyHanko's default (embed_roots=True) with the certificate also in the registry: twice."""

    def __init__(self, identity: SoftwareIdentity, extra: bytes | None = None) -> None:
        super().__init__(identity)
        self.extra = extra or identity.certificate_der

    def pyhanko_signer(self) -> object:
        from asn1crypto import keys as asn1_keys
        from asn1crypto import x509 as asn1_x509
        from pyhanko.sign import signers
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        return signers.SimpleSigner(
            signing_cert=asn1_x509.Certificate.load(self.identity.certificate_der),
            signing_key=asn1_keys.PrivateKeyInfo.load(self.identity.key_der),
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [asn1_x509.Certificate.load(self.extra)]
            ),
            embed_roots=True,
        )


def _signed_with(folder: Path, signer: SoftwareSigner) -> Path:
    j = journals.Journal("2025-06-certs", "destroy")
    j.opening(["so-alice", "so-bob"], signer=signer.certificate_der)
    return _bundle(folder, j.finish("nothing destroyed"), signer)


def test_an_altered_redundant_certificate_copy_fails(tmp_path: Path) -> None:
    signer = _RedundantCertificateSigner(_identity(REHEARSAL_ORGANIZATION))
    folder = _signed_with(tmp_path / "b", signer)
    record = folder / "record.pdf"
    original = record.read_bytes()
    copy = signer.certificate_der.hex().upper().encode()
    first = original.index(copy)
    second = original.index(copy, first + 1)  # embedded twice, as pyHanko's default does
    assert verify_evidence(folder).ok  # two identical copies: an older record still passes
    reasons = []
    for start in (first, second):
        # A hex digit inside the copy's own signature value: still a certificate, other bytes.
        data = bytearray(original)
        at = start + len(copy) - 10
        data[at] = ord("0") if data[at] != ord("0") else ord("1")
        record.write_bytes(bytes(data))
        ok, reason = _lines(verify_evidence(folder))["PDF signature"]
        assert not ok, reason
        reasons.append(reason)
    # pyHanko validates with one copy (the other fails its signing-certificate attribute); the
    # copy it does not use is the one that used to pass unnoticed.
    assert any("carries 1 certificate(s) besides the signer's" in r for r in reasons), reasons


def test_another_certificate_in_the_signature_fails(tmp_path: Path) -> None:
    other = _identity("someone else")
    signer = _RedundantCertificateSigner(_identity(REHEARSAL_ORGANIZATION), other.certificate_der)
    ok, reason = _lines(verify_evidence(_signed_with(tmp_path / "b", signer)))["PDF signature"]
    assert not ok
    assert "besides the signer's: O=someone else,CN=ceremony signing key" in reason, reason


def test_a_rehearsal_signed_by_a_production_certificate_is_mixed(tmp_path: Path) -> None:
    signer = _OneCertificateSigner(_identity("Example Bank AG"))
    j = journals.Journal("2025-06-mixed", "destroy")
    j.opening(["so-alice", "so-bob"], signer=signer.certificate_der)
    folder = _bundle(tmp_path / "b", j.finish("nothing destroyed"), signer)
    ok, reason = _lines(verify_evidence(folder))[MIXING]
    assert not ok
    assert (
        "a rehearsal's record.pdf and journal.sig are signed with a certificate that is not "
        in (reason)
    )
    (tmp_path / "alone").mkdir()  # the auditor was handed record.pdf alone
    shutil.copy(folder / "record.pdf", tmp_path / "alone" / "record.pdf")
    alone_ok, alone = _lines(verify_evidence(tmp_path / "alone" / "record.pdf"))[MIXING]
    assert not alone_ok and "a rehearsal's record.pdf is signed with" in alone


def test_production_signed_by_a_production_certificate_is_not_mixed(tmp_path: Path) -> None:
    signer = _OneCertificateSigner(_identity("Example Bank AG"))
    j = journals.Journal("2025-06-prod", "destroy", rehearsal=False)
    j.opening(["so-alice", "so-bob"], signer=signer.certificate_der)
    folder = _bundle(tmp_path / "b", j.finish("nothing destroyed"), signer)
    report = verify_evidence(folder)
    assert _lines(report)[MIXING] == (
        True,
        "production; production throughout: no rehearsal token, no component form on disk, "
        "record.pdf and journal.sig signed with a production certificate",
    )
    assert report.ok, report.text()

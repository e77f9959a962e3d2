"""The signed record's PDF: its one PAdES signature, the CMS around it, the signed revision."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509

from ceremony.record.sign import JOURNAL_NAME
from ceremony.record.verdict import Report

CONTENT_CHECK = "record matches journal"


@dataclass
class Signed:
    """What the PDF's signature says, and the signed revision's content."""

    signer_der: bytes | None = None
    journal_data: bytes | None = None
    page_streams: list[bytes] | None = None
    signature_ok: bool = False


def page_streams(root: Any) -> Iterator[bytes]:
    def walk(node: Any, depth: int) -> Iterator[Any]:
        # A damaged or hostile page tree can loop back on itself.
        if depth > 64:
            raise ValueError("the page tree is too deep")
        node = node.get_object()
        if node.get("/Type") == "/Pages":
            for kid in node["/Kids"]:
                yield from walk(kid, depth + 1)
        else:
            yield node

    for page in walk(root["/Pages"], 0):
        contents = page.get("/Contents")
        if contents is None:
            yield b""
            continue
        contents = contents.get_object()
        parts = contents if isinstance(contents, list) else [contents]
        yield b"\n".join(part.get_object().data for part in parts)


def _attachment(root: Any, name: str) -> bytes | None:
    try:
        names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    except KeyError:
        return None
    for i in range(0, len(names) - 1, 2):
        if str(names[i]) == name:
            data: bytes = names[i + 1].get_object()["/EF"]["/F"].get_object().data
            return data
    return None


def error_kind(ex: BaseException) -> str:
    """``zlib.error``, ``KeyError``: what broke, never the bytes it broke on."""
    module = type(ex).__module__
    name = type(ex).__qualname__
    return name if module == "builtins" else f"{module}.{name}"


def _damaged(ex: BaseException) -> str:
    return f"the PDF is damaged and cannot be read ({error_kind(ex)})"


def certificate_text(der: bytes) -> str:
    try:
        cert = x509.load_der_x509_certificate(der)
        subject = cert.subject.rfc4514_string()
    except ValueError:
        subject = "an unreadable certificate"
    return f"{subject}, SHA-256 {hashlib.sha256(der).hexdigest()}"


def is_issued_by(der: bytes, anchor_der: bytes) -> bool:
    if der == anchor_der:
        return True
    try:
        cert = x509.load_der_x509_certificate(der)
        cert.verify_directly_issued_by(x509.load_der_x509_certificate(anchor_der))
    except Exception:  # any failure (parse, key type, signature) means "not issued by it"
        return False
    return True


def _cms_extras(embedded: Any, signer_der: bytes) -> str | None:
    """What the signature's /Contents carries besides what signing wrote, or None.

    The padding, the CMS fields outside the signed attributes and the certificates are covered
    by neither the document digest nor the signature value, so validation does not see a change
    there; another reader (pdfsig) still reads them, and they could hide data.
    """
    from asn1crypto import cms

    contents: bytes = embedded.pkcs7_content
    info = cms.ContentInfo.load(contents)
    padding = contents[len(info.dump()) :]
    if padding.strip(b"\x00"):
        return (
            "the signature's /Contents holds bytes after the CMS where only zero padding "
            "belongs: the file changed after signing, outside what the signature covers"
        )
    shape = _cms_shape(info)
    if shape is not None:
        return (
            f"the signature's CMS is not the one this tool writes ({shape}): a part the "
            "signature value does not cover was changed after signing"
        )
    others: list[str] = []
    for choice in embedded.signed_data["certificates"] or ():
        der: bytes = choice.dump() if choice.name != "certificate" else choice.chosen.dump()
        if der != signer_der:
            others.append(certificate_text(der))
    if not others:
        return None
    # The signer's certificate once is all a record carries: validation reads only the
    # signer's copy, so a second, different one would travel unchecked.
    return (
        f"the signature carries {len(others)} certificate(s) besides the signer's: "
        f"{'; '.join(others)}; a record carries the signer's certificate only (a damaged, "
        "added or substituted copy)"
    )


def _cms_shape(info: Any) -> str | None:
    """The first CMS field that differs from what PAdES B-B signing writes, or None.

    These fields sit outside the signed attributes, so validation ignores them; the record's
    CMS has exactly one shape, and a changed field means the file was altered.
    """
    if info["content_type"].native != "signed_data":
        return "content type"
    data = info["content"]
    signers = data["signer_infos"]
    if len(signers) != 1:
        return f"{len(signers)} signer infos"
    signer = signers[0]
    encapsulated = data["encap_content_info"]
    checks = {
        "version": data["version"].native == "v1",
        "digest algorithms": [a.dump() for a in data["digest_algorithms"]]
        == [signer["digest_algorithm"].dump()],
        "encapsulated content": encapsulated["content_type"].native == "data"
        and encapsulated["content"].native is None,
        "revocation lists": not data["crls"],
        "signer info version": signer["version"].native == "v1",
        "unsigned attributes": not signer["unsigned_attrs"],
    }
    wrong = [name for name, ok in checks.items() if not ok]
    return ", ".join(wrong) if wrong else None


def check_pdf(report: Report, data: bytes, anchor: bytes | None) -> Signed:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    # pyHanko reads a damaged file lazily and fails with whatever the broken layer raises
    # (zlib.error, struct.error, AttributeError, ...): each step below turns any of them into
    # its own FAIL line, so the checks that do not need the PDF still run.
    signed = Signed()
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except Exception as ex:
        report.add("PDF signature", False, f"the PDF does not parse: {_damaged(ex)}")
        report.add("embedded journal", False, "not read: the PDF does not parse")
        return signed
    if len(signatures) != 1:
        report.add(
            "PDF signature",
            False,
            f"the record carries {len(signatures)} signatures; exactly one is expected",
        )
        return signed
    embedded = signatures[0]
    try:
        signer_der: bytes = embedded.signer_cert.dump()
        signed.signer_der = signer_der
        trust = anchor if anchor is not None else signer_der
        from asn1crypto import x509 as asn1_x509

        claimed = embedded.self_reported_timestamp or datetime.now(UTC)
        context = ValidationContext(
            trust_roots=[asn1_x509.Certificate.load(trust)],
            allow_fetching=False,
            moment=claimed,
        )
        status = validate_pdf_signature(embedded, context)
        extra = _cms_extras(embedded, signer_der)
    except Exception as ex:
        report.add("PDF signature", False, _signature_failure(ex))
        status, extra = None, None
    if status is not None:
        _signature_line(report, signed, status, extra, anchor)
    try:
        root = reader.get_historical_root(embedded.signed_revision)
    except Exception as ex:
        report.add("embedded journal", False, f"the signed revision cannot be read: {_damaged(ex)}")
        return signed
    try:
        signed.journal_data = _attachment(root, JOURNAL_NAME)
    except Exception as ex:
        report.add("embedded journal", False, f"the attachment cannot be read: {_damaged(ex)}")
    else:
        if signed.journal_data is None:
            report.add("embedded journal", False, f"the record has no {JOURNAL_NAME} attachment")
    try:
        signed.page_streams = list(page_streams(root))
    except Exception as ex:
        report.add(CONTENT_CHECK, False, f"the signed pages cannot be read: {_damaged(ex)}")
    return signed


def _signature_failure(ex: Exception) -> str:
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko_certvalidator.errors import PathValidationError

    if isinstance(ex, SignatureValidationError | PathValidationError):
        return f"the signature cannot be validated: {ex}"
    return f"the signature cannot be validated: {_damaged(ex)}"


def _signature_line(
    report: Report, signed: Signed, status: Any, extra: str | None, anchor: bytes | None
) -> None:
    signer_der = signed.signer_der
    assert signer_der is not None  # set before validation
    who = certificate_text(signer_der)
    if not status.intact:
        report.add(
            "PDF signature",
            False,
            "the signed bytes changed after signing: their SHA-256 no longer matches the one "
            "the signature covers",
        )
    elif not status.valid:
        report.add("PDF signature", False, f"the signature value does not verify with {who}")
    elif status.coverage is None or status.coverage.name != "ENTIRE_FILE":
        report.add(
            "PDF signature",
            False,
            "bytes were added after the signature (an incremental update the signature does "
            "not cover)",
        )
    elif extra is not None:
        report.add("PDF signature", False, extra)
    elif anchor is not None and not (status.trusted and is_issued_by(signer_der, anchor)):
        report.add(
            "PDF signature",
            False,
            f"signed by {who}, which is not the trust anchor "
            f"(SHA-256 {hashlib.sha256(anchor).hexdigest()}) nor issued by it",
        )
    else:
        anchored = (
            "the auditor's trust anchor"
            if anchor is not None
            else "no trust anchor given: compare this fingerprint with the HSM inventory"
        )
        report.add(
            "PDF signature",
            True,
            f"PAdES signature intact and valid, covers the whole file; signed by {who}; {anchored}",
        )
        signed.signature_ok = True

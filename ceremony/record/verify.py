"""``ceremony verify``: an auditor's offline check of a signed record or a whole bundle folder.

Every check is one line of the report, PASS or FAIL with its reason; a check that cannot run
because an earlier one failed says so. Nothing here trusts the PDF's pictures: the journal is
taken from the signed revision's attachment, verified as a hash chain, and the record is
rendered again from it and compared page by page with what was signed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from pathlib import Path

from cryptography import x509

from ceremony.core import journal
from ceremony.core.journal import JournalOrderError, JournalVerifyError, Verified
from ceremony.core.rules import SPLIT_KNOWLEDGE
from ceremony.errors import CeremonyError, VerifyError
from ceremony.record import fields as F
from ceremony.record import model as M
from ceremony.record import pdf as record_pdf
from ceremony.record.links import check_restart
from ceremony.record.pdf_signature import (
    CONTENT_CHECK,
    Signed,
    certificate_text,
    check_pdf,
    error_kind,
    is_issued_by,
    page_streams,
)
from ceremony.record.sign import (
    JOURNAL_NAME,
    RECORD_NAME,
    SIGNATURE_NAME,
    JournalSignature,
    journal_path,
)
from ceremony.record.verdict import Line, Report

REHEARSAL_TOKEN = "ceremony-rehearsal"  # noqa: S105 - a token label
REHEARSAL_ORGANIZATION = "ceremony (rehearsal)"
MAX_PDF = 64 * 1024 * 1024
SIGNER_CHECK = "signer = certificate at HSM login"


# ---- reading the evidence ----------------------------------------------------------------------


def _read(path: Path, what: str) -> bytes:
    try:
        if path.stat().st_size > MAX_PDF:
            raise VerifyError(f"{path} is too large to be {what}", hint="check the path")
        return path.read_bytes()
    except OSError as ex:
        raise VerifyError(
            f"cannot read {path}: {ex.strerror or ex}", hint="check the path and permissions"
        ) from ex


def _load_anchor(path: Path) -> bytes:
    data = _read(path, "a certificate")
    try:
        cert = (
            x509.load_pem_x509_certificate(data)
            if b"-----BEGIN" in data
            else x509.load_der_x509_certificate(data)
        )
    except ValueError as ex:
        raise VerifyError(
            f"the trust anchor {path} is not an X.509 certificate (PEM or DER)",
            hint="export the ceremony certificate from the HSM inventory",
        ) from ex
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)


def _order_reason(data: bytes, fallback: str) -> str:
    """Tell a dropped entry from a reordered or repeated one (the chain error alone cannot)."""
    import json

    seqs: list[int] = []
    for line in data.split(b"\n"):
        if not line:
            continue
        try:
            seq = json.loads(line)["seq"]
        except (ValueError, KeyError, TypeError):
            return fallback
        if not isinstance(seq, int):
            return fallback
        seqs.append(seq)
    if not seqs:
        return fallback
    repeated = sorted({s for s in seqs if seqs.count(s) > 1})
    missing = sorted(set(range(max(seqs) + 1)) - set(seqs))
    if repeated:
        return f"{fallback} (entries repeated: {', '.join(map(str, repeated))})"
    if missing:
        return f"{fallback} (entries missing: {', '.join(map(str, missing))})"
    first = next(i for i, s in enumerate(seqs) if s != i)
    return (
        f"entries are out of order: entry {seqs[first]} stands where entry {first} belongs, "
        "every entry is present but reordered"
    )


def _chain(report: Report, label: str, data: bytes) -> Verified | None:
    try:
        verified = journal.verify(data, require_closed=True)
    except JournalOrderError as ex:
        report.add(label, False, _order_reason(data, ex.message))
        return None
    except JournalVerifyError as ex:
        report.add(label, False, ex.message)
        return None
    report.add(
        label,
        True,
        f"{len(verified.entries)} entries of ceremony {verified.ceremony_id}, each linked to "
        f"the one before, from genesis to {verified.last.event}; final hash "
        f"{verified.final_hash}",
    )
    return verified


def _content(report: Report, verified: Verified, data: bytes, signed: Signed) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        again = record_pdf.render_record(data, signed.signer_der)
        fresh = list(page_streams(PdfFileReader(io.BytesIO(again), strict=False).root))
    except CeremonyError as ex:
        report.add(CONTENT_CHECK, False, f"cannot render the journal: {ex.message}")
        return
    except Exception as ex:  # the signer's certificate comes from the PDF and may be damaged
        report.add(CONTENT_CHECK, False, f"cannot render the journal again ({error_kind(ex)})")
        return
    pages = signed.page_streams or []
    if len(fresh) != len(pages):
        report.add(
            CONTENT_CHECK,
            False,
            f"the record has {len(pages)} pages; the journal renders to {len(fresh)}",
        )
        return
    for n, (a, b) in enumerate(zip(pages, fresh, strict=True), start=1):
        if a != b:
            report.add(
                CONTENT_CHECK,
                False,
                f"page {n} differs from a fresh rendering of the embedded journal: the record's "
                f"tables do not show what the journal holds (or it was made by another layout "
                f"than {record_pdf.LAYOUT})",
            )
            return
    report.add(
        CONTENT_CHECK,
        True,
        f"all {len(pages)} pages are drawn exactly as a fresh rendering of the embedded "
        f"journal ({record_pdf.LAYOUT})",
    )


def _journal_signature(
    report: Report,
    sig_data: bytes,
    verified: Verified | None,
    signer: bytes | None,
    anchor: bytes | None,
) -> None:
    check = f"{SIGNATURE_NAME} (signed final hash)"
    try:
        sig = JournalSignature.parse(sig_data)
        sig.verify()
    except VerifyError as ex:
        report.add(check, False, ex.message)
        return
    who = certificate_text(sig.certificate_der)
    problems: list[str] = []
    if verified is not None:
        if sig.ceremony_id != verified.ceremony_id:
            problems.append(
                f"it signs ceremony {sig.ceremony_id}, the journal is {verified.ceremony_id}"
            )
        elif sig.final_hash != verified.final_hash or sig.entries != len(verified.entries):
            problems.append(
                f"it signs final hash {sig.final_hash} after {sig.entries} entries; the journal "
                f"ends with {verified.final_hash} after {len(verified.entries)}"
            )
        if sig.rehearsal != (verified.entries[0].data.get("rehearsal") is True):
            problems.append("its mode (rehearsal or production) differs from the journal's")
    if signer is not None and sig.certificate_der != signer:
        problems.append(f"it was signed by {who}, the PDF by another certificate")
    if anchor is not None and not is_issued_by(sig.certificate_der, anchor):
        problems.append(f"its signer {who} is not the trust anchor nor issued by it")
    if problems:
        report.add(check, False, "; ".join(problems))
    else:
        report.add(
            check,
            True,
            f"ECDSA signature over ceremony {sig.ceremony_id}, {sig.entries} entries, final "
            f"hash {sig.final_hash}, by {who}",
        )


def _signer_at_login(
    report: Report,
    model: M.Model,
    pdf_signer: bytes | None,
    sig_data: bytes | None,
    anchor: bytes | None,
) -> None:
    """The record and journal.sig are signed by the certificate the token held at HSM login.

    Without a trust anchor this is what ties the signature to this ceremony's token: a record
    re-signed with another key fails here even though its own signature is valid.
    """
    signers: list[tuple[str, bytes]] = []
    if pdf_signer is not None:
        signers.append((RECORD_NAME, pdf_signer))
    if sig_data is not None:
        with contextlib.suppress(VerifyError):  # an unreadable journal.sig fails its own line
            signers.append((SIGNATURE_NAME, JournalSignature.parse(sig_data).certificate_der))
    at_login = M.signer_at_login(model)
    if not at_login.recorded:
        report.not_checkable(
            SIGNER_CHECK,
            "not recorded: this journal's HSM login does not name the signing certificate (a "
            "journal made before the tool recorded it, or no HSM session); compare the signer's "
            "SHA-256 with the HSM inventory"
            + ("" if anchor is None else ", the trust anchor line decides"),
        )
        return
    if not at_login.certificates:
        reason = (
            f"the token held no ceremony signing certificate at HSM login (entry "
            f"{', '.join(map(str, at_login.none_at))}): the journal names no signer"
        )
        if anchor is not None:
            report.not_checkable(SIGNER_CHECK, f"{reason}; the trust anchor line decides")
        else:
            report.add(SIGNER_CHECK, False, f"{reason}; verify with --trust-anchor")
        return
    if not signers:
        report.not_checkable(SIGNER_CHECK, "no signature to compare with the journal")
        return
    journaled = ", ".join(f"{sha} (entry {seq})" for sha, seq in at_login.certificates.items())
    problems: list[str] = []
    for what, der in signers:
        sha = hashlib.sha256(der).hexdigest()
        if at_login.names(sha) is None:
            problems.append(
                f"{what} is signed by {certificate_text(der)}, not the ceremony certificate "
                f"journaled at HSM login, sha256 {journaled}: it was signed with another key"
            )
    if problems:
        report.add(SIGNER_CHECK, False, "; ".join(problems))
        return
    names = " and ".join(what for what, _ in signers)
    report.add(
        SIGNER_CHECK,
        True,
        f"{names}: signer is the ceremony certificate journaled at HSM login, sha256 {journaled}",
    )


def _rules(report: Report, model: M.Model) -> None:
    for op in model.clear_operations:
        kind = "manual clear-text" if op.manual_cleartext else "destruction"
        check = f"dual control, entry {op.seq}"
        approvers = ", ".join(model.who(a) for a in op.approvers) or "nobody"
        what = f"{kind} {op.event} ({op.operation}) of {op.subject}"
        reason = (
            f"{what}: approved at entry {op.approval_seq} by {approvers}"
            if op.ok
            else f"{what}: {op.reason}"
        )
        report.add(check, op.ok, reason)
    if not model.clear_operations:
        report.add("dual control", True, "no manual clear-text operation and no destruction")
    other = [f for f in model.findings if not f.detail.startswith(("manual clear", "destruction"))]
    for f in other:
        report.add(f.check, f.ok, f.detail)
    if not any(f.rule == SPLIT_KNOWLEDGE for f in other):
        report.add(SPLIT_KNOWLEDGE, True, "no component was issued or entered")


_OWN_FILES = {RECORD_NAME, SIGNATURE_NAME, JOURNAL_NAME}


def _bundle_files(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            found[path.relative_to(folder).as_posix()] = path
    return found


def _outputs(
    report: Report, folder: Path, model: M.Model, accounted: set[str] | None = None
) -> None:
    present = _bundle_files(folder)
    # ``accounted``: an aborted ceremony's journal and outputs, checked by the restart link.
    own = {*_OWN_FILES, journal_path(folder).name, *(accounted or ())}
    named: set[str] = set()
    for name, digest, seq in model.all_files:
        named.add(name)
        path = present.get(name)
        check = f"output {name}"
        if path is None or path.is_symlink():
            report.add(check, False, f"missing from the bundle (journal entry {seq})")
            continue
        actual = hashlib.sha256(_read(path, "an output file")).hexdigest()
        if actual != digest:
            report.add(
                check,
                False,
                f"SHA-256 is {actual}; journal entry {seq} recorded {digest}: the file changed",
            )
        else:
            report.add(check, True, f"SHA-256 {digest} as recorded in journal entry {seq}")
    if not model.all_files:
        report.add("output files", True, "the journal names no output file")
    ceremony_file = F.text(model.genesis, "ceremony_file_sha256")
    registry = {
        F.text(e.data, field)
        for e in model.entries
        if e.event == "registry_updated"
        for field in ("sha256", "previous_sha256")
        if field in e.data
    }
    for name, path in present.items():
        if name in own or name in named:
            continue
        if hashlib.sha256(_read(path, "a file")).hexdigest() == ceremony_file:
            report.add(f"file {name}", True, "the ceremony file named in the genesis entry")
            continue
        if hashlib.sha256(_read(path, "a file")).hexdigest() in registry:
            report.add(f"file {name}", True, "the custodian registry named by registry_updated")
            continue
        report.add(f"file {name}", False, "in the bundle but not named in the journal")


def _organizations(der: bytes) -> set[str] | None:
    """The certificate subject's O values, or None when it does not parse."""
    try:
        subject = x509.load_der_x509_certificate(der).subject
        return {
            str(a.value) for a in subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
        }
    except ValueError:
        return None


def _mixing(report: Report, model: M.Model, signer: bytes | None, folder: Path | None) -> None:
    rehearsal = model.rehearsal
    problems: list[str] = []
    tokens = {F.text(d, "token_label") for _, d in model.hsm}
    sig: JournalSignature | None = None
    if folder is not None and (folder / SIGNATURE_NAME).is_file():
        with contextlib.suppress(VerifyError):  # an unreadable journal.sig fails its own line
            sig = JournalSignature.parse(_read(folder / SIGNATURE_NAME, "a signature"))
    signers = [(RECORD_NAME, signer)] if signer is not None else []
    if sig is not None:
        signers.append((SIGNATURE_NAME, sig.certificate_der))
    # A rehearsal runs only on the project's SoftHSM store (the engine refuses any other
    # token) and every signing certificate made there carries this organization
    # (ceremony.hsm.signing): so the organization decides both ways. The token label cannot
    # decide the rehearsal way: a rehearsal may use any label in that store.
    wrong = [
        what
        for what, der in signers
        if (orgs := _organizations(der)) is not None  # unparseable: the signature lines fail
        and (REHEARSAL_ORGANIZATION in orgs) != rehearsal
    ]
    files = f"{' and '.join(wrong)} {'are' if len(wrong) > 1 else 'is'}"
    if wrong and not rehearsal:
        problems.append(f"a production ceremony's {files} signed with a rehearsal certificate")
    elif wrong:
        problems.append(
            f"a rehearsal's {files} signed with a certificate that is not a "
            f"rehearsal certificate (no O={REHEARSAL_ORGANIZATION} in its subject): a production "
            "or outside key signed it"
        )
    if not rehearsal and REHEARSAL_TOKEN in tokens:
        problems.append(f"a production ceremony ran on the rehearsal token {REHEARSAL_TOKEN!r}")
    if not rehearsal:
        forms = [o.name for o in model.outputs if o.kind == "component-form"]
        if forms:
            problems.append(
                f"a production ceremony wrote component forms to disk ({', '.join(forms)})"
            )
    if sig is not None and sig.rehearsal != rehearsal:
        problems.append(f"{SIGNATURE_NAME} and the journal differ in mode")
    mode = "rehearsal" if rehearsal else "production"
    if problems:
        report.add("rehearsal / production", False, "; ".join(problems))
    else:
        detail = (
            "rehearsal throughout: watermarked record, rehearsal journal, signed with a "
            "rehearsal certificate"
            if rehearsal
            else "production throughout: no rehearsal token, certificate or on-disk form"
        )
        report.add("rehearsal / production", True, f"{mode}; {detail}")


def verify_evidence(path: Path | str, trust_anchor: Path | str | None = None) -> Report:
    """Check a bundle folder or a ``record.pdf``; VerifyError only when nothing can be read."""
    path = Path(path)
    anchor = _load_anchor(Path(trust_anchor)) if trust_anchor is not None else None
    report = Report(str(path))
    folder = path if path.is_dir() else None
    if folder is None and not path.is_file():
        raise VerifyError(f"{path} does not exist", hint="give a bundle folder or a record.pdf")
    try:
        _verify_into(report, path, folder, anchor)
    except CeremonyError:
        raise
    except Exception as ex:
        # Last resort: evidence is hostile input, and a reader's surprise must still end in a
        # failing table (and --report), never a traceback.
        report.add(
            "verification completed",
            False,
            f"the checks stopped early on unexpected input ({error_kind(ex)}): the lines above are "
            "all that could be checked",
        )
    return report


def _verify_into(report: Report, path: Path, folder: Path | None, anchor: bytes | None) -> None:
    pdf_path = folder / RECORD_NAME if folder is not None else path
    signed = Signed()
    if pdf_path.is_file():
        signed = check_pdf(report, _read(pdf_path, "a PDF"), anchor)
    else:
        report.add("PDF signature", False, f"{RECORD_NAME} is missing from the bundle")

    verified: Verified | None = None
    data: bytes | None = signed.journal_data
    if data is not None:
        verified = _chain(report, "journal hash chain (record)", data)
    bundle_journal: bytes | None = None
    if folder is not None:
        jpath = journal_path(folder)
        if jpath.is_file():
            bundle_journal = _read(jpath, "a journal")
            bundle_verified = _chain(report, f"journal hash chain ({JOURNAL_NAME})", bundle_journal)
            if data is not None:
                if bundle_journal == data:
                    report.add(
                        f"{JOURNAL_NAME} = record's journal",
                        True,
                        "the bundle's journal is byte for byte the one embedded in the record",
                    )
                else:
                    reason = "the bundle's journal differs from the one embedded in the record"
                    if (
                        bundle_verified is not None
                        and verified is not None
                        and bundle_verified.ceremony_id != verified.ceremony_id
                    ):
                        reason = (
                            f"{JOURNAL_NAME} belongs to ceremony {bundle_verified.ceremony_id},"
                            f" the record to {verified.ceremony_id}"
                        )
                    report.add(f"{JOURNAL_NAME} = record's journal", False, reason)
            if verified is None and bundle_verified is not None:
                # The record's journal is unreadable or broken (its lines fail): the bundle's
                # intact copy still lets the rules and outputs be checked.
                verified, data = bundle_verified, bundle_journal
        else:
            report.add(f"{JOURNAL_NAME}", False, f"{JOURNAL_NAME} is missing from the bundle")

    if verified is not None and data is not None:
        report.ceremony_id = verified.ceremony_id
        report.final_hash = verified.final_hash
        model = M.build(verified)
        report.rehearsal = model.rehearsal
        if signed.page_streams is not None and data is signed.journal_data:
            _content(report, verified, data, signed)
        elif pdf_path.is_file() and not any(line.check == CONTENT_CHECK for line in report.lines):
            report.add(
                CONTENT_CHECK,
                False,
                "not checked: the record's signed pages or its embedded journal could not be "
                "read or do not verify (see above)",
            )
        sig_path = folder / SIGNATURE_NAME if folder is not None else None
        if sig_path is not None and sig_path.is_file():
            _journal_signature(
                report, _read(sig_path, "a signature"), verified, signed.signer_der, anchor
            )
        elif folder is not None:
            report.add(
                f"{SIGNATURE_NAME} (signed final hash)", False, f"{SIGNATURE_NAME} is missing"
            )
        else:
            report.add(
                "signed final hash",
                signed.signature_ok,
                "the final hash is printed in the record and covered by its PDF signature"
                + ("" if signed.signature_ok else ", which did not verify"),
            )
        _signer_at_login(
            report,
            model,
            signed.signer_der,
            _read(sig_path, "a signature") if sig_path is not None and sig_path.is_file() else None,
            anchor,
        )
        end = verified.last
        if end.event == journal.FINISHED:
            report.add("ceremony outcome", True, f"finished: {F.text(end.data, 'summary')}")
        else:
            report.add(
                "ceremony outcome",
                False,
                f"ABORTED: {F.text(end.data, 'reason')}; nothing from this ceremony is to be "
                "relied on",
            )
        _rules(report, model)
        accounted = check_restart(report, verified, folder)
        if folder is not None:
            _outputs(report, folder, model, accounted)
        _mixing(report, model, signed.signer_der, folder)


__all__ = ["Line", "Report", "verify_evidence"]

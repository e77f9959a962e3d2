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
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from ceremony.core import journal
from ceremony.core.journal import JournalOrderError, JournalVerifyError, Verified
from ceremony.core.rules import SPLIT_KNOWLEDGE
from ceremony.errors import CeremonyError, RecordError, VerifyError
from ceremony.reading import read_file
from ceremony.record import attempts
from ceremony.record import fields as F
from ceremony.record import model as M
from ceremony.record import pdf as record_pdf
from ceremony.record.links import check_restart
from ceremony.record.locate import Located, locate
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
    unchained_journals,
)
from ceremony.record.verdict import Line, Report

REHEARSAL_TOKEN = "ceremony-rehearsal"  # noqa: S105 - a token label
REHEARSAL_ORGANIZATION = "ceremony (rehearsal)"
MAX_EVIDENCE_FILE = 64 * 1024 * 1024  # bytes; any one file of the evidence, the record too
SIGNER_CHECK = "signer = certificate at HSM login"


# ---- reading the evidence ----------------------------------------------------------------------


def _read(path: Path, what: str, *, follow_symlinks: bool = True) -> bytes:
    return read_file(
        path,
        what,
        cap=MAX_EVIDENCE_FILE,
        error=VerifyError,
        hint="check the path and permissions",
        follow_symlinks=follow_symlinks,
    )


def _load_anchor(path: Path) -> bytes:
    data = _read(path, "trust anchor")
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
        except (ValueError, KeyError, TypeError, RecursionError):
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


KCV_CHECK = "key check value"
_KEY_KCV_EVENTS = {
    "key_generated": "generated",
    "key_checked": "checked on the token",
    "key_imported": "imported",
    "key_exported": "exported",
    "key_destroyed": "destroyed",
    "key_combined": "combined",
    "key_block_opened": "opened from its TR-31 block",
    "key_block_written": "wrapped in a TR-31 block",
}


@dataclass
class _Seen:
    """The KCVs journaled for one key or one component in one run, by method."""

    values: dict[str, list[tuple[str, int, str]]]  # method -> (hex, entry, what)
    confirmed: dict[int, bool]  # component_issued entry -> the custodian typed the KCV back
    matched: list[int]  # key_combined entries whose KCV matched the recorded one


def _check_values(report: Report, verified: Verified) -> None:
    """One line per key and per component issued: every KCV the journal holds for it agrees.

    The same method over the same key gives the same value: a key generated, exported and
    destroyed, or a component issued and entered, must show one KCV per method throughout.
    A new run draws new keys and components, so each run is compared on its own.
    """
    run = 1
    runs = False
    keys: dict[tuple[int, str], _Seen] = {}
    components: dict[tuple[int, str, str, str], _Seen] = {}
    for entry in verified.entries:
        d = entry.data
        if entry.event == "run_started":
            run, runs = run + 1, True
            continue
        key = d.get("key")
        if not isinstance(key, str):
            continue
        if entry.event in _KEY_KCV_EVENTS:
            # The orphan an aborted attempt left, destroyed by its restart, is another key
            # than the one this ceremony then makes under the same label.
            label = key if "left_by" not in d else f"{key} (left by {F.text(d, 'left_by')})"
            seen = keys.setdefault((run, label), _Seen({}, {}, []))
            what = _KEY_KCV_EVENTS[entry.event]
            found = d.get("kcvs")
            pairs = [v for v in found if isinstance(v, dict)] if isinstance(found, list) else [d]
            for v in pairs:
                if "kcv" in v:
                    seen.values.setdefault(F.text(v, "kcv_method"), []).append(
                        (F.text(v, "kcv"), entry.seq, what)
                    )
            if entry.event == "key_combined" and d.get("matches_recorded") is True:
                seen.matched.append(entry.seq)
        elif entry.event in ("component_issued", "component_entered") and "kcv" in d:
            where = (run, key, F.text(d, "split_set"), F.text(d, "index"))
            seen = components.setdefault(where, _Seen({}, {}, []))
            what = "issued" if entry.event == "component_issued" else "entered"
            seen.values.setdefault(F.text(d, "kcv_method"), []).append(
                (F.text(d, "kcv"), entry.seq, what)
            )
            if entry.event == "component_issued":
                seen.confirmed[entry.seq] = d.get("confirmed") is True
    for (r, key), seen in keys.items():
        count = sum(len(v) for v in seen.values.values())
        if count < 2 and not seen.matched:
            continue  # journaled once: nothing to compare it with
        subject = f"{KCV_CHECK}, key {key}" + (f" (run {r})" if runs else "")
        ok, parts = _agree(seen)
        if seen.matched:
            parts.append(
                "the combined key's KCV matched the recorded one (entry "
                + ", ".join(map(str, seen.matched))
                + ")"
            )
        report.add(subject, ok, "; ".join(parts))
    for (r, key, split_set, index), seen in components.items():
        subject = f"{KCV_CHECK}, key {key} component {index}" + (f" (run {r})" if runs else "")
        ok, parts = _agree(seen)
        unconfirmed = [seq for seq, yes in seen.confirmed.items() if not yes]
        if unconfirmed:
            ok = False
            parts.append(
                "the custodian did not type the KCV back (entry "
                + ", ".join(map(str, unconfirmed))
                + ")"
            )
        elif seen.confirmed:
            parts.append("typed back by the custodian when it was issued")
        report.add(subject, ok, f"set {split_set}: " + "; ".join(parts))


def _agree(seen: _Seen) -> tuple[bool, list[str]]:
    """Whether each method's values agree, and the line's words for it."""
    ok = True
    parts: list[str] = []
    for method, values in seen.values.items():
        at = ", ".join(f"{seq} ({what})" for _, seq, what in values)
        distinct = sorted({value for value, _, _ in values})
        if len(distinct) == 1:
            parts.append(f"{method} {distinct[0]} at entry {at}")
        else:
            ok = False
            shown = ", ".join(f"{value} at entry {seq} ({what})" for value, seq, what in values)
            parts.append(f"{method} differs: {shown}")
    return ok, parts


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
    own = {*_OWN_FILES, journal_path(folder, model.ceremony_id).name, *(accounted or ())}
    named: set[str] = set()
    for name, digest, seq in model.all_files:
        named.add(name)
        path = present.get(name)
        check = f"output {name}"
        if path is None or path.is_symlink():
            report.add(check, False, f"missing from the bundle (journal entry {seq})")
            continue
        try:
            actual = hashlib.sha256(_read(path, "output file", follow_symlinks=False)).hexdigest()
        except VerifyError as ex:
            report.add(check, False, f"{ex.message} (journal entry {seq})")
            continue
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
        try:
            digest = hashlib.sha256(_read(path, "file", follow_symlinks=False)).hexdigest()
        except VerifyError as ex:
            report.add(f"file {name}", False, f"{ex.message}; the journal does not name it")
            continue
        if digest == ceremony_file:
            report.add(f"file {name}", True, "the ceremony file named in the genesis entry")
            continue
        if digest in registry:
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


def _mixing(report: Report, model: M.Model, signer: bytes | None, sig_data: bytes | None) -> None:
    rehearsal = model.rehearsal
    problems: list[str] = []
    tokens = {F.text(d, "token_label") for _, d in model.hsm}
    sig: JournalSignature | None = None
    if sig_data is not None:
        with contextlib.suppress(VerifyError):  # an unreadable journal.sig fails its own line
            sig = JournalSignature.parse(sig_data)
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
        # Say only what was there to check: an aborted run may have left no record at all.
        names = " and ".join(what for what, _ in signers)
        signed = (
            f"{names} signed with a {mode} certificate"
            if signers
            else "no record or journal signature here to show whose certificate signed it"
        )
        detail = (
            f"rehearsal throughout: rehearsal journal, {signed}"
            if rehearsal
            else f"production throughout: no rehearsal token, no component form on disk, {signed}"
        )
        report.add("rehearsal / production", True, f"{mode}; {detail}")


_LIBRARY_LOGGERS = ("pyhanko", "pyhanko_certvalidator")


@contextlib.contextmanager
def _libraries_quiet() -> Iterator[None]:
    """pyHanko logs each check that fails with its traceback, which logging's last resort
    prints on stderr; the report already names what failed and why, so none of it is shown.
    """
    loggers = [logging.getLogger(name) for name in _LIBRARY_LOGGERS]
    saved = [(logger.propagate, list(logger.handlers)) for logger in loggers]
    for logger in loggers:
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
    try:
        yield
    finally:
        for logger, (propagate, handlers) in zip(loggers, saved, strict=True):
            logger.propagate = propagate
            logger.handlers[:] = handlers


def verify_evidence(path: Path | str, trust_anchor: Path | str | None = None) -> Report:
    """Check a bundle folder or a ``record.pdf``; VerifyError only when nothing can be read."""
    with _libraries_quiet():
        return _verify_evidence(Path(path), trust_anchor)


def _verify_evidence(path: Path, trust_anchor: Path | str | None) -> Report:
    anchor = _load_anchor(Path(trust_anchor)) if trust_anchor is not None else None
    found = locate(path)
    report = Report(found.subject)
    try:
        model = _verify_into(report, found.pdf, found.folder, anchor)
        if found.ceremony_folder is not None and model is not None:
            _ceremony_file(report, found, model)
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


CEREMONY_FILE_CHECK = "ceremony file"


def _ceremony_file(report: Report, found: Located, model: M.Model) -> None:
    """The ceremony file in the ceremony folder: the one whose SHA-256 the genesis names."""
    folder = found.ceremony_folder
    assert folder is not None
    wanted = F.text(model.genesis, "ceremony_file_sha256")
    tomls: list[Path] = []
    with contextlib.suppress(OSError):
        tomls = sorted(p for p in folder.iterdir() if p.suffix == ".toml")
    for candidate in tomls:
        try:
            data = _read(candidate, "file", follow_symlinks=False)
        except VerifyError:
            continue  # not a regular file, or too large: not the ceremony file
        if hashlib.sha256(data).hexdigest() == wanted:
            report.add(
                CEREMONY_FILE_CHECK,
                True,
                f"{candidate} is the ceremony file the journal's genesis entry names (SHA-256 "
                f"{wanted})",
            )
            return
    report.not_checkable(
        CEREMONY_FILE_CHECK,
        f"no TOML file in {folder} has the SHA-256 the genesis entry names ({wanted}): the "
        "ceremony file is elsewhere or was changed after the ceremony; compare the reviewed "
        "printout's SHA-256 with the record's cover",
    )


def _evidence(report: Report, check: str, path: Path, what: str) -> bytes | None:
    """The bytes of one evidence file, or None with a failing line saying why it is unread."""
    if not os.path.lexists(path):
        report.add(check, False, f"{path.name} is missing from {path.parent}")
        return None
    try:
        return _read(path, what, follow_symlinks=False)
    except VerifyError as ex:
        report.add(check, False, ex.message)
        return None


def _verify_into(
    report: Report, pdf_path: Path, folder: Path | None, anchor: bytes | None
) -> M.Model | None:
    signed = Signed()
    pdf = _evidence(report, "PDF signature", pdf_path, "record")
    if pdf is not None:
        signed = check_pdf(report, pdf, anchor)

    verified: Verified | None = None
    data: bytes | None = signed.journal_data
    if data is not None:
        verified = _chain(report, "journal hash chain (record)", data)
    sig_data: bytes | None = None
    if folder is not None:
        jpath = journal_path(folder, verified.ceremony_id if verified is not None else None)
        name = jpath.name if os.path.lexists(jpath) else "<ceremony id>.journal.jsonl"
        several = unchained_journals(folder) if not os.path.lexists(jpath) else []
        if len(several) > 1:
            bundle_journal = None
            report.add(
                f"journal hash chain ({name})",
                False,
                f"{folder} holds {len(several)} journals that are not one ceremony and its "
                f"restarts ({', '.join(p.name for p in several)}), and the record names none",
            )
        else:
            bundle_journal = _evidence(report, f"journal hash chain ({name})", jpath, "journal")
        if bundle_journal is not None:
            bundle_verified = _chain(report, f"journal hash chain ({name})", bundle_journal)
            if data is not None:
                if bundle_journal == data:
                    report.add(
                        f"{name} = record's journal",
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
                            f"{name} belongs to ceremony {bundle_verified.ceremony_id},"
                            f" the record to {verified.ceremony_id}"
                        )
                    report.add(f"{name} = record's journal", False, reason)
            if verified is None and bundle_verified is not None:
                # The record's journal is unreadable or broken (its lines fail): the bundle's
                # intact copy still lets the rules and outputs be checked.
                verified, data = bundle_verified, bundle_journal
        sig_path = folder / SIGNATURE_NAME
        if verified is not None and data is not None:
            sig_data = _evidence(
                report, f"{SIGNATURE_NAME} (signed final hash)", sig_path, "journal signature"
            )

    if verified is None or data is None:
        return None
    report.ceremony_id = verified.ceremony_id
    report.final_hash = verified.final_hash
    try:
        model = M.build(verified)
    except RecordError as ex:
        # The chain holds but an entry is not what this tool writes: nothing that reads the
        # ceremony from it (rules, outputs, signer, mode) can be checked.
        report.add("journal content", False, f"{ex.message}; the rules were not checked")
        return None
    report.rehearsal = model.rehearsal
    if signed.page_streams is not None and data is signed.journal_data:
        _content(report, verified, data, signed)
    elif pdf is not None and not any(line.check == CONTENT_CHECK for line in report.lines):
        report.add(
            CONTENT_CHECK,
            False,
            "not checked: the record's signed pages or its embedded journal could not be "
            "read or do not verify (see above)",
        )
    if sig_data is not None:
        _journal_signature(report, sig_data, verified, signed.signer_der, anchor)
    elif folder is None:
        report.add(
            "signed final hash",
            signed.signature_ok,
            "the final hash is printed in the record and covered by its PDF signature"
            + ("" if signed.signature_ok else ", which did not verify"),
        )
    _signer_at_login(report, model, signed.signer_der, sig_data, anchor)
    end = verified.last
    if end.event == journal.FINISHED:
        report.add("ceremony outcome", True, f"finished: {F.text(end.data, 'summary')}")
    else:
        report.add(
            "ceremony outcome",
            False,
            f"ABORTED: {F.text(end.data, 'reason')}; nothing from this ceremony is to be relied on",
        )
    _rules(report, model)
    attempts.report(report, verified.entries)
    accounted = check_restart(report, verified, folder)
    _check_values(report, verified)
    if folder is not None:
        _outputs(report, folder, model, accounted)
    _mixing(report, model, signed.signer_der if pdf is not None else None, sig_data)
    return model


__all__ = ["Line", "Located", "Report", "locate", "verify_evidence"]

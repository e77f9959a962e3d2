"""Signing the evidence with the ceremony key in the HSM: PAdES on the record, and journal.sig.

Two signatures, both by the EC P-256 key ``ceremony-signing`` (``ceremony.hsm.signing``):

- ``record.pdf``: a PAdES B-B certification signature (no changes allowed) made by pyHanko's
  PKCS#11 signer with raw ``CKM_ECDSA`` (SoftHSM 2.6.1 has no ``CKM_ECDSA_SHA256``). It is an
  incremental update, so the signed file starts with the exact bytes ``render_record`` made.
- ``journal.sig``: the journal's final hash signed on its own, so the journal can be checked
  without the PDF (and with ``openssl`` alone, see docs/evidence.md).

One PKCS#11 session: the signer borrows the ceremony's logged-in ``HsmSession`` (pyHanko gets
its python-pkcs11 session from ``HsmSession.pkcs11_session()``), so no second login and no fight
over the one session per token and process the backend allows. Sign before the ceremony
session is closed.

pyHanko is asyncio-based. ``build_signed_record`` and ``sign_pdf`` call ``asyncio.run``, so
they must not run on an event loop's thread: a Textual app calls them from a worker thread
(``run_worker(..., thread=True)``) or awaits ``async_build_signed_record`` instead.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from ceremony.core.ceremony_file import SIGNING_LABEL
from ceremony.core.pem import pem_blocks
from ceremony.core.providers.common import BundleFile
from ceremony.errors import CeremonyError, RecordError, VerifyError
from ceremony.hsm.base import HsmSession, SignatureFormat
from ceremony.record import pdf as record_pdf
from ceremony.record.links import current_journals

if TYPE_CHECKING:
    from pkcs11 import Session

RECORD_NAME = "record.pdf"
SIGNATURE_NAME = "journal.sig"
JOURNAL_NAME = record_pdf.JOURNAL_NAME
STATEMENT_FORMAT = "ceremony journal signature 1"
FIELD_NAME = "CeremonyRecordSignature"


def journal_path(folder: Path, ceremony_id: str | None = None) -> Path:
    """The bundle's journal: ``journal.jsonl``, or the engine's single ``<id>.journal.jsonl``.

    After a restart the folder holds the aborted journals too: the one no other restarts is it.
    Where several are left (two ceremonies in one folder), the one of ``ceremony_id`` (the
    record's) is it; with none named the result does not exist (``unchained_journals`` says why).
    """
    direct = folder / JOURNAL_NAME
    if direct.is_file():
        return direct
    found = unchained_journals(folder)
    named = folder / f"{ceremony_id}.journal.jsonl"
    if ceremony_id is not None and named in found:
        return named
    return found[0] if len(found) == 1 else direct


def unchained_journals(folder: Path) -> list[Path]:
    """The journals in ``folder`` that no other one restarts (one per ceremony chain)."""
    return current_journals(sorted(folder.glob("*.journal.jsonl")))


class RecordSigner(Protocol):
    """A key that signs evidence: its certificate, raw digest signing, and a pyHanko signer."""

    @property
    def certificate_der(self) -> bytes: ...

    def sign_digest(self, digest: bytes) -> bytes:
        """DER ECDSA signature over a SHA-256 digest."""
        ...

    def pyhanko_signer(self) -> Any:
        """A ``pyhanko.sign.signers.Signer`` for the same key and certificate."""
        ...


class HsmSigner:
    """The ceremony signing key in the token, through the ceremony's open session."""

    def __init__(self, session: HsmSession, label: str | None = None) -> None:
        self._session = session
        self.label = label or SIGNING_LABEL
        certificate = session.certificate(self.label)
        if certificate is None:
            raise RecordError(
                f"the token holds no certificate labelled {self.label!r} to sign the record",
                hint="create the signing key and certificate first ('ceremony hsm init' for the "
                "rehearsal token)",
            )
        self._certificate: bytes = certificate

    @property
    def certificate_der(self) -> bytes:
        return self._certificate

    def sign_digest(self, digest: bytes) -> bytes:
        return self._session.sign_digest(self.label, digest, SignatureFormat.DER)

    def pyhanko_signer(self) -> Any:
        from pyhanko.sign.pkcs11 import PKCS11Signer

        return PKCS11Signer(
            # The PKCS#11 backend's session is a python-pkcs11 Session; the fake has none.
            cast("Session", self._session.pkcs11_session()),
            key_label=self.label,
            signing_cert=asn1_x509.Certificate.load(self._certificate),
            use_raw_mechanism=True,
            # The certificate is self-signed: as a "root" pyHanko would embed it a second
            # time, and a copy no validator checks can be altered unnoticed by some readers.
            embed_roots=False,
        )


# ---- journal.sig -----------------------------------------------------------------------------


@dataclass(frozen=True)
class JournalSignature:
    """The signed statement about a journal, its ECDSA signature and the signer's certificate."""

    ceremony_id: str
    entries: int
    final_hash: str
    rehearsal: bool
    signature_der: bytes
    certificate_der: bytes

    @staticmethod
    def statement_for(ceremony_id: str, entries: int, final_hash: str, rehearsal: bool) -> bytes:
        return (
            f"{STATEMENT_FORMAT}\n"
            f"ceremony: {ceremony_id}\n"
            f"entries: {entries}\n"
            f"final-hash: {final_hash}\n"
            f"mode: {'rehearsal' if rehearsal else 'production'}\n"
        ).encode("ascii")

    @property
    def statement(self) -> bytes:
        """The exact bytes whose SHA-256 is signed."""
        return self.statement_for(self.ceremony_id, self.entries, self.final_hash, self.rehearsal)

    @property
    def certificate_sha256(self) -> str:
        return hashlib.sha256(self.certificate_der).hexdigest()

    def to_bytes(self) -> bytes:
        def block(kind: str, body: bytes) -> str:
            text = base64.encodebytes(body).decode("ascii")
            return f"-----BEGIN {kind}-----\n{text}-----END {kind}-----\n"

        statement = self.statement.decode("ascii")
        return (
            f"-----BEGIN CEREMONY JOURNAL STATEMENT-----\n{statement}"
            "-----END CEREMONY JOURNAL STATEMENT-----\n"
            + block("ECDSA SHA256 SIGNATURE", self.signature_der)
            + block("CERTIFICATE", self.certificate_der)
        ).encode("ascii")

    @classmethod
    def parse(cls, data: bytes) -> JournalSignature:
        """Read a ``journal.sig``; VerifyError when it is not one."""
        bad = VerifyError(
            f"{SIGNATURE_NAME} is not a journal signature of this tool",
            hint="use the journal.sig written beside record.pdf",
        )
        try:
            data.decode("ascii")
        except UnicodeDecodeError:
            raise bad from None
        blocks = {k: v.decode("ascii") for k, v in pem_blocks(data, line_end=b"\n")}
        if set(blocks) != {"CEREMONY JOURNAL STATEMENT", "ECDSA SHA256 SIGNATURE", "CERTIFICATE"}:
            raise bad
        fields = {}
        lines = blocks["CEREMONY JOURNAL STATEMENT"].splitlines()
        if not lines or lines[0] != STATEMENT_FORMAT:
            raise bad
        for line in lines[1:]:
            name, sep, value = line.partition(": ")
            if not sep or name in fields:
                raise bad
            fields[name] = value
        if set(fields) != {"ceremony", "entries", "final-hash", "mode"}:
            raise bad
        entries = fields["entries"]
        if not (entries.isascii() and entries.isdigit() and len(entries) <= 9):
            raise bad
        if fields["mode"] not in ("rehearsal", "production"):
            raise bad
        if not re.fullmatch(r"[0-9a-f]{64}", fields["final-hash"]):
            raise bad
        try:
            signature = base64.b64decode(blocks["ECDSA SHA256 SIGNATURE"], validate=False)
            certificate = base64.b64decode(blocks["CERTIFICATE"], validate=False)
        except ValueError:
            raise bad from None
        parsed = cls(
            fields["ceremony"],
            int(fields["entries"]),
            fields["final-hash"],
            fields["mode"] == "rehearsal",
            signature,
            certificate,
        )
        if parsed.statement.decode("ascii") != blocks["CEREMONY JOURNAL STATEMENT"]:
            raise bad
        return parsed

    def verify(self) -> None:
        """Raise VerifyError unless the signature over the statement verifies with the cert."""
        try:
            cert = x509.load_der_x509_certificate(self.certificate_der)
        except ValueError as ex:
            raise VerifyError(
                f"the certificate in {SIGNATURE_NAME} does not parse", hint="the file is damaged"
            ) from ex
        public = cert.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise VerifyError(
                f"the certificate in {SIGNATURE_NAME} is not an EC key",
                hint="journal signatures are ECDSA P-256",
            )
        try:
            public.verify(self.signature_der, self.statement, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError) as ex:
            raise VerifyError(
                f"the signature in {SIGNATURE_NAME} does not verify over its statement",
                hint="the statement or the signature was altered, or another key signed it",
            ) from ex


def sign_journal(journal_data: bytes, signer: RecordSigner) -> JournalSignature:
    """Sign a closed, intact journal's final hash (RecordError if the journal does not verify)."""
    verified = record_pdf.verified_journal(journal_data)
    rehearsal = verified.entries[0].data.get("rehearsal") is True
    statement = JournalSignature.statement_for(
        verified.ceremony_id, len(verified.entries), verified.final_hash, rehearsal
    )
    signature = signer.sign_digest(hashlib.sha256(statement).digest())
    result = JournalSignature(
        verified.ceremony_id,
        len(verified.entries),
        verified.final_hash,
        rehearsal,
        signature,
        signer.certificate_der,
    )
    result.verify()  # what the token signed is checked before anything is written
    return result


# ---- PAdES -----------------------------------------------------------------------------------


def _metadata(ceremony_id: str, location: str) -> Any:
    from pyhanko.sign import fields
    from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata

    return PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        reason=f"ceremony record {ceremony_id}",
        location=location,
    )


async def async_sign_pdf(
    pdf_data: bytes, signer: RecordSigner, *, ceremony_id: str, location: str = "offline"
) -> bytes:
    """The PDF with a PAdES B-B certification signature appended (incremental update)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf_data), strict=True)
        output = io.BytesIO()
        await signers.async_sign_pdf(
            writer,
            _metadata(ceremony_id, location),
            signer=signer.pyhanko_signer(),
            output=output,
        )
    except CeremonyError:
        raise
    except Exception as ex:  # pyHanko and PKCS#11 raise many types; one boundary here
        raise RecordError(
            f"signing the record failed ({type(ex).__name__})",
            hint="check that the token is present and the ceremony session is still open",
        ) from ex
    signed = output.getvalue()
    if not signed.startswith(pdf_data):
        raise RecordError("the signed record does not extend the rendered one", hint="a bug")
    return signed


def sign_pdf(
    pdf_data: bytes, signer: RecordSigner, *, ceremony_id: str, location: str = "offline"
) -> bytes:
    """Synchronous ``async_sign_pdf``; never call it on an event loop's thread."""
    return asyncio.run(async_sign_pdf(pdf_data, signer, ceremony_id=ceremony_id, location=location))


# ---- the whole step ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedRecord:
    """``record.pdf`` and ``journal.sig`` for one journal, ready to be written."""

    record_pdf: bytes
    journal_signature: JournalSignature

    def files(self) -> list[BundleFile]:
        return [
            BundleFile(RECORD_NAME, self.record_pdf),
            BundleFile(SIGNATURE_NAME, self.journal_signature.to_bytes()),
        ]


async def async_build_signed_record(
    journal_data: bytes, signer: RecordSigner, *, location: str | None = None
) -> SignedRecord:
    """Render the record from the journal, sign it (PAdES) and sign the final hash."""
    journal_signature = sign_journal(journal_data, signer)
    unsigned = record_pdf.render_record(journal_data, signer.certificate_der)
    verified = record_pdf.verified_journal(journal_data)
    site = verified.entries[0].data.get("site")
    signed = await async_sign_pdf(
        unsigned,
        signer,
        ceremony_id=verified.ceremony_id,
        location=location or (site if isinstance(site, str) else "offline"),
    )
    return SignedRecord(signed, journal_signature)


def build_signed_record(
    journal_data: bytes, signer: RecordSigner, *, location: str | None = None
) -> SignedRecord:
    """Synchronous ``async_build_signed_record`` (calls ``asyncio.run``: use a worker thread)."""
    return asyncio.run(async_build_signed_record(journal_data, signer, location=location))


def write_signed_record(folder: Path | str, record: SignedRecord) -> list[Path]:
    """Write ``record.pdf`` and ``journal.sig`` into an existing bundle folder; never overwrite."""
    from ceremony.output import remove_partials, write_bundle

    remove_partials(Path(folder))  # what a write killed before left (never a final name)
    return write_bundle(Path(folder), record.files(), create_root=False)


def write_missing_half(folder: Path, record: SignedRecord, missing: str) -> list[Path]:
    """Only the file a stop between the two writes left out (``missing_half``)."""
    from ceremony.output import remove_partials, write_bundle

    remove_partials(folder)
    files = [f for f in record.files() if f.name == missing]
    return write_bundle(folder, files, create_root=False)

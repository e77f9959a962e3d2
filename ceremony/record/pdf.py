"""The ceremony record (``record.pdf``), built from the journal bytes and nothing else.

Inputs: the journal as written by the engine, and the signing certificate the record will be
signed with (its subject and SHA-256 are printed, so a paper copy names its signer). The PDF is
built in memory with ``invariant=True``: the same journal and certificate give the same bytes,
which is what lets ``ceremony verify`` render the record again and compare it page by page. The
journal itself is embedded as the file attachment ``journal.jsonl``.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ceremony.core import journal
from ceremony.core.journal import JournalVerifyError, JsonValue, Verified
from ceremony.errors import RecordError
from ceremony.record import fields as F
from ceremony.record import layout as L
from ceremony.record import model as M
from ceremony.record import pdf_keys
from ceremony.record.model import Model

LAYOUT = "ceremony record layout 1"
JOURNAL_NAME = "journal.jsonl"
# A preflight line as the HSM layer journals it: "can    <what>" or "cannot <what>".
_PREFLIGHT_LINE = re.compile(r"(?P<can>can|cannot)\s*:?\s+(?P<what>.+)", re.DOTALL)
PAGE, MARGIN, WIDTH = L.PAGE, L.MARGIN, L.WIDTH


def preflight_rows(lines: list[str]) -> list[tuple[str, str]]:
    """(verdict, what) per journaled preflight line; a line of another shape keeps no verdict."""
    rows = []
    for line in lines:
        verdict = _PREFLIGHT_LINE.match(line)
        rows.append((verdict["can"], verdict["what"].strip()) if verdict else ("", line))
    return rows


_TYPE_TEXT = {
    "generate-export": "generate keys inside the HSM and export them wrapped for cloud import",
    "re-wrap": "wrap keys already in the HSM again for new cloud targets",
    "split-backup": "split keys into components for custodians to keep as a backup",
    "reconstitute": "rebuild keys from custodians' components",
    "re-split": "rebuild keys from their components and split them again",
    "destroy": "destroy keys in the HSM",
}

AUDITOR_CHECKS = (
    "Run <b>ceremony verify</b> on this PDF (or on the whole bundle folder) on an offline "
    "machine, with <b>--trust-anchor</b> set to the ceremony certificate from the HSM inventory. "
    "Every line must read PASS.",
    "The certificate SHA-256 printed on the cover equals the one in the HSM inventory and on the "
    "paper copy signed in the room.",
    "The final hash above, read as words, equals the words read aloud and signed at the close "
    "of the ceremony.",
    "Every manual clear-text operation (section 6) has two distinct approvers, present at roll "
    "call, and not only the custodian concerned.",
    "No custodian received or entered more than one component of an XOR set, or more than k-1 "
    "shares of a Shamir set.",
    "Envelope serials in section 4 match the envelope log; every envelope was intact.",
    "Each failed attempt (section 6) is explained by the people named, and no step went on "
    "after its limit of tries.",
    "The SHA-256 of each output file (section 5) matches the file delivered to the provider.",
    "A REHEARSAL record is never evidence for a production key, and the reverse.",
)


_TRUSTED_WRAP = {
    "required": "CKA_WRAP_WITH_TRUSTED required: extractable keys leave the token only under "
    "keys the security officer trusted",
    "not-enforced-by-token": "CKA_WRAP_WITH_TRUSTED NOT enforced by this token (stated in the "
    "ceremony file): extractable keys were wrapped under untrusted import keys",
}


@dataclass(frozen=True)
class SignerInfo:
    """What the record prints about the certificate that will sign it."""

    subject: str
    sha256: str
    not_after: str

    @classmethod
    def of(cls, certificate_der: bytes | None) -> SignerInfo | None:
        if certificate_der is None:
            return None
        try:
            cert = x509.load_der_x509_certificate(certificate_der)
        except ValueError as ex:
            raise RecordError(
                "the signing certificate does not parse",
                hint="pass the DER certificate stored next to the signing key",
            ) from ex
        return cls(
            cert.subject.rfc4514_string(),
            hashlib.sha256(certificate_der).hexdigest(),
            cert.not_valid_after_utc.strftime("%Y-%m-%d"),
        )


def verified_journal(journal_data: bytes) -> Verified:
    """The journal, verified and closed (finished or aborted); RecordError otherwise."""
    try:
        return journal.verify(journal_data, require_closed=True)
    except JournalVerifyError as ex:
        raise RecordError(
            f"no record is made from a journal that does not verify: {ex.message}",
            hint="the record shows a closed, intact journal only; keep the file as evidence",
        ) from ex


def render_record(journal_data: bytes, certificate_der: bytes | None = None) -> bytes:
    """The record's PDF bytes (unsigned). Same inputs, same bytes."""
    model = M.build(verified_journal(journal_data))
    signer = SignerInfo.of(certificate_der)
    first = _Renderer(model, journal_data, signer, total=None)
    first.render()
    final = _Renderer(model, journal_data, signer, total=first.pages)
    return final.render()


_time = L.time_text
_groups = L.hex_groups


_words = L.hex_words


class _Renderer:
    def __init__(
        self, model: Model, journal_data: bytes, signer: SignerInfo | None, total: int | None
    ) -> None:
        self.m = model
        self.journal_data = journal_data
        self.signer = signer
        self.total = total
        self.pages = 0

    # -- page furniture

    def _page(self, canvas: Canvas, doc: Any) -> None:
        number = canvas.getPageNumber()
        self.pages = max(self.pages, number)
        if number == 1:
            L.attach_file(
                canvas,
                JOURNAL_NAME,
                self.journal_data,
                f"journal of ceremony {L.clean(self.m.ceremony_id)} (JSON Lines, hash-chained)",
            )
        width, height = PAGE
        canvas.saveState()
        canvas.setFillColor(L.MUTED)
        canvas.setFont(L.SANS, 7.5)
        mode = "REHEARSAL" if self.m.rehearsal else "PRODUCTION"
        canvas.drawString(
            MARGIN,
            height - 10 * mm,
            L.clean(f"Ceremony record  {self.m.ceremony_id}  ({self.m.ceremony_type}, {mode})"),
        )
        total = f" of {self.total}" if self.total else ""
        canvas.drawRightString(width - MARGIN, height - 10 * mm, f"page {number}{total}")
        L.hr(canvas, MARGIN, width - MARGIN, height - 11.5 * mm, 0.4)
        L.hr(canvas, MARGIN, width - MARGIN, 12.5 * mm, 0.4)
        canvas.drawString(
            MARGIN, 9 * mm, f"journal final hash {_groups(self.m.final_hash)[:39]} ..."
        )
        canvas.drawRightString(width - MARGIN, 9 * mm, LAYOUT)
        canvas.restoreState()
        if self.m.rehearsal:
            L.watermark(canvas, width, height)

    def render(self) -> bytes:
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=PAGE,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=16 * mm,
            bottomMargin=17 * mm,
            invariant=True,
            pageCompression=1,
            title=L.clean(f"Ceremony record {self.m.ceremony_id}"),
            author="ceremony",
            subject=L.clean(
                f"{LAYOUT}; ceremony {self.m.ceremony_id}; "
                f"{'REHEARSAL' if self.m.rehearsal else 'PRODUCTION'}"
            ),
            creator=LAYOUT,
            keywords=["ceremony record", "REHEARSAL" if self.m.rehearsal else "PRODUCTION"],
        )
        page: Callable[[Canvas, Any], None] = self._page
        doc.build(self.story(), onFirstPage=page, onLaterPages=page)
        return buffer.getvalue()

    # -- the story

    def story(self) -> list[Any]:
        story: list[Any] = []
        story += self.cover()
        story.append(PageBreak())
        story += self.participants()
        story += self.environment()
        story += self.keys()
        story += self.targets()
        story += self.dual_control()
        story += self.step_log()
        story.append(PageBreak())
        story += self.close()
        return story

    def cover(self) -> list[Any]:
        m = self.m
        g = m.genesis
        mode = "REHEARSAL - not evidence for a production key" if m.rehearsal else "PRODUCTION"
        out: list[Any] = [
            Spacer(1, 8 * mm),
            L.markup("Key ceremony record", L.H1),
            L.para(
                _TYPE_TEXT.get(m.ceremony_type, m.ceremony_type),
                L.style("sub", fontSize=12, leading=15, textColor=L.MUTED),
            ),
            Spacer(1, 6 * mm),
        ]
        attested = "not attested"
        if m.attested is not None:
            attested = (
                f"{_time(F.text(m.attested, 'attested_time'))} read from an independent clock by "
                f"{', '.join(F.texts(m.attested, 'attested_by'))}; system clock "
                f"{_time(F.text(m.attested, 'system_time'))}"
            )
        end = m.last
        ended = f"{_time(end.time)} ({'finished' if end.event == journal.FINISHED else 'ABORTED'})"
        signer = (
            f"{self.signer.subject}; certificate SHA-256 {_groups(self.signer.sha256)}; "
            f"valid to {self.signer.not_after}"
            if self.signer
            else "none: this is an unsigned draft"
        )
        rows: list[tuple[str, Any]] = [
            ("Ceremony id", m.ceremony_id),
            ("Type", m.ceremony_type),
            ("Mode", mode),
            ("Site", F.text(g, "site")),
            ("Purpose", F.text(g, "purpose")),
            ("Started (system clock)", _time(F.text(g, "system_time"))),
            ("Wall clock attested", attested),
            ("Ended", ended),
            ("Workstation", F.text(g, "workstation")),
            ("Tool version", F.text(g, "tool_version")),
            (
                "Ceremony file SHA-256",
                L.para(_groups(F.text(g, "ceremony_file_sha256")), L.CELL_MONO),
            ),
            ("Journal", f"{len(m.entries)} entries, embedded in this PDF as {JOURNAL_NAME}"),
            ("Journal final hash", L.para(_groups(m.final_hash), L.CELL_MONO)),
            ("Signed by", signer),
            ("Record layout", LAYOUT),
        ]
        rows[1:1] = self._restart_rows()
        out.append(L.pairs(rows, (45 * mm, WIDTH - 45 * mm)))
        out.append(Spacer(1, 6 * mm))
        summary = F.text(end.data, "summary" if end.event == journal.FINISHED else "reason")
        out.append(L.markup("Outcome", L.H3))
        out.append(L.para(summary, L.BODY))
        manual = [c for c in m.clear_operations if c.manual_cleartext]
        broken = m.failures
        out.append(Spacer(1, 3 * mm))
        out.append(L.markup("Rules", L.H3))
        verdict = (
            f"{len(manual)} manual clear-text operation(s), "
            f"{len(m.clear_operations) - len(manual)} destruction(s); "
            + (
                "every one approved by two distinct people; no split-knowledge rule broken."
                if not broken
                else f"{len(broken)} RULE BREACH(ES), listed in section 6."
            )
            + f" {len(m.attempts) or 'No'} failed attempt(s) (wrong PIN, passphrase, KCV or "
            "serial)"
            + (
                f", and {len(m.earlier_attempts)} in the aborted attempt(s) this ceremony restarts"
                if m.earlier_attempts
                else ""
            )
            + ", listed in section 6."
        )
        out.append(L.para(verdict, L.style("verdict", textColor=L.ALERT if broken else L.INK)))
        out.append(Spacer(1, 6 * mm))
        out.append(
            L.markup(
                "Sections: 1 cover, 2 participants, 3 environment, 4 keys, 5 targets and outputs, "
                "6 dual control, split knowledge and failed attempts, 7 step log, 8 close (final "
                "hash, what an auditor should check, signatures). This record is built from the "
                "journal alone and signed with the ceremony key held in the HSM.",
                L.NOTE,
            )
        )
        return out

    def _restart_rows(self) -> list[tuple[str, Any]]:
        """A restart names the aborted ceremony it follows and what it destroyed or voided."""
        link = self.m.restarts
        if link is None:
            return []
        aborted = (
            f"ceremony {F.text(link, 'ceremony')}, ABORTED: its journal {F.text(link, 'journal')} "
            f"({F.text(link, 'entries')} entries) ends with final hash "
            f"{_groups(F.text(link, 'final_hash'))}; nothing of it is to be relied on"
        )
        done = "; ".join(f"{line} (entry {seq})" for seq, line in self.m.recovery) or "nothing"
        return [
            ("Restart of", L.para(aborted, L.CELL)),
            ("Recovery", L.para(done, L.CELL)),
        ]

    def participants(self) -> list[Any]:
        m = self.m
        out: list[Any] = [L.markup("2. Participants", L.H2)]
        rows: list[list[Any]] = [["id", "name", "role", "identity checked", "roll call"]]
        for p in m.participants:
            rows.append([p.id, p.name, p.role, p.id_reference, f"entry {p.seq}"])
        if len(rows) == 1:
            rows.append(["-", "nobody answered the roll call", "", "", ""])
        out.append(L.grid(rows, [26 * mm, 42 * mm, 32 * mm, 52 * mm, 28 * mm]))
        out.append(Spacer(1, 4 * mm))
        out.append(
            L.markup(
                "Each participant signs below to confirm they were present, showed the identity "
                "document listed above and took the role shown.",
                L.NOTE,
            )
        )
        out.append(Spacer(1, 2 * mm))
        for p in m.participants:
            out.append(self._signature_line(f"{p.name} ({p.role})"))
        return out

    def _signature_line(self, who: str) -> Table:
        table = Table(
            [
                [L.para(who, L.CELL), "", ""],
                ["", L.para("signature", L.NOTE), L.para("date", L.NOTE)],
            ],
            colWidths=[60 * mm, 80 * mm, 40 * mm],
            rowHeights=[9 * mm, 4 * mm],
        )
        table.setStyle(
            TableStyle(
                [
                    ("LINEBELOW", (1, 0), (1, 0), 0.5, L.INK),
                    ("LINEBELOW", (2, 0), (2, 0), 0.5, L.INK),
                    ("VALIGN", (0, 0), (-1, 0), "BOTTOM"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ]
            )
        )
        return table

    def _signer_at_login(self, d: Mapping[str, JsonValue]) -> Any:
        """The certificate the token held at login, and whether it is the one signing this."""
        if "signing_certificate_sha256" not in d:
            return "not recorded at login (a journal made before the tool recorded it)"
        value = d["signing_certificate_sha256"]
        if not isinstance(value, str):
            return L.para("none on the token at login", L.style("a", textColor=L.ALERT))
        cn = d.get("signing_certificate_cn")
        named = f"{cn}, " if isinstance(cn, str) else ""
        if self.signer is None:
            verdict = ""
        elif self.signer.sha256 == value:
            verdict = " (the certificate signing this record)"
        else:
            verdict = " (NOT the certificate signing this record)"
        return f"{named}SHA-256 {_groups(value)}{verdict}"

    def environment(self) -> list[Any]:
        m = self.m
        out: list[Any] = [CondPageBreak(60 * mm), L.markup("3. Environment", L.H2)]
        out.append(L.markup("Air gap", L.H3))
        if not m.airgap:
            out.append(L.para("No air-gap check was journaled.", L.style("a", textColor=L.ALERT)))
        for seq, d in m.airgap:
            isolated = d.get("isolated") is True
            rows: list[tuple[str, Any]] = [
                ("Result", "isolated" if isolated else "NOT ISOLATED"),
                ("Findings", "; ".join(F.texts(d, "findings")) or "-"),
                ("Entry", str(seq)),
            ]
            if "override_by" in d:
                rows.append(("Override by", ", ".join(m.who(o) for o in F.texts(d, "override_by"))))
            out.append(L.pairs(rows, (35 * mm, WIDTH - 35 * mm)))
        out.append(L.markup("HSM", L.H3))
        if not m.hsm:
            out.append(L.para("No HSM session was opened in this ceremony.", L.NOTE))
        for seq, d in m.hsm:
            rows = [
                ("Model", F.text(d, "model")),
                ("Manufacturer", F.text(d, "manufacturer")),
                ("Serial", F.text(d, "serial")),
                ("Firmware", F.text(d, "firmware")),
                ("Library", F.text(d, "library")),
                ("Module", F.text(d, "module")),
                ("Token label", F.text(d, "token_label")),
                (
                    "Login",
                    f"{F.text(d, 'login')} by "
                    + ", ".join(m.who(o) for o in F.texts(d, "officers")),
                ),
                ("Signing certificate", self._signer_at_login(d)),
            ]
            if "trusted_wrap" in d:
                rows.append(("Wrap policy", _TRUSTED_WRAP.get(F.text(d, "trusted_wrap"), "?")))
            rows.append(("Entry", str(seq)))
            out.append(L.pairs(rows, (35 * mm, WIDTH - 35 * mm)))
            lines = F.texts(d, "preflight")
            if lines:
                out.append(Spacer(1, 2 * mm))
                verdicts = preflight_rows(lines)
                prows: list[list[Any]] = [["", "mechanism preflight (probed with throw-away keys)"]]
                prows += [[can, what] for can, what in verdicts]
                alerts = [i for i, (can, _) in enumerate(verdicts, start=1) if can == "cannot"]
                out.append(L.grid(prows, [18 * mm, WIDTH - 18 * mm], alert_rows=alerts))
        for seq, d in m.signing:
            out.append(L.markup("Record signing key", L.H3))
            made = d.get("created") is True
            rows = [
                ("Key label", F.text(d, "key_label")),
                (
                    "Token",
                    f"{F.text(d, 'model')} serial {F.text(d, 'serial')}, token "
                    f"{F.text(d, 'token_label')}",
                ),
                ("Subject", F.text(d, "subject")),
                ("Certificate", self._signer_at_login(d)),
                (
                    "Created",
                    "in this ceremony, approved by "
                    + ", ".join(m.who(a) for a in F.texts(d, "approved_by"))
                    if made
                    else "no: it existed before this ceremony",
                ),
                ("Entry", str(seq)),
            ]
            out.append(L.pairs(rows, (35 * mm, WIDTH - 35 * mm)))
        out.append(L.markup("Randomness", L.H3))
        if not m.random_sources:
            out.append(L.para("No random source was journaled.", L.NOTE))
        for seq, source in m.random_sources:
            out.append(L.para(f"{source} (entry {seq})", L.BODY))
        if m.printers:  # only ceremonies that printed component forms have this part
            out.append(L.markup("Printer", L.H3))
        for seq, event, d in m.printers:
            if event == "printer_checked":
                rows = [
                    ("Queue", F.text(d, "printer")),
                    ("Device", F.text(d, "device_uri")),
                    ("Kind", F.text(d, "kind")),
                    ("Entry", str(seq)),
                ]
            else:
                rows = [
                    ("Override", f"network printer {F.text(d, 'printer')} allowed"),
                    ("Approved by", ", ".join(m.who(o) for o in F.texts(d, "approvers"))),
                    ("Entry", str(seq)),
                ]
            out.append(L.pairs(rows, (35 * mm, WIDTH - 35 * mm)))
        return out

    def keys(self) -> list[Any]:
        return pdf_keys.keys(self.m)

    def targets(self) -> list[Any]:
        return pdf_keys.targets(self.m)

    def dual_control(self) -> list[Any]:
        m = self.m
        out: list[Any] = [
            CondPageBreak(50 * mm),
            L.markup("6. Dual control, split knowledge and failed attempts", L.H2),
            L.markup(
                "Each manual clear-text key operation (PCI DSS 3.6.6 / 4.0 3.7.6) and each key "
                "destruction, with the approval that covered it.",
                L.NOTE,
            ),
            Spacer(1, 2 * mm),
        ]
        rows: list[list[Any]] = [
            ["entry", "operation", "subject", "approval", "approvers", "result"]
        ]
        alerts: list[int] = []
        for i, c in enumerate(m.clear_operations, start=1):
            rows.append(
                [
                    str(c.seq),
                    f"{c.event}\n({c.operation})" if c.manual_cleartext else c.event,
                    c.subject + (f"\ncustodian {c.custodian}" if c.custodian else ""),
                    f"entry {c.approval_seq}" if c.approval_seq is not None else "none",
                    ", ".join(m.who(a) for a in c.approvers) or "-",
                    ("PASS" if c.ok else "FAIL: ") + ("" if c.ok else c.reason),
                ]
            )
            if not c.ok:
                alerts.append(i)
        if len(rows) == 1:
            rows.append(["-", "none in this ceremony", "", "", "", ""])
        out.append(
            L.grid(
                [[r.replace("\n", " ") if isinstance(r, str) else r for r in row] for row in rows],
                [12 * mm, 36 * mm, 34 * mm, 16 * mm, 50 * mm, 32 * mm],
                alert_rows=alerts,
            )
        )
        out.append(L.markup("Rules checked", L.H3))
        frows: list[list[Any]] = [["rule", "result", "detail"]]
        falerts: list[int] = []
        for i, f in enumerate(m.findings, start=1):
            frows.append([f.rule, "PASS" if f.ok else "FAIL", f.detail])
            if not f.ok:
                falerts.append(i)
        if len(frows) == 1:
            frows.append(["-", "-", "no rule applied: nothing in clear, nothing destroyed"])
        out.append(L.grid(frows, [28 * mm, 14 * mm, WIDTH - 42 * mm], alert_rows=falerts))
        out += self.failed_attempts()
        return out

    def failed_attempts(self) -> list[Any]:
        m = self.m
        out: list[Any] = [
            L.markup("Failed attempts", L.H3),
            L.markup(
                "Every wrong PIN, approval passphrase, KCV and envelope serial, and every "
                "refused import key, as journaled; never the value typed. The tool stops a step "
                "at its own limit of tries, whatever a token reports (see the rules above).",
                L.NOTE,
            ),
        ]
        out.append(self._attempts_grid(m.attempts, "none in this ceremony"))
        for ceremony in dict.fromkeys(a.ceremony for a in m.earlier_attempts):
            out.append(
                L.markup(
                    f"Failed attempts of the aborted ceremony {ceremony}, as this ceremony's "
                    "restart entry repeats them from its journal ('ceremony verify' compares).",
                    L.NOTE,
                )
            )
            earlier = [a for a in m.earlier_attempts if a.ceremony == ceremony]
            out.append(self._attempts_grid(earlier, "none"))
        return out

    def _attempts_grid(self, attempts: list[Any], none: str) -> Any:
        m = self.m
        rows: list[list[Any]] = [["entry", "time", "what", "step", "by", "tries left", "token"]]
        alerts: list[int] = []
        for i, a in enumerate(attempts, start=1):
            who = ", ".join(m.who(p) for p in a.participants) or "?"
            rows.append(
                [str(a.seq), a.time[11:19], a.what, a.step, who, a.left, a.token_reports or "-"]
            )
            if a.tries_left == 0:
                alerts.append(i)
        if len(rows) == 1:
            rows.append(["-", "", none, "", "", "", ""])
        widths = [11 * mm, 14 * mm, 30 * mm, 38 * mm, 35 * mm, 14 * mm, WIDTH - 142 * mm]
        return L.grid(rows, widths, alert_rows=alerts)

    def step_log(self) -> list[Any]:
        m = self.m
        out: list[Any] = [
            CondPageBreak(90 * mm),
            L.markup("7. Step log", L.H2),
            L.markup(
                "Every journal entry in order. Rows shaded and marked MANUAL CLEAR-TEXT are "
                "manual clear-text key operations; the rules column shows what was checked.",
                L.NOTE,
            ),
            Spacer(1, 2 * mm),
        ]
        day = m.entries[0].time[:10]
        rows: list[list[Any]] = [["#", "time (UTC)", "event", "actors", "what", "rules checked"]]
        shaded: list[int] = []
        alerts: list[int] = []
        for i, s in enumerate(m.steps, start=1):
            when = s.time[11:19] if s.time[:10] == day else _time(s.time)
            what = ("MANUAL CLEAR-TEXT: " if s.manual_cleartext else "") + s.summary
            rows.append(
                [str(s.seq), when, s.event, ", ".join(s.actors) or "-", what, "; ".join(s.rules)]
            )
            if s.manual_cleartext:
                shaded.append(i)
            if any("BROKEN" in r for r in s.rules) or s.event in (
                journal.ABORTED,
                "step_failed",
                "attempt_failed",
            ):
                alerts.append(i)
        out.append(
            L.grid(
                rows,
                [8 * mm, 15 * mm, 27 * mm, 30 * mm, 68 * mm, 32 * mm],
                shade_rows=shaded,
                alert_rows=alerts,
            )
        )
        out.append(L.markup(f"All times UTC on {day} unless a date is shown.", L.NOTE))
        return out

    def close(self) -> list[Any]:
        m = self.m
        out: list[Any] = [L.markup("8. Close", L.H2)]
        payload = f"ceremony {m.ceremony_id} journal sha256 {m.final_hash}"
        words = _words(m.final_hash)
        left: list[Any] = [
            L.para("Journal final hash (SHA-256 of entry " + str(m.last.seq) + ")", L.CELL_BOLD),
            L.para(
                _groups(m.final_hash),
                L.style("hash", fontName=L.MONO_BOLD, fontSize=10, leading=13),
            ),
            Spacer(1, 2 * mm),
            L.para("as words, read aloud and compared in the room", L.CELL_BOLD),
            Paragraph(
                "<br/>".join(L.esc(w) for w in words),
                L.style("w", fontName=L.MONO, fontSize=9, leading=11.5),
            ),
        ]
        table = Table(
            [[left, L.QrFlowable(payload, 42 * mm)]],
            colWidths=[WIDTH - 48 * mm, 48 * mm],
        )
        table.setStyle(
            TableStyle(
                [
                    ("BOX", (0, 0), (-1, -1), 0.6, L.INK),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("ALIGN", (1, 0), (1, 0), "CENTER"),
                    ("TOPPADDING", (0, 0), (-1, -1), 5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
                ]
            )
        )
        out.append(table)
        out.append(L.markup("The QR code holds: ceremony id and the final hash in hex.", L.NOTE))
        out.append(L.markup("What an auditor should check", L.H3))
        for n, line in enumerate(AUDITOR_CHECKS, start=1):
            out.append(
                L.markup(
                    f"{n}. {line}",
                    L.style(
                        f"chk{n}", fontSize=8.5, leading=10.5, leftIndent=10, firstLineIndent=-10
                    ),
                )
            )
        out.append(CondPageBreak(70 * mm))
        out.append(L.markup("Signatures", L.H3))
        out.append(
            L.markup(
                "We confirm that this record reflects the ceremony as it took place and that the "
                "final hash above is the one read aloud at the close.",
                L.NOTE,
            )
        )
        signers = [p for p in m.participants if p.role in ("security-officer", "witness")]
        for p in signers:
            out.append(self._signature_line(f"{p.name} ({p.role})"))
        if not signers:
            out.append(self._signature_line("security officer"))
            out.append(self._signature_line("witness"))
        return out


__all__ = ["AUDITOR_CHECKS", "JOURNAL_NAME", "LAYOUT", "SignerInfo", "render_record"]

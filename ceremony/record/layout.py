"""Shared reportlab pieces: styles, safe text, QR codes drawn as vectors, watermark, attachments.

Everything here is deterministic: the same input gives the same drawing instructions, so a
record built with ``invariant=True`` is byte-identical for the same journal. Only the 14
standard PDF fonts are used (nothing to embed, nothing read from the machine); text outside
their WinAnsi (cp1252) repertoire is shown as ``<U+XXXX>`` rather than dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

import qrcode
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

from ceremony.core import journal

SANS = "Helvetica"
SANS_BOLD = "Helvetica-Bold"
MONO = "Courier"
MONO_BOLD = "Courier-Bold"

INK = colors.HexColor("#1a1a1a")
MUTED = colors.HexColor("#555555")
RULE = colors.HexColor("#999999")
SHADE = colors.HexColor("#eeeeee")
ALERT = colors.HexColor("#b00020")
MANUAL = colors.HexColor("#fff1d6")
PASS_COLOUR = colors.HexColor("#1b5e20")


def clean(value: object) -> str:
    """Text the standard fonts can draw: cp1252 as is, anything else as ``<U+XXXX>``."""
    out: list[str] = []
    for ch in str(value):
        try:
            ch.encode("cp1252")
        except UnicodeEncodeError:
            out.append(f"<U+{ord(ch):04X}>")
            continue
        out.append(ch if ch.isprintable() else " ")
    return "".join(out)


def esc(value: object) -> str:
    """Clean text escaped for a Paragraph's mini-markup."""
    return escape(clean(value))


def style(name: str, **kw: Any) -> ParagraphStyle:
    base: dict[str, Any] = {
        "fontName": SANS,
        "fontSize": 9,
        "leading": 11.5,
        "textColor": INK,
        "alignment": TA_LEFT,
    }
    base.update(kw)
    return ParagraphStyle(name, **base)


BODY = style("body")
SMALL = style("small", fontSize=7.5, leading=9.2)
SMALL_MONO = style("smallmono", fontName=MONO, fontSize=7.5, leading=9.2)
MONO_BODY = style("mono", fontName=MONO, fontSize=9, leading=11.5)
CELL = style("cell", fontSize=8, leading=9.8)
CELL_BOLD = style("cellbold", fontName=SANS_BOLD, fontSize=8, leading=9.8)
CELL_MONO = style("cellmono", fontName=MONO, fontSize=7.5, leading=9.5)
H1 = style("h1", fontName=SANS_BOLD, fontSize=20, leading=24, spaceAfter=4)
H2 = style("h2", fontName=SANS_BOLD, fontSize=13, leading=16, spaceBefore=8, spaceAfter=4)
H3 = style("h3", fontName=SANS_BOLD, fontSize=10.5, leading=13, spaceBefore=6, spaceAfter=2)
NOTE = style("note", fontSize=8, leading=10, textColor=MUTED)


def para(value: object, st: ParagraphStyle = CELL, *, bold: bool = False) -> Paragraph:
    body = esc(value)
    return Paragraph(f"<b>{body}</b>" if bold else body, st)


def markup(raw: str, st: ParagraphStyle = BODY) -> Paragraph:
    """A paragraph from trusted static markup (never from journal text)."""
    return Paragraph(raw, st)


def grid(
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float],
    *,
    header: bool = True,
    shade_rows: Sequence[int] = (),
    alert_rows: Sequence[int] = (),
    repeat: bool = True,
) -> Table:
    """A ruled table; cells that are strings become wrapped paragraphs."""
    data = [[para(c) if isinstance(c, str) else c for c in row] for row in rows]
    if header and data:
        data[0] = [para(c, CELL_BOLD) if isinstance(c, str) else c for c in rows[0]]
    table = Table(data, colWidths=list(widths), repeatRows=1 if header and repeat else 0)
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.4, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), SHADE))
    for r in shade_rows:
        commands.append(("BACKGROUND", (0, r), (-1, r), MANUAL))
    for r in alert_rows:
        commands.append(("TEXTCOLOR", (0, r), (-1, r), ALERT))
    table.setStyle(TableStyle(commands))
    return table


def pairs(rows: Sequence[tuple[str, Any]], widths: tuple[float, float]) -> Table:
    """A two-column label/value table without a header row."""
    data = [[para(k, CELL_BOLD), para(v) if isinstance(v, str) else v] for k, v in rows]
    table = Table(data, colWidths=list(widths))
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, RULE),
                ("BACKGROUND", (0, 0), (0, -1), SHADE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


# ---- QR codes ---------------------------------------------------------------------------------


def qr_matrix(payload: str) -> list[list[bool]]:
    """The QR modules (error correction M, no quiet zone; the caller leaves white around it)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(payload.encode("utf-8"))
    code.make(fit=True)
    matrix: list[list[bool]] = [[bool(v) for v in row] for row in code.get_matrix()]
    return matrix


def draw_qr(canvas: Canvas, payload: str, x: float, y: float, size: float) -> None:
    """A QR code as filled rectangles (vector, in the page content), lower-left at (x, y)."""
    matrix = qr_matrix(payload)
    n = len(matrix)
    cell = size / n
    canvas.saveState()
    canvas.setFillColor(colors.black)
    canvas.setStrokeColor(colors.black)
    path = canvas.beginPath()
    for r, row in enumerate(matrix):
        c = 0
        while c < n:
            if not row[c]:
                c += 1
                continue
            start = c
            while c < n and row[c]:
                c += 1
            path.rect(x + start * cell, y + size - (r + 1) * cell, (c - start) * cell, cell)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


class QrFlowable(Flowable):  # type: ignore[misc]
    """A QR code in a platypus story."""

    def __init__(self, payload: str, size: float) -> None:
        super().__init__()
        self.payload = payload
        self.size = size
        self.width = size
        self.height = size

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        draw_qr(self.canv, self.payload, 0, 0, self.size)


# ---- page furniture ---------------------------------------------------------------------------


def watermark(canvas: Canvas, width: float, height: float, word: str = "REHEARSAL") -> None:
    """A large diagonal word over the whole page, translucent so the content stays readable."""
    canvas.saveState()
    canvas.setFillColor(ALERT)
    canvas.setFillAlpha(0.13)
    canvas.setFont(SANS_BOLD, 96)
    canvas.translate(width / 2, height / 2)
    canvas.rotate(52)
    canvas.drawCentredString(0, -34, word)
    canvas.restoreState()


def attach_file(
    canvas: Canvas, name: str, data: bytes, description: str, mime: str = "text/plain"
) -> None:
    """Embed ``data`` as a PDF file attachment (catalog /Names /EmbeddedFiles), compressed.

    reportlab has no public API for attachments; this uses its object model the way its own
    outline code does. Call once per document, before ``save``.
    """
    doc = canvas._doc
    stream = pdfdoc.PDFStream(
        pdfdoc.PDFDictionary(
            {
                "Type": pdfdoc.PDFName("EmbeddedFile"),
                "Subtype": pdfdoc.PDFName(mime.replace("/", "#2F")),
                "Params": pdfdoc.PDFDictionary({"Size": len(data)}),
            }
        ),
        data,
        filters=[pdfdoc.PDFZCompress],
    )
    spec = pdfdoc.PDFDictionary(
        {
            "Type": pdfdoc.PDFName("Filespec"),
            "F": pdfdoc.PDFString(name),
            "UF": pdfdoc.PDFString(name),
            "Desc": pdfdoc.PDFString(description),
            "AFRelationship": pdfdoc.PDFName("Source"),
            "EF": pdfdoc.PDFDictionary({"F": doc.Reference(stream)}),
        }
    )
    names = pdfdoc.PDFArray([pdfdoc.PDFString(name), doc.Reference(spec)])
    doc.Catalog.Names = pdfdoc.PDFDictionary(
        {"EmbeddedFiles": pdfdoc.PDFDictionary({"Names": names})}
    )


def hr(canvas: Canvas, x0: float, x1: float, y: float, width: float = 0.5) -> None:
    canvas.setLineWidth(width)
    canvas.line(x0, y, x1, y)


MM = mm


PAGE = A4
MARGIN = 15 * mm
WIDTH = PAGE[0] - 2 * MARGIN


def time_text(iso: str) -> str:
    """``2025-06-02 09:30:00Z`` from ``2025-06-02T09:30:00.000Z``."""
    if len(iso) >= 19 and iso[10] == "T":
        return f"{iso[:10]} {iso[11:19]}Z"
    return iso


def hex_groups(hex_text: str) -> str:
    """A SHA-256 in groups of four, as read aloud; any other text as it is."""
    try:
        return journal.hash_groups(hex_text)
    except ValueError:
        return hex_text


def hex_words(hex_text: str) -> list[str]:
    """A SHA-256 as PGP words, four to a line; a note for any other text."""
    try:
        return journal.hash_word_lines(hex_text)
    except (ValueError, KeyError):
        return ["(not a SHA-256 value)"]

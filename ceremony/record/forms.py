"""Custodian component forms: one A4 sheet per component that Z-folds into a window envelope.

Page 1, the custodian's sheet, in three panels of 99 mm:

- top panel: the outside of the folded sheet. Its left shows, in the envelope window, only
  what identifies the envelope (ceremony, key, component, custodian, envelope serial box). Its
  right is a dense security tint that lies over the secret once the sheet is folded.
- middle panel: the component text (format V1, ``ceremony.core.encoding``). The header, which
  is not secret, on the left, where the window is; the value lines with their check letters,
  the SUM line and the QR code of the whole text on the right, under the tint.
- bottom panel: the custodian's acknowledgement (PCI DSS 4.0 3.7.8) and signature lines on the
  left; its right is tinted too, since it folds face to face onto the secret.

Fold 1 brings the bottom third up over the middle, printed sides together; fold 2 puts both
behind the top third (a Z-fold). The top panel faces out, and the middle panel's secret lies
between two tints, never under the window.

Page 2 is the officer's copy of the acknowledgement: the same header without the secret, kept
on file after signing.

The PDF holds the component in clear (page 1). It is built in memory and is meant to go to a
local printer (``ceremony.record.printer``); in production it never touches a disk. Python
cannot wipe the ``bytes`` it returns or the strings ``format_lines`` made; drop them quickly.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Frame, Paragraph

from ceremony.core import encoding
from ceremony.core.component import Component
from ceremony.core.journal import looks_secret
from ceremony.errors import RecordError
from ceremony.record import layout as L

WIDTH: float = A4[0]
HEIGHT: float = A4[1]
PANEL = HEIGHT / 3  # 99 mm
# The window of a DL envelope (ISO 269 / DIN 680 position): 90 x 45 mm, 20 mm from the left,
# and on a Z-folded A4 sheet about 40 to 92 mm below the top edge.
WINDOW_X = 20 * mm
WINDOW_W = 90 * mm
WINDOW_TOP = 40 * mm
WINDOW_H = 52 * mm
SECRET_X = 116 * mm  # everything secret lies right of this, well clear of the window
SAFE_RIGHT = WIDTH - 10 * mm

ACKNOWLEDGEMENT = (
    "I acknowledge that I received the component named above, and that I understand and accept "
    "my responsibilities as its key custodian (PCI DSS v4.0 requirement 3.7.8):",
    "I keep the component secret, in its sealed envelope, in the secure storage assigned to me;",
    "I never disclose, copy, photograph, type or transmit it outside a ceremony;",
    "I never hold, see or learn another component of this key;",
    "I produce it only at a ceremony under dual control, after the envelope serial and seal "
    "have been checked against the record;",
    "I report at once to a security officer any loss, suspected disclosure or damaged envelope;",
    "when my role ends I return the envelope unopened, under dual control.",
)


@dataclass(frozen=True)
class FormHeader:
    """The non-secret facts printed on both pages."""

    ceremony_id: str
    key_label: str
    index: int
    count: int
    scheme: str
    custodian_name: str
    custodian_id: str | None
    kcv: str
    envelope: str | None
    rehearsal: bool

    @property
    def component(self) -> str:
        kind = "share" if self.scheme.startswith("SHAMIR") else "component"
        return f"{kind} {self.index} of {self.count} ({self.scheme})"

    @property
    def custodian(self) -> str:
        return (
            f"{self.custodian_name} ({self.custodian_id})"
            if self.custodian_id
            else self.custodian_name
        )


def _require_plain(value: str, what: str) -> str:
    if not value.strip() or len(value) > 120 or looks_secret(value):
        raise RecordError(
            f"the {what} for a component form must be short plain text",
            hint="pass the name and serial as written in the ceremony file",
        )
    return value


def component_form_pdf(
    component: Component,
    custodian_name: str,
    envelope: str | None,
    rehearsal: bool,
    *,
    custodian_id: str | None = None,
) -> bytes:
    """The two-page form for one component (page 1 holds it in clear; page 2 never does).

    ``envelope`` is the pre-numbered envelope's serial, or None to leave the box blank for the
    serial to be written when the envelope is sealed.
    """
    _require_plain(custodian_name, "custodian name")
    if envelope is not None:
        _require_plain(envelope, "envelope serial")
    check = encoding.component_kcv(component)
    ident = component.identity
    header = FormHeader(
        ident.ceremony_id,
        ident.key_label,
        component.index,
        component.count,
        f"{component.scheme.value} {component.threshold} OF {component.count}",
        custodian_name,
        custodian_id,
        str(check),
        envelope,
        rehearsal,
    )
    lines = encoding.format_lines(component)
    payload = encoding.qr_payload(component)
    try:
        buffer = io.BytesIO()
        canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1)
        canvas.setTitle(L.clean(f"Component form {ident.key_label} {component.index}"))
        canvas.setAuthor("ceremony")
        canvas.setSubject("REHEARSAL" if rehearsal else "key component: keep sealed")
        _custodian_sheet(canvas, header, lines, payload)
        canvas.showPage()
        _officer_copy(canvas, header)
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()
    finally:
        lines.clear()
        del payload


# ---- drawing ----------------------------------------------------------------------------------


def _y(top_mm: float) -> float:
    """Page y for a distance from the top edge."""
    return float(HEIGHT - top_mm)


def _tint(canvas: Canvas, x0: float, y0: float, x1: float, y1: float) -> None:
    """A dense security tint: crossed hatching and rows of glyphs that mask what lies beneath."""
    canvas.saveState()
    path = canvas.beginPath()
    path.rect(x0, y0, x1 - x0, y1 - y0)
    canvas.clipPath(path, stroke=0, fill=0)
    canvas.setFillColor(colors.HexColor("#5a5a5a"))
    canvas.rect(x0, y0, x1 - x0, y1 - y0, stroke=0, fill=1)
    canvas.setStrokeColor(colors.HexColor("#1e1e1e"))
    canvas.setLineWidth(0.9)
    step = 1.6 * mm
    span = (x1 - x0) + (y1 - y0)
    offset = 0.0
    while offset < span:
        canvas.line(x0 + offset, y0, x0 + offset - (y1 - y0), y1)
        canvas.line(x0 + offset - (y1 - y0), y0, x0 + offset, y1)
        offset += step
    canvas.setFillColor(colors.HexColor("#8a8a8a"))
    canvas.setFont(L.MONO_BOLD, 7)
    row = y0 + 1 * mm
    glyphs = "8B0D#QW@M%&9"
    n = 0
    while row < y1:
        text = "".join(glyphs[(n + i) % len(glyphs)] for i in range(80))
        canvas.drawString(x0 + (n % 3) * mm, row, text)
        row += 2.4 * mm
        n += 1
    canvas.restoreState()


def _fold(canvas: Canvas, top_mm: float, label: str) -> None:
    canvas.saveState()
    canvas.setDash(4, 3)
    canvas.setStrokeColor(L.MUTED)
    canvas.setLineWidth(0.6)
    canvas.line(4 * mm, _y(top_mm), WIDTH - 4 * mm, _y(top_mm))
    canvas.setDash()
    canvas.setFillColor(L.MUTED)
    canvas.setFont(L.SANS, 6.5)
    canvas.drawString(6 * mm, _y(top_mm) - 3.2 * mm, label)
    canvas.restoreState()


def _text(
    canvas: Canvas, x: float, top_mm: float, value: str, font: str = L.SANS, size: float = 9
) -> None:
    canvas.setFont(font, size)
    canvas.drawString(x, _y(top_mm), L.clean(value))


def _box(canvas: Canvas, x: float, top_mm: float, w: float, h: float, label: str) -> None:
    canvas.saveState()
    canvas.setLineWidth(0.8)
    canvas.rect(x, _y(top_mm) - h, w, h, stroke=1, fill=0)
    canvas.setFont(L.SANS, 6.5)
    canvas.setFillColor(L.MUTED)
    canvas.drawString(x + 1.5 * mm, _y(top_mm) - 3 * mm, label)
    canvas.restoreState()


def _envelope_box(canvas: Canvas, x: float, top_mm: float, h: FormHeader, w: float) -> None:
    _box(canvas, x, top_mm, w, 13 * mm, "ENVELOPE SERIAL (write when sealing)")
    if h.envelope:
        _text(canvas, x + 3 * mm, top_mm + 10 * mm, h.envelope, L.MONO_BOLD, 13)


def _paragraphs(
    canvas: Canvas, x: float, top_mm: float, w: float, h: float, items: Sequence[Paragraph]
) -> None:
    frame = Frame(x, _y(top_mm) - h, w, h, 0, 0, 0, 0, showBoundary=0)
    frame.addFromList(list(items), canvas)


def _acknowledgement(canvas: Canvas, x: float, top_mm: float, w: float, h: FormHeader) -> None:
    small = L.style("ack", fontSize=7.6, leading=9.3)
    bullet = L.style("ackb", fontSize=7.6, leading=9.3, leftIndent=8, bulletIndent=1)
    items = [
        Paragraph(
            f"<b>Custodian acknowledgement.</b> I, <b>{L.esc(h.custodian)}</b>, "
            + L.esc(ACKNOWLEDGEMENT[0][2:]),
            small,
        )
    ]
    items += [Paragraph(L.esc(line), bullet, bulletText="-") for line in ACKNOWLEDGEMENT[1:]]
    _paragraphs(canvas, x, top_mm, w, 62 * mm, items)


def _signatures(canvas: Canvas, x: float, top_mm: float, w: float, who: Sequence[str]) -> None:
    canvas.saveState()
    canvas.setLineWidth(0.5)
    row = top_mm
    for person in who:
        canvas.line(x, _y(row), x + w * 0.66, _y(row))
        canvas.line(x + w * 0.72, _y(row), x + w, _y(row))
        canvas.setFont(L.SANS, 6.5)
        canvas.setFillColor(L.MUTED)
        canvas.drawString(x, _y(row + 3 * mm), L.clean(f"signature: {person}"))
        canvas.drawString(x + w * 0.72, _y(row + 3 * mm), "date")
        canvas.setFillColor(L.INK)
        row += 12 * mm
    canvas.restoreState()


def _custodian_sheet(canvas: Canvas, h: FormHeader, lines: list[str], payload: str) -> None:
    header_count = _header_lines(lines)
    header_lines, secret_lines = lines[:header_count], lines[header_count:]
    left = 15 * mm

    # -- top panel: the outside; only the window area may be seen
    canvas.setFillColor(L.INK)
    _text(canvas, left, 12 * mm, "KEY COMPONENT - CONFIDENTIAL", L.SANS_BOLD, 13)
    _text(canvas, left, 17.5 * mm, "custodian's sheet: keep sealed in its envelope", L.SANS, 8)
    _text(canvas, left, 25 * mm, f"ceremony {h.ceremony_id}", L.SANS, 8.5)
    _text(canvas, left, 30 * mm, f"key {h.key_label}, {h.component}", L.SANS, 8.5)
    canvas.saveState()
    canvas.setDash(1, 2)
    canvas.setStrokeColor(L.RULE)
    canvas.rect(WINDOW_X, _y(WINDOW_TOP + WINDOW_H), WINDOW_W, WINDOW_H, stroke=1, fill=0)
    canvas.restoreState()
    wx = WINDOW_X + 4 * mm
    canvas.setFont(L.SANS, 6.5)
    canvas.setFillColor(L.MUTED)
    canvas.drawString(wx, _y(WINDOW_TOP + 4 * mm), "ENVELOPE WINDOW")
    canvas.setFillColor(L.INK)
    _text(canvas, wx, WINDOW_TOP + 10 * mm, "SEALED KEY COMPONENT", L.SANS_BOLD, 11)
    _text(canvas, wx, WINDOW_TOP + 15.5 * mm, f"custodian: {h.custodian}", L.SANS, 8.5)
    _text(canvas, wx, WINDOW_TOP + 20.5 * mm, f"key {h.key_label} - {h.component}", L.SANS, 8.5)
    _text(canvas, wx, WINDOW_TOP + 25.5 * mm, f"ceremony {h.ceremony_id}", L.SANS, 8.5)
    _envelope_box(canvas, wx, WINDOW_TOP + 30 * mm, h, WINDOW_W - 8 * mm)
    _text(
        canvas,
        left,
        PANEL - 5 * mm,
        "Open only at a ceremony, under dual control, after the serial and seal are checked.",
        L.SANS,
        7,
    )

    # -- middle panel: the component
    top = PANEL
    _text(canvas, left, top + 9 * mm, "The component (format V1)", L.SANS_BOLD, 9)
    canvas.setFillColor(L.MUTED)
    _text(canvas, left, top + 12.5 * mm, "Header (not secret):", L.SANS, 7)
    canvas.setFillColor(L.INK)
    row = top + 18 * mm
    for line in header_lines:
        _text(canvas, left, row, line, L.MONO, 8.5)
        row += 4.2 * mm
    canvas.setFillColor(L.MUTED)
    canvas.setFont(L.SANS, 7)
    notes = (
        "Type the header, then every value line and the SUM line",
        "exactly as printed; the letter at the end of each line",
        "is its check. The QR code holds the same text.",
    )
    for note in notes:
        canvas.drawString(left, _y(row + 2 * mm), note)
        row += 3.4 * mm
    canvas.setFillColor(L.INK)

    canvas.setFont(L.SANS, 7)
    canvas.setFillColor(L.MUTED)
    canvas.drawString(SECRET_X, _y(top + 12.5 * mm), "Value lines and SUM (SECRET):")
    canvas.setFillColor(L.INK)
    row = top + 18.5 * mm
    for line in secret_lines:
        _text(canvas, SECRET_X, row, line, L.MONO_BOLD, 10)
        row += 4.6 * mm
    secret_bottom = row
    qr_size = 36 * mm
    qr_top = max(secret_bottom + 1 * mm, top + 18 * mm) if len(secret_lines) > 9 else None
    if qr_top is None:
        qx = SAFE_RIGHT - qr_size
        qy_top = top + 14 * mm
        # value lines are 52 mm wide at 10 pt; the QR sits to their right when they are few
        if SECRET_X + 53 * mm > qx:
            qy_top = secret_bottom + 1 * mm
            qx = SECRET_X
    else:
        qx, qy_top = SECRET_X, qr_top
    L.draw_qr(canvas, payload, qx, _y(qy_top) - qr_size, qr_size)
    secret_low = max(secret_bottom, qy_top + qr_size)
    if secret_low > 2 * PANEL - 2 * mm:
        raise RecordError(
            "the component is too long for the form's middle panel",
            hint="this is a bug: components up to the format's maximum must fit",
        )

    # -- tints over and under the secret once folded (mirror images about folds A and B)
    tint_top, tint_bottom = top + 10 * mm, secret_low + 3 * mm
    a0, a1 = 2 * PANEL - tint_bottom, 2 * PANEL - tint_top  # mirrored into the top panel
    _tint(canvas, SECRET_X - 4 * mm, _y(a1), WIDTH - 5 * mm, _y(max(a0, 2 * mm)))
    b0, b1 = 4 * PANEL - tint_bottom, 4 * PANEL - tint_top  # mirrored into the bottom panel
    _tint(canvas, SECRET_X - 4 * mm, _y(min(b1, HEIGHT - 2 * mm)), WIDTH - 5 * mm, _y(b0))

    # -- bottom panel: acknowledgement and signatures (left, away from the tint)
    top = 2 * PANEL
    ack_w = SECRET_X - 6 * mm - left
    _acknowledgement(canvas, left, top + 8 * mm, ack_w, h)
    _signatures(
        canvas, left, top + 66 * mm, ack_w, [f"{h.custodian_name}, custodian", "security officer"]
    )

    _fold(canvas, PANEL, "fold 2: fold the lower two thirds BACK behind the top third")
    _fold(
        canvas,
        2 * PANEL,
        "fold 1: fold the bottom third UP over the middle, printed sides together",
    )
    if h.rehearsal:
        L.watermark(canvas, WIDTH, HEIGHT)


def _header_lines(lines: list[str]) -> int:
    """How many of ``format_lines``'s lines are header lines (before the first value line)."""
    for n, line in enumerate(lines):
        if line[:2].isdigit() and line[2:3] == ":":
            return n
    raise RecordError("the component text has no value line", hint="this is a bug")


def _officer_copy(canvas: Canvas, h: FormHeader) -> None:
    left = 15 * mm
    canvas.setFillColor(L.INK)
    _text(canvas, left, 18 * mm, "Key custodian acknowledgement", L.SANS_BOLD, 15)
    _text(
        canvas,
        left,
        24 * mm,
        "Officer's copy - no secret on this page - keep on file (PCI DSS v4.0 3.7.8)",
        L.SANS,
        8.5,
    )
    rows = (
        ("Ceremony", h.ceremony_id),
        ("Key", h.key_label),
        ("Component", h.component),
        ("Component KCV", h.kcv),
        ("Custodian", h.custodian),
    )
    row = 36 * mm
    for label, value in rows:
        _text(canvas, left, row, label, L.SANS_BOLD, 9)
        _text(canvas, left + 35 * mm, row, value, L.SANS, 9)
        row += 6 * mm
    _envelope_box(canvas, left, row, h, 80 * mm)
    _acknowledgement(canvas, left, row + 22 * mm, WIDTH - 2 * left, h)
    _signatures(
        canvas,
        left,
        row + 62 * mm,
        WIDTH - 2 * left,
        [f"{h.custodian_name}, custodian", "security officer", "witness"],
    )
    if h.rehearsal:
        L.watermark(canvas, WIDTH, HEIGHT)

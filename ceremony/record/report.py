"""The verification report as a PDF (``ceremony verify --report auditor.pdf``)."""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import SimpleDocTemplate, Spacer

from ceremony import __version__
from ceremony.record import layout as L
from ceremony.record.verdict import Report

MARGIN = 15 * mm
WIDTH = A4[0] - 2 * MARGIN


def report_pdf(report: Report, generated: str) -> bytes:
    """The same PASS/FAIL table as the terminal, with the verdict; ``generated`` is a time."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        invariant=True,
        title="ceremony verify report",
        author=f"ceremony {__version__}",
    )

    def page(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(L.SANS, 7.5)
        canvas.setFillColor(L.MUTED)
        canvas.drawString(MARGIN, A4[1] - 10 * mm, L.clean(f"ceremony verify: {report.subject}"))
        canvas.drawRightString(A4[0] - MARGIN, 9 * mm, f"page {canvas.getPageNumber()}")
        canvas.restoreState()

    mode = {None: "unknown", True: "REHEARSAL", False: "PRODUCTION"}[report.rehearsal]
    story: list[Any] = [
        L.markup("Verification report", L.H1),
        L.pairs(
            [
                ("Evidence", report.subject),
                ("Ceremony", report.ceremony_id or "unknown"),
                ("Mode", mode),
                ("Journal final hash", L.para(report.final_hash or "-", L.CELL_MONO)),
                ("Verified with", f"ceremony {__version__}, offline"),
                ("Verified at", generated),
                ("Verdict", report.summary()),
            ],
            (40 * mm, WIDTH - 40 * mm),
        ),
        Spacer(1, 5 * mm),
    ]
    rows: list[list[Any]] = [["result", "check", "reason"]]
    alerts = []
    for i, line in enumerate(report.lines, start=1):
        rows.append([line.result, line.check, line.reason])
        if not line.ok:
            alerts.append(i)
    story.append(L.grid(rows, [14 * mm, 45 * mm, WIDTH - 59 * mm], alert_rows=alerts))
    doc.build(story, onFirstPage=page, onLaterPages=page)
    return buffer.getvalue()

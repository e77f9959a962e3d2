"""A QR code drawn with half-block characters: two modules per cell, square on a terminal."""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_L
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

QUIET_ZONE = 2  # modules of white border; with the widget's padding scanners read it well
_STYLE = Style(color="#000000", bgcolor="#ffffff")


def qr_matrix(payload: str) -> list[list[bool]]:
    """The QR modules (True = dark) of ``payload``, with its quiet zone."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_L, border=QUIET_ZONE)
    code.add_data(payload)
    code.make(fit=True)
    matrix: list[list[bool]] = [[bool(cell) for cell in row] for row in code.get_matrix()]
    return matrix


def half_block_lines(matrix: list[list[bool]]) -> list[str]:
    """Rows paired into one text line each: '█' both dark, '▀' top, '▄' bottom, ' ' neither."""
    glyph = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}
    rows = [*matrix, [False] * len(matrix[0])] if len(matrix) % 2 else matrix
    return [
        "".join(glyph[(top, bottom)] for top, bottom in zip(rows[i], rows[i + 1], strict=True))
        for i in range(0, len(rows), 2)
    ]


def qr_size(payload: str) -> tuple[int, int]:
    """(columns, lines) the QR of ``payload`` needs on screen."""
    matrix = qr_matrix(payload)
    return len(matrix[0]), (len(matrix) + 1) // 2


class QrCode(Static):
    """Black modules on white whatever the theme; the payload itself is not kept."""

    def __init__(self, payload: str, *, id: str | None = None) -> None:
        lines = half_block_lines(qr_matrix(payload))
        super().__init__(Text("\n".join(lines), style=_STYLE, no_wrap=True), id=id)
        self.columns = len(lines[0])
        self.lines = len(lines)

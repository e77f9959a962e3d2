"""The TUI's last-resort traceback, printed without local variables (a frame may hold a PIN)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import rich
from rich.segment import Segments
from rich.traceback import Traceback

if TYPE_CHECKING:
    from textual.app import App


def fatal_error_without_locals(app: App[Any]) -> None:
    """Textual 8's ``App._fatal_error`` with ``show_locals=False``: the code lines, no values."""
    app.bell()
    traceback = Traceback(show_locals=False, width=None, suppress=[rich])
    app._exit_renderables.append(Segments(app.console.render(traceback, app.console.options)))
    app._close_messages_no_wait()

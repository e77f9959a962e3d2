"""The screen under every request: what the ceremony is doing, and what just happened."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ceremony.tui.screens.base import StepScreen
from ceremony.tui.state import AtKeyboard


class WorkingScreen(StepScreen[None]):
    """Shown while the engine works (HSM, files) between two requests; notices pile up here."""

    def __init__(self) -> None:
        super().__init__()
        self.keyboard = AtKeyboard("nobody", "the ceremony tool is working")
        self.status = "The ceremony is starting."
        self.notices: list[str] = []

    def compose_body(self) -> ComposeResult:
        yield Static(self.status, id="working-status", classes="screen-intro")
        with VerticalScroll(id="working-notices-box"):
            yield Static(self._notices_text(), id="working-notices")

    # The engine's worker may call these before the screen is composed (a fast first request, a
    # slow UI): kept here, they show once it is; a query that found nothing killed the worker.
    def set_status(self, text: str) -> None:
        self.status = text
        for widget in self.query("#working-status").results(Static):
            widget.update(text)

    def add_notices(self, notices: list[str]) -> None:
        if not notices:
            return
        self.notices += notices
        for widget in self.query("#working-notices").results(Static):
            widget.update(self._notices_text())
        for box in self.query("#working-notices-box").results(VerticalScroll):
            box.scroll_end(animate=False)

    def _notices_text(self) -> str:
        return "\n".join(f"• {n}" for n in self.notices)

    def on_unmount(self) -> None:
        # The app is closing while the engine's worker may wait for an answer: wake it, so it
        # journals the abort and the thread (and the process) can end instead of waiting forever.
        run = getattr(self.app, "ceremony_run", None)
        if run is not None:
            run.request_abort("the ceremony screens were closed before the ceremony ended")

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
        self.notices: list[str] = []

    def compose_body(self) -> ComposeResult:
        yield Static("The ceremony is starting.", id="working-status", classes="screen-intro")
        with VerticalScroll(id="working-notices-box"):
            yield Static("", id="working-notices")

    def set_status(self, text: str) -> None:
        self.query_one("#working-status", Static).update(text)

    def add_notices(self, notices: list[str]) -> None:
        if not notices:
            return
        self.notices += notices
        self.query_one("#working-notices", Static).update("\n".join(f"• {n}" for n in self.notices))
        self.query_one("#working-notices-box", VerticalScroll).scroll_end(animate=False)

    def on_unmount(self) -> None:
        # The app is closing while the engine's worker may wait for an answer: wake it, so it
        # journals the abort and the thread (and the process) can end instead of waiting forever.
        run = getattr(self.app, "ceremony_run", None)
        if run is not None:
            run.request_abort("the ceremony screens were closed before the ceremony ended")

"""PUBLIC requests: typed text that may be shown and journaled (a time, a serial, a KCV)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input

from ceremony.tui.screens.base import RequestScreen


class TextScreen(RequestScreen):
    def compose_answer(self) -> ComposeResult:
        yield Input(placeholder="type here, then Enter", id="answer", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        if not self.picks_who:
            self.query_one("#answer", Input).focus()

    @on(Input.Submitted, "#answer")
    def _submitted(self, event: Input.Submitted) -> None:
        self.reply(event.value)

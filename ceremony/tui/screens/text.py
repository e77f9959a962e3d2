"""PUBLIC requests: typed text that may be shown and journaled (a time, a serial, a KCV)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input

from ceremony.tui.screens.base import RequestScreen


class TextScreen(RequestScreen):
    answer_selector = "#answer"

    def compose_answer(self) -> ComposeResult:
        yield Input(placeholder="type here, then Enter", id="answer", compact=True)

    @on(Input.Submitted, "#answer")
    def _submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():  # a doubled or held Enter: never an answer
            self.notify("Type the answer first, then Enter.", severity="warning")
            return
        self.reply(event.value)

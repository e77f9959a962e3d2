"""SECRET requests: typed without echo and never shown or kept (a passphrase, a PIN or half)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Static

from ceremony.tui.screens.base import RequestScreen


class SecretScreen(RequestScreen):
    answer_selector = "#answer"

    def compose_answer(self) -> ComposeResult:
        yield Static("Everyone else looks away from the keyboard.", classes="screen-keys")
        yield Input(password=True, placeholder="typed, never shown", id="answer", compact=True)

    @on(Input.Submitted, "#answer")
    def _submitted(self, event: Input.Submitted) -> None:
        value, event.input.value = event.value, ""
        if not value:  # a doubled or held Enter: never an answer, never a try used up
            self.notify("Type it first, then Enter.", severity="warning")
            return
        self.reply(value)

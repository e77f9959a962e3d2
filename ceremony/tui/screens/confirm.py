"""CONFIRMATION requests: the person named presses Y once they have done what the prompt says."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from ceremony.tui.screens.base import RequestScreen


class ConfirmScreen(RequestScreen):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("y", "confirm", "Yes, done")]

    def compose_answer(self) -> ComposeResult:
        yield Static(
            "Y: yes, it is done.   To stop instead, F10 aborts the ceremony.",
            classes="screen-keys",
        )

    def action_confirm(self) -> None:
        self.reply("yes")

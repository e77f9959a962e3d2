"""CHOICE requests: one of the answers the engine lists (recheck / override / stop, ...)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ceremony.tui.screens.base import RequestScreen


class ChoiceScreen(RequestScreen):
    answer_selector = "#choices"

    def compose_answer(self) -> ComposeResult:
        yield Static("Choose (up/down, Enter):", classes="form-label")
        yield OptionList(*[Option(c, id=c) for c in self.request.choices], id="choices")

    @on(OptionList.OptionSelected, "#choices")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.reply(str(event.option.id))

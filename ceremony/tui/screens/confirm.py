"""CONFIRMATION requests: the person named presses Y once they have done what the prompt says."""

from __future__ import annotations

import re
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from ceremony.tui.screens.base import RequestScreen

_TYPE_YES = re.compile(r"\b([Tt])ype yes\b")


def as_keypress(text: str) -> str:
    """The engine's "type yes" in the words of this screen, which answers on the one key Y.

    Only how the answer is given changes, never what is asked: a custodian who types y-e-s here
    would send "es" to the next screen (a passphrase field, or a component on display).
    """
    return _TYPE_YES.sub(lambda m: "Press Y" if m.group(1) == "T" else "press Y", text)


class ConfirmScreen(RequestScreen):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("y", "confirm", "Yes, done")]

    def present(self, text: str) -> str:
        return as_keypress(text)

    def compose_answer(self) -> ComposeResult:
        yield Static(
            "Press Y once: yes, it is done.   To stop instead, F10 aborts the ceremony.",
            classes="screen-keys",
        )

    def action_confirm(self) -> None:
        self.reply("yes")

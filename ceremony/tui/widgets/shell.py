"""The always-visible shell: ceremony header with REHEARSAL banner and step, keyboard line."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from ceremony.tui.state import ShellState

REHEARSAL_TEXT = "REHEARSAL: nothing made here may be used for a real key"


class CeremonyHeader(Widget):
    """Ceremony id and type, "step i of n", and a REHEARSAL banner when rehearsing."""

    state: reactive[ShellState] = reactive(ShellState, always_update=True)

    def compose(self) -> ComposeResult:
        with Horizontal(id="header-row"):
            yield Static(id="header-title")
            yield Static(id="header-step")
        yield Static(REHEARSAL_TEXT, id="rehearsal-banner")

    def watch_state(self, state: ShellState) -> None:
        if not self.is_mounted:
            return
        title = (
            f"ceremony {state.ceremony_id}  ·  {state.ceremony_type}"
            if state.ceremony_id
            else "ceremony"
        )
        self.query_one("#header-title", Static).update(title)
        self.query_one("#header-step", Static).update(state.step_text())
        self.query_one("#rehearsal-banner", Static).display = state.rehearsal
        self.set_class(state.rehearsal, "rehearsal")

    def on_mount(self) -> None:
        self.watch_state(self.state)


class KeyboardLine(Static):
    """The "Now at the keyboard: <name>, <role>" line: who types now; the others keep off."""

    state: reactive[ShellState] = reactive(ShellState, always_update=True)

    def text_for(self, state: ShellState) -> str:
        if state.at_keyboard is None:
            return "Now at the keyboard: the security officer"
        return state.at_keyboard.line()

    def watch_state(self, state: ShellState) -> None:
        self.update(self.text_for(state))

"""The shell every step screen shares: header, keyboard line, body, journal panel, footer."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, LoadingIndicator, Static

from ceremony.core.journal import Entry
from ceremony.tui.state import AtKeyboard, ShellState
from ceremony.tui.widgets.journal_panel import JournalPanel
from ceremony.tui.widgets.shell import CeremonyHeader, KeyboardLine

if TYPE_CHECKING:
    from ceremony.tui.app import CeremonyApp

ResultT = TypeVar("ResultT")


class StepScreen(Screen[ResultT]):
    """A screen of the ceremony. Subclasses yield their content from ``compose_body``.

    ``keyboard`` names who types on this screen and ``runbook`` the section F1 shows; both are
    put into the shell while the screen is active.
    """

    keyboard: AtKeyboard | None = None
    runbook: int | str | None = None
    step_title: str | None = None

    def compose(self) -> ComposeResult:
        yield CeremonyHeader(id="header")
        yield KeyboardLine(id="keyboard-line")
        with Horizontal(id="main"):
            with Vertical(id="body"):
                yield from self.compose_body()
            yield JournalPanel(id="journal")
        with Horizontal(id="work"):
            yield LoadingIndicator(id="work-spinner")
            yield Static(id="work-text")
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def leaving(self) -> None:
        """A modal is about to cover this screen: hide anything secret first."""

    # ---- the shell ----------------------------------------------------------------------------

    @property
    def host(self) -> CeremonyApp | None:
        from ceremony.tui.app import CeremonyApp  # the app imports the screens

        return self.app if isinstance(self.app, CeremonyApp) else None

    def on_mount(self) -> None:
        host = self.host
        self.query_one("#work").display = False
        if host is None:
            return
        host.shell_changed.subscribe(self, self._shell_changed)
        host.journal_changed.subscribe(self, self._journal_changed)
        host.work_changed.subscribe(self, self._work_changed)
        self.query_one(JournalPanel).set_entries(host.journal)
        self._claim_shell()
        self._work_changed(host.work)

    def on_screen_resume(self) -> None:
        host = self.host
        if host is not None and self.is_mounted:
            self._claim_shell()
            self.query_one(JournalPanel).set_entries(host.journal)

    def _claim_shell(self) -> None:
        host = self.host
        if host is None:
            return
        state = host.shell
        if self.keyboard is not None:
            state = replace(state, at_keyboard=self.keyboard)
        if self.runbook is not None:
            state = replace(state, runbook=self.runbook)
        if self.step_title is not None:
            state = replace(state, step_title=self.step_title)
        if state != host.shell:
            host.shell = state
        self._shell_changed(host.shell)

    def _shell_changed(self, state: ShellState) -> None:
        self.query_one(CeremonyHeader).state = state
        self.query_one(KeyboardLine).state = state

    def _journal_changed(self, entry: Entry) -> None:
        self.query_one(JournalPanel).append(entry)

    def _work_changed(self, what: str | None) -> None:
        self.query_one("#work").display = what is not None
        self.query_one("#work-text", Static).update(what or "")

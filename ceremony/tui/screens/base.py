"""The shell every step screen shares: header, keyboard line, body, journal panel, footer."""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol, TypeVar, runtime_checkable

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.signal import Signal
from textual.widgets import Footer, LoadingIndicator, OptionList, Static

from ceremony.core.journal import Entry
from ceremony.engine.requests import Request, RequestKind
from ceremony.errors import CeremonyError
from ceremony.tui.dismiss import DismissOnce
from ceremony.tui.requests import People, Reply, runbook_for
from ceremony.tui.state import AtKeyboard, ShellState
from ceremony.tui.widgets.journal_panel import JournalPanel
from ceremony.tui.widgets.shell import CeremonyHeader, KeyboardLine
from ceremony.tui.widgets.who import WhoPicker

ResultT = TypeVar("ResultT")


@runtime_checkable
class Host(Protocol):
    """What a screen needs of the app (``CeremonyApp``): screens never import the app."""

    journal: list[Entry]
    work: str | None
    shell_changed: Signal[ShellState]
    journal_changed: Signal[Entry]
    work_changed: Signal[str | None]

    @property
    def shell(self) -> ShellState: ...

    @shell.setter
    def shell(self, state: ShellState) -> None: ...

    def show_error(self, error: CeremonyError, *, during: str | None = None) -> None: ...

    def clear_screen_and_scrollback(self) -> None: ...


class StepScreen(DismissOnce[ResultT]):
    """A screen of the ceremony. Subclasses yield their content from ``compose_body``.

    ``keyboard`` names who types on this screen and ``runbook`` the section F1 shows; both are
    put into the shell while the screen is active.
    """

    keyboard: AtKeyboard | None = None
    runbook: int | str | None = None
    step_title: str | None = None
    stage: tuple[int, int] | None = None  # "step i of n" from the engine
    ceremony_over = False  # True: the run has ended, there is nothing left to abort

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
    def host(self) -> Host | None:
        return self.app if isinstance(self.app, Host) else None

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
        if self.stage is not None:
            state = replace(state, step=self.stage[0], steps=self.stage[1])
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


class RequestScreen(StepScreen[Reply | None]):
    """A screen for one engine Request: prompt, public lines, notices, who answers, the answer.

    Subclasses yield the answer widgets from ``compose_answer`` and call ``reply``. The machine
    checks every answer; a refused one comes back in the error modal and is asked again.
    """

    def __init__(self, request: Request, people: People) -> None:
        super().__init__()
        self.request = request
        self.people = people
        self.keyboard = people.keyboard(request)
        self.runbook = runbook_for(request.step_id)
        self.step_title = request.title
        self.stage = (request.stage, request.stages)

    @property
    def picks_who(self) -> bool:
        return self.request.who.anyone and self.request.kind is not RequestKind.APPROVAL

    def compose_body(self) -> ComposeResult:
        request = self.request
        with VerticalScroll(id="request-scroll"):
            if request.notices:
                yield Static(
                    "\n".join(f"• {self.present(notice)}" for notice in request.notices),
                    id="request-notices",
                )
            yield Static(self.present(request.prompt), id="request-prompt")
            if request.lines:
                yield Static(
                    "\n".join(self.present(line) for line in request.lines), id="request-lines"
                )
            if request.tries is not None:
                # The tool's own count: the ceremony stops at its limit, whatever a token says.
                yield Static(f"Tries left: {request.tries}", id="tries")
            if request.pin_tries is not None:
                # What the token reports before anyone types: a last try is never a surprise.
                yield Static(f"The token reports: {request.pin_tries}", id="pin-tries")
            if self.picks_who:
                yield WhoPicker(self.people.candidates(request), id="who")
            yield from self.compose_answer()

    def compose_answer(self) -> ComposeResult:
        yield from ()

    def present(self, text: str) -> str:
        """The engine's text as this screen shows it: how to answer may read differently here
        (a key instead of a typed word), what is asked never does."""
        return text

    answer_selector: str | None = None  # the widget that takes the answer

    def on_mount(self) -> None:
        super().on_mount()
        # Focus without scrolling: the screen opens on its prompt, never scrolled past it to
        # the field below a long list of lines.
        if self.picks_who:
            self.query_one("#who-list", OptionList).focus(scroll_visible=False)
        elif self.answer_selector is not None:
            self.query_one(self.answer_selector).focus(scroll_visible=False)

    @on(OptionList.OptionSelected, "#who-list")
    def _who_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.answer_selector is not None:
            self.query_one(self.answer_selector).focus()

    def answerer(self) -> str | None:
        if self.picks_who:
            return self.query_one(WhoPicker).chosen
        return self.request.who.participant

    def reply(self, value: str) -> None:
        by = self.answerer()
        if self.picks_who and by is None:
            self.notify("Select your own name first.", severity="warning")
            return
        self.dismiss(Reply(value, by))

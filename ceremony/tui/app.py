"""The ceremony TUI: a keyboard-only driver of the ceremony engine, for one air-gapped screen.

The app holds what the shell shows (ceremony, step, who is at the keyboard, the journal so far)
and the three things reachable from every screen: F1 help, abort (F10, confirmed) and the one
error modal. It holds no ceremony rule: screens ask, the engine decides and journals.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker, WorkerState

from ceremony.core.journal import Entry
from ceremony.errors import CeremonyError
from ceremony.tui.bridge import unexpected
from ceremony.tui.crash import fatal_error_without_locals
from ceremony.tui.messages import JournalAppended, WorkFinished, WorkStarted
from ceremony.tui.modals import AbortModal, ErrorModal, HelpModal
from ceremony.tui.state import ShellState

if TYPE_CHECKING:
    from ceremony.engine.ceremony_source import CheckedFile
    from ceremony.tui.driver import CeremonyRun
    from ceremony.tui.screens.finish import FinishScreen

CLEAR_SCREEN_AND_SCROLLBACK = "\x1b[2J\x1b[3J"

# Called on a confirmed abort with the reason; the engine journals it. None: just leave.
AbortHandler = Callable[[str], None]

# Keys that work whenever they were typed: help and abort.
ANY_TIME_KEYS = frozenset({"f1", "f10", "ctrl+q", "ctrl+c"})


class CeremonyApp(App[int]):
    """Exit code: 0 finished, 1 stopped by an error, 3 aborted, 4 finished without its record."""

    CSS_PATH = Path(__file__).with_name("ceremony.tcss")  # absolute: subclasses live elsewhere
    TITLE = "ceremony"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", priority=True),
        Binding("f10", "abort", "Abort", priority=True),
        # Leaving mid-ceremony is an abort: it must be confirmed and journaled.
        Binding("ctrl+q", "abort", "Abort", show=False, priority=True),
        Binding("ctrl+c", "abort", "Abort", show=False, priority=True, system=True),
    ]

    def __init__(
        self,
        *,
        shell: ShellState | None = None,
        journal: Iterable[Entry] = (),
        first_screen: Callable[[], Screen[Any]] | None = None,
        on_abort: AbortHandler | None = None,
    ) -> None:
        super().__init__()
        self._shell = shell or ShellState()
        self.journal: list[Entry] = list(journal)
        self.work: str | None = None
        self.shell_changed: Signal[ShellState] = Signal(self, "shell_changed")
        self.journal_changed: Signal[Entry] = Signal(self, "journal_changed")
        self.work_changed: Signal[str | None] = Signal(self, "work_changed")
        self._first_screen = first_screen
        self.on_abort = on_abort
        self._errors: list[tuple[CeremonyError, str | None]] = []
        self._showing_error = False
        self._aborting = False
        self.aborted_reason: str | None = None
        self.ceremony_run: CeremonyRun | None = None
        # When each screen first came up (Textual's monotonic clock): a later change of screen
        # (a modal closing, another screen resumed) never makes keys typed at it "too early".
        self._shown_at: weakref.WeakKeyDictionary[Screen[Any], float] = weakref.WeakKeyDictionary()

    def _fatal_error(self) -> None:
        fatal_error_without_locals(self)  # Textual's own prints every frame's local variables

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self.screen_change_signal.subscribe(self, self._screen_changed)
        if self._first_screen is not None:
            self.push_screen(self._first_screen())

    # ---- keys typed for an earlier screen ---------------------------------------------------

    def _screen_changed(self, screen: Screen[Any]) -> None:
        self._shown_at.setdefault(screen, time.monotonic())  # what Textual stamps events with

    async def on_event(self, event: events.Event) -> None:
        # A key typed before the screen on top came up (the rest of a doubled or held Enter, keys
        # typed while the engine worked) was meant for another screen: it never answers this one.
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded
            and event.time < self._shown_at.get(self.screen, 0.0)
            and event.key not in ANY_TIME_KEYS
        ):
            return
        await super().on_event(event)

    # ---- shell state --------------------------------------------------------------------------

    @property
    def shell(self) -> ShellState:
        return self._shell

    @shell.setter
    def shell(self, state: ShellState) -> None:
        self._shell = state
        self.shell_changed.publish(state)

    def append_journal(self, entry: Entry) -> None:
        self.journal.append(entry)
        self.journal_changed.publish(entry)

    def on_journal_appended(self, message: JournalAppended) -> None:
        self.append_journal(message.entry)

    # ---- long work ----------------------------------------------------------------------------

    def _set_work(self, what: str | None) -> None:
        self.work = what
        self.work_changed.publish(what)

    def on_work_started(self, message: WorkStarted) -> None:
        self._set_work(message.what)

    def on_work_finished(self, message: WorkFinished) -> None:
        self._set_work(None)

    # ---- the one error modal ------------------------------------------------------------------

    def show_error(self, error: CeremonyError, *, during: str | None = None) -> None:
        """Show ``error`` in the error modal; errors that arrive meanwhile wait their turn."""
        self._errors.append((error, during))
        if not self._showing_error:
            self._next_error()

    def _cover(self) -> None:
        """A modal is about to cover the screen: let it hide anything secret first."""
        from ceremony.tui.screens.base import StepScreen

        if isinstance(self.screen, StepScreen):
            self.screen.leaving()

    def _next_error(self) -> None:
        if not self._errors:
            self._showing_error = False
            return
        self._showing_error = True
        self._cover()
        error, during = self._errors.pop(0)
        self.push_screen(ErrorModal(error, during=during), lambda _: self._next_error())

    # ---- help and abort -----------------------------------------------------------------------

    @property
    def ceremony_over(self) -> bool:
        """A screen that ends the run (the finish screen) is up, maybe under a modal."""
        from ceremony.tui.screens.base import StepScreen

        return any(isinstance(s, StepScreen) and s.ceremony_over for s in self.screen_stack)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # After the finish nothing is left to abort, and nothing would journal it.
        return not (action == "abort" and self.ceremony_over)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpModal):
            self.screen.dismiss(None)
            return
        self._cover()
        self.push_screen(HelpModal(self._shell.runbook))

    def action_abort(self) -> None:
        if self._aborting or self.ceremony_over or isinstance(self.screen, AbortModal):
            return
        self._aborting = True
        self._cover()
        self.push_screen(AbortModal(self._shell.step_text()), self._abort_answered)

    def _abort_answered(self, confirmed: bool | None) -> None:
        self._aborting = False
        if not confirmed:
            return
        step = self._shell.step_text()
        reason = "aborted by the operator" + (f" at {step}" if step else "")
        self.aborted_reason = reason
        if self.on_abort is not None:
            try:
                self.on_abort(reason)
            except CeremonyError as ex:
                self.show_error(ex, during="aborting")
                return
        else:
            self.exit(3, return_code=3)

    # ---- a ceremony run -----------------------------------------------------------------------

    def start_run(self, file: CheckedFile, *, rehearsal: bool) -> None:
        """Run ``file`` (the bytes approved on the start screen) through the engine, in a worker."""
        from ceremony.tui.driver import CeremonyRun  # the engine loads only for a run

        run = CeremonyRun(self, file, rehearsal=rehearsal)
        self.ceremony_run = run
        self.on_abort = run.request_abort
        self.push_screen(run.working)
        self._run_ceremony(run)

    @work(thread=True, exit_on_error=False, name="ceremony")
    def _run_ceremony(self, run: CeremonyRun) -> None:
        run.run()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The run catches every error; should one still escape, it is shown, and F10 leaves.
        worker = event.worker
        if worker.name == "ceremony" and event.state is WorkerState.ERROR:
            self.on_abort = None
            error = worker.error if worker.error is not None else RuntimeError()
            self.show_error(unexpected(error), during="running the ceremony")

    def show_finish(self, screen: FinishScreen) -> None:
        """Replace whatever is left on top of the working screen with the finish screen."""
        from ceremony.tui.screens.working import WorkingScreen

        while len(self.screen_stack) > 1 and not isinstance(self.screen, WorkingScreen):
            self.pop_screen()
        self.on_abort = None
        self.push_screen(screen)

    # ---- the terminal -------------------------------------------------------------------------

    def clear_screen_and_scrollback(self) -> None:
        """Clear the terminal and its scrollback, then repaint: nothing shown before survives."""
        driver = self._driver
        if driver is not None:
            driver.write(CLEAR_SCREEN_AND_SCROLLBACK)
            driver.flush()
        self.refresh(repaint=True, layout=True)

"""The TUI as a thin driver of the ceremony machine (``ceremony.engine.machine``).

The machine runs in one thread worker for the whole ceremony: ``start``, ``answer`` and
``abort`` may reach the HSM, so they never run on the UI thread. For each Request the worker
pushes the screen for its kind and waits for the answer (``ScreenBridge``), passes it to the
machine, shows a refusal in the error modal and asks again. The TUI decides nothing: the
machine names who answers, checks every answer and journals every step.

    CONFIRMATION -> ConfirmScreen          CHOICE   -> ChoiceScreen
    PUBLIC       -> TextScreen             SECRET   -> SecretScreen
    APPROVAL     -> ApprovalScreen         (display) -> ComponentDisplayScreen
    (entry: the KCV line, then every line) -> ComponentEntryScreen
    (fingerprint: an import-key approval or a pinned mismatch) -> ImportKeyScreen
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from ceremony.core import journal
from ceremony.core.journal import Entry
from ceremony.engine.ceremony_source import CheckedFile
from ceremony.engine.machine import Machine, Outcome, Status, default_services
from ceremony.engine.requests import AnswerRefused, ComponentSheet, Request, RequestKind
from ceremony.errors import CeremonyError
from ceremony.tui.bridge import AbortRequested, ScreenBridge, unexpected
from ceremony.tui.messages import JournalAppended, WorkFinished, WorkStarted
from ceremony.tui.requests import People, Reply, runbook_for
from ceremony.tui.screens.approval import Approval, ApprovalScreen
from ceremony.tui.screens.base import RequestScreen
from ceremony.tui.screens.choice import ChoiceScreen
from ceremony.tui.screens.component_display import (
    ComponentDisplayScreen,
    ComponentView,
    DisplayResult,
)
from ceremony.tui.screens.component_entry import ComponentEntryScreen, EnteredComponent
from ceremony.tui.screens.confirm import ConfirmScreen
from ceremony.tui.screens.finish import FinishScreen, FinishView
from ceremony.tui.screens.import_key import ImportKeyScreen
from ceremony.tui.screens.secret import SecretScreen
from ceremony.tui.screens.text import TextScreen
from ceremony.tui.screens.working import WorkingScreen
from ceremony.tui.verify import verify_outcome
from ceremony.tui.widgets.component_entry import header_from_lines

if TYPE_CHECKING:
    from ceremony.tui.app import CeremonyApp

_SCREENS: dict[RequestKind, type[RequestScreen]] = {
    RequestKind.CONFIRMATION: ConfirmScreen,
    RequestKind.PUBLIC: TextScreen,
    RequestKind.SECRET: SecretScreen,
    RequestKind.CHOICE: ChoiceScreen,
}


class TuiDelivery:
    """The machine's ComponentDelivery: a sheet may be revealed once per ``show``.

    ``show`` only allows the next display screen to reveal that sheet; the screen shows it on
    the custodian's key. A sheet asked again (a KCV typed back wrongly) is never shown again:
    the screen opens at the KCV field. Showing it again is the engine's: after two approvals it
    calls ``show`` once more, which allows exactly one more reveal. ``hide`` removes it from the
    screen if still there.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revealable: ComponentSheet | None = None
        self._on_screen: ComponentDisplayScreen | None = None
        self.bridge: ScreenBridge | None = None

    def show(self, sheet: ComponentSheet) -> None:
        with self._lock:
            self._revealable = sheet

    def take(self, sheet: ComponentSheet) -> bool:
        """Whether ``sheet`` may be revealed now (once: the permission is used up)."""
        with self._lock:
            if self._revealable is not sheet:
                return False
            self._revealable = None
            return True

    def shown_on(self, screen: ComponentDisplayScreen) -> None:
        self._on_screen = screen

    def hide(self, sheet: ComponentSheet) -> None:
        with self._lock:
            self._revealable = None
            screen, self._on_screen = self._on_screen, None
        if screen is not None and self.bridge is not None:
            self.bridge.call(lambda: screen.hide() if screen.is_mounted else None)


def _view(sheet: ComponentSheet) -> ComponentView:
    return ComponentView(list(sheet.lines), sheet.kcv, "\n".join(sheet.lines) + "\n")


class CeremonyRun:
    """One ceremony run in the TUI: the machine, its worker thread and the journal feed."""

    def __init__(self, app: CeremonyApp, file: CheckedFile, *, rehearsal: bool) -> None:
        self.app = app
        self.bridge = ScreenBridge(app)
        self.delivery = TuiDelivery()
        self.delivery.bridge = self.bridge
        self.machine = Machine(
            file, services=default_services(delivery=self.delivery), rehearsal=rehearsal
        )
        self.people: People | None = None
        self._posted = 0
        self.working = WorkingScreen()
        self.outcome: Outcome | None = None

    # ---- the worker --------------------------------------------------------------------------

    def run(self) -> None:
        """The whole ceremony; runs in a thread worker (``CeremonyApp.start_run``)."""
        try:
            self._work("checking the ceremony file and opening the journal")
            try:
                request = self.machine.start()
            finally:
                self._done()
            cf = self.machine.ceremony
            assert cf is not None
            self.people = People(cf.roster)
            while request is not None:
                request = self._one(request)
            self._notices(self.machine.take_notices())
        except AbortRequested as ex:
            self._work("journaling the abort")
            try:
                self.machine.abort(ex.reason)
            finally:
                self._done()
        except CeremonyError as ex:
            self.machine.close()  # journals an abort if the machine still runs
            self._feed()
            self._error(ex, "running the ceremony")
        except Exception as ex:  # a bug: shown in the one error modal, never a silent hang
            self.machine.close()
            self._feed()
            self._error(unexpected(ex), "running the ceremony")
        finally:
            self._feed()
            self.machine.close()
        self.outcome = self.machine.outcome
        self._finish(self.outcome)

    def _one(self, request: Request) -> Request | None:
        """Ask ``request`` on its screen, answer the machine; the next request (or None)."""
        self._feed()
        self._notices(list(request.notices))
        self.bridge.call(lambda: self.working.set_status(f"{request.title}"))
        if request.entry is not None and request.entry.line is None:
            return self._entry(request)
        reply = self._ask(request)
        return self._answer(request, reply)

    def _ask(self, request: Request) -> Reply:
        assert self.people is not None
        people = self.people
        if request.display is not None:
            return self._display(request, request.display)
        if request.fingerprint is not None:
            confirmation = _approval_number(request)
            answered: Reply | None = self.bridge.ask(
                lambda: ImportKeyScreen(request, people, confirmation=confirmation)
            )
            return answered if answered is not None else Reply("", None)
        if request.kind is RequestKind.APPROVAL:
            approval: Approval | None = self.bridge.ask(
                lambda: ApprovalScreen(
                    request.operation.description if request.operation else request.title,
                    people.candidates(request),
                    needed=_approval_number(request),
                    prompt=request.prompt,
                    lines=request.lines,
                    stage=(request.stage, request.stages),
                    runbook=_runbook(request),
                    tries=request.tries,
                )
            )
            if approval is None:
                return Reply("", None)
            return Reply(approval.passphrase, approval.participant)
        kind = _SCREENS[request.kind]
        reply: Reply | None = self.bridge.ask(lambda: kind(request, people))
        return reply if reply is not None else Reply("", None)

    def _display(self, request: Request, sheet: ComponentSheet) -> Reply:
        assert self.people is not None
        keyboard = self.people.keyboard(request)
        reveal = self.delivery.take(sheet)
        what = f"component {sheet.index} of {sheet.count} of key {sheet.key!r}"

        def make() -> Screen[Any]:
            screen = ComponentDisplayScreen(
                keyboard,
                what,
                (lambda: _view(sheet)) if reveal else None,
                sheet.kcv,
                privacy_confirmed=True,
                check_locally=False,
                stage=(request.stage, request.stages),
                tries=request.tries,
            )
            self.delivery.shown_on(screen)
            return screen

        result: DisplayResult | None = self.bridge.ask(make)
        return Reply(result.typed if result is not None else "", None)

    def _entry(self, request: Request) -> Request | None:
        """The KCV line request starts a component: one entry screen, then each line answered."""
        assert self.people is not None and request.entry is not None
        field = request.entry
        header = header_from_lines(field.header)
        keyboard = self.people.keyboard(request)
        entered: EnteredComponent | None = self.bridge.ask(
            lambda: ComponentEntryScreen(
                keyboard, header, None, stage=(request.stage, request.stages), tries=request.tries
            )
        )
        if entered is None:
            return self._answer(request, Reply("", None))
        entered.component.value.close()
        current: Request | None = request
        try:
            for value in entered.lines:
                if current is None or current.entry is None or current.entry.index != field.index:
                    break  # the machine moved on (it refused and asks something else)
                answered = self._answer(current, Reply(value, None), quiet=True)
                if answered is current or (
                    answered is not None and answered.step_id == current.step_id
                ):
                    return answered  # refused: shown; ask again from the machine's request
                current = answered
        finally:
            del entered
        return current

    def _answer(self, request: Request, reply: Reply, *, quiet: bool = False) -> Request | None:
        self._work(f"{request.title}: working")
        try:
            return self.machine.answer(reply.value, by=reply.by)
        except AnswerRefused as ex:
            self._done()
            self._feed()
            self._error(ex, "checking the answer", title="Not accepted: the step is asked again")
            return self.machine.current
        finally:
            self._done()

    # ---- UI side effects (posted to the app; thread-safe) -------------------------------------

    def _work(self, what: str) -> None:
        self.app.post_message(WorkStarted(what))

    def _done(self) -> None:
        self.app.post_message(WorkFinished(""))

    def _error(self, error: CeremonyError, during: str, title: str | None = None) -> None:
        try:
            self.bridge.show_error(error, during=during, title=title)
        except AbortRequested as ex:
            self.machine.abort(ex.reason)

    def _notices(self, notices: list[str]) -> None:
        if notices:
            self.bridge.call(lambda: self.working.add_notices(notices))

    def _feed(self) -> None:
        """Post the journal entries written since the last look to the side panel."""
        path = self.machine.outcome.journal
        if path is None:
            return
        try:
            data = path.read_bytes()
            entries: tuple[Entry, ...] = journal.verify(data, allow_torn_tail=True).entries
        except (OSError, CeremonyError):
            return
        for entry in entries[self._posted :]:
            self.app.post_message(JournalAppended(entry))
        self._posted = len(entries)

    def _finish(self, outcome: Outcome) -> None:
        view = FinishView(
            finished=outcome.status is Status.FINISHED,
            reason=outcome.reason,
            final_hash=outcome.final_hash,
            journal=outcome.journal,
            output_folder=outcome.output_folder,
            outputs=outcome.outputs,
            signed_record=outcome.signed_record,
            record_error=outcome.record_error,
        )
        screen = FinishScreen(view, verify=lambda: verify_outcome(outcome))
        self.bridge.call(lambda: self.app.show_finish(screen))

    def request_abort(self, reason: str) -> None:
        """On the UI thread: the worker journals the abort through the machine."""
        self.bridge.request_abort(reason)


def _approval_number(request: Request) -> tuple[int, int]:
    """Which approval of two this is (1 of 2 for a step that is no approval)."""
    return (request.step_id.approval or 1, 2)


def _runbook(request: Request) -> str | None:
    return runbook_for(request.step_id)

"""How engine code in a thread worker asks the people at the keyboard: one screen, one answer.

The ceremony engine runs in a thread worker (``@work(thread=True)``), so the UI never waits on
the HSM and the HSM is never called from the UI thread. When the engine needs a person it calls
``ScreenBridge.ask`` from that thread: the screen is pushed on the UI thread and the worker
blocks until the screen is dismissed. An abort confirmed on the UI thread wakes the worker with
``AbortRequested`` so the engine, in its own thread, journals it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from textual.screen import Screen

from ceremony.errors import CeremonyError
from ceremony.tui.modals import ErrorModal

if TYPE_CHECKING:
    from ceremony.tui.app import CeremonyApp

T = TypeVar("T")


class AbortRequested(Exception):
    """The operator confirmed an abort while the engine waited for a screen."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnexpectedError(CeremonyError):
    """An error of the tool itself in the engine's worker, in words for the room."""


def unexpected(ex: BaseException) -> CeremonyError:
    """What the error modal says of a bug: its type only (its text might hold a secret)."""
    return UnexpectedError(
        f"the ceremony tool failed unexpectedly ({type(ex).__name__}); the ceremony stopped "
        "and the journal records that it was aborted",
        hint="note the step and tell the tool's maintainers; then follow the runbook's "
        "section on an interrupted ceremony",
    )


class ScreenBridge:
    """Push a screen from a worker thread and block that thread until it is dismissed."""

    def __init__(self, app: CeremonyApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._waiting: threading.Event | None = None
        self._abort: str | None = None

    def ask(self, make_screen: Callable[[], Screen[T]]) -> T:
        """The screen's result; raises AbortRequested if an abort was confirmed meanwhile."""
        done = threading.Event()
        box: list[T] = []

        def answered(result: T | None) -> None:
            if box:
                return  # the first answer counts; screens dismiss once, this is the backstop
            box.append(result)  # type: ignore[arg-type]  # screens dismiss with their type
            done.set()

        with self._lock:
            self._raise_if_aborted()
            self._waiting = done

        def push() -> None:
            self.app.push_screen(make_screen(), answered)

        try:
            self.app.call_from_thread(push)
            done.wait()
        finally:
            with self._lock:
                self._waiting = None
        self._raise_if_aborted()
        return box[0]

    def _raise_if_aborted(self) -> None:
        if self._abort is not None:
            raise AbortRequested(self._abort)

    def request_abort(self, reason: str) -> None:
        """On the UI thread: wake the waiting worker; the engine journals the abort."""
        with self._lock:
            self._abort = reason
            waiting = self._waiting
        if waiting is not None:
            waiting.set()

    def show_error(
        self, error: CeremonyError, during: str | None = None, title: str | None = None
    ) -> None:
        """The error modal, from the worker; returns when it is dismissed."""
        self.ask(lambda: ErrorModal(error, during=during, title=title))

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the UI thread (e.g. to update the shell) and return its result."""
        return self.app.call_from_thread(function)

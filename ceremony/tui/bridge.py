"""How engine code in a thread worker asks the people at the keyboard: one screen, one answer.

The ceremony engine runs in a thread worker (``@work(thread=True)``), so the UI never waits on
the HSM and the HSM is never called from the UI thread. When the engine needs a person it calls
``ScreenBridge.ask`` from that thread: the screen is pushed on the UI thread and the worker
blocks until the screen is dismissed. An abort confirmed on the UI thread wakes the worker with
``AbortRequested`` so the engine, in its own thread, journals it.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from textual.screen import Screen

from ceremony.core.secret import Secret
from ceremony.errors import CeremonyError, HsmError
from ceremony.hsm.base import PinState
from ceremony.hsm.pin import PinRequest, PinRole, SplitPinPrompter
from ceremony.tui.modals import ConfirmModal, ErrorModal
from ceremony.tui.screens.pin import PinScreen
from ceremony.tui.state import AtKeyboard

if TYPE_CHECKING:
    from ceremony.tui.app import CeremonyApp

T = TypeVar("T")


class AbortRequested(Exception):
    """The operator confirmed an abort while the engine waited for a screen."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ScreenBridge:
    """Push a screen from a worker thread and block that thread until it is dismissed."""

    def __init__(self, app: CeremonyApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._waiting: threading.Event | None = None
        self._abort: str | None = None

    @property
    def abort_reason(self) -> str | None:
        return self._abort

    def ask(self, make_screen: Callable[[], Screen[T]]) -> T:
        """The screen's result; raises AbortRequested if an abort was confirmed meanwhile."""
        done = threading.Event()
        box: list[T] = []

        def answered(result: T | None) -> None:
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

    def confirm(self, title: str, text: str, *, yes: str = "yes", no: str = "no") -> bool:
        return bool(self.ask(lambda: ConfirmModal(title, text, yes=yes, no=no)))

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the UI thread (e.g. to update the shell) and return its result."""
        return self.app.call_from_thread(function)


def _state(request: PinRequest) -> PinState | None:
    if request.token is None:
        return None
    return request.token.user_pin if request.role is PinRole.USER else request.token.so_pin


class TuiPinPrompter:
    """A PinPrompter (``ceremony.hsm.pin``) that asks on PIN screens, from the engine's worker.

    With two or more officers the PIN is split: each officer types their half on their own
    screen, and ``SplitPinPrompter`` joins the halves in order, as on the command line.
    """

    def __init__(self, bridge: ScreenBridge, officers: Sequence[AtKeyboard] = ()) -> None:
        self.bridge = bridge
        self.officers = tuple(officers)
        self._asked = 0

    def pin(self, request: PinRequest) -> Secret:
        if len(self.officers) >= 2:
            self._asked = 0
            split = SplitPinPrompter(
                [o.name for o in self.officers],
                read=lambda _prompt: self._half(request),
                ask=lambda _prompt: "",
            )
            return split.pin(request)
        officer = self.officers[0] if self.officers else None
        first = self._screen(request, officer, None, again=False)
        if not request.new:
            return first
        second = self._screen(request, officer, None, again=True)
        with second:
            if not hmac.compare_digest(first.reveal(), second.reveal()):
                first.close()
                raise HsmError(
                    f"the two entries of the new {request.role.value} PIN differ",
                    hint="start again and type the same PIN twice",
                )
        return first

    def _half(self, request: PinRequest) -> str:
        # SplitPinPrompter reads the halves in officer order (twice each for a new PIN).
        per_officer = 2 if request.new else 1
        index, repeat = divmod(self._asked, per_officer)
        self._asked += 1
        officer = self.officers[index]
        secret = self._screen(request, officer, (index + 1, len(self.officers)), again=repeat == 1)
        with secret:
            # SplitPinPrompter takes text (as getpass gives it); it wraps it in a Secret at once.
            return secret.reveal().decode("utf-8")

    def _screen(
        self,
        request: PinRequest,
        officer: AtKeyboard | None,
        half: tuple[int, int] | None,
        *,
        again: bool,
    ) -> Secret:
        result = self.bridge.ask(
            lambda: PinScreen(
                request, officer=officer, half=half, state=_state(request), again=again
            )
        )
        if result is None:
            raise HsmError("no PIN was entered", hint="type the PIN on the PIN screen")
        return result

    def confirm_final_try(self, request: PinRequest) -> bool:
        text = (
            f"The token reports ONE {request.role.value} PIN try left: a wrong PIN now locks it "
            "and the security officer must unblock it."
        )
        if len(self.officers) >= 2:
            return all(
                self.bridge.confirm(
                    f"{o.name}: use the last PIN try?", text, yes="use it", no="stop"
                )
                for o in self.officers
            )
        return self.bridge.confirm("Use the last PIN try?", text, yes="use it", no="stop")

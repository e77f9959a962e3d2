"""Component display: privacy first, the component on the custodian's key, hidden, KCV typed back.

Phases: PRIVACY (everyone but the custodian looks away; nothing secret exists on screen, not
even in the widget tree) -> SHOWN (grouped text, KCV, QR; only after the custodian presses S)
-> HIDDEN (on any key or after the timeout the component widgets are removed, the terminal
screen and scrollback are cleared) -> the custodian types the KCV back. Keys in the first
``KEY_GUARD`` seconds of SHOWN are ignored: they are the rest of a word typed on the screen
before, not the custodian's "I have copied it". This screen never shows the component a second
time: it drops the text when hiding, and showing again is the engine's dual-control path (F6
answers ``again``), which gives a new screen.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Input, Static

from ceremony.core import kcv
from ceremony.engine.requests import AGAIN
from ceremony.errors import CeremonyError, CheckValueError
from ceremony.tui.modals import ConfirmModal
from ceremony.tui.screens.base import StepScreen
from ceremony.tui.state import AtKeyboard
from ceremony.tui.widgets.qr import QrCode, qr_size

DEFAULT_TIMEOUT = 120.0  # seconds the component stays on screen at most
QR_MIN_TEXT_COLUMNS = 40


@dataclass(frozen=True)
class ComponentView:
    """What is shown: the text lines, the KCV and the QR payload. Built only on reveal."""

    lines: list[str]
    check: kcv.CheckValue
    qr_payload: str


@dataclass(frozen=True)
class DisplayResult:
    """What the custodian typed back; ``confirmed`` says it matched (None: the engine checks)."""

    confirmed: bool | None
    typed_kcv: kcv.CheckValue | None
    typed: str = ""


class Phase(enum.Enum):
    PRIVACY = "privacy"
    SHOWN = "shown"
    HIDDEN = "hidden"


class ComponentDisplayScreen(StepScreen[DisplayResult]):
    """One custodian, one component. ``reveal`` is called once, when the custodian presses S."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "show", "Show (custodian only)"),
        Binding("f4", "cannot_confirm", "Copy is wrong"),
        Binding("f6", "show_again", "Show again (2 approvals)"),
    ]
    runbook = "Component display"
    # Seconds after the component appears during which keys are ignored: the rest of a word
    # typed on the screen before (y-e-s) must not hide it before the custodian has seen it.
    KEY_GUARD: ClassVar[float] = 1.0

    def __init__(
        self,
        custodian: AtKeyboard,
        what: str,
        reveal: Callable[[], ComponentView] | None,
        check: kcv.CheckValue,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        privacy_confirmed: bool = False,
        check_locally: bool = True,
        stage: tuple[int, int] | None = None,
        tries: str | None = None,
    ) -> None:
        """``reveal`` None: the component was shown already; only the KCV is typed back here.

        ``privacy_confirmed``: the custodian confirmed the privacy step just before (the
        engine's privacy confirmation), so the component shows at once.
        """
        super().__init__()
        self.stage = stage
        self.privacy_confirmed = privacy_confirmed
        self.check_locally = check_locally
        self.keyboard = custodian
        self.step_title = f"show {what} to {custodian.name}"
        self.what = what
        self._reveal = reveal if reveal is not None else _spent
        self._start_hidden = reveal is None
        self.check = check  # the KCV the typed-back value is compared with
        self.timeout = timeout
        self.tries = tries  # the engine's count of KCV tries left
        self.phase = Phase.PRIVACY
        self._timer: Timer | None = None
        self._shown_at = 0.0  # time.monotonic() when the component appeared

    def compose_body(self) -> ComposeResult:
        name = self.keyboard.name if self.keyboard else "the custodian"
        with Vertical(id="privacy", classes="phase"):
            yield Static(f"Everyone but {name} looks away now.", classes="privacy-title")
            yield Static(
                f"{name}: when nobody else can see the screen, press S to show {self.what}. "
                f"It hides itself after {int(self.timeout)} seconds, or when you press any key.",
                classes="privacy-text",
            )

    def on_mount(self) -> None:
        super().on_mount()
        if self._start_hidden:
            self.phase = Phase.SHOWN  # shown earlier: straight to typing the KCV back
            self.hide(clear=False)
        elif self.privacy_confirmed:
            self.action_show()

    def _typeback(self) -> tuple[Vertical, Input]:
        name = self.keyboard.name if self.keyboard else "the custodian"
        field = Input(placeholder="hex digits", id="typeback-input", compact=True, max_length=16)
        again = (
            ""
            if self.check_locally
            else " To see it again, press F6: two approvers must agree, and it is journaled."
        )
        box = Vertical(
            Static(
                f"{self.what} is hidden and the screen was cleared. {name}: type the KCV "
                f"from your copy ({self.check.method.label}, hex digits only), then Enter." + again,
                classes="typeback-text",
            ),
            Horizontal(
                Static(f"{self.check.method.label} ", classes="typeback-label"),
                field,
                classes="typeback-row",
            ),
            Static("", id="typeback-problem"),
            *([Static(f"Tries left: {self.tries}", id="tries")] if self.tries else []),
            id="typeback",
            classes="phase",
        )
        return box, field

    # ---- show --------------------------------------------------------------------------------

    def action_show(self) -> None:
        if self.phase is not Phase.PRIVACY:
            return
        view = self._reveal()
        self._reveal = _spent
        self.phase = Phase.SHOWN
        self._shown_at = time.monotonic()
        self.add_class("revealing")  # the journal panel makes room for the QR code
        self.query_one("#privacy").display = False
        self.refresh_bindings()
        self.query_one("#body").mount(self._shown(view))
        self._timer = self.set_timer(self.timeout, self.hide)

    def _shown(self, view: ComponentView) -> Vertical:
        text = Static("\n".join(view.lines), id="component-text", classes="component-text")
        facts = Static(
            f"KCV: {view.check}\nPress any key to hide it when you have copied it.",
            id="component-kcv",
        )
        columns, lines = qr_size(view.qr_payload)
        width, height = self.app.size
        room_for_qr = width >= columns + QR_MIN_TEXT_COLUMNS + 6 and height >= lines + 7
        qr: QrCode | Static = (
            QrCode(view.qr_payload, id="component-qr")
            if room_for_qr
            else Static(
                f"The QR code needs a window of {columns + QR_MIN_TEXT_COLUMNS + 6} x "
                f"{lines + 7} or more.",
                id="component-qr-note",
            )
        )
        return Vertical(
            Static(f"{self.what}, for {self.keyboard.name if self.keyboard else ''} only"),
            Horizontal(Vertical(text, facts, id="component-left"), qr, id="component-row"),
            id="shown",
            classes="phase",
        )

    def on_key(self, event: events.Key) -> None:
        if self.phase is Phase.SHOWN:
            event.stop()
            event.prevent_default()
            if time.monotonic() - self._shown_at >= self.KEY_GUARD:
                self.hide()

    # ---- hide --------------------------------------------------------------------------------

    def hide(self, clear: bool = True) -> None:
        """Remove the component from the screen, clear the terminal, ask for the KCV."""
        if self.phase is not Phase.SHOWN:
            return
        self.phase = Phase.HIDDEN
        self.query_one("#privacy").display = False
        self.remove_class("revealing")
        self.refresh_bindings()
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        for widget in self.query("#shown"):
            widget.remove()
        typeback, field = self._typeback()
        self.query_one("#body").mount(typeback)
        self.call_after_refresh(field.focus)
        host = self.host
        if host is not None and clear:
            self.call_after_refresh(host.clear_screen_and_scrollback)

    # ---- type back ---------------------------------------------------------------------------

    @on(Input.Submitted, "#typeback-input")
    def _typed_back(self, event: Input.Submitted) -> None:
        problem = self.query_one("#typeback-problem", Static)
        event.input.value = ""
        if not event.value.strip():  # a doubled or held Enter: no try of the KCV used up
            problem.update("✗ Type the KCV first, then Enter.")
            return
        if not self.check_locally:
            self.dismiss(DisplayResult(None, None, event.value))
            return
        try:
            typed = kcv.parse_check_value(f"{self.check.method.label} {event.value}")
        except CeremonyError as ex:
            problem.update(f"✗ {ex.message}\n  What to do: {ex.hint or 'type it again'}")
            return
        try:
            kcv.require_match(self.check, typed, self.what)
        except CheckValueError:
            # Never say what it should have been: that would make typing it back pointless.
            problem.update(
                "✗ This is not the KCV that was shown.\n  What to do: compare your copy with "
                "what you wrote down and type it again; if your copy is wrong, press F4."
            )
            return
        self.dismiss(DisplayResult(True, typed, event.value))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show":
            return self.phase is Phase.PRIVACY
        if action == "cannot_confirm":
            return self.check_locally and self.phase is Phase.HIDDEN
        if action == "show_again":
            # Only the engine can show it again (dual control); a standalone screen cannot.
            return not self.check_locally and self.phase is Phase.HIDDEN
        return True

    def action_show_again(self) -> None:
        if self.check_locally or self.phase is not Phase.HIDDEN:
            return

        def answered(again: bool | None) -> None:
            if again:
                self.dismiss(DisplayResult(None, None, AGAIN))

        self.app.push_screen(
            ConfirmModal(
                "Show the component again?",
                f"{self.what} is shown again only after two approvals by people who hold no "
                "part of it (one a security officer), and the journal records it.",
                yes="ask for the approvals",
                no="type the KCV",
            ),
            answered,
        )

    def action_cannot_confirm(self) -> None:
        if self.phase is not Phase.HIDDEN:
            return

        def answered(give_up: bool | None) -> None:
            if give_up:
                self.dismiss(DisplayResult(False, None, ""))

        self.app.push_screen(
            ConfirmModal(
                "The KCV cannot be typed back",
                f"{self.what} is not confirmed. Showing it again needs dual control and is "
                "journaled; the security officer decides.",
                yes="report it to the security officer",
                no="try typing it again",
            ),
            answered,
        )

    def leaving(self) -> None:
        self.hide()


def _spent() -> ComponentView:
    raise AssertionError("a component is shown once per screen")

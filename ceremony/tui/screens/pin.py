"""HSM login: a masked PIN, or one half of a split PIN on its own screen for its own officer."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Static

from ceremony.core.secret import Secret
from ceremony.hsm.base import PinRequest, PinState
from ceremony.tui.screens.base import StepScreen
from ceremony.tui.state import AtKeyboard


def tries_text(state: PinState | None) -> str:
    """What the token reports about tries left, in plain words."""
    if state is None:
        return "Tries left: the token does not say."
    if state is PinState.OK:
        return "Tries left: the token reports no failed tries."
    if state is PinState.COUNT_LOW:
        return "Tries left: RUNNING LOW, a wrong PIN was entered since the last good login."
    if state is PinState.FINAL_TRY:
        return "Tries left: ONE. A wrong PIN now locks the token."
    return f"Tries left: none, the PIN is {state.value}."


class PinScreen(StepScreen[Secret | None]):
    """Dismisses with the PIN (or half) in a Secret; the input is emptied at once."""

    runbook = "HSM login"

    def __init__(
        self,
        request: PinRequest,
        *,
        officer: AtKeyboard | None = None,
        half: tuple[int, int] | None = None,
        state: PinState | None = None,
        again: bool = False,
    ) -> None:
        super().__init__()
        self.request = request
        self.half = half
        self.state = state
        self.again = again
        self.keyboard = officer
        part = f"half {half[0]} of {half[1]} of the " if half else "the "
        self.what = f"{part}{request.role.value} PIN"
        who = officer.name if officer else "the officer"
        self.step_title = f"HSM login: {who} types {self.what}"

    def compose_body(self) -> ComposeResult:
        who = self.keyboard.name if self.keyboard else "The officer"
        others = "Everyone else looks away from the keyboard. " if self.half else ""
        verb = "type it again to confirm" if self.again else "type"
        yield Static(
            f"{others}{who}: {verb} {self.what} for token {self.request.token_label!r}, "
            "then Enter. Nothing you type is shown or kept.",
            classes="screen-intro",
        )
        with Horizontal(classes="pin-row"):
            yield Static("PIN ", classes="pin-label")
            yield Input(password=True, id="pin-input", compact=True)
        yield Static(tries_text(self.state), id="pin-tries")
        yield Static("", id="pin-problem")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#pin-input", Input).focus()

    @on(Input.Submitted, "#pin-input")
    def _submitted(self, event: Input.Submitted) -> None:
        text, event.input.value = event.value, ""
        if not text:
            self.query_one("#pin-problem", Static).update(
                "✗ Nothing was typed; an empty PIN is never sent to the token."
            )
            return
        self.dismiss(Secret(text.encode("utf-8"), self.what))

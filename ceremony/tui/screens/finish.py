"""Finish: the final hash as hex, as words and as a QR code, the bundle, and the verify result."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from ceremony.core import journal
from ceremony.tui.screens.base import StepScreen
from ceremony.tui.state import AtKeyboard
from ceremony.tui.widgets.qr import QrCode


@dataclass(frozen=True)
class FinishView:
    """What the engine's outcome says, in the words the screen shows."""

    finished: bool
    reason: str | None
    final_hash: str | None
    journal: Path | None
    output_folder: Path | None
    outputs: tuple[str, ...]


class FinishScreen(StepScreen[int]):
    """Q or Enter leaves the TUI (exit code 0 finished, 1 stopped)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "leave", "Leave"),
        Binding("enter", "leave", "Leave", show=False),
    ]
    runbook = "Finish"

    def __init__(self, view: FinishView) -> None:
        super().__init__()
        self.view = view
        self.keyboard = AtKeyboard("the security officer", "reading the final hash aloud")
        self.step_title = "finished" if view.finished else "stopped"

    def compose_body(self) -> ComposeResult:
        view = self.view
        with VerticalScroll(id="finish-scroll"):
            if view.finished:
                yield Static("The ceremony is finished.", classes="finish-title ok")
            else:
                yield Static(
                    f"The ceremony stopped: {view.reason or 'see the journal'}",
                    classes="finish-title stopped",
                )
            if view.final_hash is None:
                yield Static("No journal was written.")
                return
            with Horizontal(id="finish-row"):
                with Vertical(id="finish-left"):
                    yield Static("Final journal hash (read it aloud):", classes="form-label")
                    yield Static(journal.hash_groups(view.final_hash), id="finish-hex")
                    yield Static(
                        "\n".join(journal.hash_word_lines(view.final_hash)), id="finish-words"
                    )
                    yield Static(f"Journal: {view.journal}", id="finish-journal")
                    if view.output_folder is not None:
                        outputs = "\n".join(f"  {o}" for o in view.outputs) or "  (none)"
                        yield Static(
                            f"Outputs in {view.output_folder}:\n{outputs}", id="finish-outputs"
                        )
                    yield Static("Verify: checking…", id="finish-verify")
                yield QrCode(view.final_hash, id="finish-qr")

    def show_verify(self, text: str, ok: bool | None) -> None:
        verify = self.query_one("#finish-verify", Static)
        verify.update(text)
        verify.set_class(ok is True, "ok")
        verify.set_class(ok is False, "stopped")

    def action_leave(self) -> None:
        self.app.exit(0 if self.view.finished else 1, return_code=0 if self.view.finished else 1)

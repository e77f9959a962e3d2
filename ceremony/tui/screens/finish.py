"""Finish: the final hash as hex, as words and as a QR code, the verify verdict, the outputs.

Top to bottom, what the security officer reads aloud first: the hash in hex groups, in words,
its QR code, then one line of ``ceremony verify`` (PASS or FAIL with the count) and where the
journal and the bundle are. The whole verify report is one key away (V), in its own modal, so
it never pushes the hash off the screen. The ceremony is over: nothing here offers an abort.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from ceremony.core import journal
from ceremony.errors import CeremonyError
from ceremony.tui.modals import ReportModal
from ceremony.tui.screens.base import StepScreen
from ceremony.tui.state import AtKeyboard
from ceremony.tui.widgets.journal_panel import hash_lines
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
    signed_record: Path | None = None
    record_error: str | None = None  # finished, but record.pdf could not be written

    @property
    def exit_code(self) -> int:
        """0 finished with its record, 4 finished without it, 1 stopped."""
        if not self.finished:
            return 1
        return 4 if self.record_error is not None else 0


class FinishScreen(StepScreen[int]):
    """Q or Enter leaves the TUI (exit code 0 finished, 4 finished without its signed record, 1
    stopped); V shows the verify report.

    ``verify`` returns the report and its verdict; the report's first line is the verdict in
    one line (``ceremony verify: PASS (37 checks)``), the rest is the whole report.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "leave", "Leave"),
        Binding("enter", "leave", "Leave", show=False),
        Binding("v", "verify_report", "Verify report"),
    ]
    runbook = "Finish"
    ceremony_over = True

    def __init__(
        self, view: FinishView, *, verify: Callable[[], tuple[str, bool | None]] | None = None
    ) -> None:
        """``verify`` runs in a thread worker once the screen is up (it reads and checks files)."""
        super().__init__()
        self.view = view
        self.verifier = verify
        self.keyboard = AtKeyboard("the security officer", "reading the final hash aloud")
        self.step_title = "finished" if view.finished else "stopped"
        self.report: str | None = None  # the whole verify report, once it is in

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
            with Horizontal(id="finish-hash-row"):  # side by side when the window is wide
                with Vertical(id="finish-hash"):
                    yield Static("Final journal hash (read it aloud):", classes="finish-label")
                    yield Static("\n".join(hash_lines(view.final_hash)), id="finish-hex")
                    yield Static(
                        "\n".join(journal.hash_word_lines(view.final_hash)), id="finish-words"
                    )
                yield QrCode(view.final_hash, id="finish-qr")
            yield Static("ceremony verify: checking…", id="finish-verify")
            yield Static(f"Journal: {view.journal}", id="finish-journal")
            if view.signed_record is not None:
                yield Static(f"Signed record: {view.signed_record}", id="finish-record")
            if view.record_error is not None and view.journal is not None:
                yield Static(
                    f"The signed record was NOT written ({view.record_error}). The ceremony is "
                    f"finished: run 'ceremony record {view.journal.parent}' once the medium has "
                    "room.",
                    id="finish-record-missing",
                    classes="stopped",
                )
            if view.output_folder is not None:
                outputs = "\n".join(f"  {o}" for o in view.outputs) or "  (none)"
                yield Static(f"Outputs in {view.output_folder}:\n{outputs}", id="finish-outputs")

    def on_mount(self) -> None:
        super().on_mount()
        if self.verifier is not None and self.query("#finish-verify"):
            self._verify()
        elif self.query("#finish-verify"):
            self.show_verify("ceremony verify: not run here.", None)

    @work(thread=True, exit_on_error=False, name="verify")
    def _verify(self) -> None:
        assert self.verifier is not None
        try:
            text, ok = self.verifier()
        except CeremonyError as ex:
            text, ok = f"ceremony verify could not run: {ex.message}", False
        self.app.call_from_thread(self.show_verify, text, ok)

    def show_verify(self, text: str, ok: bool | None) -> None:
        """The verdict (the report's first line) on screen; the whole report behind V."""
        verdict, _, rest = text.partition("\n")
        self.report = text if rest.strip() else None
        verify = self.query_one("#finish-verify", Static)
        verify.update(verdict)
        verify.set_class(ok is True, "ok")
        verify.set_class(ok is False, "stopped")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "verify_report":
            return self.report is not None
        return True

    def action_verify_report(self) -> None:
        if self.report is not None:
            self.app.push_screen(ReportModal("ceremony verify", self.report))

    def action_leave(self) -> None:
        self.app.exit(self.view.exit_code, return_code=self.view.exit_code)

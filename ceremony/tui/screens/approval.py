"""Approval of one manual clear-text operation by one participant (dual control)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ceremony.tui.screens.base import StepScreen
from ceremony.tui.state import AtKeyboard
from ceremony.tui.widgets.approval import ApprovalForm, Approver


@dataclass(frozen=True)
class Approval:
    """Who approves and the passphrase they typed; the engine verifies it and journals."""

    participant: str
    passphrase: str = field(repr=False)


class ApprovalScreen(StepScreen[Approval]):
    runbook = "Approvals"

    def __init__(
        self,
        operation: str,
        approvers: Sequence[Approver],
        already: Iterable[str] = (),
        *,
        needed: tuple[int, int] = (1, 2),
        prompt: str | None = None,
        lines: Sequence[str] = (),
        stage: tuple[int, int] | None = None,
        runbook: str | None = None,
    ) -> None:
        super().__init__()
        self.stage = stage
        if runbook is not None:
            self.runbook = runbook
        self.operation = operation
        self.approvers = tuple(approvers)
        self.already = tuple(already)
        self.needed = needed
        self.prompt = prompt or (
            f"Approval {needed[0]} of {needed[1]} for: {operation}\n"
            "Each approver approves once, with the passphrase they set at roll call."
        )
        self.lines = tuple(lines)
        self.keyboard = AtKeyboard("the next approver", "selecting their own name")
        self.step_title = f"approval {needed[0]} of {needed[1]}: {operation}"

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="request-scroll"):
            yield Static(self.prompt, classes="screen-intro")
            if self.lines:
                yield Static("\n".join(self.lines), id="request-lines")
            yield ApprovalForm(self.approvers, self.already, id="approval")

    @on(ApprovalForm.Submitted)
    def _submitted(self, event: ApprovalForm.Submitted) -> None:
        self.dismiss(Approval(event.participant, event.passphrase))

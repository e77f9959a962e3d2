"""Approval of one manual clear-text operation by one participant (dual control)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from textual import on
from textual.app import ComposeResult
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
    ) -> None:
        super().__init__()
        self.operation = operation
        self.approvers = tuple(approvers)
        self.already = tuple(already)
        self.needed = needed
        self.keyboard = AtKeyboard("the next approver", "selecting their own name")
        self.step_title = f"approval {needed[0]} of {needed[1]}: {operation}"

    def compose_body(self) -> ComposeResult:
        yield Static(
            f"Approval {self.needed[0]} of {self.needed[1]} for: {self.operation}\n"
            "Each approver approves once, with the passphrase they set at roll call.",
            classes="screen-intro",
        )
        yield ApprovalForm(self.approvers, self.already, id="approval")

    @on(ApprovalForm.Submitted)
    def _submitted(self, event: ApprovalForm.Submitted) -> None:
        self.dismiss(Approval(event.participant, event.passphrase))

"""Approval of one manual clear-text operation by one participant (dual control).

What is being approved stays in view: one summary line (the engine's own words, "Approval 1 of
2 to show a component on screen (demo-zmk component 1)") is pinned above the scrolling part,
and the list of names scrolls within a capped height, however many people may approve.
"""

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
        tries: str | None = None,
    ) -> None:
        super().__init__()
        self.stage = stage
        self.tries = tries  # the engine's count of passphrase tries left, per approver
        if runbook is not None:
            self.runbook = runbook
        self.operation = operation
        self.approvers = tuple(approvers)
        self.already = tuple(already)
        self.needed = needed
        if prompt is None:
            self.summary = f"Approval {needed[0]} of {needed[1]} for: {operation}"
            self.instructions = (
                "Each approver approves once, with the passphrase they set at roll call."
            )
            prompt = f"{self.summary}\n{self.instructions}"
        else:
            self.summary, self.instructions = split_prompt(prompt, operation, needed)
        self.prompt = prompt
        self.lines = tuple(lines)
        self.keyboard = AtKeyboard("the next approver", "selecting their own name")
        self.step_title = f"approval {needed[0]} of {needed[1]}: {operation}"

    def compose_body(self) -> ComposeResult:
        yield Static(self.summary, id="approval-summary")
        with VerticalScroll(id="request-scroll"):
            if self.instructions:
                yield Static(self.instructions, classes="screen-intro")
            if self.lines:
                yield Static("\n".join(self.lines), id="request-lines")
            if self.tries is not None:
                yield Static(f"Tries left: {self.tries}", id="tries")
            yield ApprovalForm(self.approvers, self.already, id="approval")

    @on(ApprovalForm.Submitted)
    def _submitted(self, event: ApprovalForm.Submitted) -> None:
        self.dismiss(Approval(event.participant, event.passphrase))


def split_prompt(prompt: str, operation: str, needed: tuple[int, int]) -> tuple[str, str]:
    """(what is approved, how): the engine's prompt reads "Approval 1 of 2 to <operation>
    (<subject>): <how>"; a prompt of another form is kept whole under a summary of our own."""
    head, sep, rest = prompt.partition(": ")
    if sep and head.startswith("Approval ") and " to " in head and "\n" not in head:
        return head, rest[:1].upper() + rest[1:]
    return f"Approval {needed[0]} of {needed[1]}: {operation}", prompt

"""What the always-visible shell shows: ceremony, step, who is at the keyboard. No secrets."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AtKeyboard:
    """The person who should be typing now."""

    name: str
    role: str

    def line(self) -> str:
        who = f"{self.name}, {self.role}" if self.role else self.name
        return f"Now at the keyboard: {who}"


@dataclass(frozen=True)
class ShellState:
    """The header and keyboard line of every screen; replaced as a whole, never mutated."""

    ceremony_id: str = ""
    ceremony_type: str = ""
    rehearsal: bool = False
    step: int = 0
    steps: int = 0
    step_title: str = ""
    at_keyboard: AtKeyboard | None = None
    # Runbook section shown by F1: a number or a title (ceremony.tui.runbook.section).
    runbook: int | str | None = None

    def step_text(self) -> str:
        if not self.steps:
            return self.step_title
        text = f"step {self.step} of {self.steps}"
        return f"{text}: {self.step_title}" if self.step_title else text

"""What the TUI takes from an engine Request to show it: who types, their names, the runbook.

Nothing here decides anything: the machine names who answers and checks every answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ceremony.core.rules import Operation, Role, Roster
from ceremony.engine.requests import Request
from ceremony.tui.state import AtKeyboard
from ceremony.tui.widgets.approval import Approver

# Runbook section (title prefix) for each step id prefix; the first match wins.
_RUNBOOK = (
    ("airgap", "Air gap"),
    ("roll-call", "Roll call"),
    ("clock", "Clock"),
    ("printer", "Clock"),  # section 6: clock and printer
    (f"approve/{Operation.PRINTER_OVERRIDE.value}", "Clock"),
    (f"approve/{Operation.CONFIRM_IMPORT_KEY.value}", "Import keys"),
    ("import-key", "Import keys"),
    ("hsm", "HSM login"),
    ("component", "Component display"),
    ("entry", "Component entry"),
    ("approve", "Approvals"),
    ("assemble", "Reconstitute"),
    ("destroy", "Destroy"),
    ("wrap", "Generate-export"),
    ("finish", "Finish"),
)


def runbook_for(step: str) -> str | None:
    for prefix, section in _RUNBOOK:
        if step == prefix or step.startswith(prefix + "/"):
            return section
    return None


@dataclass(frozen=True)
class Reply:
    """An answer for the machine: the text, and who gives it when the request names no one."""

    value: str = field(repr=False)
    by: str | None = None


@dataclass(frozen=True)
class People:
    """Names and roles of the ceremony's participants, to show instead of ids."""

    roster: Roster

    def approver(self, person_id: str) -> Approver:
        if person_id in self.roster:
            p = self.roster.get(person_id)
            return Approver(p.id, p.name, _role(p.role))
        return Approver(person_id, person_id, "")

    def candidates(self, request: Request) -> list[Approver]:
        return [self.approver(c) for c in request.who.candidates]

    def keyboard(self, request: Request) -> AtKeyboard:
        who = request.who
        if who.participant is not None and who.participant in self.roster:
            p = self.roster.get(who.participant)
            return AtKeyboard(p.name, _role(p.role))
        return AtKeyboard(who.text, "")


def _role(role: Role) -> str:
    """The short role name ("security officer"), for lines that must fit 80 columns."""
    return role.value.replace("-", " ")

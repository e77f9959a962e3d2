"""What the TUI takes from an engine Request to show it: who types, their names, the runbook.

Nothing here decides anything: the machine names who answers and checks every answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ceremony.core.rules import Operation, Role, Roster
from ceremony.engine.requests import Request
from ceremony.engine.step_id import Family, StepId
from ceremony.tui.state import AtKeyboard
from ceremony.tui.widgets.approval import Approver

# Runbook section (title prefix) for each step family; approvals by what they approve.
_RUNBOOK = {
    Family.AIRGAP: "Air gap",
    Family.ROLL_CALL: "Roll call",
    Family.CLOCK: "Clock",
    Family.PRINTER: "Clock",  # section 6: clock and printer
    Family.IMPORT_KEY: "Import keys",
    Family.TOKEN_CHECK: "HSM login",
    Family.OUTPUTS_CHECK: "Air gap",  # section 2: the workstation, its media and its outputs
    Family.HSM: "HSM login",
    Family.SIGNING: "HSM login",
    Family.COMPONENT: "Component display",
    Family.ENTRY: "Component entry",
    Family.APPROVE: "Approvals",
    Family.ASSEMBLE: "Reconstitute",
    Family.DESTROY: "Destroy",
    Family.WRAP: "Generate-export",
    Family.FINISH: "Finish",
    Family.RECOVERY: "Stopping and restarting",
    Family.ORPHAN: "Stopping and restarting",
    Family.VOID: "Stopping and restarting",
    Family.RESTART: "Stopping and restarting",
}
_RUNBOOK_APPROVALS = {
    Operation.PRINTER_OVERRIDE: "Clock",
    Operation.CONFIRM_IMPORT_KEY: "Import keys",
    Operation.VOID_COMPONENTS: "Stopping and restarting",
    Operation.RESTART: "Stopping and restarting",
}


def runbook_for(step: StepId) -> str | None:
    """The runbook section that explains ``step`` (None: no section of its own)."""
    if step.operation is not None and step.operation in _RUNBOOK_APPROVALS:
        return _RUNBOOK_APPROVALS[step.operation]
    return _RUNBOOK.get(step.family)


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

"""Step ids: which stage and which question a request is, built and read in one place."""

from __future__ import annotations

import dataclasses
import enum
import re
from dataclasses import dataclass
from typing import Literal

from ceremony.core.rules import Operation

PinName = Literal["so", "user"]
_PIN = re.compile(r"(so|user)-pin")
_NUMBERED = re.compile(r"(half|line|privacy-again|again)-(\d+)")
# Approvals about a cloud target name it after the key (confirm-import-key, software-wrap).
_TARGET_OPERATIONS = (Operation.CONFIRM_IMPORT_KEY, Operation.SOFTWARE_WRAP)


class Family(enum.Enum):
    """The first part of a step id: a stage of the plan, or an approval within one."""

    AIRGAP = "airgap"
    TOKEN_CHECK = "token-check"  # noqa: S105 - a step name
    OUTPUTS_CHECK = "outputs-check"
    ROLL_CALL = "roll-call"
    CLOCK = "clock"
    PRINTER = "printer"
    IMPORT_KEY = "import-key"
    HSM = "hsm"
    SIGNING = "signing"  # the login to a second token that signs the record
    KEY = "key"
    ENTRY = "entry"
    ASSEMBLE = "assemble"
    COMPONENT = "component"
    STORE = "store"
    WRAP = "wrap"
    DESTROY = "destroy"
    FINISH = "finish"
    APPROVE = "approve"
    # A restart after an interruption: what the aborted attempts left, the orphaned keys
    # destroyed and the components voided (ceremony.engine.steps.recovery).
    RECOVERY = "recovery"
    ORPHAN = "orphan"
    VOID = "void"
    RESTART = "restart"


class Action(enum.Enum):
    """What is asked within a stage (None on a ``StepId``: the stage itself, or a PIN)."""

    CHOICE = "choice"
    PRESENT = "present"
    PASSPHRASE = "passphrase"  # noqa: S105 - a step name, not a password
    PASSPHRASE_AGAIN = "passphrase-again"  # noqa: S105 - a step name
    MISMATCH = "mismatch"
    PREFLIGHT = "preflight"
    LAST_TRY = "last-try"
    PRIVACY = "privacy"  # with ``again``: privacy-again-N
    KCV = "kcv"  # with ``again``: kcv/again-N
    LINE = "line"  # ``line`` 1..n: line-NN; 0: sum
    ENVELOPE = "envelope"
    ENVELOPE_SERIAL = "envelope-serial"


# The identity parts after the family, in their order in the string.
_PARTS: dict[Family, tuple[str, ...]] = {
    Family.ROLL_CALL: ("person",),
    Family.IMPORT_KEY: ("key", "target"),
    Family.WRAP: ("key", "target"),
    Family.KEY: ("key",),
    Family.ASSEMBLE: ("key",),
    Family.STORE: ("key",),
    Family.DESTROY: ("key",),
    Family.ORPHAN: ("key",),
    Family.VOID: ("key",),
    Family.COMPONENT: ("key", "index"),
    Family.ENTRY: ("key", "index"),
}


@dataclass(frozen=True)
class StepId:
    """A step id; ``str()`` gives the stable text (answers files, the journal, the runbook).

    ``key`` is a key label; for an approval it is what is approved (a key label, or the
    ceremony id for an override). ``approval`` is 1 or 2; ``half`` a PIN half; ``again`` the
    round of showing a component again; ``line`` a component line typed (0: the SUM line).
    """

    family: Family
    person: str | None = None
    key: str | None = None
    index: int | None = None
    target: str | None = None
    operation: Operation | None = None
    approval: int | None = None
    pin: PinName | None = None
    action: Action | None = None
    half: int | None = None
    again: int | None = None
    line: int | None = None

    # ---- builders -------------------------------------------------------------------------

    @classmethod
    def of(cls, family: Family, key: str, index: int | None = None) -> StepId:
        return cls(family, key=key, index=index)

    @classmethod
    def approve(
        cls,
        operation: Operation,
        key: str,
        approval: int,
        *,
        index: int | None = None,
        target: str | None = None,
    ) -> StepId:
        return cls(
            Family.APPROVE,
            key=key,
            index=index,
            target=target,
            operation=operation,
            approval=approval,
        )

    def then(
        self,
        action: Action | None = None,
        *,
        pin: PinName | None = None,
        half: int | None = None,
        again: int | None = None,
        line: int | None = None,
    ) -> StepId:
        """The step ``action`` within this step's stage."""
        return dataclasses.replace(
            self.stage, action=action, pin=pin, half=half, again=again, line=line
        )

    @property
    def stage(self) -> StepId:
        """The stage this step belongs to (itself for an approval, which has none)."""
        if self.family is Family.APPROVE:
            return self
        return StepId(self.family, self.person, self.key, self.index, self.target)

    # ---- text -----------------------------------------------------------------------------

    def __str__(self) -> str:
        parts = [self.family.value]
        if self.family is Family.APPROVE:
            assert self.operation is not None
            parts += [self.operation.value, str(self.key)]
            parts += [str(self.index)] if self.index is not None else []
            parts += [self.target] if self.target is not None else []
            parts += [str(self.approval)] if self.approval is not None else []
            return "/".join(parts)
        parts += [str(getattr(self, name)) for name in _PARTS.get(self.family, ())]
        if self.pin is not None:
            parts.append(f"{self.pin}-pin")
        if self.half is not None:
            parts.append(f"half-{self.half}")
        action = self.action
        if action is Action.LINE:
            assert self.line is not None
            parts.append("sum" if self.line == 0 else f"line-{self.line:02d}")
        elif action is Action.PRIVACY and self.again is not None:
            parts.append(f"privacy-again-{self.again}")
        elif action is not None:
            parts.append(action.value)
            if self.again is not None:
                parts.append(f"again-{self.again}")
        return "/".join(parts)

    def __repr__(self) -> str:
        return f"StepId({str(self)!r})"

    @classmethod
    def parse(cls, text: str) -> StepId:
        """The step id ``str()`` wrote; ValueError for any other text."""
        try:
            step = _parse(text.split("/"))
        except (ValueError, IndexError, KeyError):
            step = None
        if step is None or str(step) != text:  # one text for each step id
            raise ValueError(f"not a step id: {text[:80]!r}")
        return step


def _parse(parts: list[str]) -> StepId:
    family = Family(parts[0])
    rest = parts[1:]
    if family is Family.APPROVE:
        operation = Operation(rest.pop(0))
        key = _segment(rest.pop(0))
        index = int(rest.pop(0)) if operation.on_component else None
        target = _segment(rest.pop(0)) if operation in _TARGET_OPERATIONS else None
        approval = int(rest.pop(0)) if rest else None
        if rest:
            raise ValueError("extra parts")
        return StepId(Family.APPROVE, None, key, index, target, operation, approval)
    named = {name: _segment(rest.pop(0)) for name in _PARTS.get(family, ())}
    position = named.get("index")
    stage = StepId(
        family,
        person=named.get("person"),
        key=named.get("key"),
        index=int(position) if position is not None else None,
        target=named.get("target"),
    )
    pin: PinName | None = None
    if rest and _PIN.fullmatch(rest[0]):
        pin = "so" if rest.pop(0) == "so-pin" else "user"
    action: Action | None = None
    numbers: dict[str, int] = {}
    for part in rest:
        numbered = _NUMBERED.fullmatch(part)
        if numbered is not None:
            name, number = numbered.group(1), int(numbered.group(2))
            action = {"line": Action.LINE, "privacy-again": Action.PRIVACY}.get(name, action)
            numbers[name.removeprefix("privacy-")] = number
        elif part == "sum":
            action, numbers["line"] = Action.LINE, 0
        elif action is None:
            action = Action(part)
        else:
            raise ValueError("two actions")
    return stage.then(action, pin=pin, **numbers)


def _segment(part: str) -> str:
    if not part:
        raise ValueError("empty part")
    return part

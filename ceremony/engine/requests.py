"""What the ceremony machine asks of the people in the room, and how they answer.

A driver (the headless runner, the TUI) shows a ``Request`` and passes the answer back with
``Machine.answer(value, by=...)``. Requests are plain data: a driver holds no ceremony rule.
"""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from ceremony.core.kcv import CheckValue
from ceremony.core.providers.common import Fingerprint
from ceremony.core.rules import Operation, Role
from ceremony.engine.step_id import StepId
from ceremony.errors import CeremonyError

# Typed at a component's KCV type-back instead of the KCV: show it again (dual control, journaled).
AGAIN = "again"
# Typed by an officer instead of their passphrase at an import-key approval: the fingerprint does
# not match the cloud console, and the ceremony stops. Shorter than any approval passphrase.
REFUSE = "refuse"


class RequestKind(enum.Enum):
    """How a request is answered."""

    # Typed text that may be shown and journaled: a KCV typed back, a time, an envelope serial.
    PUBLIC = "public"
    # Typed without echo and never shown or stored: a passphrase being set, a PIN or PIN half,
    # a component line.
    SECRET = "secret"  # noqa: S105 - a kind, not a password
    # The person named types "yes" once they have done what the prompt says.
    CONFIRMATION = "confirmation"
    # One of ``who.candidates`` picks themselves (``by=``) and types their approval passphrase.
    APPROVAL = "approval"
    # One of ``choices``.
    CHOICE = "choice"


@dataclass(frozen=True)
class Who:
    """Who answers: one named participant, or any one of ``candidates`` (then ``by=`` says who)."""

    participant: str | None
    role: Role | None
    candidates: tuple[str, ...]
    text: str  # "Emma Brown (ebrown), key custodian" or "one security officer"

    @property
    def anyone(self) -> bool:
        return self.participant is None


@dataclass(frozen=True, repr=False)
class ComponentSheet:
    """A component on display for its custodian. ``lines`` hold the component: never log them."""

    key: str
    split_set: str
    index: int
    count: int
    scheme: str  # "XOR 3 OF 3", "SHAMIR 3 OF 5"
    custodian: str
    backup: str | None
    kcv: CheckValue
    instruction: str  # the privacy instruction, shown before the component
    lines: tuple[str, ...]
    envelope: str | None = None
    rehearsal: bool = False

    def __repr__(self) -> str:
        return f"<ComponentSheet {self.key} component {self.index} of {self.count}>"

    __str__ = __repr__


@dataclass(frozen=True)
class EntryField:
    """One field of a component typed at entry: the KCV line, a value line or the SUM line."""

    key: str
    index: int  # the component
    line: int | None  # None: the KCV line; 0: the SUM line; 1..lines: a value line
    lines: int  # value lines of this component
    header: tuple[str, ...] = ()  # the header the machine already knows (public)
    plain: bool = False  # a plain hex component from another system: the whole value at once


@dataclass(frozen=True)
class FingerprintCheck:
    """A cloud import key for an officer to compare with the cloud console (all public).

    ``pinned`` is the fingerprint the ceremony file pins, if any; ``details`` are further lines
    (method, key size, reference, validity) to show beside the fingerprint.
    """

    key: str
    target: str
    provider: str
    fingerprint: Fingerprint
    pinned: Fingerprint | None = None
    details: tuple[str, ...] = ()

    @property
    def mismatch(self) -> bool:
        """The file pins a fingerprint and this key is not it: it can only be refused."""
        return self.pinned is not None and not hmac.compare_digest(
            self.pinned.digest, self.fingerprint.digest
        )


@dataclass(frozen=True)
class Request:
    """What the machine needs next.

    ``step_id`` says which step this is; its text ``step`` is the stable id scripted answers
    and the journal name. ``stage`` of ``stages``
    is the progress through the ceremony's planned stages; ``notices`` are what happened since
    the last answer (results the driver shows before the prompt).
    """

    step_id: StepId
    stage: int
    stages: int
    title: str
    who: Who
    kind: RequestKind
    prompt: str
    lines: tuple[str, ...] = ()  # public text to show with the prompt
    choices: tuple[str, ...] = ()  # CHOICE: the allowed answers
    operation: Operation | None = None  # APPROVAL: what is approved
    display: ComponentSheet | None = None  # a component on display through the delivery
    entry: EntryField | None = None  # a component field being typed
    envelope: str | None = None  # the envelope serial the step is about (public)
    pin_tries: str | None = None  # PIN requests: what the token reports about tries left
    # Requests whose wrong answers are counted (PIN, passphrase, KCV, serial): the tool's own
    # count of tries left before the ceremony stops, e.g. "2 of 3 tries left".
    tries: str | None = None
    fingerprint: FingerprintCheck | None = None  # import-key confirmation or pinned mismatch
    notices: tuple[str, ...] = ()

    @property
    def step(self) -> str:
        return str(self.step_id)

    @property
    def secret(self) -> bool:
        return self.kind in (RequestKind.SECRET, RequestKind.APPROVAL)


class AnswerRefused(CeremonyError):
    """The answer was not accepted; the machine's current request says what is asked now."""

    def __init__(
        self, message: str, *, hint: str | None = None, cause: CeremonyError | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.cause = cause

    @classmethod
    def of(cls, error: CeremonyError) -> AnswerRefused:
        return cls(error.message, hint=error.hint, cause=error)


class Answer(NamedTuple):
    value: str
    by: str | None


class Refusal(NamedTuple):
    """Yielded by a flow: refuse the last answer and ask ``request`` (often the same) again."""

    request: Request
    error: AnswerRefused


class ComponentDelivery(Protocol):
    """How a component reaches its custodian on screen (printed forms use ``Services.printer``).

    The machine calls ``show`` after the approvals and the privacy confirmation, and ``hide``
    once the custodian has typed back the KCV (or the ceremony stopped). A terminal shows the
    lines and then clears the screen and scrollback; a TUI may render ``Request.display``.
    """

    def show(self, sheet: ComponentSheet) -> None: ...

    def hide(self, sheet: ComponentSheet) -> None: ...

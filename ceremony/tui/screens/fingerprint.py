"""Import-key confirmation: one officer compares the fingerprint with the cloud console."""

from __future__ import annotations

import enum
import hmac
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from ceremony.core.providers.common import Fingerprint
from ceremony.tui.screens.base import StepScreen
from ceremony.tui.state import AtKeyboard

GROUPS_PER_LINE = 4


class FingerprintAnswer(enum.Enum):
    MATCHES = "matches"
    REFUSED = "refused"


def group_lines(fingerprint: Fingerprint) -> list[str]:
    """Four lines of four hex groups, numbered, to compare line by line."""
    groups = fingerprint.groups().split()
    return [
        f"{i // GROUPS_PER_LINE + 1}  " + " ".join(groups[i : i + GROUPS_PER_LINE])
        for i in range(0, len(groups), GROUPS_PER_LINE)
    ]


def pinned_mismatch(fingerprint: Fingerprint, pinned: Fingerprint | None) -> bool:
    return pinned is not None and not hmac.compare_digest(pinned.digest, fingerprint.digest)


def fingerprint_panels(fingerprint: Fingerprint, pinned: Fingerprint | None) -> ComposeResult:
    """The fingerprint in hex groups and words; both fingerprints and the refusal on a mismatch.

    Shared by this screen and the engine-driven import-key screen (``import_key.py``).
    """
    if pinned is not None and pinned_mismatch(fingerprint, pinned):
        with Horizontal(id="fingerprint-compare"):
            with Vertical(id="fingerprint-hex"):
                yield Static("this key", classes="panel-title")
                yield Static("\n".join(group_lines(fingerprint)), id="fingerprint-groups")
            with Vertical(id="fingerprint-pinned"):
                yield Static("pinned in the file", classes="panel-title")
                yield Static("\n".join(group_lines(pinned)), id="fingerprint-pinned-groups")
        yield Static(
            "✗ This key is NOT the one pinned in the ceremony file, and it is refused.\n"
            "  What to do: stop; get the right import key from the cloud console. Never "
            "change the pin to fit a key.",
            id="fingerprint-mismatch",
        )
        return
    with Horizontal(id="fingerprint-row"):
        with Vertical(id="fingerprint-hex"):
            yield Static("hex", classes="panel-title")
            yield Static("\n".join(group_lines(fingerprint)), id="fingerprint-groups")
        with Vertical(id="fingerprint-words-box"):
            yield Static("words", classes="panel-title")
            yield Static("\n".join(fingerprint.word_lines()), id="fingerprint-words")
    pin = (
        "It also matches the fingerprint pinned in the file."
        if pinned
        else "Nothing pinned (rehearsal): the console is the only check."
    )
    yield Static(pin, id="fingerprint-pin")


class FingerprintScreen(StepScreen[FingerprintAnswer]):
    """Y: it matches what the console shows; N: refuse. A pinned mismatch can only be refused."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer('matches')", "It matches"),
        Binding("n", "answer('refused')", "Refuse"),
    ]
    runbook = "Import-key confirmation"

    def __init__(
        self,
        officer: AtKeyboard,
        target: str,
        provider: str,
        fingerprint: Fingerprint,
        *,
        pinned: Fingerprint | None = None,
        confirmation: tuple[int, int] = (1, 2),
    ) -> None:
        super().__init__()
        self.keyboard = officer
        self.target = target
        self.provider = provider
        self.fingerprint = fingerprint
        self.pinned = pinned
        self.confirmation = confirmation
        self.step_title = (
            f"{officer.name} confirms the import key of {target} "
            f"({confirmation[0]} of {confirmation[1]})"
        )

    @property
    def pinned_mismatch(self) -> bool:
        return pinned_mismatch(self.fingerprint, self.pinned)

    def compose_body(self) -> ComposeResult:
        name = self.keyboard.name if self.keyboard else "the officer"
        yield Static(
            f"Import key of {self.target!r} ({self.provider}). {name}, on your own: "
            "compare its SHA-256 with the cloud console.",
            classes="screen-intro",
        )
        yield from fingerprint_panels(self.fingerprint, self.pinned)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        refused_only = self.pinned_mismatch and parameters == ("matches",)
        return not (action == "answer" and refused_only)

    def action_answer(self, answer: str) -> None:
        result = FingerprintAnswer(answer)
        if result is FingerprintAnswer.MATCHES and self.pinned_mismatch:
            return
        self.dismiss(result)

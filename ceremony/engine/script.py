"""Scripted answers for rehearsals and tests: an answers file (TOML) turned into answers.

The script holds no ceremony rule: it answers each request the machine asks, choosing the
answerer from the candidates the machine names. ``ceremony run --answers`` refuses it outside
a rehearsal.

    [passphrases]                 # approval passphrase of each participant
    amartin = "rehearsal amartin"
    [pins]                        # optional: else CEREMONY_REHEARSAL_USER_PIN / _SO_PIN
    user = "rehearsal-user"
    so = "rehearsal-so"
    signing-user = "..."          # the user PIN of a second token that signs ([signing] module)
    [approvers]
    order = ["amartin", "cwright"]  # who approves first, when eligible (default: file order)
    [components]                  # texts to enter, "<key>.<index>" = file (relative to this file)
    "zmk-prod.1" = "components/zmk-prod-1.txt"
    [answers]                     # exact answers by step id, e.g. "clock" = "same"
    "airgap/choice" = "override"
    [by]                          # who answers a step that names no one
    "clock" = "bokafor"
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ceremony.core.ceremony_file import load_toml
from ceremony.engine.requests import Request, RequestKind
from ceremony.engine.step_id import Action, Family, StepId
from ceremony.errors import ComponentFormatError, ConfigError
from ceremony.hsm.pin import ENV_SO_PIN, ENV_USER_PIN
from ceremony.reading import read_text

_SECTIONS = ("passphrases", "pins", "approvers", "components", "answers", "by")
MAX_ANSWERS_FILE = 1024 * 1024  # bytes; a rehearsal's answers are a page
MAX_COMPONENT_FILE = 64 * 1024  # bytes; a component's text is under 2 KiB


def read_component_file(path: Path) -> str:
    """A component's text from a file (a rehearsal form's text), read as every outside file is."""
    return read_text(
        path,
        "component file",
        cap=MAX_COMPONENT_FILE,
        error=ComponentFormatError,
        hint="check the path; rehearsal component texts are in the rehearsal bundle",
    )


@dataclass
class Script:
    passphrases: dict[str, str] = field(default_factory=dict)
    pins: dict[str, str] = field(default_factory=dict)
    approvers: list[str] = field(default_factory=list)
    components: dict[str, str] = field(default_factory=dict)  # "<key>.<index>" -> text
    answers: dict[str, str] = field(default_factory=dict)
    by: dict[str, str] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    # ---- reading --------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path) -> Script:
        text = read_text(path, "answers file", cap=MAX_ANSWERS_FILE, hint="check the path")
        doc = load_toml(text, f"the answers file {path}")
        unknown = sorted(set(doc) - set(_SECTIONS))
        if unknown:
            raise ConfigError(
                f"the answers file has an unknown section {unknown[0]!r}",
                hint="sections: " + ", ".join(_SECTIONS),
            )

        def table(name: str) -> dict[str, str]:
            value = doc.get(name, {})
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise ConfigError(
                    f"[{name}] in the answers file must map names to strings", hint="fix it"
                )
            return dict(value)

        order = doc.get("approvers", {})
        if not isinstance(order, dict) or not set(order) <= {"order"}:
            raise ConfigError(
                "[approvers] in the answers file must be a table with one key, order",
                hint='write [approvers] then order = ["id1", "id2"]',
            )
        approvers = order.get("order", [])
        if not isinstance(approvers, list) or not all(isinstance(a, str) for a in approvers):
            raise ConfigError("approvers.order must be a list of ids", hint="fix it")
        components = {}
        for name, file in table("components").items():
            components[name] = read_component_file(path.parent / file)
        return cls(
            passphrases=table("passphrases"),
            pins=table("pins"),
            approvers=list(approvers),
            components=components,
            answers=table("answers"),
            by=table("by"),
        )

    # ---- answering ------------------------------------------------------------------------

    def pick(self, request: Request) -> str | None:
        """Who answers: the person named, else the first candidate in the preferred order."""
        if request.step in self.by:
            return self.by[request.step]
        who = request.who
        if who.participant is not None:
            return None
        for person in self.approvers:
            if person in who.candidates:
                return person
        if not who.candidates:
            raise ConfigError(
                f"nobody may answer step {request.step}", hint="check the ceremony file"
            )
        return who.candidates[0]

    def answer(self, request: Request) -> tuple[str, str | None]:
        """``(value, by)`` for ``request``; ConfigError when the script cannot answer it."""
        by = self.pick(request)
        person = request.who.participant or by or ""
        if request.step in self.answers:
            return self.answers[request.step], by
        kind = request.kind
        step = request.step
        if kind is RequestKind.CONFIRMATION:
            return "yes", by
        if kind is RequestKind.APPROVAL:
            return self._passphrase(person, step), by
        if kind is RequestKind.CHOICE:
            if "intact" in request.choices:
                return "intact", by
            if len(request.choices) == 1:  # e.g. "stop" on a pinned fingerprint that differs
                return request.choices[0], by
            raise self._cannot(step)
        step_id = request.step_id
        if step_id.family is Family.ROLL_CALL:
            return self._passphrase(person, step), by
        if step_id.pin is not None:
            return self._pin(step_id), by
        if step_id.family is Family.CLOCK:
            return "same", by
        if request.envelope is not None and step_id.action in (
            Action.ENVELOPE,
            Action.ENVELOPE_SERIAL,
        ):
            return request.envelope, by
        if request.display is not None:
            return request.display.kcv.hex, by
        if request.entry is not None:
            return self._entry_line(request), by
        raise self._cannot(step)

    def _cannot(self, step: str) -> ConfigError:
        return ConfigError(
            f"the answers file has no answer for step {step}",
            hint=f'add it under [answers], e.g. "{step}" = "..."',
        )

    def _passphrase(self, person: str, step: str) -> str:
        if person not in self.passphrases:
            raise ConfigError(
                f"the answers file has no passphrase for {person!r} (step {step})",
                hint=f"add {person} = '...' under [passphrases]",
            )
        return self.passphrases[person]

    def _pin(self, step: StepId) -> str:
        role: str = step.pin or "user"
        if step.family is Family.SIGNING and "signing-user" in self.pins:
            role = "signing-user"  # the second token's user PIN, not the ceremony token's
        pin = self.pins.get(role) or self.environ.get(ENV_SO_PIN if role == "so" else ENV_USER_PIN)
        if not pin:
            raise ConfigError(
                f"no {role} PIN for step {step}",
                hint=f"add [pins] {role} = '...' or export "
                + (ENV_SO_PIN if role == "so" else ENV_USER_PIN),
            )
        if step.half is None:
            return pin
        middle = len(pin) // 2
        return pin[:middle] if step.half == 1 else pin[middle:]

    def _entry_line(self, request: Request) -> str:
        entry = request.entry
        assert entry is not None
        name = f"{entry.key}.{entry.index}"
        text = self.components.get(name)
        if text is None:
            raise ConfigError(
                f"the answers file has no text for component {name}",
                hint=f'add "{name}" = "file" under [components]',
            )
        if entry.plain:  # a plain hex component: its file is the key letter's digits
            return " ".join(text.split())
        wanted = "KCV" if entry.line is None else "SUM" if entry.line == 0 else f"{entry.line:02d}"
        for line in text.splitlines():
            head, colon, rest = line.partition(":")
            if colon and head.strip().upper() == wanted:
                return rest.strip()
        raise ConfigError(f"component {name} has no line {wanted}", hint="check the component file")

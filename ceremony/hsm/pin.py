"""PIN prompters: asked at run time, held in a Secret, never stored, logged or put on argv."""

from __future__ import annotations

import enum
import getpass
import hmac
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TextIO

from ceremony.core.secret import Secret
from ceremony.errors import HsmError, RuleViolation
from ceremony.hsm.base import TokenInfo

ENV_USER_PIN = "CEREMONY_REHEARSAL_USER_PIN"
ENV_SO_PIN = "CEREMONY_REHEARSAL_SO_PIN"

ReadSecretLine = Callable[[str], str]


class PinRole(enum.Enum):
    USER = "user"
    SO = "security officer"


@dataclass(frozen=True)
class PinRequest:
    """What a prompter is asked for; carries no secret, so it may be shown and logged."""

    role: PinRole
    token_label: str
    module_path: str
    token: TokenInfo | None = None  # None while the token is being created
    new: bool = False  # choosing a PIN for a new token: ask twice

    def describe(self) -> str:
        verb = "choose the new" if self.new else "enter the"
        return f"{verb} {self.role.value} PIN for token {self.token_label!r}"


class PinPrompter(Protocol):
    """Gets a PIN for one login; the caller wipes the returned Secret straight after use."""

    def pin(self, request: PinRequest) -> Secret: ...

    def confirm_final_try(self, request: PinRequest) -> bool:
        """Whether to spend the token's last PIN try (the token locks on a wrong PIN)."""
        ...


def _to_secret(text: str, request: PinRequest) -> Secret:
    # getpass returns an immutable str we cannot wipe; the Secret is the copy we control.
    if not text:
        raise HsmError(
            f"no {request.role.value} PIN was entered",
            hint="type the PIN at the prompt; an empty PIN is never sent to the token",
        )
    return Secret(text.encode("utf-8"), f"{request.role.value} PIN")


def _confirm_twice(first: Secret, second: Secret, request: PinRequest) -> Secret:
    with second:
        if not hmac.compare_digest(first.reveal(), second.reveal()):
            first.close()
            raise HsmError(
                f"the two entries of the new {request.role.value} PIN differ",
                hint="start again and type the same PIN twice",
            )
    return first


class GetpassPinPrompter:
    """Asks on the terminal without echo (getpass); the interactive default."""

    def __init__(
        self,
        read: ReadSecretLine = getpass.getpass,
        ask: Callable[[str], str] = input,
        out: TextIO | None = None,
    ) -> None:
        self._read = read
        self._ask = ask
        self._out = out

    def pin(self, request: PinRequest) -> Secret:
        first = _to_secret(self._read(f"{request.describe()}: "), request)
        if not request.new:
            return first
        return _confirm_twice(
            first, _to_secret(self._read("type it again to confirm: "), request), request
        )

    def confirm_final_try(self, request: PinRequest) -> bool:
        out = self._out or sys.stderr
        print(
            f"The token reports ONE {request.role.value} PIN try left: a wrong PIN now locks it.",
            file=out,
        )
        answer = self._ask("Type YES to use the last try, anything else to stop: ")
        return answer.strip() == "YES"


class SplitPinPrompter:
    """Dual control over one PIN: each officer types their half, unseen by the other.

    The token receives the halves joined in order. Each half is read without echo and the
    prompt names the officer, so the other can look away; no half is ever shown or stored.
    """

    def __init__(
        self,
        officers: Sequence[str] = ("officer A", "officer B"),
        read: ReadSecretLine = getpass.getpass,
        ask: Callable[[str], str] = input,
        out: TextIO | None = None,
    ) -> None:
        if len(officers) < 2:
            raise RuleViolation(
                "a split PIN needs at least two officers",
                hint="name one officer per PIN half",
            )
        self._officers = tuple(officers)
        self._read = read
        self._ask = ask
        self._out = out

    def _half(self, index: int, officer: str, request: PinRequest, prompt: str) -> Secret:
        total = len(self._officers)
        text = self._read(
            f"{officer}, {prompt} half {index} of {total} of the {request.role.value} PIN "
            f"for token {request.token_label!r} (the others look away): "
        )
        return _to_secret(text, request)

    def pin(self, request: PinRequest) -> Secret:
        halves: list[Secret] = []
        try:
            for index, officer in enumerate(self._officers, start=1):
                half = self._half(index, officer, request, "type")
                if request.new:
                    half = _confirm_twice(
                        half, self._half(index, officer, request, "again, type"), request
                    )
                halves.append(half)
            joined = Secret(bytes(sum(len(h) for h in halves)), f"{request.role.value} PIN")
            buffer = joined.reveal()
            offset = 0
            for half in halves:
                material = half.reveal()
                buffer[offset : offset + len(material)] = material
                offset += len(material)
            return joined
        finally:
            for half in halves:
                half.close()

    def confirm_final_try(self, request: PinRequest) -> bool:
        out = self._out or sys.stderr
        print(
            f"The token reports ONE {request.role.value} PIN try left: a wrong PIN now locks it.",
            file=out,
        )
        # Both officers must agree to spend the last try.
        return all(
            self._ask(f"{officer}: type YES to use the last try: ").strip() == "YES"
            for officer in self._officers
        )


class EnvironmentPinPrompter:
    """Rehearsal only: PINs from CEREMONY_REHEARSAL_USER_PIN / CEREMONY_REHEARSAL_SO_PIN.

    For scripts/setup, CI and tests. It refuses any token outside the project's private SoftHSM
    store, so a real HSM's PIN can never come from the environment.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    @staticmethod
    def available(environ: Mapping[str, str] | None = None) -> bool:
        env = os.environ if environ is None else environ
        return bool(env.get(ENV_USER_PIN)) and bool(env.get(ENV_SO_PIN))

    def pin(self, request: PinRequest) -> Secret:
        # Imported here: softhsm imports this module for its bootstrap.
        from ceremony.hsm import softhsm

        if not softhsm.is_rehearsal_store(request.module_path):
            raise RuleViolation(
                f"PINs from the environment are for the rehearsal token only, not for "
                f"token {request.token_label!r} in {request.module_path}",
                hint="type the PIN at the prompt; unset the CEREMONY_REHEARSAL_* variables",
            )
        name = ENV_USER_PIN if request.role is PinRole.USER else ENV_SO_PIN
        value = self._environ.get(name, "")
        if not value:
            raise HsmError(
                f"{name} is not set",
                hint=f"export {name} for non-interactive rehearsal, or run in a terminal",
            )
        return Secret(value.encode("utf-8"), f"{request.role.value} PIN")

    def confirm_final_try(self, request: PinRequest) -> bool:
        # Never spend a last try without a person deciding.
        return False

"""PIN prompters: asked at run time, held in a Secret, never stored, logged or put on argv."""

from __future__ import annotations

import getpass
import hmac
import os
import sys
from collections.abc import Callable, Mapping
from typing import TextIO

from ceremony.core.secret import Secret
from ceremony.errors import HsmError, RuleViolation
from ceremony.hsm import softhsm
from ceremony.hsm.base import PinRequest, PinRole

ENV_USER_PIN = "CEREMONY_REHEARSAL_USER_PIN"
ENV_SO_PIN = "CEREMONY_REHEARSAL_SO_PIN"

ReadSecretLine = Callable[[str], str]


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

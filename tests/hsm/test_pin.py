"""PIN prompters: getpass, and the environment for the rehearsal token."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest

from ceremony.errors import HsmError, RuleViolation
from ceremony.hsm.base import PinRequest, PinRole
from ceremony.hsm.pin import EnvironmentPinPrompter, GetpassPinPrompter

REQUEST = PinRequest(PinRole.USER, "tok", "/usr/lib/softhsm/libsofthsm2.so")
NEW = PinRequest(PinRole.SO, "tok", "/usr/lib/softhsm/libsofthsm2.so", new=True)


def _typing(*answers: str) -> tuple[Callable[[str], str], list[str]]:
    prompts: list[str] = []
    queue: Iterator[str] = iter(answers)

    def read(prompt: str) -> str:
        prompts.append(prompt)
        return next(queue)

    return read, prompts


def test_getpass_prompter() -> None:
    read, prompts = _typing("1234")
    with GetpassPinPrompter(read=read).pin(REQUEST) as pin:
        assert bytes(pin.reveal()) == b"1234"
    assert prompts == ["enter the user PIN for token 'tok': "]


def test_new_pin_is_typed_twice() -> None:
    read, _ = _typing("abcd", "abcd")
    assert bytes(GetpassPinPrompter(read=read).pin(NEW).reveal()) == b"abcd"
    read, _ = _typing("abcd", "abce")
    with pytest.raises(HsmError, match="differ"):
        GetpassPinPrompter(read=read).pin(NEW)


def test_empty_pin_is_never_sent() -> None:
    read, _ = _typing("")
    with pytest.raises(HsmError, match="no user PIN"):
        GetpassPinPrompter(read=read).pin(REQUEST)


def test_final_try_needs_a_typed_yes() -> None:
    out = io.StringIO()
    assert GetpassPinPrompter(ask=lambda _: "YES", out=out).confirm_final_try(REQUEST)
    assert not GetpassPinPrompter(ask=lambda _: "yes please", out=out).confirm_final_try(REQUEST)
    assert "ONE user PIN try left" in out.getvalue()


def test_environment_prompter_refuses_a_vendor_module() -> None:
    env = {"CEREMONY_REHEARSAL_USER_PIN": "1234", "CEREMONY_REHEARSAL_SO_PIN": "5678"}
    vendor = PinRequest(PinRole.USER, "prod", "/opt/vendor/lib/libcs_pkcs11_R3.so")
    with pytest.raises(RuleViolation, match="rehearsal token only"):
        EnvironmentPinPrompter(env).pin(vendor)
    assert not EnvironmentPinPrompter(env).confirm_final_try(vendor)
    assert EnvironmentPinPrompter.available(env)
    assert not EnvironmentPinPrompter.available({})


def test_environment_prompter_refuses_softhsm_outside_our_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOFTHSM2_CONF", "/etc/softhsm/softhsm2.conf")
    env = {"CEREMONY_REHEARSAL_USER_PIN": "1234", "CEREMONY_REHEARSAL_SO_PIN": "5678"}
    with pytest.raises(RuleViolation):
        EnvironmentPinPrompter(env).pin(REQUEST)

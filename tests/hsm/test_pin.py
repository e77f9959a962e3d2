"""PIN prompters: getpass, split PIN under dual control, environment for the rehearsal token."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest

from ceremony.errors import HsmError, RuleViolation
from ceremony.hsm.pin import (
    EnvironmentPinPrompter,
    GetpassPinPrompter,
    PinRequest,
    PinRole,
    SplitPinPrompter,
)

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


def test_split_pin_joins_halves_in_officer_order() -> None:
    read, prompts = _typing("12", "34")
    prompter = SplitPinPrompter(("Alice", "Bob"), read=read)
    with prompter.pin(REQUEST) as pin:
        assert bytes(pin.reveal()) == b"1234"
    assert prompts[0].startswith("Alice, type half 1 of 2")
    assert prompts[1].startswith("Bob, type half 2 of 2")
    assert all("look away" in p for p in prompts)


def test_split_new_pin_confirms_each_half() -> None:
    read, prompts = _typing("12", "12", "34", "34")
    assert bytes(SplitPinPrompter(read=read).pin(NEW).reveal()) == b"1234"
    assert len(prompts) == 4


def test_split_final_try_needs_every_officer() -> None:
    answers = iter(["YES", "no"])
    prompter = SplitPinPrompter(("A", "B"), ask=lambda _: next(answers), out=io.StringIO())
    assert not prompter.confirm_final_try(REQUEST)


def test_split_pin_needs_two_officers() -> None:
    with pytest.raises(RuleViolation):
        SplitPinPrompter(("only one",))


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

"""Wrong PIN, PIN flags read before login, removed token: each raises an error one can act on."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pkcs11 import exceptions as p11

from ceremony.errors import (
    HsmError,
    KeyMaterialError,
    KeyNotExtractableError,
    MechanismNotSupportedError,
    PinFinalTryError,
    PinIncorrectError,
    PinLockedError,
    TokenNotFoundError,
    TokenRemovedError,
)
from ceremony.hsm import bootstrap, config
from ceremony.hsm.base import KeySpec, PinState
from ceremony.hsm.pkcs11 import Pkcs11Backend, Pkcs11Session
from ceremony.hsm.pkcs11 import backend as pkcs11_backend
from ceremony.hsm.pkcs11.errors import translated
from ceremony.hsm.pkcs11.module import load_module, token_info
from tests.hsm.conftest import FixedPinPrompter, HsmUnderTest

pytestmark = pytest.mark.hsm


def test_wrong_pin(hsm: HsmUnderTest) -> None:
    wrong = FixedPinPrompter("not-the-pin", hsm.so_pin)
    with pytest.raises(PinIncorrectError) as caught:
        hsm.backend.open(wrong)
    assert "wrong user PIN" in str(caught.value)
    if hsm.is_softhsm:
        # SoftHSM reports CKF_USER_PIN_COUNT_LOW after a failure (it never locks).
        assert caught.value.pin_state == PinState.COUNT_LOW.name
        assert "a wrong PIN was typed since the last good login" in str(caught.value)
    # Nothing was left logged in: the right PIN works straight away.
    with hsm.backend.open(hsm.prompter) as session:
        assert session.random_bytes(4)


@pytest.fixture
def pin_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[PinState]]:
    """Make the token report a PIN state (SoftHSM never reports FINAL_TRY or LOCKED)."""
    forced: list[PinState] = []
    real = token_info

    def patched(module, token):  # type: ignore[no-untyped-def]
        info = real(module, token)
        return dataclasses.replace(info, user_pin=forced[0]) if forced else info

    monkeypatch.setattr(pkcs11_backend, "token_info", patched)
    yield forced


def test_final_try_is_refused_unless_confirmed(
    hsm: HsmUnderTest, pin_state: list[PinState]
) -> None:
    pin_state.append(PinState.FINAL_TRY)
    declining = FixedPinPrompter(hsm.user_pin, hsm.so_pin, confirm=False)
    with pytest.raises(PinFinalTryError, match="one try left"):
        hsm.backend.open(declining)
    assert declining.confirm_asked == 1
    assert declining.asked == []  # refused before anyone typed
    confirming = FixedPinPrompter(hsm.user_pin, hsm.so_pin, confirm=True)
    with hsm.backend.open(confirming) as session:
        assert session.random_bytes(1)


def test_locked_pin_is_refused_before_prompting(
    hsm: HsmUnderTest, pin_state: list[PinState]
) -> None:
    pin_state.append(PinState.LOCKED)
    prompter = FixedPinPrompter(hsm.user_pin, hsm.so_pin)
    with pytest.raises(PinLockedError, match="locked"):
        hsm.backend.open(prompter)
    assert prompter.asked == []


def test_one_ceremony_session_per_token(hsm: HsmUnderTest, session: Pkcs11Session) -> None:
    with pytest.raises(HsmError, match="already open"):
        hsm.backend.open(hsm.prompter)


def test_closed_session_refuses_work(hsm: HsmUnderTest) -> None:
    with hsm.backend.open(hsm.prompter) as session:
        pass
    with pytest.raises(HsmError, match="closed"):
        session.random_bytes(1)


def test_unknown_token(hsm: HsmUnderTest) -> None:
    missing = dataclasses.replace(hsm.config, token_label="no-such-token", token_serial=None)
    with pytest.raises(TokenNotFoundError, match="no-such-token"):
        Pkcs11Backend(missing).describe()


def test_a_token_with_the_label_but_another_serial_is_named_as_such(hsm: HsmUnderTest) -> None:
    # Issue 14: this was "no token label ... is present", though the token was right there.
    serial = hsm.backend.describe().serial
    wrong = dataclasses.replace(hsm.config, token_serial="0000000000000000")
    with pytest.raises(TokenNotFoundError) as caught:
        Pkcs11Backend(wrong).describe()
    assert caught.value.message.startswith(f"the token labelled {hsm.config.token_label!r} in ")
    assert f"has serial {serial}, not 0000000000000000" in caught.value.message
    assert caught.value.hint is not None and "serial 0000000000000000" in caught.value.hint


def test_a_token_with_the_serial_but_another_label_is_named_as_such(hsm: HsmUnderTest) -> None:
    serial = hsm.backend.describe().serial
    wrong = dataclasses.replace(hsm.config, token_label="not-its-label", token_serial=serial)
    with pytest.raises(TokenNotFoundError, match=r"is labelled .*, not 'not-its-label'"):
        Pkcs11Backend(wrong).describe()


def test_missing_module() -> None:
    with pytest.raises(HsmError, match="does not exist"):
        load_module("/nonexistent/libvendor-pkcs11.so")


# python-pkcs11 cannot end a search the library no longer knows; it reports that on GC.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_token_finalized_mid_step(hsm: HsmUnderTest, label: str) -> None:
    session = hsm.backend.open(hsm.prompter)
    try:
        session.generate_key(label, KeySpec.AES_128)
        # The library goes away under an open session (as when a USB token is pulled).
        hsm.backend.module().lib.finalize()
        with pytest.raises(TokenRemovedError, match="went away") as caught:
            session.generate_key(f"{label}-2", KeySpec.AES_128)
        assert "CKR_CRYPTOKI_NOT_INITIALIZED" in str(caught.value)
        assert "journal" in (caught.value.hint or "")
    finally:
        session.close()  # never raises, even with the library gone
    # The next use initialises the library again; the key made before is there.
    with hsm.backend.open(hsm.prompter) as again:
        assert again.key_attributes(label).label == label


@pytest.fixture
def removable(
    hsm: HsmUnderTest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Pkcs11Backend, Path]]:
    if hsm.store is None:
        pytest.skip("deleting a token folder is a SoftHSM test")
    tokens = hsm.store / "tokens"
    before = set(tokens.iterdir())
    monkeypatch.delenv(config.ENV_TOKEN_LABEL)
    removable_config = config.resolve(token_label="removable")
    bootstrap.init_rehearsal_token(removable_config, hsm.prompter)
    (folder,) = set(tokens.iterdir()) - before
    yield Pkcs11Backend(removable_config), folder
    # SoftHSM keeps failing on a vanished token until the library re-reads its store.
    hsm.backend.module().lib.reinitialize()


def test_token_folder_deleted_mid_step(
    hsm: HsmUnderTest, removable: tuple[Pkcs11Backend, Path], label: str
) -> None:
    backend, folder = removable
    session = backend.open(hsm.prompter)
    try:
        session.generate_key(label, KeySpec.AES_128)
        shutil.rmtree(folder)
        with pytest.raises(TokenRemovedError, match="went away"):
            session.generate_key(f"{label}-2", KeySpec.AES_128)
        with pytest.raises(TokenRemovedError):
            session.check_values(label)
    finally:
        session.close()


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (p11.DeviceRemoved(), TokenRemovedError),
        (p11.TokenNotPresent(), TokenRemovedError),
        (p11.SessionHandleInvalid(), TokenRemovedError),
        (p11.MechanismInvalid(), MechanismNotSupportedError),
        (p11.MechanismParamInvalid(), MechanismNotSupportedError),
        (p11.KeyUnextractable(), KeyNotExtractableError),
        (p11.KeyNotWrappable(), KeyNotExtractableError),
        (p11.PinLocked(), PinLockedError),
        (p11.KeySizeRange(), HsmError),
    ],
)
def test_translation_of_pkcs11_errors(raised: Exception, expected: type[HsmError]) -> None:
    with (
        pytest.raises(expected) as caught,
        translated("a step", "token", lambda: True),
    ):
        raise raised
    assert caught.value.__cause__ is raised
    assert caught.value.hint


def test_general_error_of_a_vanished_token_is_a_removal() -> None:
    with pytest.raises(TokenRemovedError), translated("a step", "t", lambda: False):
        raise p11.GeneralError()
    with pytest.raises(HsmError) as caught, translated("a step", "t", lambda: True):
        raise p11.GeneralError()
    assert not isinstance(caught.value, TokenRemovedError)


def test_digest_length_is_checked(session: Pkcs11Session) -> None:
    with pytest.raises(KeyMaterialError, match="digest"):
        session.sign_digest("ceremony-signing", b"message, not a digest")

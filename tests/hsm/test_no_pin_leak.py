"""No PIN reaches a log record, an exception's text, repr or traceback, or the CLI's output."""

from __future__ import annotations

import logging
import secrets
import traceback

import pytest

from ceremony.core.secret import Secret
from ceremony.errors import CeremonyError
from ceremony.hsm import bootstrap, config, softhsm
from ceremony.hsm.base import KeySpec, TrustRequest
from ceremony.hsm.pin import ENV_SO_PIN, ENV_USER_PIN, EnvironmentPinPrompter
from ceremony.hsm.pkcs11 import Pkcs11Backend
from tests.hsm.conftest import FixedPinPrompter, HsmUnderTest

pytestmark = pytest.mark.hsm


def _texts(error: BaseException) -> list[str]:
    out = [str(error), repr(error), "".join(traceback.format_exception(error))]
    cause = error.__cause__
    while cause is not None:
        out += [str(cause), repr(cause)]
        cause = cause.__cause__
    return out


def test_no_pin_in_logs_or_errors(
    hsm: HsmUnderTest, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    if hsm.store is None:
        pytest.skip("creates a rehearsal token")
    caplog.set_level(logging.DEBUG)
    user_pin, so_pin = f"U{secrets.token_hex(10)}", f"S{secrets.token_hex(10)}"
    monkeypatch.setenv(ENV_USER_PIN, user_pin)
    monkeypatch.setenv(ENV_SO_PIN, so_pin)
    monkeypatch.delenv(config.ENV_TOKEN_LABEL)
    leak_config = config.resolve(token_label="leak-check")
    prompter = EnvironmentPinPrompter()
    bootstrap.init_rehearsal_token(leak_config, prompter)
    backend = Pkcs11Backend(leak_config)
    errors: list[BaseException] = []
    with backend.open(prompter, trust=TrustRequest(exports=1)) as session:
        assert user_pin not in repr(session)
        session.generate_key("leak-key", KeySpec.AES_256, extractable=True)
        with session.export_clear("leak-key") as clear:
            assert repr(clear).startswith("<Secret")
        try:
            session.generate_key("leak-key", KeySpec.AES_256)
        except CeremonyError as ex:
            errors.append(ex)
    for wrong in (f"{user_pin}x", user_pin[:-1]):
        try:
            backend.open(FixedPinPrompter(wrong, so_pin))
        except CeremonyError as ex:
            errors.append(ex)
    try:
        backend.open(FixedPinPrompter(user_pin, f"{so_pin}x"), trust=TrustRequest(exports=1))
    except CeremonyError as ex:
        errors.append(ex)
    assert len(errors) == 4
    secrets_seen = (user_pin, so_pin, user_pin[:-1], so_pin.encode().hex(), user_pin.encode().hex())
    for error in errors:
        for text in _texts(error):
            assert not any(s in text for s in secrets_seen), text
    assert caplog.records
    for record in caplog.records:
        message = record.getMessage()
        assert not any(s in message for s in secrets_seen), message
    assert not any(s in repr(Secret(user_pin.encode())) for s in secrets_seen)


def test_environment_pins_refused_outside_the_rehearsal_store(
    hsm: HsmUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_USER_PIN, "1234")
    monkeypatch.setenv(ENV_SO_PIN, "5678")
    monkeypatch.setenv("SOFTHSM2_CONF", "/etc/softhsm/softhsm2.conf")
    assert not softhsm.is_rehearsal_store(hsm.config.module_path)

"""The module fixtures: each gives a fresh, reachable token and tears down cleanly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pkcs11
import pytest
from pkcs11 import KeyType

from ceremony.hsm.pkcs11 import initialize
from tests.hsm import modules
from tests.hsm.modules import ModuleUnderTest
from tests.hsm.modules_conftest import module_under_test  # noqa: F401 - the fixture

pytestmark = pytest.mark.hsm


def _library(made: ModuleUnderTest) -> Any:
    # NSS needs its database string; the others load as the backend loads them today.
    if made.init_reserved is not None:
        return initialize.load(made.module_path, made.init_reserved)
    return pkcs11.lib(made.module_path)


def test_the_token_is_reachable_with_its_pins(module_under_test: ModuleUnderTest) -> None:  # noqa: F811
    made = module_under_test
    token = _library(made).get_token(token_label=made.token_label)
    assert token.serial.decode("ascii").strip() == made.token_serial
    with token.open(rw=True, user_pin=made.user_pin) as session:
        assert len(session.generate_random(128)) == 16
        key = session.generate_key(KeyType.AES, 256, label="fixture-check", store=False)
        assert key.key_length == 256
    if made.so_pin is not None:
        with token.open(rw=True, so_pin=made.so_pin):
            pass
    assert all(made.user_pin not in value for value in made.environment.values())


def _skip_unless(name: str) -> None:
    reason = modules.missing(name)
    if reason is not None:
        pytest.skip(reason)


def test_nss_has_no_security_officer(tmp_path: Path) -> None:
    _skip_unless("nss")
    with modules.nss(tmp_path) as made:
        assert made.so_pin is None
        assert made.token_label == "NSS Certificate DB"


def test_opencryptoki_twice_in_a_row_starts_fresh_and_stops_its_daemon() -> None:
    _skip_unless("opencryptoki")
    pins = []
    # Held throughout: another worker's opencryptoki test would start and stop its own daemon.
    with modules._machine_lock():
        before = modules._live_slotds()
        for _ in range(2):
            with modules.opencryptoki() as made:
                assert modules._live_slotds()
                pins.append(made.user_pin)
                token = pkcs11.lib(made.module_path).get_token(token_label=made.token_label)
                with token.open(rw=True, user_pin=made.user_pin) as session:
                    # A fresh token: the previous use's key is gone.
                    assert not list(session.get_objects({pkcs11.Attribute.LABEL: "kept"}))
                    session.generate_key(KeyType.AES, 128, label="kept", store=True)
        assert modules._live_slotds() == before
    assert pins[0] != pins[1]


def test_opencryptoki_leaves_a_daemon_it_did_not_start_running() -> None:
    _skip_unless("opencryptoki")
    with modules._machine_lock():
        modules._prepare_lock_folders()
        ours = None if modules._live_slotds() else modules._start_slotd()
        try:
            running = modules._live_slotds()
            with modules.opencryptoki() as made:
                assert modules._live_slotds() == running
                assert len(made.so_pin or "") == 8
            assert modules._live_slotds() == running
        finally:
            if ours is not None:
                modules._stop_slotd(ours)

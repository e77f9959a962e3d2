"""The module fixtures: each gives a fresh, reachable token and tears down cleanly."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pkcs11
import pytest
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding
from pkcs11 import Attribute, KeyType, ObjectClass

from ceremony.hsm import config
from ceremony.hsm.base import Capability, Preflight, TrustedWrapSupport
from ceremony.hsm.pkcs11 import Pkcs11Backend, initialize, mechanisms
from ceremony.hsm.pkcs11.module import load_module
from tests.hsm import modules
from tests.hsm.modules import ModuleUnderTest
from tests.hsm.modules_conftest import module_under_test  # noqa: F401 - the fixture
from tests.hsm.oracles import cryptography_kwp_unwrap, openssl_kwp_unwrap

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


def _preflight(made: ModuleUnderTest) -> Preflight:
    return Pkcs11Backend(config.resolve()).preflight()


def test_nss_as_docs_hsm_md_describes_it(tmp_path: Path) -> None:
    """NSS softokn 3.87: the capable token, with no SO and an unenforced CKA_WRAP_WITH_TRUSTED."""
    _skip_unless("nss")
    with modules.nss(tmp_path) as made:
        p = _preflight(made)
    for capability in (
        Capability.OAEP_SHA256,
        Capability.KCV_AES_CMAC,
        Capability.GENERATE_EC,
        Capability.ECDSA_SHA256,
        Capability.AES_KWP,
    ):
        assert p.supports(capability), p.status(capability).line()
    # 0x210B once sized from the input (NSS reports too small an output length for it).
    assert p.kwp_mechanism == "CKM_AES_KEY_WRAP_KWP" and not p.kwp_multiple_of_8_only
    assert p.trusted_wrap is TrustedWrapSupport.IGNORED
    assert p.generated_keys_local is False and not p.kcv_cmac_from_ecb


def test_opencryptoki_as_docs_hsm_md_describes_it() -> None:
    """opencryptoki 3.8 swtok: the weak token; AES-CMAC only from AES-ECB."""
    _skip_unless("opencryptoki")
    with modules.opencryptoki() as made:
        p = _preflight(made)
    for capability in (Capability.GENERATE_EC, Capability.AES_KWP, Capability.ECDSA_RAW):
        assert not p.supports(capability)
    assert p.supports(Capability.KCV_AES_CMAC) and p.kcv_cmac_from_ecb
    assert p.status(Capability.KCV_AES_CMAC).mechanism == "CKM_AES_ECB"
    assert p.trusted_wrap is TrustedWrapSupport.ABSENT
    assert not p.check_value_attribute


@pytest.mark.parametrize("length", [16, 20, 32, 64])
def test_nss_kwp_through_ctypes_is_rfc_5649_and_survives_a_small_buffer(
    tmp_path: Path, length: int
) -> None:
    """NSS reports too small a length for 0x210B: retried, it is RFC 5649 (pyca, openssl)."""
    _skip_unless("nss")
    kek, material = secrets.token_bytes(32), secrets.token_bytes(length)
    with modules.nss(tmp_path) as made:
        module = load_module(made.module_path, made.init_reserved)
        token = module.lib.get_token(token_label=made.token_label)
        with token.open(rw=True, user_pin=made.user_pin) as session:

            def secret(value: bytes, **flags: bool) -> Any:
                template = {
                    Attribute.CLASS: ObjectClass.SECRET_KEY,
                    Attribute.TOKEN: False,
                    Attribute.SENSITIVE: False,
                    Attribute.EXTRACTABLE: True,
                    Attribute.VALUE: value,
                    **{Attribute[k.upper()]: v for k, v in flags.items()},
                }
                if len(value) == 32 and flags:
                    template[Attribute.KEY_TYPE] = KeyType.AES
                else:
                    template[Attribute.KEY_TYPE] = KeyType.GENERIC_SECRET
                return session.create_object(template)

            wrapping, target = secret(kek, wrap=True), secret(material)
            sized = mechanisms.kwp_wrap(
                session, module.cryptoki, mechanisms.CKM_AES_KEY_WRAP_KWP, wrapping, target, length
            )
            # Without a size: the module's own (too small) answer, then the retry.
            asked = module.cryptoki.wrap_key(
                session.handle, mechanisms.CKM_AES_KEY_WRAP_KWP, None, wrapping.handle,
                target.handle,
            )  # fmt: skip
    assert sized == asked == aes_key_wrap_with_padding(kek, material)
    assert len(sized) == mechanisms.kwp_size(length)
    assert cryptography_kwp_unwrap(kek, sized) == material
    assert openssl_kwp_unwrap(kek, sized) == material

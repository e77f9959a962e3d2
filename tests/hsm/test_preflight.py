"""Mechanism preflight on the real token; the SoftHSM 2.6.1 limits are pinned down here."""

from __future__ import annotations

import pytest

from ceremony.hsm.base import Capability, PinState, TrustedWrapSupport
from ceremony.hsm.pkcs11 import Pkcs11Session
from tests.hsm.conftest import HsmUnderTest
from tests.hsm.modules_conftest import hsm_on_every_module  # noqa: F401 - the fixture

pytestmark = pytest.mark.hsm


def _softhsm_261(hsm: HsmUnderTest) -> bool:
    info = hsm.preflight.token
    return info.model == "SoftHSM v2" and info.library_version == "2.6"


def test_token_is_described_for_the_record(hsm: HsmUnderTest) -> None:
    info = hsm.backend.describe()
    assert info.label == hsm.config.token_label
    assert info.serial and info.model and info.manufacturer
    assert info.library_description and info.library_version and info.cryptoki_version
    assert info.module_path == hsm.config.module_path
    assert info.user_pin in (PinState.OK, PinState.COUNT_LOW)
    rows = dict(info.rows())
    assert rows["serial"] == info.serial


def test_every_capability_has_a_plain_language_line(hsm: HsmUnderTest) -> None:
    lines = hsm.preflight.lines()
    assert len(lines) == len(Capability)
    assert all(line.startswith(("can ", "cannot ", "unknown ")) for line in lines)
    for status in hsm.preflight.statuses:
        assert status.line().startswith("unknown ") is (not status.known)
        assert not (status.supported and not status.known)


def test_what_every_ceremony_needs(hsm: HsmUnderTest) -> None:
    # An AES key and its CMAC check value: every module here can (opencryptoki from AES-ECB).
    for capability in (Capability.RANDOM, Capability.GENERATE_AES, Capability.KCV_AES_CMAC):
        assert hsm.preflight.supports(capability), hsm.preflight.status(capability).line()
    cmac = hsm.preflight.status(Capability.KCV_AES_CMAC)
    assert hsm.preflight.kcv_cmac_from_ecb is ("computed from AES-ECB" in cmac.detail)


def test_trusted_wrap_support_agrees_with_its_capability_line(hsm: HsmUnderTest) -> None:
    p = hsm.preflight
    status = p.status(Capability.WRAP_WITH_TRUSTED)
    assert status.supported is (p.trusted_wrap is TrustedWrapSupport.ENFORCED)
    if p.trusted_wrap is TrustedWrapSupport.IGNORED:
        assert "ignores" in status.detail
    if p.trusted_wrap is TrustedWrapSupport.ABSENT:
        assert status.known and not status.supported


def test_softhsm_261_limits(hsm: HsmUnderTest) -> None:
    if not _softhsm_261(hsm):
        pytest.skip("pins SoftHSM 2.6.1 behaviour")
    p = hsm.preflight
    sha256 = p.status(Capability.OAEP_SHA256)
    assert not sha256.supported and sha256.probed
    assert "not supported by this token" in sha256.detail
    assert "CKR_ARGUMENTS_BAD" in sha256.detail
    sha512 = p.status(Capability.OAEP_SHA512)
    assert not sha512.supported and sha512.probed, sha512.line()
    assert not p.supports(Capability.RSA_AES_KEY_WRAP_SHA1)
    assert not p.supports(Capability.XOR_COMBINE)
    assert not p.supports(Capability.ECDSA_SHA256)
    # 0x210A is RFC 5649 only for material that is a multiple of 8 bytes long.
    assert p.kwp_mechanism == "CKM_AES_KEY_WRAP_PAD"
    assert p.kwp_multiple_of_8_only
    assert p.hmac_kcv_min_length == 32
    assert "refused" in p.status(Capability.WRAP_WITH_TRUSTED).detail
    assert p.trusted_wrap is TrustedWrapSupport.ENFORCED
    assert not p.kcv_cmac_from_ecb and p.check_value_attribute and p.generated_keys_local


def test_session_preflight_matches_the_public_one(
    session: Pkcs11Session, hsm: HsmUnderTest
) -> None:
    assert session.preflight().lines() == hsm.preflight.lines()

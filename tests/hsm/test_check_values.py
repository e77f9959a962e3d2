"""Check values computed in the token equal ceremony.core.kcv on the same key, cross-checked."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ceremony.core import kcv
from ceremony.core.component import KeyAlgorithm
from ceremony.core.kcv import KcvMethod
from ceremony.core.secret import Secret
from ceremony.hsm.base import KCV_SOURCE_CMAC, KCV_SOURCE_CMAC_FROM_ECB, KCV_SOURCE_ECB, Capability
from ceremony.hsm.pkcs11 import Pkcs11Session, mechanisms
from tests.hsm.conftest import HsmUnderTest, requires
from tests.hsm.modules_conftest import hsm_on_every_module  # noqa: F401 - the fixture

pytestmark = pytest.mark.hsm


@requires(Capability.KCV_AES_CMAC, Capability.KCV_AES_ECB)
@pytest.mark.parametrize("length", [16, 24, 32])
def test_aes_check_values_match_software(session: Pkcs11Session, label: str, length: int) -> None:
    with Secret(secrets.token_bytes(length)) as key:
        expected_cmac = kcv.check_value(key, KcvMethod.AES_CMAC, 5)
        expected_ecb = kcv.check_value(key, KcvMethod.AES_ECB_ZERO)
        session.import_key(label, KeyAlgorithm.AES, key, expected=expected_cmac)
    checks = session.check_values(label, 5)
    assert checks.of(KcvMethod.AES_CMAC) == expected_cmac
    assert checks.of(KcvMethod.AES_ECB_ZERO) == expected_ecb
    # CKA_CHECK_VALUE, where the token keeps one, is the ECB value.
    if checks.token_check_value_hex is not None:
        assert checks.token_check_value_hex == expected_ecb.hex
        assert any("CKA_CHECK_VALUE" in c for c in checks.cross_checks)
    if checks.cmac_from_ecb:
        # No CKM_AES_CMAC: the value is E_K(dbl(E_K(0))) from two AES-ECB calls, and says so.
        assert checks.source(KcvMethod.AES_CMAC) == KCV_SOURCE_CMAC_FROM_ECB
        assert not any("CKM_AES_CMAC" in c for c in checks.cross_checks)
    else:
        assert checks.source(KcvMethod.AES_CMAC) == KCV_SOURCE_CMAC
        assert any("CKM_AES_CMAC equals" in c for c in checks.cross_checks)
    # Default length is the 3 bytes everyone prints.
    assert len(session.check_values(label).of(KcvMethod.AES_CMAC).value) == 3


@requires(Capability.KCV_HMAC)
def test_hmac_check_value_matches_software(session: Pkcs11Session, label: str) -> None:
    with Secret(secrets.token_bytes(32)) as key:
        expected = kcv.check_value(key, KcvMethod.HMAC_SHA256_ZERO)
        result = session.import_key(label, KeyAlgorithm.HMAC, key, expected=expected)
    assert result.key.check_values is not None
    assert result.key.check_values.of(KcvMethod.HMAC_SHA256_ZERO) == expected


# RFC 4493 section 4: subkey generation and Example 2 (one complete block).
_RFC4493_KEY = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
_RFC4493_L = bytes.fromhex("7df76b0c1ab899b33e42f047b91b546f")
_RFC4493_K1 = bytes.fromhex("fbeed618357133667c85e08f7236a8de")
_RFC4493_M = bytes.fromhex("6bc1bee22e409f96e93d7e117393172a")
_RFC4493_T = bytes.fromhex("070a16b46b4d4144f79bdd9dd04a287c")


def _software_ecb(key: bytes) -> Callable[[bytes], bytes]:
    def encrypt(block: bytes) -> bytes:
        encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305
        return encryptor.update(block) + encryptor.finalize()

    return encrypt


def test_cmac_from_ecb_matches_rfc_4493() -> None:
    ecb = _software_ecb(_RFC4493_KEY)
    assert ecb(bytes(16)) == _RFC4493_L
    assert mechanisms.dbl(_RFC4493_L) == _RFC4493_K1
    assert mechanisms.cmac_one_block(ecb, _RFC4493_M) == _RFC4493_T
    with pytest.raises(ValueError, match="one complete block"):
        mechanisms.cmac_one_block(ecb, b"short")


@pytest.mark.parametrize("length", [16, 24, 32])
def test_cmac_from_ecb_of_the_zero_block_is_the_kcv(length: int) -> None:
    key = secrets.token_bytes(length)
    mac = cmac.CMAC(algorithms.AES(key))
    mac.update(bytes(16))
    full = mechanisms.cmac_one_block(_software_ecb(key), bytes(16))
    assert full == mac.finalize()
    with Secret(key) as secret:
        assert full[:5] == kcv.check_value(secret, KcvMethod.AES_CMAC, 5).value


@requires(Capability.KCV_AES_ECB)
def test_the_tokens_cmac_kcv_says_how_it_was_computed(
    hsm: HsmUnderTest, session: Pkcs11Session, label: str
) -> None:
    with Secret(secrets.token_bytes(32)) as key:
        expected = kcv.check_value(key, KcvMethod.AES_CMAC)
        result = session.import_key(label, KeyAlgorithm.AES, key, expected=expected)
    checks = result.key.check_values
    assert checks is not None and checks.of(KcvMethod.AES_CMAC) == expected
    assert checks.cmac_from_ecb is hsm.preflight.kcv_cmac_from_ecb
    assert checks.source(KcvMethod.AES_ECB_ZERO) == KCV_SOURCE_ECB

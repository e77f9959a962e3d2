"""Check values computed in the token equal ceremony.core.kcv on the same key, cross-checked."""

from __future__ import annotations

import secrets

import pytest

from ceremony.core import kcv
from ceremony.core.component import KeyAlgorithm
from ceremony.core.kcv import KcvMethod
from ceremony.core.secret import Secret
from ceremony.hsm.base import KCV_SOURCE_CMAC, KCV_SOURCE_CMAC_FROM_ECB, Capability
from ceremony.hsm.pkcs11 import Pkcs11Session
from tests.hsm.conftest import requires
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

"""Importing clear key material held in memory, created with CKA_CHECK_VALUE and checked."""

from __future__ import annotations

import secrets

import pytest

from ceremony.core import kcv
from ceremony.core.component import KeyAlgorithm
from ceremony.core.kcv import KcvMethod
from ceremony.core.secret import Secret
from ceremony.errors import (
    CheckValueError,
    KeyNotFoundError,
    LabelExistsError,
)
from ceremony.hsm.base import Capability, ImportPath
from ceremony.hsm.pkcs11 import Pkcs11Session
from tests.hsm.conftest import HsmUnderTest, not_enforced_session, requires
from tests.hsm.modules_conftest import hsm_on_every_module  # noqa: F401 - the fixture

pytestmark = pytest.mark.hsm


def test_material_becomes_the_key(session: Pkcs11Session, label: str) -> None:
    with Secret(secrets.token_bytes(32)) as key:
        expected = kcv.check_value(key, KcvMethod.AES_CMAC)
        result = session.import_key(label, KeyAlgorithm.AES, key, expected=expected)
        # The caller's material is the caller's to wipe.
        assert not key.closed
    assert result.path is ImportPath.HOST_MEMORY
    assert result.key.check_values is not None
    assert result.key.check_values.of(KcvMethod.AES_CMAC) == expected
    a = result.key.attributes
    assert (a.sensitive, a.extractable, a.local) == (True, False, False)


def test_wrong_check_value_stops_and_leaves_nothing(session: Pkcs11Session, label: str) -> None:
    with Secret(secrets.token_bytes(16)) as key:
        expected = kcv.check_value(Secret(secrets.token_bytes(16)), KcvMethod.AES_CMAC)
        with pytest.raises(CheckValueError, match="does not match"):
            session.import_key(label, KeyAlgorithm.AES, key, expected=expected)
    with pytest.raises(KeyNotFoundError):
        session.key_attributes(label)


def test_import_refuses_an_existing_label(session: Pkcs11Session, label: str) -> None:
    with Secret(secrets.token_bytes(16)) as key:
        expected = kcv.check_value(key, KcvMethod.AES_CMAC)
        session.import_key(label, KeyAlgorithm.AES, key, expected=expected)
        with pytest.raises(LabelExistsError):
            session.import_key(label, KeyAlgorithm.AES, key, expected=expected)


@requires(Capability.WRAP_WITH_TRUSTED)
def test_extractable_import_is_wrap_with_trusted(session: Pkcs11Session, label: str) -> None:
    with Secret(secrets.token_bytes(32)) as key:
        expected = kcv.check_value(key, KcvMethod.AES_CMAC)
        result = session.import_key(
            label, KeyAlgorithm.AES, key, expected=expected, extractable=True
        )
    a = result.key.attributes
    assert (a.extractable, a.wrap_with_trusted, a.local) == (True, True, False)
    assert a.protected_by_trusted_wrap


def test_extractable_import_not_enforced(hsm: HsmUnderTest, label: str) -> None:
    with Secret(secrets.token_bytes(32)) as key, not_enforced_session(hsm) as session:
        expected = kcv.check_value(key, KcvMethod.AES_CMAC)
        result = session.import_key(
            label, KeyAlgorithm.AES, key, expected=expected, extractable=True
        )
        a = result.key.attributes
        assert (a.extractable, a.local) == (True, False)
        assert a.wrap_with_trusted is not True and not a.protected_by_trusted_wrap
        assert "CKA_WRAP_WITH_TRUSTED" not in result.key.requested
        assert result.key.check_values is not None
        assert result.key.check_values.of(KcvMethod.AES_CMAC) == expected

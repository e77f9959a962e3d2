"""Importing from components: in the token where it can, else in memory with CKA_CHECK_VALUE."""

from __future__ import annotations

import secrets

import pytest

from ceremony.core import kcv
from ceremony.core.component import KeyAlgorithm, KeyIdentity
from ceremony.core.kcv import KcvMethod
from ceremony.core.secret import Secret
from ceremony.core.xor import split
from ceremony.errors import (
    CheckValueError,
    KeyNotFoundError,
    LabelExistsError,
    RuleViolation,
    ShareError,
)
from ceremony.hsm.base import Capability, ImportPath
from ceremony.hsm.pkcs11_backend import Pkcs11Session
from tests.hsm.conftest import HsmUnderTest, requires

pytestmark = pytest.mark.hsm


def _components(key: Secret, label: str, count: int = 3) -> list[Secret]:
    identity = KeyIdentity("HSM-TEST", label, KeyAlgorithm.AES, len(key))
    return [c.value for c in split(key, identity, count)]


def test_components_become_the_key(hsm: HsmUnderTest, session: Pkcs11Session, label: str) -> None:
    with Secret(secrets.token_bytes(32)) as key:
        expected = kcv.check_value(key, KcvMethod.AES_CMAC)
        components = _components(key, label)
    result = session.import_components(label, KeyAlgorithm.AES, components, expected=expected)
    in_token = hsm.preflight.supports(Capability.XOR_COMBINE)
    assert result.path is (ImportPath.IN_TOKEN_XOR if in_token else ImportPath.HOST_MEMORY)
    assert result.key.check_values is not None
    assert result.key.check_values.of(KcvMethod.AES_CMAC) == expected
    a = result.key.attributes
    assert (a.sensitive, a.extractable, a.local) == (True, False, False)
    # The caller's components are the caller's to wipe; the combined copy is ours and gone.
    assert all(not c.closed for c in components)


@requires(Capability.XOR_COMBINE)
def test_in_token_combination(session: Pkcs11Session, label: str) -> None:
    with Secret(secrets.token_bytes(16)) as key:
        expected = kcv.check_value(key, KcvMethod.AES_CMAC)
        components = _components(key, label, 2)
    result = session.import_components(label, KeyAlgorithm.AES, components, expected=expected)
    assert result.path is ImportPath.IN_TOKEN_XOR


def test_wrong_component_stops_and_leaves_nothing(session: Pkcs11Session, label: str) -> None:
    with Secret(secrets.token_bytes(16)) as key:
        expected = kcv.check_value(key, KcvMethod.AES_CMAC)
        components = _components(key, label)
    components[1] = Secret(secrets.token_bytes(16))
    with pytest.raises(CheckValueError, match="does not match"):
        session.import_components(label, KeyAlgorithm.AES, components, expected=expected)
    with pytest.raises(KeyNotFoundError):
        session.key_attributes(label)


def test_components_of_different_lengths(session: Pkcs11Session, label: str) -> None:
    expected = kcv.CheckValue(KcvMethod.AES_CMAC, b"\x00\x00\x00")
    with pytest.raises(ShareError, match="component #2"):
        session.import_components(
            label,
            KeyAlgorithm.AES,
            [Secret(secrets.token_bytes(16)), Secret(secrets.token_bytes(32))],
            expected=expected,
        )


def test_import_refuses_an_existing_label(session: Pkcs11Session, label: str) -> None:
    with Secret(secrets.token_bytes(16)) as key:
        expected = kcv.check_value(key, KcvMethod.AES_CMAC)
        session.import_key(label, KeyAlgorithm.AES, key, expected=expected)
        with pytest.raises(LabelExistsError):
            session.import_key(label, KeyAlgorithm.AES, key, expected=expected)


def test_extractable_import_is_wrap_with_trusted(session: Pkcs11Session, label: str) -> None:
    with Secret(secrets.token_bytes(32)) as key:
        expected = kcv.check_value(key, KcvMethod.AES_CMAC)
        result = session.import_key(
            label, KeyAlgorithm.AES, key, expected=expected, extractable=True
        )
    a = result.key.attributes
    assert (a.extractable, a.wrap_with_trusted, a.local) == (True, True, False)


def test_weak_components_are_refused(session: Pkcs11Session, label: str) -> None:
    with Secret(secrets.token_bytes(16)) as key:
        expected = kcv.check_value(key, KcvMethod.AES_CMAC)
        one = Secret(secrets.token_bytes(16))
        cases = [
            ([Secret(bytes(16)), one], RuleViolation, "all zero"),
            ([one, Secret(one.reveal())], ShareError, "identical"),
            # The others cancel out (A ^ B ^ (A^B) = 0), so component #1 is the key itself.
            (
                [Secret(key.reveal()), one, Secret(b"\x01" * 16), Secret(_xor(one, b"\x01" * 16))],
                RuleViolation,
                "equals the combined key",
            ),
        ]
    for components, error, text in cases:
        with pytest.raises(error, match=text):
            session.import_components(label, KeyAlgorithm.AES, components, expected=expected)


def _xor(a: Secret, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a.reveal(), b, strict=True))

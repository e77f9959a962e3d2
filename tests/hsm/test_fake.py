"""The in-memory fake keeps the interface's contract, so upper layers can test fast against it."""

from __future__ import annotations

import secrets

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding

from ceremony.core import kcv
from ceremony.core.component import KeyAlgorithm
from ceremony.core.kcv import KcvMethod
from ceremony.core.secret import Secret
from ceremony.core.wrap import OaepHash
from ceremony.errors import (
    KeyNotExtractableError,
    LabelExistsError,
    MechanismNotSupportedError,
    PinFinalTryError,
    PinIncorrectError,
    PinLockedError,
    RuleViolation,
    ShareError,
    TokenRemovedError,
)
from ceremony.hsm.base import (
    ImportPath,
    KeySpec,
    PinState,
    TrustRequest,
    WrapConstruction,
)
from ceremony.hsm.fake import EVERYTHING, FakeBackend, FakeToken
from tests.hsm.conftest import FixedPinPrompter

RIGHT = FixedPinPrompter("1234", "5678")


@pytest.fixture(scope="module")
def provider() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _spki(private: rsa.RSAPrivateKey) -> bytes:
    return private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_generate_check_destroy() -> None:
    with FakeBackend().open(RIGHT) as session:
        record = session.generate_key("k", KeySpec.AES_256)
        assert record.attributes.never_extractable
        with pytest.raises(LabelExistsError):
            session.generate_key("k", KeySpec.AES_128)
        assert record.check_values is not None
        destroyed = session.destroy("k")
        assert destroyed.check_values == record.check_values.values


def test_pins_and_flags() -> None:
    with pytest.raises(PinIncorrectError):
        FakeBackend().open(FixedPinPrompter("0000", "5678"))
    with pytest.raises(PinLockedError):
        FakeBackend(FakeToken(user_pin_state=PinState.LOCKED)).open(RIGHT)
    with pytest.raises(PinFinalTryError):
        FakeBackend(FakeToken(user_pin_state=PinState.FINAL_TRY)).open(RIGHT)


def test_wrap_like_softhsm(provider: rsa.RSAPrivateKey) -> None:
    trust = TrustRequest(import_keys=(_spki(provider),), rsa_aes_wraps=1)
    with FakeBackend().open(RIGHT, trust=trust) as session:
        record = session.generate_key("k", KeySpec.AES_256, extractable=True)
        with pytest.raises(MechanismNotSupportedError):
            session.wrap_for_public_key(
                "k", _spki(provider), method=WrapConstruction.RSA_AES, oaep_hash=OaepHash.SHA256
            )
        result = session.wrap_for_public_key(
            "k", _spki(provider), method=WrapConstruction.RSA_AES, oaep_hash=OaepHash.SHA1
        )
    sha1 = hashes.SHA1()  # noqa: S303 - the SHA-1 OAEP that AWS, Azure and GCP accept
    ephemeral = provider.decrypt(
        result.blob[:256], padding.OAEP(mgf=padding.MGF1(sha1), algorithm=sha1, label=None)
    )
    key = aes_key_unwrap_with_padding(ephemeral, result.blob[256:])
    assert record.check_values is not None
    assert kcv.check_value(key, KcvMethod.AES_CMAC) == record.check_values.of(KcvMethod.AES_CMAC)


def test_import_paths_and_export() -> None:
    with Secret(secrets.token_bytes(16)) as key:
        expected = kcv.check_value(key, KcvMethod.AES_CMAC)
        halves = [Secret(secrets.token_bytes(16))]
        halves.append(
            Secret(bytes(a ^ b for a, b in zip(key.reveal(), halves[0].reveal(), strict=True)))
        )
    with FakeBackend(FakeToken(capabilities=EVERYTHING)).open(
        RIGHT, trust=TrustRequest(exports=1)
    ) as session:
        result = session.import_components("k", KeyAlgorithm.AES, halves, expected=expected)
        assert result.path is ImportPath.IN_TOKEN_XOR
        with pytest.raises(KeyNotExtractableError):
            session.export_clear("k")
        session.import_components(
            "x", KeyAlgorithm.AES, halves, expected=expected, extractable=True
        )
        with session.export_clear("x") as clear:
            assert kcv.check_value(clear, KcvMethod.AES_CMAC) == expected


def test_components_are_checked_as_a_real_token_checks_them() -> None:
    one = Secret(secrets.token_bytes(16))
    key = Secret(secrets.token_bytes(16))
    expected = kcv.check_value(key, KcvMethod.AES_CMAC)
    other = bytes(a ^ 1 for a in one.reveal())
    cases = [
        ([one], ShareError, "at least 2 components"),
        ([one, Secret(bytes(32))], ShareError, "component #2 is 32 bytes"),
        ([Secret(bytes(16)), one], RuleViolation, "all zero"),
        ([one, Secret(one.reveal())], ShareError, "identical"),
        # #2 ^ #3 ^ #4 = 0, so the combined key is #1 itself (the default fake combines in memory).
        (
            [key, one, Secret(other), Secret(b"\x01" * 16)],
            RuleViolation,
            "equals the combined key",
        ),
    ]
    with FakeBackend().open(RIGHT) as session:
        for components, error, text in cases:
            with pytest.raises(error, match=text):
                session.import_components("k", KeyAlgorithm.AES, components, expected=expected)


def test_removed_token() -> None:
    backend = FakeBackend()
    with backend.open(RIGHT) as session:
        backend.state.present = False
        with pytest.raises(TokenRemovedError):
            session.random_bytes(1)

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


def test_import_path_and_export() -> None:
    with Secret(secrets.token_bytes(16)) as key:
        expected = kcv.check_value(key, KcvMethod.AES_CMAC)
        with FakeBackend(FakeToken(capabilities=EVERYTHING)).open(
            RIGHT, trust=TrustRequest(exports=1)
        ) as session:
            result = session.import_key("k", KeyAlgorithm.AES, key, expected=expected)
            assert result.path is ImportPath.HOST_MEMORY
            with pytest.raises(KeyNotExtractableError):
                session.export_clear("k")
            session.import_key("x", KeyAlgorithm.AES, key, expected=expected, extractable=True)
            with session.export_clear("x") as clear:
                assert kcv.check_value(clear, KcvMethod.AES_CMAC) == expected


def test_removed_token() -> None:
    backend = FakeBackend()
    with backend.open(RIGHT) as session:
        backend.state.present = False
        with pytest.raises(TokenRemovedError):
            session.random_bytes(1)

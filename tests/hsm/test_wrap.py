"""Wrapping inside the token for a provider key; every blob is opened by independent oracles."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from ceremony.core import kcv
from ceremony.core.ceremony_file.vocabulary import TrustedWrap
from ceremony.core.component import KeyAlgorithm
from ceremony.core.kcv import KcvMethod
from ceremony.core.secret import Secret
from ceremony.core.wrap import OaepHash
from ceremony.errors import (
    ImportKeyError,
    KeyNotExtractableError,
    MechanismNotSupportedError,
    WrapError,
)
from ceremony.hsm.base import (
    Capability,
    KeySpec,
    PinRole,
    TrustedWrapSupport,
    TrustRequest,
    WrapConstruction,
)
from ceremony.hsm.pkcs11 import Pkcs11Backend, Pkcs11Session
from tests.hsm.conftest import FixedPinPrompter, HsmUnderTest, not_enforced_session, requires
from tests.hsm.modules_conftest import hsm_on_every_module  # noqa: F401 - the fixture
from tests.hsm.oracles import ProviderKey, cryptography_kwp_unwrap, openssl_kwp_unwrap

pytestmark = pytest.mark.hsm


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> ProviderKey:
    return ProviderKey(Path(tmp_path_factory.mktemp("provider")))


@pytest.fixture
def trusted(hsm: HsmUnderTest, provider: ProviderKey) -> Iterator[Pkcs11Session]:
    """A session that may wrap: the SO trusted the provider key, one ephemeral and one transport
    key where the token enforces CKA_WRAP_WITH_TRUSTED; elsewhere a session under [hsm]
    trusted_wrap = "not-enforced-by-token" (no SO, nothing trusted)."""
    if not _enforces(hsm):
        with not_enforced_session(hsm) as s:
            yield s
        return
    trust = TrustRequest(import_keys=(provider.spki,), rsa_aes_wraps=1, exports=1)
    with hsm.backend.open(hsm.prompter, trust=trust) as s:
        yield s


def _enforces(hsm: HsmUnderTest) -> bool:
    return hsm.preflight.trusted_wrap is TrustedWrapSupport.ENFORCED


def _aes_key(session: Pkcs11Session, label: str) -> kcv.CheckValue:
    record = session.generate_key(label, KeySpec.AES_256, extractable=True)
    assert record.check_values is not None
    return record.check_values.of(KcvMethod.AES_CMAC)


@pytest.mark.parametrize("oaep_hash", list(OaepHash), ids=lambda h: h.name)
def test_rsa_oaep_opened_by_openssl_and_cryptography(
    hsm: HsmUnderTest,
    trusted: Pkcs11Session,
    provider: ProviderKey,
    label: str,
    oaep_hash: OaepHash,
) -> None:
    """AWS RSAES_OAEP_SHA_1 / RSAES_OAEP_SHA_256: openssl pkeyutl opens it to the token's KCV."""
    if not hsm.preflight.supports(Capability.for_oaep(oaep_hash)):
        pytest.skip(f"token lacks {Capability.for_oaep(oaep_hash).name}")
    token_kcv = _aes_key(trusted, label)
    result = trusted.wrap_for_public_key(
        label, provider.spki, method=WrapConstruction.RSA_OAEP, oaep_hash=oaep_hash
    )
    assert len(result.blob) == provider.size
    assert result.mechanisms == ("CKM_RSA_PKCS_OAEP",)
    assert result.trusted_import_key is _enforces(hsm)
    md = oaep_hash.openssl_name
    for opened in (
        provider.openssl_oaep_decrypt(result.blob, md),
        provider.cryptography_oaep_decrypt(result.blob, md),
    ):
        assert kcv.check_value(opened, KcvMethod.AES_CMAC) == token_kcv


@requires(Capability.OAEP_SHA1, Capability.AES_KWP)
def test_rsa_aes_two_step_opened_by_openssl_and_cryptography(
    hsm: HsmUnderTest, trusted: Pkcs11Session, provider: ProviderKey, label: str
) -> None:
    token_kcv = _aes_key(trusted, label)
    result = trusted.wrap_for_public_key(
        label, provider.spki, method=WrapConstruction.RSA_AES, oaep_hash=OaepHash.SHA1
    )
    k = provider.size
    assert len(result.blob) == k + 40  # RSA part, then KWP of 32 bytes
    ephemeral = provider.openssl_oaep_decrypt(result.blob[:k])
    assert ephemeral == provider.cryptography_oaep_decrypt(result.blob[:k])
    assert len(ephemeral) == 32
    for opened in (
        openssl_kwp_unwrap(ephemeral, result.blob[k:]),
        cryptography_kwp_unwrap(ephemeral, result.blob[k:]),
    ):
        assert kcv.check_value(opened, KcvMethod.AES_CMAC) == token_kcv
    if not hsm.preflight.supports(Capability.RSA_AES_KEY_WRAP_SHA1):
        assert "CKM_RSA_PKCS_OAEP" in result.mechanisms


@requires(Capability.OAEP_SHA1, Capability.AES_KWP, Capability.GENERATE_HMAC)
def test_rsa_aes_of_an_hmac_key(trusted: Pkcs11Session, provider: ProviderKey, label: str) -> None:
    record = trusted.generate_key(label, KeySpec.HMAC_SHA512, extractable=True)
    assert record.check_values is not None
    result = trusted.wrap_for_public_key(
        label, provider.spki, method=WrapConstruction.RSA_AES, oaep_hash=OaepHash.SHA1
    )
    k = provider.size
    opened = openssl_kwp_unwrap(provider.openssl_oaep_decrypt(result.blob[:k]), result.blob[k:])
    assert len(opened) == 64
    expected = record.check_values.of(KcvMethod.HMAC_SHA256_ZERO)
    assert kcv.check_value(opened, KcvMethod.HMAC_SHA256_ZERO) == expected


@requires(Capability.RSA_AES_KEY_WRAP_SHA1)
def test_rsa_aes_key_wrap_in_one_call(
    trusted: Pkcs11Session, provider: ProviderKey, label: str
) -> None:
    token_kcv = _aes_key(trusted, label)
    result = trusted.wrap_for_public_key(
        label, provider.spki, method=WrapConstruction.RSA_AES, oaep_hash=OaepHash.SHA1
    )
    assert result.mechanisms == ("CKM_RSA_AES_KEY_WRAP",)
    k = provider.size
    ephemeral = provider.cryptography_oaep_decrypt(result.blob[:k])
    opened = openssl_kwp_unwrap(ephemeral, result.blob[k:])
    assert kcv.check_value(opened, KcvMethod.AES_CMAC) == token_kcv


def test_sha256_the_token_cannot_do_is_refused_before_any_work(
    hsm: HsmUnderTest, trusted: Pkcs11Session, provider: ProviderKey, label: str
) -> None:
    if hsm.preflight.supports(Capability.OAEP_SHA256):
        pytest.skip("this token does OAEP with SHA-256")
    _aes_key(trusted, label)
    for method in WrapConstruction:
        if method is WrapConstruction.RSA_AES and hsm.preflight.supports(
            Capability.RSA_AES_KEY_WRAP_SHA256
        ):
            continue
        with pytest.raises(MechanismNotSupportedError) as caught:
            trusted.wrap_for_public_key(
                label, provider.spki, method=method, oaep_hash=OaepHash.SHA256
            )
        text = str(caught.value)
        assert "not supported by" in text
        assert "SHA-256" in text
        assert "SHA-1 variant" in text and "dual-controlled export" in text
        assert "Nothing was wrapped" in text
    # The trusted ephemeral key was not spent: a SHA-1 wrap still works.
    trusted.wrap_for_public_key(
        label, provider.spki, method=WrapConstruction.RSA_AES, oaep_hash=OaepHash.SHA1
    )


@requires(Capability.WRAP_WITH_TRUSTED)
def test_untrusted_import_key_cannot_take_a_wrap_with_trusted_key(
    session: Pkcs11Session, provider: ProviderKey, label: str
) -> None:
    _aes_key(session, label)
    with pytest.raises(KeyNotExtractableError, match="security officer trusted"):
        session.wrap_for_public_key(
            label, provider.spki, method=WrapConstruction.RSA_OAEP, oaep_hash=OaepHash.SHA1
        )


def test_non_extractable_key_never_leaves(
    trusted: Pkcs11Session, provider: ProviderKey, label: str
) -> None:
    trusted.generate_key(label, KeySpec.AES_256)
    with pytest.raises(KeyNotExtractableError, match="non-extractable"):
        trusted.wrap_for_public_key(
            label, provider.spki, method=WrapConstruction.RSA_OAEP, oaep_hash=OaepHash.SHA1
        )
    with pytest.raises(KeyNotExtractableError):
        trusted.export_clear(label)


@requires(Capability.WRAP_WITH_TRUSTED)
def test_the_token_itself_enforces_wrap_with_trusted(session: Pkcs11Session, label: str) -> None:
    """Bypass our checks: an untrusted AES key asked straight through python-pkcs11 is refused."""
    from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
    from pkcs11.exceptions import KeyNotWrappable

    _aes_key(session, label)
    raw: Any = session.pkcs11_session()
    target = next(
        raw.get_objects({Attribute.LABEL: label, Attribute.CLASS: ObjectClass.SECRET_KEY})
    )
    wrapping = raw.generate_key(
        KeyType.AES, 256, template={Attribute.WRAP: True, Attribute.TOKEN: False}
    )
    with pytest.raises(KeyNotWrappable):
        wrapping.wrap_key(target, mechanism=Mechanism.AES_KEY_WRAP_PAD)
    wrapping.destroy()


def test_private_key_on_a_padding_kwp_token_is_refused(
    hsm: HsmUnderTest, trusted: Pkcs11Session, provider: ProviderKey, label: str
) -> None:
    if not hsm.preflight.kwp_multiple_of_8_only:
        pytest.skip("this token's RFC 5649 wrap is exact")
    trusted.generate_key(label, KeySpec.EC_P256, extractable=True)
    with pytest.raises(MechanismNotSupportedError, match="zero-pads"):
        trusted.wrap_for_public_key(
            label, provider.spki, method=WrapConstruction.RSA_AES, oaep_hash=OaepHash.SHA1
        )


@requires(Capability.GENERATE_RSA)
def test_rsa_private_key_is_too_long_for_oaep_alone(
    trusted: Pkcs11Session, provider: ProviderKey, label: str
) -> None:
    trusted.generate_key(label, KeySpec.RSA_2048, extractable=True)
    with pytest.raises(WrapError, match="too long"):
        trusted.wrap_for_public_key(
            label, provider.spki, method=WrapConstruction.RSA_OAEP, oaep_hash=OaepHash.SHA1
        )


def test_bad_import_keys(trusted: Pkcs11Session, label: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    _aes_key(trusted, label)
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    # A too-small key on purpose: the backend must refuse it.
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()  # noqa: S505
    for der, reason in (
        (b"not DER", "not a DER"),
        (_spki(ec_key), "not an RSA key"),
        (_spki(small), "below 2048"),
    ):
        with pytest.raises(ImportKeyError, match=reason):
            trusted.wrap_for_public_key(
                label, der, method=WrapConstruction.RSA_OAEP, oaep_hash=OaepHash.SHA1
            )


def _spki(public: object) -> bytes:
    return public.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@requires(Capability.AES_KWP)
def test_export_for_backup_gives_the_key_in_a_secret(
    hsm: HsmUnderTest, trusted: Pkcs11Session, label: str
) -> None:
    token_kcv = _aes_key(trusted, label)
    with trusted.export_clear(label) as clear:
        assert len(clear) == 32
        assert "bytes" in repr(clear) and clear.reveal().hex() not in repr(clear)
        assert kcv.check_value(clear, KcvMethod.AES_CMAC) == token_kcv
    if _enforces(hsm):
        # The one trusted transport key is spent.
        with pytest.raises(KeyNotExtractableError, match="TrustRequest"):
            trusted.export_clear(label)


@requires(Capability.AES_KWP, Capability.GENERATE_EC)
def test_export_of_a_private_key_is_exact_pkcs8(trusted: Pkcs11Session, label: str) -> None:
    record = trusted.generate_key(label, KeySpec.EC_P256, extractable=True)
    with trusted.export_clear(label) as clear:
        # Any zero padding the token added before RFC 5649 was removed.
        private = serialization.load_der_private_key(bytes(clear.reveal()), None)
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public == record.public_key_der


@requires(Capability.AES_KWP, Capability.WRAP_WITH_TRUSTED)
def test_export_needs_the_so_for_a_wrap_with_trusted_key(
    session: Pkcs11Session, label: str
) -> None:
    _aes_key(session, label)
    with pytest.raises(KeyNotExtractableError, match="security officer"):
        session.export_clear(label)


@requires(Capability.OAEP_SHA1)
def test_import_extractable_then_wrap(
    trusted: Pkcs11Session, provider: ProviderKey, label: str
) -> None:
    with Secret(secrets.token_bytes(32)) as key:
        expected = kcv.check_value(key, KcvMethod.AES_CMAC)
        trusted.import_key(label, KeyAlgorithm.AES, key, expected=expected, extractable=True)
    result = trusted.wrap_for_public_key(
        label, provider.spki, method=WrapConstruction.RSA_OAEP, oaep_hash=OaepHash.SHA1
    )
    assert (
        kcv.check_value(provider.openssl_oaep_decrypt(result.blob), KcvMethod.AES_CMAC) == expected
    )


@requires(Capability.GENERATE_EC, Capability.OAEP_SHA1)
def test_ec_private_key_with_oaep_alone(
    hsm: HsmUnderTest, trusted: Pkcs11Session, provider: ProviderKey, label: str
) -> None:
    record = trusted.generate_key(label, KeySpec.EC_P256, extractable=True)
    try:
        result = trusted.wrap_for_public_key(
            label, provider.spki, method=WrapConstruction.RSA_OAEP, oaep_hash=OaepHash.SHA1
        )
    except MechanismNotSupportedError as ex:
        # SoftHSM 2.6.1 wraps only secret keys with OAEP.
        assert "private keys with RSA-OAEP" in str(ex)
        assert "RSA-AES" in (ex.hint or "")
        return
    private = serialization.load_der_private_key(
        provider.cryptography_oaep_decrypt(result.blob), None
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public == record.public_key_der


def test_required_on_a_token_that_does_not_enforce_it_stops_before_any_pin(
    hsm: HsmUnderTest, provider: ProviderKey
) -> None:
    """The preflight alone (no PIN) tells the engine; the backend refuses before prompting."""
    if _enforces(hsm):
        pytest.skip("the token enforces CKA_WRAP_WITH_TRUSTED")
    preflight = hsm.backend.preflight()
    assert not preflight.supports(Capability.WRAP_WITH_TRUSTED)
    preflight.require_trusted_wrap(TrustedWrap.NOT_ENFORCED, "wrapping")  # nothing to refuse
    with pytest.raises(MechanismNotSupportedError) as caught:
        preflight.require_trusted_wrap(TrustedWrap.REQUIRED, "wrapping key k1")
    assert "wrapping key k1" in caught.value.message
    assert preflight.token.describe() in caught.value.message
    assert '"not-enforced-by-token"' in (caught.value.hint or "")
    prompter = FixedPinPrompter(hsm.user_pin, hsm.so_pin)
    trust = TrustRequest(import_keys=(provider.spki,))
    with pytest.raises(MechanismNotSupportedError, match="trusted_wrap"):
        hsm.backend.open(prompter, trust=trust)
    assert prompter.asked == []


@requires(Capability.OAEP_SHA1)
def test_not_enforced_wraps_without_the_security_officer(
    hsm: HsmUnderTest, provider: ProviderKey, label: str
) -> None:
    prompter = FixedPinPrompter(hsm.user_pin, hsm.so_pin)
    backend = Pkcs11Backend(replace(hsm.config, trusted_wrap=TrustedWrap.NOT_ENFORCED))
    trust = TrustRequest(import_keys=(provider.spki,), rsa_aes_wraps=1, exports=1)
    with backend.open(prompter, trust=trust) as session:
        token_kcv = _aes_key(session, label)
        result = session.wrap_for_public_key(
            label, provider.spki, method=WrapConstruction.RSA_OAEP, oaep_hash=OaepHash.SHA1
        )
        session.destroy(label)
    assert [r.role for r in prompter.asked] == [PinRole.USER]
    assert not result.trusted_import_key
    opened = provider.openssl_oaep_decrypt(result.blob)
    assert kcv.check_value(opened, KcvMethod.AES_CMAC) == token_kcv

"""Keys are born in the token: SENSITIVE, extractable only with WRAP_WITH_TRUSTED, labels unique."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ceremony.core.kcv import KcvMethod
from ceremony.errors import KeyNotFoundError, LabelExistsError, MechanismNotSupportedError
from ceremony.hsm.base import Capability, KeyKind, KeySpec, TrustedWrapSupport
from ceremony.hsm.pkcs11 import Pkcs11Session
from ceremony.hsm.signing import SIGNING_LABEL
from tests.hsm.conftest import HsmUnderTest, not_enforced_session, requires
from tests.hsm.modules_conftest import hsm_on_every_module  # noqa: F401 - the fixture

pytestmark = pytest.mark.hsm

_CAPABILITY = {
    "AES": Capability.GENERATE_AES,
    "HMAC": Capability.GENERATE_HMAC,
    "TDES": Capability.GENERATE_TDES,
    "EC": Capability.GENERATE_EC,
    "RSA": Capability.GENERATE_RSA,
}
# RSA-4096 takes about a second in SoftHSM (up to several on a slow machine): once per run.
SPECS = [s for s in KeySpec if s not in (KeySpec.HMAC_SHA1, KeySpec.HMAC_SHA224)]


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_generated_key_is_local_sensitive_never_extractable(
    hsm: HsmUnderTest, session: Pkcs11Session, label: str, spec: KeySpec
) -> None:
    if not hsm.preflight.supports(_CAPABILITY[spec.family]):
        pytest.skip(f"token lacks {_CAPABILITY[spec.family].name}")
    record = session.generate_key(label, spec)
    a = record.attributes
    assert (a.label, a.token, a.private) == (label, True, True)
    # NSS softokn reads back CKA_LOCAL false for what it generated; the preflight says so.
    assert a.local is (hsm.preflight.generated_keys_local is not False)
    assert (a.sensitive, a.always_sensitive) == (True, True)
    assert (a.extractable, a.never_extractable) == (False, True)
    assert record.requested["CKA_EXTRACTABLE"] is False
    assert record.requested["CKA_SENSITIVE"] is True
    assert len(bytes.fromhex(record.id_hex)) == 16
    if spec.kind is KeyKind.SECRET:
        assert record.check_values is not None
        method = {"AES": KcvMethod.AES_CMAC, "TDES": KcvMethod.TDES_ECB_ZERO}.get(
            spec.family, KcvMethod.HMAC_SHA256_ZERO
        )
        assert record.check_values.of(method).value
        assert record.public_key_der is None
    else:
        assert record.public_key_der is not None
        public = serialization.load_der_public_key(record.public_key_der)
        if spec.family == "EC":
            assert isinstance(public, ec.EllipticCurvePublicKey)
            assert public.curve.key_size == spec.size
        else:
            assert isinstance(public, rsa.RSAPublicKey)
            assert public.key_size == spec.size
        assert session.public_key(label) == record.public_key_der


@requires(Capability.GENERATE_AES, Capability.WRAP_WITH_TRUSTED)
def test_extractable_key_carries_wrap_with_trusted(session: Pkcs11Session, label: str) -> None:
    record = session.generate_key(label, KeySpec.AES_256, extractable=True)
    a = record.attributes
    assert (a.extractable, a.wrap_with_trusted, a.never_extractable) == (True, True, False)
    assert (a.sensitive, a.always_sensitive) == (True, True)
    assert a.wrap_with_trusted_enforced is True and a.protected_by_trusted_wrap
    assert record.requested["CKA_WRAP_WITH_TRUSTED"] is True
    before = session.key_attributes(label)
    session.check_values(label)
    assert session.key_attributes(label) == before


@requires(Capability.GENERATE_AES)
def test_an_existing_label_is_refused(
    hsm: HsmUnderTest, session: Pkcs11Session, label: str
) -> None:
    session.generate_key(label, KeySpec.AES_128)
    with pytest.raises(LabelExistsError, match=label):
        session.generate_key(label, KeySpec.AES_256)
    # The signing key's label is taken by a key pair and a certificate.
    if hsm.backend.has_certificate(SIGNING_LABEL):
        with pytest.raises(LabelExistsError):
            session.generate_key(SIGNING_LABEL, KeySpec.AES_128)


def test_unknown_label(session: Pkcs11Session) -> None:
    with pytest.raises(KeyNotFoundError, match="no-such-key"):
        session.key_attributes("no-such-key")


def test_short_hmac_key_refused_before_generation(
    hsm: HsmUnderTest, session: Pkcs11Session, label: str
) -> None:
    shortest = hsm.preflight.hmac_kcv_min_length
    if shortest is None or shortest <= 20:
        pytest.skip("this token computes HMAC check values for 20-byte keys")
    with pytest.raises(MechanismNotSupportedError, match="not supported by"):
        session.generate_key(label, KeySpec.HMAC_SHA1)
    with pytest.raises(KeyNotFoundError):
        session.key_attributes(label)


@requires(Capability.GENERATE_AES)
def test_destroy_returns_a_record(session: Pkcs11Session, label: str) -> None:
    made = session.generate_key(label, KeySpec.AES_128)
    assert made.check_values is not None
    record = session.destroy(label)
    assert (record.label, record.id_hex) == (label, made.id_hex)
    assert record.objects == ("secret key",)
    assert record.check_values == made.check_values.values
    with pytest.raises(KeyNotFoundError):
        session.destroy(label)


@requires(Capability.GENERATE_EC)
def test_destroy_a_key_pair(session: Pkcs11Session, label: str) -> None:
    made = session.generate_key(label, KeySpec.EC_P256)
    record = session.destroy(label)
    assert sorted(record.objects) == ["private key", "public key"]
    assert made.public_key_der is not None
    assert record.public_key_sha256 == hashlib.sha256(made.public_key_der).hexdigest()


def _not_enforcing(hsm: HsmUnderTest) -> None:
    if hsm.preflight.trusted_wrap is TrustedWrapSupport.ENFORCED:
        pytest.skip("the token enforces CKA_WRAP_WITH_TRUSTED")


@requires(Capability.GENERATE_AES)
def test_required_on_a_token_that_does_not_enforce_it_refuses_an_extractable_key(
    hsm: HsmUnderTest, session: Pkcs11Session, label: str
) -> None:
    _not_enforcing(hsm)
    with pytest.raises(MechanismNotSupportedError) as caught:
        session.generate_key(label, KeySpec.AES_256, extractable=True)
    assert 'trusted_wrap = "required"' in caught.value.message
    assert 'trusted_wrap = "not-enforced-by-token"' in (caught.value.hint or "")
    assert hsm.preflight.token.serial in caught.value.message
    with pytest.raises(KeyNotFoundError):
        session.key_attributes(label)
    # A key that never leaves needs no such rule.
    assert session.generate_key(label, KeySpec.AES_256).attributes.extractable is False


@requires(Capability.GENERATE_AES)
@pytest.mark.parametrize("spec", [KeySpec.AES_256, KeySpec.HMAC_SHA256, KeySpec.RSA_2048])
def test_not_enforced_makes_extractable_keys_without_the_attribute(
    hsm: HsmUnderTest, label: str, spec: KeySpec
) -> None:
    if not hsm.preflight.supports(_CAPABILITY[spec.family]):
        pytest.skip(f"token lacks {_CAPABILITY[spec.family].name}")
    with not_enforced_session(hsm) as session:
        record = session.generate_key(label, spec, extractable=True)
        assert "CKA_WRAP_WITH_TRUSTED" not in record.requested
        a = record.attributes
        assert a.extractable is True and a.sensitive is True
        # Nothing claims a protection the token does not give.
        assert not a.protected_by_trusted_wrap
        assert a.wrap_with_trusted is not True
        session.destroy(label)

"""Raw ECDSA over a digest, and the token's C_GenerateRandom as the core's random source."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from ceremony.core import rng
from ceremony.core.secret import Secret
from ceremony.hsm import rehearsal_random_source
from ceremony.hsm.base import Capability, KeySpec, SignatureFormat
from ceremony.hsm.pkcs11 import Pkcs11Session
from ceremony.hsm.signing import SIGNING_LABEL
from tests.hsm.conftest import HsmUnderTest, requires
from tests.hsm.modules_conftest import hsm_on_every_module  # noqa: F401 - the fixture

pytestmark = pytest.mark.hsm


@requires(Capability.GENERATE_EC, Capability.ECDSA_RAW)
def test_signature_over_a_digest_verifies(
    hsm: HsmUnderTest, session: Pkcs11Session, label: str
) -> None:
    # The rehearsal token's signing key where it exists; a fresh P-256 key elsewhere.
    signer = SIGNING_LABEL if hsm.backend.has_certificate(SIGNING_LABEL) else label
    if signer == label:
        session.generate_key(label, KeySpec.EC_P256)
    public = serialization.load_der_public_key(session.public_key(signer))
    assert isinstance(public, ec.EllipticCurvePublicKey)
    digest = hashlib.sha256(b"ceremony record").digest()
    der = session.sign_digest(signer, digest)
    public.verify(der, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    raw = session.sign_digest(signer, digest, SignatureFormat.RAW)
    assert len(raw) == 64
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    public.verify(encode_dss_signature(r, s), digest, ec.ECDSA(Prehashed(hashes.SHA256())))


def test_token_randomness_feeds_the_core(session: Pkcs11Session) -> None:
    source, name = session.random_source()
    calls: list[int] = []

    def counting(length: int) -> bytes:
        calls.append(length)
        return source(length)

    with rng.installed(counting, name):
        assert "C_GenerateRandom" in rng.source_name()
        assert session.token.serial in rng.source_name()
        with Secret.generate(32) as secret:
            assert len(secret) == 32
    assert calls == [32]
    assert "C_GenerateRandom" not in rng.source_name()
    assert [len(session.random_bytes(n)) for n in (0, 1, 1000)] == [0, 1, 1000]


def test_public_randomness_needs_no_pin(hsm: HsmUnderTest) -> None:
    with hsm.backend.public_random() as (source, name):
        assert len(source(16)) == 16
        assert name.startswith("PKCS#11 C_GenerateRandom on ")
    with rehearsal_random_source() as (source, name):
        assert len(source(8)) == 8
        assert hsm.backend.describe().serial in name


def test_demo_draws_components_from_the_token(
    hsm: HsmUnderTest, capsys: pytest.CaptureFixture[str]
) -> None:
    from ceremony.cli import main

    assert main(["demo", "--random", "hsm", "--scheme", "shamir", "--count", "3"]) == 0
    out = capsys.readouterr().out
    assert "Random source: PKCS#11 C_GenerateRandom on" in out
    assert "matches the recorded KCV" in out

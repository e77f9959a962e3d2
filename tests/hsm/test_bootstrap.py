"""The rehearsal token: private store, C_InitToken with no PIN on argv, signing key, certificate."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ceremony.errors import LabelExistsError
from ceremony.hsm import bootstrap, config, softhsm
from ceremony.hsm.pkcs11 import Pkcs11Session
from ceremony.hsm.signing import SIGNING_LABEL, signing_identity
from tests.hsm.conftest import FixedPinPrompter, HsmUnderTest

pytestmark = pytest.mark.hsm


@pytest.fixture
def softhsm_only(hsm: HsmUnderTest) -> Path:
    if hsm.store is None:
        pytest.skip("the bootstrap is for the SoftHSM rehearsal token")
    return hsm.store


def test_store_is_private_and_in_the_state_folder(hsm: HsmUnderTest, softhsm_only: Path) -> None:
    conf = softhsm_only / softhsm.CONF_NAME
    assert os.environ["SOFTHSM2_CONF"] == str(conf)
    text = conf.read_text()
    assert f"directories.tokendir = {softhsm_only / 'tokens'}" in text
    assert "objectstore.backend = file" in text
    assert "log.level = ERROR" in text
    assert "/etc/softhsm" not in text.split("\n", 1)[1]
    assert "/var/lib/softhsm" not in text.split("\n", 1)[1]
    assert softhsm_only.stat().st_mode & 0o077 == 0
    assert any((softhsm_only / "tokens").iterdir())
    assert softhsm.is_rehearsal_store(hsm.config.module_path)


def test_signing_key_and_self_signed_certificate(session: Pkcs11Session) -> None:
    identity = signing_identity(session)
    assert identity is not None
    cert = x509.load_der_x509_certificate(identity.certificate_der)
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert public.curve.name == "secp256r1"
    cert.verify_directly_issued_by(cert)
    public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    assert cert.signature_hash_algorithm is not None
    assert cert.signature_hash_algorithm.name == "sha256"
    spki = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert spki == session.public_key(SIGNING_LABEL)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    attrs = session.key_attributes(SIGNING_LABEL)
    assert attrs.id_hex == identity.id_hex
    assert attrs.local and attrs.never_extractable and attrs.always_sensitive
    assert attrs.extractable is False


def test_init_refuses_an_existing_token(hsm: HsmUnderTest, softhsm_only: Path) -> None:
    with pytest.raises(LabelExistsError, match="already exists"):
        bootstrap.init_rehearsal_token(hsm.config, hsm.prompter)


def test_init_if_missing_asks_for_no_pin(hsm: HsmUnderTest, softhsm_only: Path) -> None:
    prompter = FixedPinPrompter("unused", "unused")
    result = bootstrap.init_rehearsal_token(hsm.config, prompter, if_missing=True)
    assert not result.created_token and not result.created_signing_key
    assert prompter.asked == []


def test_pkcs11_tool_lists_our_objects_under_our_labels(
    hsm: HsmUnderTest, session: Pkcs11Session, label: str
) -> None:
    from ceremony.hsm.base import KeySpec

    session.generate_key(label, KeySpec.AES_256)
    session.close()
    # --pin on argv is acceptable only here: a throw-away test token.
    listing = subprocess.run(
        ["pkcs11-tool", "--module", hsm.config.module_path, "--token-label",
         hsm.config.token_label or "", "--login", "--pin", hsm.user_pin, "-O"],
        capture_output=True, text=True, check=True, env=dict(os.environ),
    ).stdout  # fmt: skip
    labels = set(re.findall(r"label:\s+(\S+)", listing))
    assert label in labels
    assert SIGNING_LABEL in labels
    assert "Certificate Object" in listing
    assert "Private Key Object; EC" in listing


def test_a_second_token_in_the_same_store(hsm: HsmUnderTest, softhsm_only: Path) -> None:
    os.environ.pop(config.ENV_TOKEN_LABEL)
    try:
        other = config.resolve(token_label="second")
        result = bootstrap.init_rehearsal_token(other, hsm.prompter)
    finally:
        os.environ[config.ENV_TOKEN_LABEL] = hsm.config.token_label or ""
    assert result.created_token and result.created_signing_key
    assert result.token.label == "second"
    assert result.token.serial != hsm.backend.describe().serial

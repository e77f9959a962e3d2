"""TDES on real tokens: generate, load, check values against published ones, destroy."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from ceremony.core import kcv, parity
from ceremony.core.component import KeyAlgorithm
from ceremony.core.kcv import CheckValue, KcvMethod
from ceremony.core.secret import Secret
from ceremony.errors import KeyMaterialError, KeyNotFoundError, MechanismNotSupportedError
from ceremony.hsm.base import Capability, KeySpec
from ceremony.hsm.pkcs11 import Pkcs11Session
from tests.hsm.conftest import requires
from tests.hsm.modules_conftest import hsm_on_every_module  # noqa: F401 - the fixture

pytestmark = pytest.mark.hsm

_VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "kcv" / "kcv_vectors.json"
PUBLISHED = [
    v
    for v in json.loads(_VECTORS.read_text(encoding="utf-8"))["vectors"]
    if v["method"] == "tdes_legacy"
]


@requires(Capability.GENERATE_TDES, Capability.KCV_TDES_ECB)
@pytest.mark.parametrize("spec", [KeySpec.TDES_128, KeySpec.TDES_192])
def test_generated_tdes_key_has_its_kcv_from_the_token(
    session: Pkcs11Session, label: str, spec: KeySpec
) -> None:
    record = session.generate_key(label, spec)
    assert record.check_values is not None
    value = record.check_values.of(KcvMethod.TDES_ECB_ZERO)
    assert len(value.value) == 3
    assert record.attributes.key_type in ("DES2", "DES3")
    assert session.check_values(label).of(KcvMethod.TDES_ECB_ZERO) == value


@requires(Capability.KCV_TDES_ECB)
@pytest.mark.parametrize("vector", PUBLISHED, ids=[v["kcv"] for v in PUBLISHED])
def test_a_loaded_key_gives_the_published_check_value(
    session: Pkcs11Session, label: str, vector: dict[str, str]
) -> None:
    value = bytearray.fromhex(vector["key"])
    # Parity bits never key DES: the published KCV holds for the parity-adjusted key too.
    parity.adjust(value)
    published = CheckValue(KcvMethod.TDES_ECB_ZERO, bytes.fromhex(vector["kcv"]))
    with Secret(value) as key:
        result = session.import_key(label, KeyAlgorithm.TDES, key, expected=published)
    assert result.key.check_values is not None
    assert result.key.check_values.of(KcvMethod.TDES_ECB_ZERO) == published
    record = session.destroy(label)
    assert published in record.check_values
    with pytest.raises(KeyNotFoundError):
        session.key_attributes(label)


@requires(Capability.KCV_TDES_ECB)
def test_a_key_without_odd_parity_is_refused_before_the_token(
    session: Pkcs11Session, label: str
) -> None:
    value = bytearray(secrets.token_bytes(16))
    parity.adjust(value)
    value[5] ^= 1
    with Secret(value) as key:
        expected = kcv.check_value(key, KcvMethod.TDES_ECB_ZERO)
        with pytest.raises(KeyMaterialError, match="even parity in byte 6") as caught:
            session.import_key(label, KeyAlgorithm.TDES, key, expected=expected)
        assert key.reveal().hex() not in str(caught.value).lower()
    with pytest.raises(KeyNotFoundError):
        session.key_attributes(label)


def test_single_length_des_never_goes_on_a_token(session: Pkcs11Session, label: str) -> None:
    with Secret(parity_adjusted(8)) as key:
        expected = kcv.check_value(key, KcvMethod.TDES_ECB_ZERO)
        with pytest.raises(MechanismNotSupportedError, match="single-length DES"):
            session.import_key(label, KeyAlgorithm.TDES, key, expected=expected)


def parity_adjusted(length: int) -> bytearray:
    value = bytearray(secrets.token_bytes(length))
    parity.adjust(value)
    return value

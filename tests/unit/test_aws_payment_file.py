"""An aws-payment-cryptography target in the ceremony file: its fields, its pin, and the keys
it takes (TDES-128/192 and AES payment keys) and refuses (HMAC, EC, RSA, single DES)."""

from __future__ import annotations

from typing import Any

import pytest

from ceremony.core.ceremony_file import (
    AwsPaymentFields,
    FileError,
    parse_ceremony_file,
    summary,
)
from ceremony.core.providers import MaterialKind, Provider, WrapMethod
from ceremony.errors import ConfigError
from tests.unit.ceremony_files import dumps as dump
from tests.unit.ceremony_files import template as template_doc

ROOT = "26526c1df16adca5a85af2a758f40a68a8ff788abede69e34613029eb3e90a9f"


def _target(**fields: Any) -> dict[str, Any]:
    target = {
        "label": "apc-euw1",
        "provider": "aws-payment-cryptography",
        "algorithm": "RSA_OAEP_SHA_256",
        "import_key": "imports/apc-params.json",
        "root_ca_fingerprint": ROOT,
        "wrap": "software",
    }
    target.update(fields)
    return {k: v for k, v in target.items() if v is not None}


def _doc(key: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    doc = template_doc("split-backup")
    entry = doc["keys"][0]
    entry.update(type="TDES", bits=128, role="zmk", store_in_hsm=False)
    entry.update(key or {})
    entry["targets"] = [_target(**fields)]
    return doc


def _refused(doc: dict[str, Any], path: str, words: str) -> FileError:
    with pytest.raises(FileError, match=words) as caught:
        parse_ceremony_file(dump(doc))
    assert caught.value.path == path, caught.value.message
    assert caught.value.hint
    return caught.value


def test_a_zmk_goes_to_aws_payment_cryptography() -> None:
    cf = parse_ceremony_file(dump(_doc(exportable=True, region="eu-west-1")))
    (target,) = cf.keys[0].targets
    assert target.provider is Provider.AWS_PAYMENT_CRYPTOGRAPHY
    assert target.algorithm is WrapMethod.APC_RSA_OAEP_SHA_256
    assert target.fingerprint is None
    assert isinstance(target.fields, AwsPaymentFields)
    assert target.fields == AwsPaymentFields(bytes.fromhex(ROOT), True, "eu-west-1")
    assert target.pinned is not None and target.pinned.hex == ROOT
    assert target.pin_field == "root_ca_fingerprint"
    assert cf.keys[0].material_kind is MaterialKind.TDES_128
    text = "\n".join(summary(cf))
    assert "'apc-euw1': AWS Payment Cryptography, wrapped with RSA_OAEP_SHA_256 in software" in text
    assert "Pinned root CA fingerprint: 2652 6C1D" in text


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ({"type": "TDES", "bits": 192, "role": "bdk"}, MaterialKind.TDES_192),
        ({"type": "AES", "bits": 128, "role": "kbpk"}, MaterialKind.AES_128),
        ({"type": "AES", "bits": 192, "role": "pek"}, MaterialKind.AES_192),
        ({"type": "AES", "bits": 256, "role": "data"}, MaterialKind.AES_256),
    ],
)
def test_the_keys_it_takes(key: dict[str, Any], kind: MaterialKind) -> None:
    cf = parse_ceremony_file(dump(_doc(key, algorithm="RSA_OAEP_SHA_512")))
    assert cf.keys[0].material_kind is kind
    assert cf.keys[0].targets[0].algorithm is WrapMethod.APC_RSA_OAEP_SHA_512


def test_exportable_defaults_to_false_and_the_root_may_be_read_as_words() -> None:
    from ceremony.core import pgpwords

    words = " ".join(pgpwords.encode(bytes.fromhex(ROOT)))
    cf = parse_ceremony_file(dump(_doc(root_ca_fingerprint=words)))
    fields = cf.keys[0].targets[0].fields
    assert isinstance(fields, AwsPaymentFields)
    assert fields.exportable is False and fields.root_ca_fingerprint == bytes.fromhex(ROOT)


def test_a_rehearsal_may_leave_the_root_unpinned_and_production_may_not() -> None:
    doc = _doc(root_ca_fingerprint=None)
    _refused(doc, "keys[0].targets[0].root_ca_fingerprint", "pins the root CA")
    doc["ceremony"]["rehearsal"] = True
    cf = parse_ceremony_file(dump(doc))
    assert cf.keys[0].targets[0].pinned is None
    assert "No pinned root CA fingerprint (rehearsal only)" in "\n".join(summary(cf))


def test_the_wrapping_key_fingerprint_field_is_refused_for_this_provider() -> None:
    error = _refused(
        _doc(fingerprint=ROOT), "keys[0].targets[0].fingerprint", "new wrapping key for each"
    )
    assert "root_ca_fingerprint" in (error.hint or "")


@pytest.mark.parametrize(
    ("fields", "path", "words"),
    [
        ({"algorithm": "RSAES_OAEP_SHA_256"}, "algorithm", "not a wrapping method for AWS Payment"),
        ({"algorithm": "RSA_OAEP_SHA_1"}, "algorithm", "not a wrapping method"),
        ({"algorithm": None}, "algorithm", "is missing"),
        ({"root_ca_fingerprint": "12ab"}, "root_ca_fingerprint", "neither 64 hex digits"),
        ({"region": "Europe"}, "region", "not an AWS Region"),
        ({"exportable": "yes"}, "exportable", "must be true or false"),
        ({"key_id": "x"}, "key_id", "a field of AWS KMS targets"),
        ({"kek_id": "x"}, "kek_id", "a field of Azure Key Vault targets"),
        ({"exportible": True}, "exportible", "did you mean exportable"),
    ],
)
def test_field_problems_are_named_by_dotted_path(
    fields: dict[str, Any], path: str, words: str
) -> None:
    with pytest.raises(ConfigError, match=words) as caught:
        parse_ceremony_file(dump(_doc(**fields)))
    assert isinstance(caught.value, FileError)
    assert caught.value.path == f"keys[0].targets[0].{path}"


@pytest.mark.parametrize(
    ("kind", "key", "path", "words"),
    [
        ("split-backup", {"type": "HMAC", "bits": 256, "role": "mac"}, "", "does not import HMAC"),
        ("split-backup", {"type": "TDES", "bits": 64, "role": "zmk"}, "", "no cloud provider"),
        ("generate-export", {"type": "EC", "curve": "P-256", "role": "data"}, "", "EC P-256"),
        ("generate-export", {"type": "RSA", "bits": 2048, "role": "data"}, "", "RSA-2048"),
    ],
)
def test_keys_it_cannot_take_are_refused(
    kind: str, key: dict[str, Any], path: str, words: str
) -> None:
    doc = template_doc(kind)
    entry = doc["keys"][0]
    entry.update(key)
    if "curve" in key:
        entry.pop("bits", None)
    entry["targets"] = [_target()]
    error = _refused(doc, "keys[0].targets[0]" + path, words)
    if key["type"] == "TDES":
        assert "never single DES" in (error.hint or "")


def test_a_payment_key_goes_here_and_never_to_a_general_purpose_kms() -> None:
    doc = template_doc("generate-export")
    doc["keys"][0]["role"] = "kek"
    _refused(doc, "keys[0].targets[0].provider", "general-purpose cloud KMS")
    doc["keys"][0]["targets"] = [_target(wrap="hsm")]
    cf = parse_ceremony_file(dump(doc))
    assert cf.keys[0].targets[0].provider is Provider.AWS_PAYMENT_CRYPTOGRAPHY


def test_a_tdes_data_key_is_refused_by_aws_kms_itself() -> None:
    doc = _doc({"role": "data"})
    doc["keys"][0]["targets"] = [
        {
            "label": "kms",
            "provider": "aws",
            "algorithm": "RSAES_OAEP_SHA_256",
            "import_key": "imports/aws-params.json",
            "fingerprint": ROOT,
            "material_never_expires": True,
            "wrap": "software",
        }
    ]
    _refused(doc, "keys[0].targets[0]", "does not import TDES-128 keys")

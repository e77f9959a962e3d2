"""Key roles: their TR-31 and AWS names, and the ceremony-file rules that follow from them."""

from __future__ import annotations

import pytest

from ceremony.core.ceremony_file import FileError, parse_ceremony_file
from ceremony.core.component import KeyAlgorithm
from ceremony.core.key_roles import KeyRole
from tests.unit.ceremony_files import dumps as dump
from tests.unit.ceremony_files import template as template_doc


def test_each_role_names_its_tr31_usage_and_mode() -> None:
    assert KeyRole.ZMK.describe(KeyAlgorithm.TDES) == (
        "ZMK, zone master key, shared with a partner (TR-31 K0, mode B)"
    )
    assert KeyRole.BDK.usage(KeyAlgorithm.AES) == "B0"
    assert KeyRole.BDK.facts.mode_of_use == "X"
    assert KeyRole.MAC.usage(KeyAlgorithm.TDES) == "M3"
    assert KeyRole.MAC.usage(KeyAlgorithm.AES) == "M6"
    assert KeyRole.KBPK.aws_usage(KeyAlgorithm.AES) == "TR31_K1_KEY_BLOCK_PROTECTION_KEY"
    assert KeyRole.ZMK.aws_usage(KeyAlgorithm.TDES) == "TR31_K0_KEY_ENCRYPTION_KEY"
    assert not KeyRole.DATA.payment and all(r.payment for r in KeyRole if r is not KeyRole.DATA)


def _split_backup(**key: object) -> dict[str, object]:
    doc = template_doc("split-backup")
    doc["keys"][0].update(key)
    return doc


def test_a_role_is_read_and_a_data_key_is_the_default() -> None:
    cf = parse_ceremony_file(dump(_split_backup(type="TDES", bits=128, role="zmk")))
    assert cf.keys[0].role is KeyRole.ZMK
    assert "TR-31 K0" in cf.keys[0].describe_role()
    doc = _split_backup()
    doc["keys"][0].pop("role", None)
    assert parse_ceremony_file(dump(doc)).keys[0].role is KeyRole.DATA


@pytest.mark.parametrize(
    ("key", "path", "words"),
    [
        ({"role": "zone"}, "keys[0].role", "not one of data, zmk"),
        ({"type": "HMAC", "bits": 256, "role": "zmk"}, "keys[0].role", "TDES or AES key"),
        ({"type": "HMAC", "bits": 256, "role": "mac"}, None, None),
    ],
)
def test_a_role_must_fit_the_key(key: dict[str, object], path: str | None, words: str) -> None:
    doc = _split_backup(**key)
    if path is None:
        parse_ceremony_file(dump(doc))
        return
    with pytest.raises(FileError, match=words) as caught:
        parse_ceremony_file(dump(doc))
    assert caught.value.path == path


def test_a_payment_key_never_goes_to_a_general_purpose_kms() -> None:
    doc = template_doc("generate-export")
    doc["keys"][0]["role"] = "kek"
    with pytest.raises(FileError, match="general-purpose cloud KMS") as caught:
        parse_ceremony_file(dump(doc))
    assert caught.value.path == "keys[0].targets[0].provider"

"""RFC 5649 KWP through our path: RFC, NIST CAVP and Wycheproof vectors; KW blobs never pass."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ceremony.core import keywrap
from ceremony.errors import WrapError

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


def _nist(name: str) -> Iterator[dict[str, str]]:
    """Records of a CAVP KW/KWP file: K, P (absent when the record says FAIL), C."""
    record: dict[str, str] = {}
    for line in (VECTORS / "nist_kw" / name).read_text().splitlines():
        line = line.strip()
        if line.startswith("COUNT"):
            if record:
                yield record
            record = {}
        elif line == "FAIL":
            record["FAIL"] = "1"
        elif (match := re.fullmatch(r"([KPC]) = ([0-9a-f]*)", line)) is not None:
            record[match.group(1)] = match.group(2)
    if record:
        yield record


def _wycheproof(name: str) -> list[dict[str, str]]:
    doc = json.loads((VECTORS / "wycheproof" / name).read_text())
    return [test for group in doc["testGroups"] for test in group["tests"]]


def test_rfc5649_examples() -> None:
    doc = json.loads((VECTORS / "rfc" / "rfc3394_rfc5649_vectors.json").read_text())
    assert len(doc["rfc5649"]) == 2
    for case in doc["rfc5649"]:
        kek, key, wrapped = (bytes.fromhex(case[f]) for f in ("kek", "key", "wrapped"))
        assert keywrap.wrap(kek, key) == wrapped
        assert bytes(keywrap.unwrap(kek, wrapped).reveal()) == key
        assert len(wrapped) == keywrap.wrapped_length(len(key))


def test_rfc3394_kw_blobs_never_unwrap_as_kwp() -> None:
    doc = json.loads((VECTORS / "rfc" / "rfc3394_rfc5649_vectors.json").read_text())
    for case in doc["rfc3394"]:
        kek, key, wrapped = (bytes.fromhex(case[f]) for f in ("kek", "key", "wrapped"))
        assert keywrap.wrap(kek, key) != wrapped  # same key, same KEK: KWP output differs
        with pytest.raises(WrapError):
            keywrap.unwrap(kek, wrapped)


@pytest.mark.parametrize("bits", [128, 192, 256])
def test_nist_kwp_authenticated_encryption(bits: int) -> None:
    records = list(_nist(f"KWP_AE_{bits}.txt"))
    assert len(records) == 500
    for r in records:
        assert keywrap.wrap(bytes.fromhex(r["K"]), bytes.fromhex(r["P"])) == bytes.fromhex(r["C"])


@pytest.mark.parametrize("bits", [128, 192, 256])
def test_nist_kwp_authenticated_decryption(bits: int) -> None:
    records = list(_nist(f"KWP_AD_{bits}.txt"))
    assert len(records) == 500
    failures = 0
    for r in records:
        kek, blob = bytes.fromhex(r["K"]), bytes.fromhex(r["C"])
        if "FAIL" in r:
            failures += 1
            with pytest.raises(WrapError):
                keywrap.unwrap(kek, blob)
        else:
            assert bytes(keywrap.unwrap(kek, blob).reveal()) == bytes.fromhex(r["P"])
    assert failures == 100


def test_nist_kw_vectors_never_pass_the_kwp_path() -> None:
    checked = 0
    for name in ("KW_AE_256.txt", "KW_AD_256.txt"):
        for r in _nist(name):
            if "P" not in r:
                continue
            kek, blob = bytes.fromhex(r["K"]), bytes.fromhex(r["C"])
            assert keywrap.wrap(kek, bytes.fromhex(r["P"])) != blob
            with pytest.raises(WrapError):
                keywrap.unwrap(kek, blob)
            checked += 1
    assert checked == 900


def test_wycheproof_kwp() -> None:
    tests = _wycheproof("aes_kwp_test.json")
    assert len(tests) == 254
    for t in tests:
        # Group key sizes are 128/192/256; every test key has one of those lengths.
        key, msg, ct = (bytes.fromhex(t[f]) for f in ("key", "msg", "ct"))
        if t["result"] == "valid":
            assert keywrap.wrap(key, msg) == ct, t["tcId"]
            assert bytes(keywrap.unwrap(key, ct).reveal()) == msg, t["tcId"]
        else:
            with pytest.raises(WrapError):
                keywrap.unwrap(key, ct)


def test_wycheproof_kw_blobs_never_pass_the_kwp_path() -> None:
    tests = _wycheproof("aes_wrap_test.json")
    assert len(tests) == 165
    for t in tests:
        key, ct = bytes.fromhex(t["key"]), bytes.fromhex(t["ct"])
        if len(key) not in keywrap.KEK_LENGTHS:
            continue
        with pytest.raises(WrapError):
            keywrap.unwrap(key, ct)


@pytest.mark.parametrize("length", [*range(1, 70), 241, 1217, 2374, 8192])
def test_wrapped_length_formula(length: int) -> None:
    kek = bytes(range(32))
    assert len(keywrap.wrap(kek, bytes([0xA5]) * length)) == keywrap.wrapped_length(length)
    assert keywrap.wrapped_length(length) == (16 if length <= 8 else 8 * -(-length // 8) + 8)


def test_aiv_is_rfc5649() -> None:
    assert bytes.fromhex("a65959a6") == keywrap.KWP_AIV


@pytest.mark.parametrize("kek_length", [0, 8, 15, 20, 33, 64])
def test_bad_kek_length_refused(kek_length: int) -> None:
    with pytest.raises(WrapError):
        keywrap.wrap(bytes(kek_length), b"material")
    with pytest.raises(WrapError):
        keywrap.unwrap(bytes(kek_length), bytes(24))


def test_empty_material_refused() -> None:
    with pytest.raises(WrapError):
        keywrap.wrap(bytes(32), b"")
    with pytest.raises(WrapError):
        keywrap.wrapped_length(0)


@pytest.mark.parametrize("length", [0, 8, 15, 17, 23])
def test_malformed_blob_refused(length: int) -> None:
    with pytest.raises(WrapError, match="multiple of 8"):
        keywrap.unwrap(bytes(32), bytes(length))


def test_errors_never_show_key_or_material() -> None:
    kek = bytes(range(0x40, 0x60))
    material = bytes(range(0xA0, 0xC0))
    blob = bytearray(keywrap.wrap(kek, material))
    blob[-1] ^= 1
    with pytest.raises(WrapError) as caught:
        keywrap.unwrap(kek, bytes(blob))
    shown = str(caught.value).lower()
    for secret in (kek, material):
        assert secret.hex() not in shown
        assert secret[:4].hex() not in shown


def test_unwrap_returns_a_wipeable_secret() -> None:
    kek = bytes(range(32))
    secret = keywrap.unwrap(kek, keywrap.wrap(kek, b"\x01" * 20), "recovered")
    assert "recovered" in repr(secret)
    assert "0101" not in repr(secret)
    secret.close()
    assert secret.closed

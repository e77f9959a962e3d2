"""Key check values: published vectors, the CMAC primitive, labels, and no secret in any text."""

from __future__ import annotations

import base64
import dataclasses
import hmac
import json
import re
from pathlib import Path
from typing import Any

import pytest
from Crypto.Cipher import AES, DES, DES3
from Crypto.Hash import HMAC, SHA256
from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.core.component import KeyAlgorithm
from ceremony.core.kcv import (
    CheckValue,
    KcvMethod,
    aes_cmac,
    check_value,
    default_method,
    parse_check_value,
    require_match,
)
from ceremony.core.secret import Secret
from ceremony.errors import CeremonyError, CheckValueError, KeyMaterialError

VECTORS = Path(__file__).resolve().parent.parent / "vectors"

KCV_FILE_METHODS = {"aes_cmac": KcvMethod.AES_CMAC, "tdes_legacy": KcvMethod.TDES_ECB_ZERO}


def _kcv_vectors() -> list[dict[str, str]]:
    data = json.loads((VECTORS / "kcv" / "kcv_vectors.json").read_text(encoding="utf-8"))
    vectors: list[dict[str, str]] = data["vectors"]
    return vectors


def _nist_cmac_records() -> list[tuple[str, dict[str, str]]]:
    records: list[tuple[str, dict[str, str]]] = []
    for name in ("CMACGenAES128.rsp", "CMACGenAES192.rsp", "CMACGenAES256.rsp"):
        current: dict[str, str] = {}
        for raw in (VECTORS / "nist_cmac" / name).read_text(encoding="ascii").splitlines():
            line = raw.strip()
            if not line or line.startswith(("#", "[")):
                continue
            key, _, value = line.partition("=")
            key, value = key.strip(), value.strip()
            if key == "Count" and current:
                records.append((name, current))
                current = {}
            current[key] = value
        if current:
            records.append((name, current))
    return records


def _wycheproof_cases() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    data = json.loads((VECTORS / "wycheproof" / "aes_cmac_test.json").read_text(encoding="utf-8"))
    return [(group, test) for group in data["testGroups"] for test in group["tests"]]


# --- published KCVs ---------------------------------------------------------------------------


@pytest.mark.parametrize("vector", _kcv_vectors(), ids=lambda v: f"{v['alg']}-{v['kcv']}")
def test_every_published_kcv_is_reproduced_for_its_method(vector: dict[str, str]) -> None:
    method = KCV_FILE_METHODS[vector["method"]]
    expected = bytes.fromhex(vector["kcv"])
    key = bytes.fromhex(vector["key"])
    cv = check_value(key, method, len(expected))
    assert cv == CheckValue(method, expected)
    assert cv.hex == vector["kcv"].upper()
    assert str(cv).startswith(f"{method.label} {vector['kcv'].upper()} ")
    # The 3-byte default is the leftmost part of the published value.
    assert check_value(Secret(key), method).value == expected[:3]


def test_kcv_vectors_cover_both_methods() -> None:
    methods = {v["method"] for v in _kcv_vectors()}
    assert methods == set(KCV_FILE_METHODS)
    assert len(_kcv_vectors()) == 15


def test_published_example_prints_its_method_and_length() -> None:
    key = bytes.fromhex("3F419E1CB7079442AA37474C2EFBF8B8")
    assert str(check_value(key, KcvMethod.AES_CMAC)) == "AES-CMAC 08793E (3 of 5 bytes)"
    assert str(check_value(key, KcvMethod.AES_CMAC, 5)) == "AES-CMAC 08793E25AB (5 of 5 bytes)"
    assert str(check_value(key, KcvMethod.TDES_ECB_ZERO)) == "TDES-ECB 57C409 (3 of 3 bytes)"


# --- the CMAC primitive -----------------------------------------------------------------------


def test_nist_cmac_generation_vectors() -> None:
    records = _nist_cmac_records()
    counts = {name: sum(1 for n, _ in records if n == name) for name, _ in records}
    assert counts == {"CMACGenAES128.rsp": 96, "CMACGenAES192.rsp": 144, "CMACGenAES256.rsp": 96}
    for name, record in records:
        key = bytes.fromhex(record["Key"])
        assert len(key) == int(record["Klen"]), name
        message = bytes.fromhex(record["Msg"])[: int(record["Mlen"])]
        tag = aes_cmac(key, message, int(record["Tlen"]))
        assert tag == bytes.fromhex(record["Mac"]), f"{name} Count {record['Count']}"


def test_wycheproof_aes_cmac() -> None:
    cases = _wycheproof_cases()
    assert len(cases) == 311
    seen = {"valid": 0, "invalid": 0, "bad key": 0}
    for group, test in cases:
        key = bytes.fromhex(test["key"])
        message = bytes.fromhex(test["msg"])
        if "InvalidKeySize" in test["flags"]:
            with pytest.raises(KeyMaterialError):
                aes_cmac(key, message, group["tagSize"] // 8)
            # The KCV path refuses the same lengths, for both AES methods.
            for method in (KcvMethod.AES_CMAC, KcvMethod.AES_ECB_ZERO):
                with pytest.raises(KeyMaterialError):
                    check_value(key, method)
            seen["bad key"] += 1
            continue
        tag = aes_cmac(key, message, group["tagSize"] // 8)
        matches = hmac.compare_digest(tag, bytes.fromhex(test["tag"]))
        assert matches == (test["result"] == "valid"), f"tcId {test['tcId']}"
        seen[test["result"]] += 1
    assert seen == {"valid": 63, "invalid": 243, "bad key": 5}


def test_cmac_kcv_is_the_cmac_of_a_zero_block() -> None:
    key = bytes.fromhex("FA36E44278DB3AB5F298F9F7DA8F1F88")
    assert check_value(key, KcvMethod.AES_CMAC, 5).value == aes_cmac(key, bytes(16), 5)


# --- legacy and convention methods, against an independent implementation -------------------


@given(key=st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
def test_aes_ecb_zero_matches_pycryptodome_and_differs_from_cmac(key: bytes) -> None:
    ecb = check_value(key, KcvMethod.AES_ECB_ZERO)
    cmac_kcv = check_value(key, KcvMethod.AES_CMAC)
    assert ecb.value == AES.new(key, AES.MODE_ECB).encrypt(bytes(16))[:3]
    # The two can never be swapped silently: labels differ and so (in practice) do the values.
    assert ecb != cmac_kcv
    assert str(ecb).split()[0] != str(cmac_kcv).split()[0]
    with pytest.raises(CheckValueError, match="different methods"):
        require_match(ecb, cmac_kcv, "key")


def test_aes_ecb_zero_differs_from_cmac_for_published_key() -> None:
    key = bytes.fromhex("3F419E1CB7079442AA37474C2EFBF8B8")
    ecb = check_value(key, KcvMethod.AES_ECB_ZERO)
    cmac_kcv = check_value(key, KcvMethod.AES_CMAC)
    assert cmac_kcv.hex == "08793E"
    assert ecb.value != cmac_kcv.value


def test_aes_ecb_zero_known_answer() -> None:
    # FIPS-197 style known answer: AES-128 with the zero key on the zero block.
    assert check_value(bytes(16), KcvMethod.AES_ECB_ZERO).hex == "66E94B"


@given(
    key=st.sampled_from([8, 16, 24]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
)
def test_tdes_ecb_zero_matches_pycryptodome(key: bytes) -> None:
    cv = check_value(key, KcvMethod.TDES_ECB_ZERO)
    # Single DES is the legacy reference here, not a choice of cipher.
    if len(key) == 8:
        expected = DES.new(key, DES.MODE_ECB).encrypt(bytes(8))  # noqa: S304
    else:
        try:
            expected = DES3.new(key, DES3.MODE_ECB).encrypt(bytes(8))
        except ValueError:
            # pycryptodome refuses keys that degenerate to single DES; compute it as such.
            expected = DES.new(key[:8], DES.MODE_ECB).encrypt(bytes(8))  # noqa: S304
    assert cv.value == expected[:3]


@given(key=st.binary(min_size=1, max_size=100))
def test_hmac_sha256_zero_matches_pycryptodome(key: bytes) -> None:
    expected = HMAC.new(key, bytes(16), digestmod=SHA256).digest()
    assert check_value(key, KcvMethod.HMAC_SHA256_ZERO, 5).value == expected[:5]


# --- inputs, lengths and method choice --------------------------------------------------------


def test_secret_bytearray_and_memoryview_inputs_agree_and_secret_stays_usable() -> None:
    raw = bytes(range(32))
    secret = Secret(raw, "test key")
    for method in (KcvMethod.AES_CMAC, KcvMethod.AES_ECB_ZERO, KcvMethod.HMAC_SHA256_ZERO):
        expected = check_value(raw, method)
        assert check_value(secret, method) == expected
        assert check_value(bytearray(raw), method) == expected
        assert check_value(memoryview(raw), method) == expected
    assert not secret.closed and bytes(secret.reveal()) == raw


@pytest.mark.parametrize(
    ("method", "bad_lengths"),
    [
        (KcvMethod.AES_CMAC, [0, 1, 8, 15, 17, 20, 40, 64]),
        (KcvMethod.AES_ECB_ZERO, [0, 8, 20, 33]),
        (KcvMethod.TDES_ECB_ZERO, [0, 7, 9, 15, 32]),
        (KcvMethod.HMAC_SHA256_ZERO, [0]),
    ],
)
def test_invalid_key_lengths_are_refused(method: KcvMethod, bad_lengths: list[int]) -> None:
    for n in bad_lengths:
        with pytest.raises(KeyMaterialError, match=method.label):
            check_value(bytes(n), method)


@pytest.mark.parametrize(
    ("method", "good", "bad"),
    [
        (KcvMethod.AES_CMAC, [3, 4, 5], [0, 1, 2, 6, 16]),
        (KcvMethod.AES_ECB_ZERO, [3], [2, 4, 16]),
        (KcvMethod.TDES_ECB_ZERO, [3], [2, 4, 8]),
        (KcvMethod.HMAC_SHA256_ZERO, [3, 4, 5], [2, 6, 32]),
    ],
)
def test_kcv_length_bounds(method: KcvMethod, good: list[int], bad: list[int]) -> None:
    key = bytes(range(16))
    for n in good:
        cv = check_value(key, method, n)
        assert len(cv.value) == n
        assert f"({n} of {method.max_length} bytes)" in str(cv)
    for n in bad:
        with pytest.raises(CheckValueError):
            check_value(key, method, n)
        with pytest.raises(CheckValueError):
            CheckValue(method, bytes(n))


def test_default_method_per_algorithm() -> None:
    for n in (16, 24, 32):
        assert default_method(KeyAlgorithm.AES, n) is KcvMethod.AES_CMAC
    for n in (8, 16, 24):
        assert default_method(KeyAlgorithm.TDES, n) is KcvMethod.TDES_ECB_ZERO
    # HMAC keys always use their own algorithm, whatever the length.
    for n in (16, 24, 32, 33, 48, 64):
        assert default_method(KeyAlgorithm.HMAC, n) is KcvMethod.HMAC_SHA256_ZERO
    with pytest.raises(KeyMaterialError):
        default_method(KeyAlgorithm.AES, 20)
    with pytest.raises(KeyMaterialError):
        default_method(KeyAlgorithm.TDES, 32)


# --- display, parsing and comparison ----------------------------------------------------------


@pytest.mark.parametrize("method", list(KcvMethod))
def test_str_always_carries_the_label(method: KcvMethod) -> None:
    key = bytes(range(16))
    cv = check_value(key, method)
    for text in (str(cv), repr(cv), f"{cv}", f"{cv:>40}"):
        assert method.label in text
        assert re.search(r"\(\d of \d bytes\)", text)
    # A bare hex string is only reachable through the named journal attribute.
    assert cv.hex == cv.value.hex().upper()
    assert cv.journal_fields() == {"kcv_method": method.label, "kcv": cv.hex}


def test_check_value_is_frozen() -> None:
    cv = CheckValue(KcvMethod.AES_CMAC, bytes(3))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cv.value = bytes(3)  # type: ignore[misc]
    assert CheckValue(KcvMethod.AES_CMAC, bytearray(3)).value == bytes(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", list(KcvMethod))
def test_parse_round_trip(method: KcvMethod) -> None:
    cv = check_value(bytes(range(16)), method)
    assert parse_check_value(str(cv)) == cv
    assert parse_check_value(f"  {method.label.lower()}   {cv.hex.lower()} ") == cv
    assert parse_check_value(str(cv).lower()) == cv


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("08793E", "not a labelled check value"),
        ("", "not a labelled check value"),
        ("AES-CMAC", "not a labelled check value"),
        ("AES-CMAC 08793Z", "not a labelled check value"),
        ("SHA1 08793E", "unknown check-value method"),
        ("AES-CMAC 08793", "odd number of hex digits"),
        ("AES-CMAC 08793E (5 of 5 bytes)", "does not fit"),
        ("AES-CMAC 08793E (3 of 3 bytes)", "does not fit"),
        ("AES-CMAC 0879", "must be 3 to 5 bytes"),
        ("TDES-ECB 08793E25AB", "must be 3 to 3 bytes"),
        # Found by scripts/fuzz (10,000 cases): int() of 4,301 digits raised ValueError.
        ("AES-CMAC 08793E (3 of " + "9" * 4301 + " bytes)", "not a labelled check value"),
        ("AES-CMAC 08793E (3 of 16000 bytes)", "not a labelled check value"),
    ],
)
def test_parse_refuses_unlabelled_or_malformed(text: str, problem: str) -> None:
    with pytest.raises(CheckValueError, match=re.escape(problem)) as info:
        parse_check_value(text)
    if len(text) > 8:
        assert text not in str(info.value)


def test_parse_never_echoes_a_pasted_key() -> None:
    key_hex = "3F419E1CB7079442AA37474C2EFBF8B8"
    for text in (key_hex, f"AES-CMAC {key_hex}", f"NOPE {key_hex}"):
        with pytest.raises(CheckValueError) as info:
            parse_check_value(text)
        assert key_hex[:8] not in str(info.value).upper()


def test_require_match_passes_and_compares_prefixes() -> None:
    key = bytes.fromhex("3F419E1CB7079442AA37474C2EFBF8B8")
    recorded = parse_check_value("AES-CMAC 08793E")
    require_match(recorded, check_value(key, KcvMethod.AES_CMAC), "key zmk")
    # A 3-byte record checks a 5-byte computation: both are leftmost bytes of one CMAC.
    require_match(recorded, check_value(key, KcvMethod.AES_CMAC, 5), "key zmk")


def test_require_match_mismatch_names_both_labelled_values() -> None:
    expected = parse_check_value("AES-CMAC 08793E")
    actual = parse_check_value("AES-CMAC D77F00")
    with pytest.raises(CheckValueError) as info:
        require_match(expected, actual, "combined key zmk-prod")
    text = str(info.value)
    assert "combined key zmk-prod" in text
    assert "AES-CMAC 08793E (3 of 5 bytes)" in text
    assert "AES-CMAC D77F00 (3 of 5 bytes)" in text
    assert "What to do:" in text


def test_require_match_refuses_mixed_methods() -> None:
    with pytest.raises(CheckValueError, match="different methods"):
        require_match(
            parse_check_value("TDES-ECB 08793E"), parse_check_value("AES-CMAC 08793E"), "key"
        )


# --- no secret in any text --------------------------------------------------------------------


def _encodings_of(key: bytes) -> list[str]:
    forms = [key.hex(), key.hex().upper(), base64.b64encode(key).decode()]
    # Every 4-byte window as hex: a prefix or a single printed group must not leak either.
    forms += [key[i : i + 4].hex().upper() for i in range(max(len(key) - 3, 0))]
    return [f for f in forms if len(f) >= 8]


def _texts_of(obj: object) -> list[str]:
    return [str(obj), repr(obj), f"{obj}"]


@settings(max_examples=60)
@given(
    method=st.sampled_from(list(KcvMethod)),
    key=st.binary(min_size=0, max_size=70),
    length=st.integers(min_value=0, max_value=8),
)
def test_no_secret_in_str_or_repr_of_anything(method: KcvMethod, key: bytes, length: int) -> None:
    texts: list[str] = []
    secret = Secret(key, "k")
    texts += _texts_of(secret)
    try:
        cv = check_value(secret, method, length)
    except CeremonyError as exc:
        texts += _texts_of(exc)
    else:
        texts += [*_texts_of(cv), str(cv.journal_fields())]
        other = CheckValue(method, bytes(len(cv.value)))
        try:
            require_match(other, cv, "key")
        except CheckValueError as exc:
            texts += _texts_of(exc)
    try:
        aes_cmac(key, b"")
    except CeremonyError as exc:
        texts += _texts_of(exc)
    upper = " ".join(texts).upper()
    for form in _encodings_of(key):
        assert form.upper() not in upper

"""TR-31 / X9.143 key blocks: published blocks, psec as an independent oracle, every refusal."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceremony.core import tr31
from ceremony.core.component import KeyAlgorithm
from ceremony.core.secret import Secret
from ceremony.errors import KeyBlockError

# psec drives TDES through cryptography's deprecated 16-byte keys; that is psec's business.
pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")

VECTORS = json.loads(
    (Path(__file__).resolve().parent.parent / "vectors" / "tr31" / "tr31_vectors.json").read_text()
)
TDES, AES, HMAC = KeyAlgorithm.TDES, KeyAlgorithm.AES, KeyAlgorithm.HMAC
MAC_FAILS = (
    "the key block's MAC does not verify under this KBPK: wrong KBPK, or the block was altered"
)


def _blocks(expect: str) -> list[Any]:
    cases = [v for v in VECTORS["blocks"] if v["expect"] == expect]
    return [pytest.param(v, id=v["name"]) for v in cases]


def _clean(error: pytest.ExceptionInfo[KeyBlockError], *secrets: bytes) -> str:
    """The error's text, after checking it holds none of ``secrets`` in hex."""
    text = str(error.value)
    for secret in secrets:
        assert secret.hex().upper() not in text.upper()
    return text


def _fixed(data: bytes) -> Callable[[int], bytes]:
    def source(length: int) -> bytes:
        assert length == len(data)
        return data

    return source


def _clear_payload(kbpk: bytes, block: str) -> bytes:
    """The decrypted payload by psec's own derivation and ciphers, independent of ours."""
    kb = psec.tr31.KeyBlock(kbpk)
    header_length = kb.header.load(block)
    mac_hex = 16 if block[0] == "B" else 32
    body = block[header_length:]
    encrypted, mac = bytes.fromhex(body[:-mac_hex]), bytes.fromhex(body[-mac_hex:])
    if block[0] == "B":
        kbek, _ = kb._b_derive()
        return psec.des.decrypt_tdes_cbc(kbek, mac, encrypted)
    kbek, _ = kb._d_derive()
    return psec.aes.decrypt_aes_cbc(kbek, mac, encrypted)


# ---- published blocks ------------------------------------------------------------------------


@pytest.mark.parametrize("vector", _blocks("key"))
def test_published_blocks_unwrap_to_the_published_key(vector: dict[str, str]) -> None:
    kbpk, key = bytes.fromhex(vector["kbpk"]), bytes.fromhex(vector["key"])
    header, secret = tr31.unwrap(
        kbpk, vector["block"], kbpk_algorithm=KeyAlgorithm[vector["kbpk_algorithm"]]
    )
    assert isinstance(secret, Secret)
    assert bytes(secret.reveal()) == key
    assert header == tr31.read_header(vector["block"])
    assert vector["block"].startswith(header.text(len(vector["block"])))


@pytest.mark.parametrize("vector", _blocks("key"))
def test_published_blocks_are_rebuilt_byte_for_byte_with_their_padding(
    vector: dict[str, str],
) -> None:
    kbpk, key, block = bytes.fromhex(vector["kbpk"]), bytes.fromhex(vector["key"]), vector["block"]
    payload = _clear_payload(kbpk, block)
    assert payload[2 : 2 + len(key)] == key
    rebuilt = tr31.wrap(
        kbpk,
        tr31.read_header(block),
        key,
        _fixed(payload[2 + len(key) :]),
        kbpk_algorithm=KeyAlgorithm[vector["kbpk_algorithm"]],
        masked_length=len(payload) - 2,
    )
    assert rebuilt == block


@pytest.mark.parametrize("vector", _blocks("legacy"))
def test_published_version_a_and_c_blocks_are_refused(vector: dict[str, str]) -> None:
    kbpk, key = bytes.fromhex(vector["kbpk"]), bytes.fromhex(vector["key"])
    assert psec.tr31.unwrap(kbpk, vector["block"])[1] == key  # a real block, just legacy
    with pytest.raises(KeyBlockError) as error:
        tr31.unwrap(kbpk, vector["block"], kbpk_algorithm=TDES)
    assert "legacy variant binding" in _clean(error, kbpk, key)
    assert "not accepted" in str(error.value)
    with pytest.raises(KeyBlockError, match="legacy variant"):
        tr31.read_header(vector["block"])


@pytest.mark.parametrize(
    ("expect", "words"),
    [("version", "unknown or unsupported key block version"), ("asymmetric", "asymmetric")],
)
def test_published_blocks_of_other_kinds_are_refused_by_name(expect: str, words: str) -> None:
    for vector in VECTORS["blocks"]:
        if vector["expect"] == expect:
            kbpk = bytes.fromhex(vector["kbpk"])
            with pytest.raises(KeyBlockError) as error:
                tr31.unwrap(kbpk, vector["block"], kbpk_algorithm=AES)
            keys = [bytes.fromhex(vector["key"])] if "key" in vector else []
            assert words in _clean(error, kbpk, *keys)


@pytest.mark.parametrize("vector", _blocks("key_length"))
def test_a_published_single_des_key_is_refused_after_the_mac(vector: dict[str, str]) -> None:
    kbpk, key = bytes.fromhex(vector["kbpk"]), bytes.fromhex(vector["key"])
    assert psec.tr31.unwrap(kbpk, vector["block"])[1] == key
    with pytest.raises(KeyBlockError) as error:
        tr31.unwrap(kbpk, vector["block"], kbpk_algorithm=TDES)
    assert "16 or 24" in _clean(error, kbpk, key)


@pytest.mark.parametrize("vector", VECTORS["derivations"], ids=lambda v: v["name"])
def test_published_kbek_and_kbak_derivations(vector: dict[str, str]) -> None:
    kbek, kbak = tr31._derive(vector["version"], bytes.fromhex(vector["kbpk"]))
    assert (kbek.hex().upper(), kbak.hex().upper()) == (vector["kbek"], vector["kbak"])


@pytest.mark.parametrize("vector", VECTORS["kp"], ids=lambda v: v["name"])
def test_published_kp_blocks(vector: dict[str, str]) -> None:
    kbpk = bytes.fromhex(vector["kbpk"])
    assert tr31.kbpk_check_block(kbpk, KeyAlgorithm[vector["kbpk_algorithm"]]) == (
        "KP",
        vector["kp"],
    )


# ---- psec as the oracle ----------------------------------------------------------------------

_KBPK_LENGTHS = {"B": (16, 24), "D": (16, 24, 32)}
# Strength in bits, written out here apart from the module's own table.
_BITS = {(TDES, 16): 80, (TDES, 24): 112, (AES, 16): 128, (AES, 24): 192, (AES, 32): 256}
_KEYS = [(TDES, 16), (TDES, 24), (AES, 16), (AES, 24), (AES, 32)] + [
    (HMAC, n) for n in (16, 20, 24, 28, 32, 48, 64)
]


def _bits(algorithm: KeyAlgorithm, length: int) -> int:
    return min(8 * length, 256) if algorithm is HMAC else _BITS[(algorithm, length)]


@st.composite
def _cases(draw: st.DrawFn) -> dict[str, Any]:
    version = draw(st.sampled_from("BD"))
    kbpk_length = draw(st.sampled_from(_KBPK_LENGTHS[version]))
    kbpk_algorithm = TDES if version == "B" else AES
    key_algorithm, key_length = draw(
        st.sampled_from([k for k in _KEYS if _bits(*k) <= _bits(kbpk_algorithm, kbpk_length)])
    )
    code = {TDES: "T", AES: "A", HMAC: "H"}[key_algorithm]
    usage = draw(st.sampled_from([u for u, e in tr31.USAGES.items() if code in e.algorithms]))
    ids = draw(
        st.lists(st.sampled_from(["KS", "LB", "TS", "KV", "HM", "T1"]), max_size=3, unique=True)
    )
    data = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
    return {
        "version": version,
        "kbpk": draw(st.binary(min_size=kbpk_length, max_size=kbpk_length)),
        "kbpk_algorithm": kbpk_algorithm,
        "key": draw(st.binary(min_size=key_length, max_size=key_length)),
        "algorithm": code,
        "usage": usage,
        "mode": draw(st.sampled_from(sorted(tr31.USAGES[usage].modes))),
        "key_version": draw(st.sampled_from(["00", "01", "12", "c1", "AZ"])),
        "exportability": draw(st.sampled_from("ENS")),
        "blocks": tuple((i, draw(data)) for i in ids),
        "masked": draw(st.one_of(st.none(), st.integers(0, 40))),
    }


def _without_pb(blocks: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {block_id: data for block_id, data in blocks if block_id != "PB"}


ROUND_TRIPS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ROUND_TRIPS
@given(_cases())
def test_blocks_we_build_unwrap_with_psec(case: dict[str, Any]) -> None:
    header = tr31.Header(
        case["version"],
        case["usage"],
        case["algorithm"],
        case["mode"],
        case["key_version"],
        case["exportability"],
        case["blocks"],
    )
    masked = None if case["masked"] is None else max(case["masked"], len(case["key"]))
    block = tr31.wrap(
        Secret(case["kbpk"]),
        header,
        Secret(case["key"]),
        os.urandom,
        kbpk_algorithm=case["kbpk_algorithm"],
        masked_length=masked,
    )
    theirs, key = psec.tr31.unwrap(case["kbpk"], block)
    assert key == case["key"]
    assert (
        theirs.version_id,
        theirs.key_usage,
        theirs.algorithm,
        theirs.mode_of_use,
        theirs.version_num,
        theirs.exportability,
    ) == (
        header.version,
        header.key_usage,
        header.algorithm,
        header.mode_of_use,
        header.key_version,
        header.exportability,
    )
    assert dict(theirs.blocks) == _without_pb(header.blocks) == dict(case["blocks"])
    default = {"T": 24, "A": 32}.get(case["algorithm"], len(case["key"]))
    payload = len(_clear_payload(case["kbpk"], block))
    assert payload >= 2 + (default if masked is None else masked)
    ours, secret = tr31.unwrap(case["kbpk"], block, kbpk_algorithm=case["kbpk_algorithm"])
    assert ours == header
    assert bytes(secret.reveal()) == case["key"]


@ROUND_TRIPS
@given(_cases())
def test_blocks_psec_builds_unwrap_with_ours(case: dict[str, Any]) -> None:
    theirs = psec.tr31.Header(
        case["version"],
        case["usage"],
        case["algorithm"],
        case["mode"],
        case["key_version"],
        case["exportability"],
    )
    for block_id, data in case["blocks"]:
        theirs.blocks[block_id] = data
    block = psec.tr31.wrap(case["kbpk"], theirs, case["key"], case["masked"])
    header, secret = tr31.unwrap(Secret(case["kbpk"]), block, kbpk_algorithm=case["kbpk_algorithm"])
    assert bytes(secret.reveal()) == case["key"]
    assert (header.version, header.key_usage, header.algorithm, header.mode_of_use) == (
        case["version"],
        case["usage"],
        case["algorithm"],
        case["mode"],
    )
    assert (header.key_version, header.exportability) == (
        case["key_version"],
        case["exportability"],
    )
    assert _without_pb(header.blocks) == dict(case["blocks"])


def test_a_long_optional_block_takes_the_extended_length_of_x9_143() -> None:
    kbpk, key = bytes(range(32)), bytes(range(100, 132))
    label = "L" * 300
    header = tr31.Header("D", "K1", "A", "E", blocks=(("LB", label),))
    block = tr31.wrap(kbpk, header, key, os.urandom, kbpk_algorithm=AES)
    # As X9.143:2021 8.5 writes it: '00', then '04' hex digits of length (300 + 10 = 0x0136).
    assert block[16:28] == "LB0004" + "0136" + "LL"
    ours, secret = tr31.unwrap(kbpk, block, kbpk_algorithm=AES)
    assert ours.block("LB") == label
    assert bytes(secret.reveal()) == key
    # psec 1.3.0 reads the length-of-length as bytes ('02'); pinned so a change is noticed.
    with pytest.raises(ValueError):
        psec.tr31.unwrap(kbpk, block)


def test_wrap_is_deterministic_for_one_random_source_and_keeps_its_inputs() -> None:
    kbpk, key = Secret(bytes(range(16))), bytes(range(50, 66))
    header = tr31.Header("B", "P0", "T", "E")
    pad = bytes(range(14))  # 2 + 24 padded to 32 bytes, less the 2 + 16 of the key
    first = tr31.wrap(kbpk, header, key, _fixed(pad), kbpk_algorithm=TDES)
    second = tr31.wrap(kbpk, header, key, _fixed(pad), kbpk_algorithm=TDES)
    assert first == second
    assert first.startswith("B0096P0TE00N0000")  # a 16-byte key masked as 24 (X9.143 5)
    assert bytes(kbpk.reveal()) == bytes(range(16)) and key == bytes(range(50, 66))


def test_no_masking_when_asked_and_hmac_is_not_masked_by_default() -> None:
    header = tr31.Header("B", "K0", "T", "B")
    block = tr31.wrap(
        bytes(24), header, bytes(range(16)), os.urandom, kbpk_algorithm=TDES, masked_length=16
    )
    assert block.startswith("B0080")  # 2 + 16 padded to 24 bytes
    hmac_header = tr31.Header("D", "M7", "H", "C")
    block = tr31.wrap(bytes(32), hmac_header, bytes(range(30)), _fixed(b""), kbpk_algorithm=AES)
    assert block.startswith("D0112")  # 2 + 30 is two AES blocks: no padding at all


# ---- the strength rule -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kbpk", "key", "allowed"),
    [
        ((TDES, 16), (TDES, 16), True),
        ((TDES, 16), (TDES, 24), False),
        ((TDES, 24), (TDES, 24), True),
        ((TDES, 24), (AES, 16), False),
        ((TDES, 24), (HMAC, 16), False),
        ((AES, 16), (TDES, 24), True),
        ((AES, 16), (AES, 16), True),
        ((AES, 16), (AES, 24), False),
        ((AES, 16), (AES, 32), False),
        ((AES, 24), (AES, 32), False),
        ((AES, 32), (AES, 32), True),
        ((AES, 16), (HMAC, 16), True),
        ((AES, 16), (HMAC, 32), False),
        ((AES, 32), (HMAC, 64), True),
    ],
)
def test_the_kbpk_is_at_least_as_strong_as_the_key(
    kbpk: tuple[KeyAlgorithm, int], key: tuple[KeyAlgorithm, int], allowed: bool
) -> None:
    if allowed:
        tr31.require_kbpk_strength(*kbpk, *key)
    else:
        with pytest.raises(KeyBlockError, match="at least as strong as the key"):
            tr31.require_kbpk_strength(*kbpk, *key)


@pytest.mark.parametrize("kbpk", [(TDES, 8), (AES, 20), (HMAC, 32)])
def test_what_is_never_a_kbpk(kbpk: tuple[KeyAlgorithm, int]) -> None:
    with pytest.raises(KeyBlockError):
        tr31.require_kbpk_strength(*kbpk, TDES, 16)


@pytest.fixture
def no_crypto(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> bytes:
        raise AssertionError("crypto ran before the refusal")

    monkeypatch.setattr(tr31, "_cmac", refuse)


@pytest.mark.usefixtures("no_crypto")
def test_wrap_refuses_a_weak_kbpk_before_any_crypto() -> None:
    kbpk, key = bytes(range(16)), bytes(range(100, 132))
    with pytest.raises(KeyBlockError) as error:
        tr31.wrap(kbpk, tr31.Header("D", "K0", "A", "E"), key, os.urandom, kbpk_algorithm=AES)
    assert "AES-128 (128-bit strength) KBPK cannot protect this AES-256" in _clean(error, kbpk, key)
    with pytest.raises(KeyBlockError) as error:
        tr31.wrap(kbpk, tr31.Header("B", "K0", "T", "E"), key[:24], os.urandom, kbpk_algorithm=TDES)
    assert "TDES-2key (80-bit strength) KBPK cannot protect this TDES-3key" in _clean(
        error, kbpk, key
    )


def test_unwrap_refuses_an_aes_key_under_a_tdes_kbpk_before_any_crypto(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kbpk, key = bytes(range(24)), bytes(range(100, 116))
    # psec does not keep the rule, so it can build what we refuse.
    block = psec.tr31.wrap(kbpk, "B0000K0AE00N0000", key)
    monkeypatch.setattr(tr31, "_cmac", lambda *a: pytest.fail("crypto ran"))
    with pytest.raises(KeyBlockError) as error:
        tr31.unwrap(kbpk, block, kbpk_algorithm=TDES)
    assert "cannot protect this AES-128" in _clean(error, kbpk, key)


def test_unwrap_refuses_an_aes_256_key_under_an_aes_128_kbpk() -> None:
    kbpk, key = bytes(range(16)), bytes(range(100, 132))
    block = psec.tr31.wrap(kbpk, "D0000K0AE00N0000", key)
    with pytest.raises(KeyBlockError) as error:
        tr31.unwrap(kbpk, block, kbpk_algorithm=AES)
    assert "AES-128 (128-bit strength) KBPK cannot protect this AES-256" in _clean(error, kbpk, key)


@pytest.mark.usefixtures("no_crypto")
def test_the_version_names_the_kbpk_algorithm() -> None:
    kbpk, key = bytes(range(16)), bytes(range(100, 116))
    with pytest.raises(KeyBlockError) as error:
        tr31.wrap(kbpk, tr31.Header("B", "K0", "T", "E"), key, os.urandom, kbpk_algorithm=AES)
    assert "version B key block needs a TDES KBPK, not a AES one" in _clean(error, kbpk, key)
    with pytest.raises(KeyBlockError) as error:
        tr31.wrap(kbpk, tr31.Header("D", "K0", "T", "E"), key, os.urandom, kbpk_algorithm=TDES)
    assert "version D key block needs a AES KBPK, not a TDES one" in _clean(error, kbpk, key)
    block = psec.tr31.wrap(kbpk, "B0000K0TE00N0000", key)
    with pytest.raises(KeyBlockError, match="needs a TDES KBPK"):
        tr31.unwrap(kbpk, block, kbpk_algorithm=AES)
    with pytest.raises(KeyBlockError, match="TDES KBPK is 16 or 24 bytes, not 32"):
        tr31.unwrap(bytes(32), block, kbpk_algorithm=TDES)


# ---- refusals of damaged blocks --------------------------------------------------------------

KBPK_D, KEY_D = bytes(range(32)), bytes(range(200, 232))
KBPK_B, KEY_B = bytes(range(1, 25)), bytes(range(150, 174))


@pytest.fixture(params=["B", "D"])
def made(request: pytest.FixtureRequest) -> tuple[bytes, bytes, KeyAlgorithm, str]:
    if request.param == "B":
        header = tr31.Header("B", "K1", "T", "D", "12", "E", (("KS", "00604B120F9292800000"),))
        block = tr31.wrap(KBPK_B, header, KEY_B, os.urandom, kbpk_algorithm=TDES)
        return KBPK_B, KEY_B, TDES, block
    header = tr31.Header("D", "P0", "A", "E", blocks=(("LB", "ceremony test"),))
    return KBPK_D, KEY_D, AES, tr31.wrap(KBPK_D, header, KEY_D, os.urandom, kbpk_algorithm=AES)


def _refused(
    made: tuple[bytes, bytes, KeyAlgorithm, str], block: str, kbpk: bytes | None = None
) -> str:
    real_kbpk, key, algorithm, _ = made
    with pytest.raises(KeyBlockError) as error:
        tr31.unwrap(real_kbpk if kbpk is None else kbpk, block, kbpk_algorithm=algorithm)
    return _clean(error, real_kbpk, key, *([kbpk] if kbpk else []))


def test_the_made_blocks_unwrap(made: tuple[bytes, bytes, KeyAlgorithm, str]) -> None:
    kbpk, key, algorithm, block = made
    assert bytes(tr31.unwrap(kbpk, block, kbpk_algorithm=algorithm)[1].reveal()) == key


def test_a_wrong_kbpk_fails_the_mac(made: tuple[bytes, bytes, KeyAlgorithm, str]) -> None:
    wrong = bytes(b ^ 0x5A for b in made[0])
    assert MAC_FAILS in _refused(made, made[3], kbpk=wrong)


@pytest.mark.parametrize(
    "position",
    [
        9,  # key version number
        11,  # exportability
        21,  # inside the data of the first optional block
    ],
)
def test_an_altered_header_fails_the_mac(
    made: tuple[bytes, bytes, KeyAlgorithm, str], position: int
) -> None:
    block = made[3]
    swap = {"1": "2", "2": "3", "0": "1", "E": "S", "N": "E", "6": "7", "c": "d"}
    char = swap.get(block[position], "1" if block[position] != "1" else "2")
    assert MAC_FAILS in _refused(made, block[:position] + char + block[position + 1 :])


def test_an_altered_payload_or_mac_fails_the_mac(
    made: tuple[bytes, bytes, KeyAlgorithm, str],
) -> None:
    block = made[3]
    header_length = tr31.read_header(block).length
    for position in (header_length, header_length + 17, len(block) - 1):
        char = "0" if block[position] != "0" else "1"
        assert MAC_FAILS in _refused(made, block[:position] + char + block[position + 1 :])


def test_a_truncated_block_is_refused(made: tuple[bytes, bytes, KeyAlgorithm, str]) -> None:
    block = made[3]
    assert "length field does not match" in _refused(made, block[:-2])
    assert "at least 16 characters" in _refused(made, block[:10])
    # Truncated and the length field rewritten to match: the payload and MAC no longer fit.
    short = block[0] + f"{len(block) - 2:04d}" + block[5:-2]
    assert "whole" in _refused(made, short)


@pytest.mark.parametrize("field", ["B00X0", "B9999", "B 080"])
def test_a_bad_length_field_is_refused(
    made: tuple[bytes, bytes, KeyAlgorithm, str], field: str
) -> None:
    block = made[3]
    text = _refused(made, block[0] + field[1:] + block[5:])
    assert "length field" in text


@pytest.mark.parametrize("char", ["é", "\n", "\x00", "€"])
def test_a_non_ascii_block_is_refused(
    made: tuple[bytes, bytes, KeyAlgorithm, str], char: str
) -> None:
    block = made[3]
    assert "not printable ASCII at position 31" in _refused(made, block[:30] + char + block[31:])


def test_lower_case_hex_is_refused(made: tuple[bytes, bytes, KeyAlgorithm, str]) -> None:
    block = made[3]
    header_length = tr31.read_header(block).length
    assert "upper-case hex" in _refused(made, block[:header_length] + block[header_length:].lower())


@pytest.mark.parametrize("version", ["A", "C"])
def test_version_a_and_c_are_refused_by_name(
    made: tuple[bytes, bytes, KeyAlgorithm, str], version: str
) -> None:
    text = _refused(made, version + made[3][1:])
    assert "legacy variant binding" in text and "not accepted" in text
    with pytest.raises(KeyBlockError, match="legacy variant"):
        tr31.Header(version, "K0", "T", "E")


def test_a_kp_block_is_checked_after_the_mac() -> None:
    kbpk, other, key = bytes(range(32)), bytes(range(32, 64)), bytes(range(16))
    own = tr31.kbpk_check_block(kbpk, AES)
    header = tr31.Header("D", "K0", "A", "E", blocks=(own,))
    block = tr31.wrap(kbpk, header, key, os.urandom, kbpk_algorithm=AES)
    assert tr31.unwrap(kbpk, block, kbpk_algorithm=AES)[0].block("KP") == own[1]
    wrong = tr31.Header("D", "K0", "A", "E", blocks=(tr31.kbpk_check_block(other, AES),))
    block = tr31.wrap(kbpk, wrong, key, os.urandom, kbpk_algorithm=AES)
    with pytest.raises(KeyBlockError) as error:
        tr31.unwrap(kbpk, block, kbpk_algorithm=AES)
    assert "KP check value is not this KBPK's" in _clean(error, kbpk, other, key)
    with pytest.raises(KeyBlockError) as error:
        tr31.unwrap(other, block, kbpk_algorithm=AES)
    assert MAC_FAILS in _clean(error, kbpk, other, key)


def test_wrap_refuses_short_padding_and_a_short_mask() -> None:
    header = tr31.Header("D", "K0", "A", "E")
    with pytest.raises(KeyBlockError, match="wrong number of padding bytes"):
        tr31.wrap(KBPK_D, header, KEY_D[:16], lambda n: bytes(n - 1), kbpk_algorithm=AES)
    with pytest.raises(KeyBlockError, match="at least the key's length") as error:
        tr31.wrap(KBPK_D, header, KEY_D, os.urandom, kbpk_algorithm=AES, masked_length=16)
    _clean(error, KBPK_D, KEY_D)
    with pytest.raises(KeyBlockError, match="not 20 bytes"):
        tr31.wrap(KBPK_D, header, KEY_D[:20], os.urandom, kbpk_algorithm=AES)


# ---- the header ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        (("K0", "T", "X"), "mode of use 'X' is not allowed for key usage K0"),
        (("P0", "A", "X"), "mode of use 'X' is not allowed for key usage P0"),
        (("B0", "T", "E"), "mode of use 'E' is not allowed for key usage B0"),
        (("M3", "T", "E"), "mode of use 'E' is not allowed"),
        (("K0", "T", "S"), "mode of use 'S' is not allowed"),
        (("K0", "H", "E"), "algorithm 'H' is not allowed for key usage K0"),
        (("M7", "T", "C"), "algorithm 'T' is not allowed for key usage M7"),
        (("M3", "A", "C"), "algorithm 'A' is not allowed for key usage M3"),
        (("Z9", "T", "E"), "key usage 'Z9' is not a symmetric usage"),
        (("S0", "R", "S"), "asymmetric"),
        (("K0", "R", "E"), "asymmetric"),
        (("K0", "D", "E"), "single DES"),
        (("K0", "Q", "E"), "algorithm 'Q' is not allowed"),
        (("K0", "T", "Q"), "mode of use 'Q' is not allowed"),
        (("K", "T", "E"), "key usage field is 2 letters or digits"),
    ],
)
def test_header_fields_follow_the_x9_143_tables(fields: tuple[str, str, str], words: str) -> None:
    with pytest.raises(KeyBlockError, match=words.replace("(", r"\(")):
        tr31.Header("D", *fields)


@pytest.mark.parametrize(
    ("usage", "algorithm", "mode"),
    [
        ("K0", "T", "E"),
        ("K1", "A", "B"),
        ("B0", "T", "X"),
        ("P0", "A", "E"),
        ("D0", "A", "D"),
        ("M3", "T", "C"),
        ("M6", "A", "G"),
        ("M7", "H", "V"),
        ("B2", "T", "Y"),
        ("K0", "T", "N"),
    ],
)
def test_header_fields_that_are_allowed(usage: str, algorithm: str, mode: str) -> None:
    assert tr31.Header("B", usage, algorithm, mode).key_usage == usage


def test_header_other_fields_and_optional_blocks() -> None:
    for bad in ({"exportability": "X"}, {"key_version": "0"}, {"key_version": "0-"}):
        with pytest.raises(KeyBlockError):
            tr31.Header("B", "K0", "T", "E", **bad)  # type: ignore[arg-type]
    for version in ("E", "1", ""):
        with pytest.raises(KeyBlockError, match="unknown or unsupported"):
            tr31.Header(version, "K0", "T", "E")
    with pytest.raises(KeyBlockError, match="appears twice"):
        tr31.Header("B", "K0", "T", "E", blocks=(("KS", "1"), ("KS", "2")))
    with pytest.raises(KeyBlockError, match="must be the last"):
        tr31.Header("B", "K0", "T", "E", blocks=(("PB", "0000"), ("KS", "1234")))
    with pytest.raises(KeyBlockError, match="not a multiple of 16"):
        tr31.Header("D", "K0", "A", "E", blocks=(("KS", "1234"), ("PB", "00")))
    with pytest.raises(KeyBlockError, match="printable ASCII"):
        tr31.Header("D", "K0", "A", "E", blocks=(("LB", "é"),))
    with pytest.raises(KeyBlockError, match="an ID is 2 letters"):
        tr31.Header("D", "K0", "A", "E", blocks=(("L", "x"),))
    with pytest.raises(KeyBlockError, match="at most 99"):
        tr31.Header("B", "K0", "T", "E", blocks=tuple((f"{i:02d}", "0000") for i in range(100)))
    # PB is added when due, and a header built with it equals one built without.
    padded = tr31.Header("D", "K0", "A", "E", blocks=(("KS", "1234"),))
    assert padded.blocks == (("KS", "1234"), ("PB", "0000"))
    assert tr31.Header("D", "K0", "A", "E", blocks=padded.blocks) == padded
    assert tr31.Header("B", "K0", "T", "E", blocks=(("KS", "1234"),)).blocks == (("KS", "1234"),)
    assert padded.length % 16 == 0 and padded.block("KS") == "1234" and padded.block("KP") is None


def test_read_header_needs_no_kbpk_and_refuses_bad_optional_blocks() -> None:
    header = tr31.Header("B", "B0", "T", "X", "12", "S", (("KS", "00604B120F9292800000"),))
    block = tr31.wrap(KBPK_B, header, KEY_B[:16], os.urandom, kbpk_algorithm=TDES)
    assert tr31.read_header(block) == header
    for bad in (
        block[:12] + "02" + block[14:],  # one optional block more than there are
        block[:18] + "ZZ" + block[20:],  # its length is not hex
        block[:18] + "FF" + block[20:],  # its length runs past the block
        block[:14] + "01" + block[16:],  # key context of X9.143:2022
    ):
        with pytest.raises(KeyBlockError) as error:
            tr31.read_header(bad)
        _clean(error, KBPK_B, KEY_B)
    with pytest.raises(KeyBlockError, match="is text"):
        tr31.read_header(b"B0016K0TE00N0000")  # type: ignore[arg-type]

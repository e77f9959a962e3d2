"""Shamir k-of-n shares: round trips, golden split, randomness routing, self-check and bad sets."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable

import Crypto.Random
import pytest
from Crypto.Protocol import SecretSharing
from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.core import parity, rng, shamir, xor
from ceremony.core.component import Component, KeyAlgorithm, KeyIdentity, Scheme
from ceremony.core.secret import Secret
from ceremony.errors import (
    CeremonyError,
    CheckValueError,
    KeyMaterialError,
    RuleViolation,
    ShareError,
)
from tests.unit.test_xor import (
    BAD_LENGTHS,
    algorithm_and_length,
    assert_no_secret_in,
    check_value_of,
    replace_value,
    seeded,
)

AES128 = KeyIdentity("CER-SSS-TEST", "zmk-main", KeyAlgorithm.AES, 16)
AES128_KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
TDES24 = KeyIdentity("CER-SSS-TEST", "bdk-main", KeyAlgorithm.TDES, 24)
TDES24_KEY = bytes.fromhex("0123456789abcdeffedcba987654321089abcdef01234567")

# --- an independent model of the library's arithmetic, for golden values -------------------
# GF(2^128) with x^128 + x^7 + x^2 + x + 1, elements as big-endian 16-byte strings (the LSB of
# the integer is the constant term). pycryptodome draws the coefficients highest degree first and
# ssss mode adds x^k: share(x) = x^k + c_1 x^(k-1) + ... + c_(k-1) x + secret.
_IRREDUCIBLE = (1 << 128) | 0x87


def _gf_mul(a: int, b: int) -> int:
    product = 0
    while b:
        if b & 1:
            product ^= a
        b >>= 1
        a <<= 1
        if a >> 128:
            a ^= _IRREDUCIBLE
    return product


def model_shares(key: bytes, k: int, n: int, source: rng.RandomBytes) -> list[bytes]:
    padded = key + bytes(-len(key) % 16)
    shares = [b""] * n
    for start in range(0, len(padded), 16):
        coefficients = [int.from_bytes(source(16), "big") for _ in range(k - 1)]
        secret = int.from_bytes(padded[start : start + 16], "big")
        for x in range(1, n + 1):
            y = 1  # Horner from the leading x^k term, whose coefficient is 1
            for c in [*coefficients, secret]:
                y = _gf_mul(y, x) ^ c
            shares[x - 1] += y.to_bytes(16, "big")
    return shares


# --- helpers -------------------------------------------------------------------------------


def split_seeded(key: bytes, identity: KeyIdentity, k: int, n: int, seed: bytes) -> list[Component]:
    with rng.installed(seeded(seed), "seeded test source"):
        return shamir.split(Secret(key), identity, k, n)


def combined(shares: list[Component], key: bytes, identity: KeyIdentity) -> bytes:
    with shamir.combine(shares, expected=check_value_of(key, identity)) as secret:
        return bytes(secret.reveal())


def flip_last_bit(c: Component) -> Component:
    value = bytearray(c.value.reveal())
    value[-1] ^= 1
    return replace_value(c, bytes(value))


# --- round trips -----------------------------------------------------------------------------


@st.composite
def thresholds(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(2, 6))
    return draw(st.integers(2, n)), n


@given(data=st.data(), alg_len=algorithm_and_length(), k_n=thresholds())
@settings(max_examples=40, deadline=None)
def test_any_k_shares_in_any_order_give_the_key(
    data: st.DataObject, alg_len: tuple[KeyAlgorithm, int], k_n: tuple[int, int]
) -> None:
    algorithm, length = alg_len
    k, n = k_n
    identity = KeyIdentity("CER-SSS-TEST", "key-under-test", algorithm, length)
    key = data.draw(
        st.binary(min_size=length, max_size=length)
        .filter(any)
        .map(lambda b: with_parity(b, algorithm))
    )
    shares = shamir.split(Secret(key), identity, k, n)
    assert [s.index for s in shares] == list(range(1, n + 1))
    for s in shares:
        assert (s.identity, s.scheme, s.threshold, s.count) == (identity, Scheme.SHAMIR, k, n)
        assert len(s.value) == shamir.share_length(length) == 16 * -(-length // 16)
    chosen = data.draw(st.lists(st.sampled_from(shares), min_size=k, max_size=n, unique=True))
    assert combined(chosen, key, identity) == key


@pytest.mark.parametrize(
    ("identity", "key", "k", "n"),
    [
        (AES128, AES128_KEY, 2, 3),
        (AES128, AES128_KEY, 3, 5),
        (TDES24, TDES24_KEY, 3, 4),
        (KeyIdentity("CER-SSS-TEST", "mac", KeyAlgorithm.HMAC, 40), bytes(range(1, 41)), 2, 4),
        (KeyIdentity("CER-SSS-TEST", "kek", KeyAlgorithm.AES, 32), bytes(range(32, 64)), 4, 4),
    ],
)
def test_every_k_subset_and_every_larger_set_gives_the_key(
    identity: KeyIdentity, key: bytes, k: int, n: int
) -> None:
    shares = shamir.split(Secret(key), identity, k, n)
    for size in range(k, n + 1):
        for subset in itertools.combinations(shares, size):
            assert combined(list(subset), key, identity) == key
            assert combined(list(reversed(subset)), key, identity) == key


def test_sixteen_shares_are_supported() -> None:
    for k in (2, 15, 16):
        shares = shamir.split(Secret(AES128_KEY), AES128, k, 16)
        assert combined(shares[-k:], AES128_KEY, AES128) == AES128_KEY
        assert combined(shares, AES128_KEY, AES128) == AES128_KEY


# --- golden values and randomness routing ---------------------------------------------------

GOLDEN = [
    (
        AES128,
        AES128_KEY,
        2,
        3,
        [
            "ee306dfe3d3a2cca6d50dd07118129e6",
            "dc53bda9b68bf30c430b45c27664604c",
            "3272f264cfe4b9b1a6c2327eab38a755",
        ],
    ),
    (
        TDES24,
        TDES24_KEY,
        3,
        5,
        [
            "288b85988759b398c498ab70c384a5c55106ad6a1f6102bdc7dd10d4e960c25a",
            "d915c25babd13393352a7c975728e4f5860b73232a64278406b9e4e2a2d3758f",
            "f0bd02a4a5234de40f6e6d7fe2f873265ea613a63426605ec164f4364bb3b7d3",
            "9cd2501733263b5c94caa1ff1fda7b176d034f6f08a235fb297cdce885ed2c98",
            "b57a90e83dd4452bae8eb017aa0aecd6b5ae2fea16e07221eea1cc3c6c8deed6",
        ],
    ),
]


@pytest.mark.parametrize(("identity", "key", "k", "n", "expected"), GOLDEN)
def test_seeded_split_is_byte_stable(
    identity: KeyIdentity, key: bytes, k: int, n: int, expected: list[str]
) -> None:
    seed = b"shamir golden " + identity.key_label.encode()
    shares = split_seeded(key, identity, k, n, seed)
    assert [s.value.reveal().hex() for s in shares] == expected
    # The pinned values follow from the seed by the model above, not only from the code under test.
    assert [s.hex() for s in model_shares(key, k, n, seeded(seed))] == expected


def test_coefficients_come_from_the_installed_source_then_the_library_hook_is_restored() -> None:
    asked: list[int] = []
    base = seeded(b"counting")

    def source(length: int) -> bytes:
        asked.append(length)
        return base(length)

    with rng.installed(source, "counting source"):
        shamir.split(Secret(TDES24_KEY), TDES24, 4, 6)
    assert asked == [16] * (2 * 3)  # two blocks, k - 1 coefficients each
    assert SecretSharing.rng is Crypto.Random.get_random_bytes  # type: ignore[attr-defined]


def test_library_hook_is_restored_when_the_source_fails() -> None:
    def broken(length: int) -> bytes:
        raise KeyMaterialError("token removed")

    with rng.installed(broken, "broken source"), pytest.raises(KeyMaterialError, match="removed"):
        shamir.split(Secret(AES128_KEY), AES128, 2, 3)
    assert SecretSharing.rng is Crypto.Random.get_random_bytes  # type: ignore[attr-defined]


def test_short_reads_from_the_source_are_refused() -> None:
    with (
        rng.installed(lambda n: bytes(n - 1), "short source"),
        pytest.raises(KeyMaterialError, match="15 bytes instead of 16"),
    ):
        shamir.split(Secret(AES128_KEY), AES128, 2, 3)


def test_zero_coefficients_are_used_not_redrawn(monkeypatch: pytest.MonkeyPatch) -> None:
    # Security checklist 2.3: rejecting zero coefficients biases them. With every coefficient
    # zero, share x is key + x^k, and exactly (k-1) blocks were drawn: nothing was redrawn.
    # rng's health test would refuse an all-zero source first; switch it off to see the library.
    monkeypatch.setattr(rng, "_HEALTH_MIN_LENGTH", 1 << 30)
    asked: list[int] = []

    def zeros(length: int) -> bytes:
        asked.append(length)
        return bytes(length)

    with rng.installed(zeros, "zero source"):
        shares = shamir.split(Secret(AES128_KEY), AES128, 3, 4)
    assert asked == [16, 16]
    for s in shares:
        x_cubed = (_gf_mul(_gf_mul(s.index, s.index), s.index)).to_bytes(16, "big")
        assert s.value.reveal() == bytes(a ^ b for a, b in zip(AES128_KEY, x_cubed, strict=True))


def test_one_share_of_two_fits_every_key_equally() -> None:
    # For k = 2 share #1 is key + c + 1: the coefficient c = c0 + key + other makes the same share
    # for any other key, so one share says nothing about the key (perfect secrecy, x = 1 case).
    other = bytes.fromhex("ffeeddccbbaa99887766554433221100")
    c0 = bytes.fromhex("5ca1ab1e" * 4)
    c1 = bytes(a ^ b ^ c for a, b, c in zip(c0, AES128_KEY, other, strict=True))
    with rng.installed(lambda n: c0, "fixed"):
        first = shamir.split(Secret(AES128_KEY), AES128, 2, 3)
    with rng.installed(lambda n: c1, "fixed"):
        second = shamir.split(Secret(other), AES128, 2, 3)
    assert first[0].value == second[0].value
    assert first[1].value != second[1].value


def test_concurrent_splits_each_get_their_own_consistent_shares() -> None:
    results: list[bytes] = []
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        key = bytes([i + 1]) * 32
        identity = KeyIdentity("CER-SSS-TEST", f"key-{i}", KeyAlgorithm.AES, 32)
        try:
            shares = shamir.split(Secret(key), identity, 2, 3)
            results.append(combined(shares[1:], key, identity))
        except BaseException as ex:  # pragma: no cover - reported below
            errors.append(ex)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == [bytes([i + 1]) * 32 for i in range(4)]
    assert SecretSharing.rng is Crypto.Random.get_random_bytes  # type: ignore[attr-defined]


# --- split's self-check and refusals ---------------------------------------------------------


class _Tracking(Secret):
    made: list[Secret] = []  # noqa: RUF012

    def __init__(self, material: bytes | bytearray | memoryview, label: str = "secret") -> None:
        super().__init__(material, label)
        _Tracking.made.append(self)


def test_split_recombines_every_subset_and_reports_progress() -> None:
    seen: list[tuple[int, int]] = []
    shamir.split(Secret(AES128_KEY), AES128, 3, 5, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(d, 10) for d in range(1, 11)]
    assert shamir.subset_count(3, 5) == 10


def test_split_self_check_catches_a_fault_in_one_subset_and_wipes_shares(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A library fault that only shows for the subset {#2, #4}: only an every-subset check sees it.
    real = SecretSharing.Shamir.combine

    def faulty(points: list[tuple[int, bytes]], ssss: bool = False) -> bytes:
        out = real(points, ssss=ssss)
        if sorted(x for x, _ in points) == [2, 4]:
            return bytes([out[0] ^ 1]) + out[1:]
        return out

    _Tracking.made = []
    monkeypatch.setattr(SecretSharing.Shamir, "combine", staticmethod(faulty))
    monkeypatch.setattr(shamir, "Secret", _Tracking)
    with pytest.raises(KeyMaterialError, match="shares #2, #4 do not rebuild") as caught:
        shamir.split(Secret(AES128_KEY), AES128, 2, 4)
    assert len(_Tracking.made) == 4
    assert all(s.closed for s in _Tracking.made)
    assert_no_secret_in(caught.value, [AES128_KEY])


@pytest.mark.parametrize(
    ("description", "coefficient", "fragment"),
    [
        # k = 2: share #1 = key + c + 1, so c = key + 1 makes it zero and c = 1 makes it the key.
        (
            "share #1 all zero",
            bytes(a ^ b for a, b in zip(AES128_KEY, bytes(15) + b"\x01", strict=True)),
            "#1",
        ),
        ("share #1 equals the key", bytes(15) + b"\x01", "#1"),
    ],
)
def test_split_refuses_weak_shares(description: str, coefficient: bytes, fragment: str) -> None:
    with (
        rng.installed(lambda n: coefficient, description),
        pytest.raises(RuleViolation, match=f"share {fragment} of 'zmk-main' is all zero or equals"),
    ):
        shamir.split(Secret(AES128_KEY), AES128, 2, 3)


@pytest.mark.parametrize(("k", "n"), [(0, 3), (1, 3), (4, 3), (2, 17), (17, 17), (2, 1)])
def test_split_refuses_thresholds_out_of_range(k: int, n: int) -> None:
    with pytest.raises(ShareError, match=f"2 <= k <= n <= 16, got k={k} n={n}"):
        shamir.split(Secret(AES128_KEY), AES128, k, n)


@pytest.mark.parametrize(("algorithm", "length", "allowed"), BAD_LENGTHS)
def test_split_refuses_bad_key_lengths(algorithm: KeyAlgorithm, length: int, allowed: str) -> None:
    identity = KeyIdentity("CER-SSS-TEST", "bad", algorithm, length)
    with pytest.raises(KeyMaterialError) as caught:
        shamir.split(Secret(b"\x01" * length), identity, 2, 3)
    assert algorithm.value in caught.value.message
    assert allowed in caught.value.message


def test_split_refuses_a_key_of_another_length_than_declared_and_an_all_zero_key() -> None:
    with pytest.raises(KeyMaterialError, match="declares 16"):
        shamir.split(Secret(TDES24_KEY), AES128, 2, 3)
    with pytest.raises(KeyMaterialError, match="all zero"):
        shamir.split(Secret(bytes(16)), AES128, 2, 3)


# --- combine: every bad set, in the style of trezor's SLIP-39 vectors.json -------------------

Shares = dict[str, list[Component]]
Mutation = Callable[[Shares], list[Component]]


def _with(c: Component, **changes: object) -> Component:
    return dataclasses.replace(c, **changes)  # type: ignore[arg-type]


def _other(**changes: object) -> KeyIdentity:
    return dataclasses.replace(TDES24, **changes)  # type: ignore[arg-type]


# Base: TDES 24-byte key, 3 of 5, so each share is two blocks and the last one carries padding.
COMBINE_CASES: list[tuple[str, Mutation, type[CeremonyError], str]] = [
    ("no shares", lambda s: [], ShareError, "no shares were given"),
    (
        "share from another ceremony",
        lambda s: [
            s["a"][0],
            _with(s["a"][1], identity=_other(ceremony_id="CER-OTHER")),
            s["a"][2],
        ],
        ShareError,
        "share #2 belongs to ceremony 'CER-OTHER' key 'bdk-main'",
    ),
    (
        "share of another key in the same ceremony",
        lambda s: [s["a"][0], s["a"][1], _with(s["a"][2], identity=_other(key_label="pek-other"))],
        ShareError,
        "share #3 belongs to ceremony 'CER-SSS-TEST' key 'pek-other'",
    ),
    (
        "share declares another key length",
        lambda s: [s["a"][0], _with(s["a"][1], identity=_other(key_length=16)), s["a"][2]],
        ShareError,
        "(TDES, 16 bytes), expected ceremony 'CER-SSS-TEST' key 'bdk-main' (TDES, 24 bytes)",
    ),
    (
        "XOR component mixed in",
        lambda s: [s["a"][0], _with(s["a"][1], scheme=Scheme.XOR), s["a"][2]],
        ShareError,
        "share #2 is an XOR component",
    ),
    (
        "mismatching thresholds",
        lambda s: [s["a"][0], _with(s["a"][1], threshold=2), s["a"][2]],
        ShareError,
        "share #2 says 2 of 5, share #1 says 3 of 5",
    ),
    (
        "mismatching counts",
        lambda s: [s["a"][0], s["a"][1], _with(s["a"][2], count=6)],
        ShareError,
        "share #3 says 3 of 6, share #1 says 3 of 5",
    ),
    (
        "threshold below 2 on every share",
        lambda s: [_with(c, threshold=1) for c in s["a"][:3]],
        ShareError,
        "got k=1 n=5",
    ),
    (
        "count above 16 on every share",
        lambda s: [_with(c, count=17) for c in s["a"][:3]],
        ShareError,
        "got k=3 n=17",
    ),
    (
        "index 0 (the secret's own coordinate)",
        lambda s: [_with(s["a"][0], index=0), s["a"][1], s["a"][2]],
        ShareError,
        "share #0 is out of range 1..5",
    ),
    (
        "index beyond count",
        lambda s: [s["a"][0], s["a"][1], _with(s["a"][2], index=6)],
        ShareError,
        "share #6 is out of range 1..5",
    ),
    (
        "same share twice",
        lambda s: [s["a"][0], s["a"][1], s["a"][1]],
        ShareError,
        "share #2 was given twice",
    ),
    (
        "duplicate index with another value",
        lambda s: [s["a"][0], s["a"][1], _with(s["a"][2], index=2)],
        ShareError,
        "share #2 was given twice",
    ),
    (
        "same value under two indices",
        lambda s: [s["a"][0], s["a"][1], replace_value(s["a"][2], bytes(s["a"][1].value.reveal()))],
        ShareError,
        "shares #2 and #3 are identical",
    ),
    (
        "fewer than k shares",
        lambda s: [s["a"][4], s["a"][0]],
        ShareError,
        "3 shares are needed, got 2 (#1, #5)",
    ),
    (
        "one share, duplicated to look like enough",
        lambda s: [s["a"][0], s["a"][0], s["a"][0]],
        ShareError,
        "share #1 was given twice",
    ),
    (
        "share one byte short",
        lambda s: [
            s["a"][0],
            replace_value(s["a"][1], bytes(s["a"][1].value.reveal()[:-1])),
            s["a"][2],
        ],
        ShareError,
        "share #2 is 31 bytes, shares of a 24-byte key are 32",
    ),
    (
        "share cut to the key length",
        lambda s: [
            s["a"][0],
            s["a"][1],
            replace_value(s["a"][2], bytes(s["a"][2].value.reveal()[:24])),
        ],
        ShareError,
        "share #3 is 24 bytes",
    ),
    (
        "share from another split of the same key",
        lambda s: [s["a"][0], s["a"][1], s["b"][2]],
        ShareError,
        "shares #1, #2, #3 do not belong together",
    ),
    (
        "mistyped share (one bit)",
        lambda s: [s["a"][0], flip_last_bit(s["a"][1]), s["a"][2]],
        ShareError,
        "shares #1, #2, #3 do not belong together",
    ),
    (
        "mistyped extra share beyond k",
        lambda s: [flip_last_bit(s["a"][3]), s["a"][0], s["a"][1], s["a"][2]],
        ShareError,
        "share #4 does not agree with shares #1, #2, #3",
    ),
    (
        "extra share from another split",
        lambda s: [*s["a"][:3], s["b"][4]],
        ShareError,
        "share #5 does not agree with shares #1, #2, #3",
    ),
    (
        "shares of another key with the same identity",
        lambda s: s["c"][:3],
        CheckValueError,
        "does not match the recorded",
    ),
]


def _share_sets() -> Shares:
    other_key = bytes.fromhex("fedcba98765432100123456789abcdeffedcba9876543210")
    return {
        "a": split_seeded(TDES24_KEY, TDES24, 3, 5, b"table a"),
        "b": split_seeded(TDES24_KEY, TDES24, 3, 5, b"table b"),
        "c": split_seeded(other_key, TDES24, 3, 5, b"table c"),
    }


@pytest.mark.parametrize(
    ("description", "mutate", "error", "fragment"), COMBINE_CASES, ids=[c[0] for c in COMBINE_CASES]
)
def test_combine_refuses(
    description: str, mutate: Mutation, error: type[CeremonyError], fragment: str
) -> None:
    sets = _share_sets()
    materials = [TDES24_KEY, *(bytes(c.value.reveal()) for s in sets.values() for c in s)]
    with pytest.raises(error) as caught:
        shamir.combine(mutate(sets), expected=check_value_of(TDES24_KEY, TDES24))
    assert type(caught.value) is error
    assert fragment in caught.value.message
    assert caught.value.hint
    assert_no_secret_in(caught.value, materials)


def test_combine_refuses_a_wrong_check_value_and_a_mistyped_unpadded_share() -> None:
    shares = split_seeded(AES128_KEY, AES128, 2, 3, b"kcv")
    other = check_value_of(bytes.fromhex("ff" * 16), AES128)
    with pytest.raises(CheckValueError, match="rebuilt from shares #1, #2"):
        shamir.combine(shares[:2], expected=other)
    # A 16-byte key has no padding: the KCV is what catches a mistyped share.
    with pytest.raises(CheckValueError, match="does not match") as caught:
        shamir.combine(
            [shares[0], flip_last_bit(shares[2])], expected=check_value_of(AES128_KEY, AES128)
        )
    assert_no_secret_in(caught.value, [AES128_KEY, *(bytes(s.value.reveal()) for s in shares)])


def test_combine_refuses_shares_of_another_identity_than_asked() -> None:
    shares = split_seeded(AES128_KEY, AES128, 2, 3, b"ident")
    with pytest.raises(
        ShareError, match="share #1 belongs to ceremony 'CER-SSS-TEST' key 'zmk-main'"
    ):
        shamir.combine(
            shares,
            expected=check_value_of(AES128_KEY, AES128),
            identity=dataclasses.replace(AES128, ceremony_id="CER-NEXT"),
        )
    with shamir.combine(
        shares, expected=check_value_of(AES128_KEY, AES128), identity=AES128
    ) as key:
        assert key.reveal() == AES128_KEY


def test_xor_components_are_not_shamir_shares_and_back() -> None:
    components = xor.split(Secret(AES128_KEY), AES128, 2)
    with pytest.raises(ShareError, match="XOR component"):
        shamir.combine(components, expected=check_value_of(AES128_KEY, AES128))
    shares = split_seeded(AES128_KEY, AES128, 2, 2, b"x")
    with pytest.raises(ShareError, match="SHAMIR share"):
        xor.combine(shares, expected=check_value_of(AES128_KEY, AES128))


def test_repr_of_shares_and_result_shows_no_material() -> None:
    shares = split_seeded(TDES24_KEY, TDES24, 2, 3, b"repr")
    materials = [TDES24_KEY, *(bytes(s.value.reveal()) for s in shares)]
    with shamir.combine(shares, expected=check_value_of(TDES24_KEY, TDES24)) as key:
        shown = " ".join([repr(key), str(key), *(repr(s) for s in shares)])
    for material in materials:
        assert material.hex() not in shown
        assert material.hex().upper() not in shown


def test_combine_refuses_an_identity_with_a_length_the_algorithm_does_not_allow() -> None:
    shares = split_seeded(AES128_KEY, AES128, 2, 3, b"len")
    bad = dataclasses.replace(AES128, key_length=20)
    with pytest.raises(KeyMaterialError, match="AES keys must be 16, 24 or 32 bytes"):
        shamir.combine(shares, expected=check_value_of(AES128_KEY, AES128), identity=bad)
    with pytest.raises(KeyMaterialError, match="AES keys must be 16, 24 or 32 bytes"):
        xor.combine(
            xor.split(Secret(AES128_KEY), AES128, 2),
            expected=check_value_of(AES128_KEY, AES128),
            identity=bad,
        )


def with_parity(value: bytes, algorithm: KeyAlgorithm) -> bytes:
    """A TDES key as the tool makes one: DES odd parity in every byte."""
    if not parity.needs_parity(algorithm):
        return value
    adjusted = bytearray(value)
    parity.adjust(adjusted)
    return bytes(adjusted)

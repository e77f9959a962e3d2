"""XOR n-of-n components: round trips, golden split, weak outcomes and a table of bad sets."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.core import kcv, parity, rng, xor
from ceremony.core.component import Component, KeyAlgorithm, KeyIdentity, Scheme
from ceremony.core.secret import Secret
from ceremony.errors import (
    CeremonyError,
    CheckValueError,
    KeyMaterialError,
    RuleViolation,
    ShareError,
)

# Labels and ids use letters outside hex so a message naming them cannot look like key material.
IDENTITY = KeyIdentity("CER-XOR-TEST", "zmk-main", KeyAlgorithm.AES, 16)
KEY = bytes.fromhex("00112233445566778899aabbccddeeff")

VALID_LENGTHS = [
    (KeyAlgorithm.AES, 16),
    (KeyAlgorithm.AES, 24),
    (KeyAlgorithm.AES, 32),
    (KeyAlgorithm.TDES, 8),
    (KeyAlgorithm.TDES, 16),
    (KeyAlgorithm.TDES, 24),
    (KeyAlgorithm.HMAC, 16),
    (KeyAlgorithm.HMAC, 33),
    (KeyAlgorithm.HMAC, 64),
]
BAD_LENGTHS = [
    (KeyAlgorithm.AES, 0, "16, 24 or 32 bytes"),
    (KeyAlgorithm.AES, 15, "16, 24 or 32 bytes"),
    (KeyAlgorithm.AES, 20, "16, 24 or 32 bytes"),
    (KeyAlgorithm.AES, 64, "16, 24 or 32 bytes"),
    (KeyAlgorithm.TDES, 7, "8, 16 or 24 bytes"),
    (KeyAlgorithm.TDES, 32, "8, 16 or 24 bytes"),
    (KeyAlgorithm.HMAC, 15, "16 to 64 bytes"),
    (KeyAlgorithm.HMAC, 65, "16 to 64 bytes"),
]


def algorithm_and_length() -> st.SearchStrategy[tuple[KeyAlgorithm, int]]:
    fixed = st.sampled_from([v for v in VALID_LENGTHS if v[0] is not KeyAlgorithm.HMAC])
    return fixed | st.integers(16, 64).map(lambda n: (KeyAlgorithm.HMAC, n))


def seeded(seed: bytes) -> rng.RandomBytes:
    """Deterministic source for golden runs: SHAKE-256(seed || call counter)."""
    calls = iter(range(1 << 30))

    def source(length: int) -> bytes:
        return hashlib.shake_256(seed + next(calls).to_bytes(4, "big")).digest(length)

    return source


def identity_for(algorithm: KeyAlgorithm, length: int, label: str = "zmk-main") -> KeyIdentity:
    return KeyIdentity("CER-XOR-TEST", label, algorithm, length)


def check_value_of(material: bytes, identity: KeyIdentity) -> kcv.CheckValue:
    return kcv.check_value(material, kcv.default_method(identity.algorithm, identity.key_length))


def secret_texts(material: bytes) -> Iterator[str]:
    """Every way a message could show ``material``: 4-byte hex windows in both cases, base64."""
    for start in range(max(1, len(material) - 3)):
        window = material[start : start + 4].hex()
        yield window
        yield window.upper()
    yield base64.b64encode(material).decode()


def assert_no_secret_in(error: CeremonyError, materials: list[bytes]) -> None:
    shown = " ".join(
        [str(error), repr(error), error.message, error.hint or "", *map(str, error.args)]
    )
    for material in materials:
        for text in secret_texts(material):
            assert text not in shown, "an error message shows secret material"


def replace_value(c: Component, material: bytes) -> Component:
    return dataclasses.replace(c, value=Secret(material, c.value.label))


@given(data=st.data(), alg_len=algorithm_and_length(), count=st.integers(2, 9))
@settings(max_examples=60, deadline=None)
def test_split_then_combine_in_any_order_gives_the_key(
    data: st.DataObject, alg_len: tuple[KeyAlgorithm, int], count: int
) -> None:
    algorithm, length = alg_len
    identity = identity_for(algorithm, length)
    material = data.draw(
        st.binary(min_size=length, max_size=length)
        .filter(any)
        .map(lambda b: with_parity(b, algorithm))
    )
    components = xor.split(Secret(material), identity, count)
    assert [c.index for c in components] == list(range(1, count + 1))
    for c in components:
        assert (c.identity, c.scheme, c.count, c.threshold) == (identity, Scheme.XOR, count, count)
        assert len(c.value) == length
        assert c.value.reveal() != material
    order = data.draw(st.permutations(components))
    with xor.combine(order, expected=check_value_of(material, identity)) as key:
        assert key.reveal() == material


def test_seeded_split_is_byte_stable() -> None:
    with rng.installed(seeded(b"xor golden"), "seeded test source"):
        components = xor.split(Secret(KEY), IDENTITY, 3)
    assert [c.value.reveal().hex() for c in components] == [
        # Computed apart from xor.split: SHAKE-256 draws #0, #1, then KEY ^ #0 ^ #1.
        "23b0a7b7c9b7e78c6211b43e0cbaae60",
        "e52f5856d9c5bf1bb2004a66c9d54bb9",
        "c68eddd254273ee0588854e309b20b26",
    ]
    with xor.combine(components, expected=check_value_of(KEY, IDENTITY)) as key:
        assert key.reveal() == KEY


def test_components_come_from_the_installed_source() -> None:
    asked: list[int] = []

    def source(length: int) -> bytes:
        asked.append(length)
        return hashlib.sha256(bytes([len(asked)])).digest()[:length]

    with rng.installed(source, "counting source"):
        xor.split(Secret(KEY), IDENTITY, 4)
    assert asked == [16, 16, 16]


class _Tracking(Secret):
    made: list[Secret] = []  # noqa: RUF012

    def __init__(self, material: bytes | bytearray | memoryview, label: str = "secret") -> None:
        super().__init__(material, label)
        _Tracking.made.append(self)


@pytest.mark.parametrize(
    ("description", "source", "count", "fragment"),
    [
        ("random source returns zeros", lambda n: bytes(n), 3, "#1 of 'zmk-main' is all zero"),
        ("random source repeats itself", lambda n: b"\x5a" * n, 4, "#1 and #2 of 'zmk-main' are"),
        ("random source returns the key", lambda n: KEY[:n], 2, "#1 of 'zmk-main' equals the key"),
    ],
)
def test_split_refuses_weak_components_and_wipes_them(
    monkeypatch: pytest.MonkeyPatch,
    description: str,
    source: rng.RandomBytes,
    count: int,
    fragment: str,
) -> None:
    _Tracking.made = []
    monkeypatch.setattr(xor, "Secret", _Tracking)
    # rng's own health test would stop these first; switch it off to prove xor's defence in depth.
    monkeypatch.setattr(rng, "_HEALTH_MIN_LENGTH", 1 << 30)
    with rng.installed(source, description), pytest.raises(RuleViolation) as caught:
        xor.split(Secret(KEY), IDENTITY, count)
    assert fragment in caught.value.message
    assert _Tracking.made
    assert all(s.closed for s in _Tracking.made)
    assert_no_secret_in(caught.value, [KEY])


def test_split_refuses_an_all_zero_key() -> None:
    with pytest.raises(KeyMaterialError, match="all zero"):
        xor.split(Secret(bytes(16)), IDENTITY, 2)


@pytest.mark.parametrize(("algorithm", "length", "allowed"), BAD_LENGTHS)
def test_split_refuses_bad_key_lengths(algorithm: KeyAlgorithm, length: int, allowed: str) -> None:
    identity = identity_for(algorithm, length)
    with pytest.raises(KeyMaterialError) as caught:
        xor.split(Secret(b"\x01" * length), identity, 2)
    assert algorithm.value in caught.value.message
    assert allowed in caught.value.message


def test_split_refuses_a_key_longer_than_declared() -> None:
    with pytest.raises(KeyMaterialError, match="declares 16"):
        xor.split(Secret(b"\x01" * 24), IDENTITY, 2)


@pytest.mark.parametrize("count", [-1, 0, 1, 10, 16])
def test_split_refuses_component_counts_outside_2_to_9(count: int) -> None:
    with pytest.raises(ShareError, match="2 to 9"):
        xor.split(Secret(KEY), IDENTITY, count)


# --- combine: every bad set, in the style of trezor's SLIP-39 vectors.json -------------------

Mutation = Callable[[list[Component]], list[Component]]
OTHER_CEREMONY = dataclasses.replace(IDENTITY, ceremony_id="CER-OTHER")
OTHER_LABEL = dataclasses.replace(IDENTITY, key_label="kek-other")
OTHER_ALGORITHM = dataclasses.replace(IDENTITY, algorithm=KeyAlgorithm.HMAC)


def _xor(*parts: bytes | bytearray) -> bytes:
    out = bytearray(len(parts[0]))
    for p in parts:
        for i, b in enumerate(p):
            out[i] ^= b
    return bytes(out)


COMBINE_CASES: list[tuple[str, Mutation, type[CeremonyError], str]] = [
    ("no components", lambda cs: [], ShareError, "no components"),
    (
        "component from another ceremony",
        lambda cs: [cs[0], dataclasses.replace(cs[1], identity=OTHER_CEREMONY), cs[2]],
        ShareError,
        "#2 belongs to ceremony 'CER-OTHER'",
    ),
    (
        "component of another key",
        lambda cs: [cs[0], cs[1], dataclasses.replace(cs[2], identity=OTHER_LABEL)],
        ShareError,
        "#3 belongs to ceremony 'CER-XOR-TEST' key 'kek-other'",
    ),
    (
        "component declares another algorithm",
        lambda cs: [dataclasses.replace(cs[0], identity=OTHER_ALGORITHM), cs[1], cs[2]],
        ShareError,
        "(AES, 16 bytes), expected ceremony 'CER-XOR-TEST' key 'zmk-main' (HMAC, 16 bytes)",
    ),
    (
        "Shamir share mixed in",
        lambda cs: [cs[0], dataclasses.replace(cs[1], scheme=Scheme.SHAMIR), cs[2]],
        ShareError,
        "#2 is a SHAMIR share",
    ),
    ("same component twice", lambda cs: [cs[0], cs[1], cs[1]], ShareError, "#2 was given twice"),
    ("one component missing", lambda cs: [cs[0], cs[2]], ShareError, "(missing #2)"),
    (
        "component of a 4-way split",
        lambda cs: [cs[0], cs[1], dataclasses.replace(cs[2], count=4, threshold=4)],
        ShareError,
        "#3 says 4 of 4, component #1 says 3 of 3",
    ),
    (
        "threshold differs from count",
        lambda cs: [cs[0], dataclasses.replace(cs[1], threshold=2), cs[2]],
        ShareError,
        "#2 says 2 of 3",
    ),
    (
        "every component says 2 of 3",
        lambda cs: [dataclasses.replace(c, threshold=2) for c in cs],
        ShareError,
        "say 2 of 3, an XOR split needs all 3",
    ),
    (
        "every component claims 10 of 10",
        lambda cs: [dataclasses.replace(c, count=10, threshold=10) for c in cs],
        ShareError,
        "2 to 9 components, not 10",
    ),
    (
        "index 0",
        lambda cs: [cs[0], cs[1], dataclasses.replace(cs[2], index=0)],
        ShareError,
        "#0 is out of range 1..3",
    ),
    (
        "index beyond count",
        lambda cs: [cs[0], cs[1], dataclasses.replace(cs[2], index=4)],
        ShareError,
        "#4 is out of range 1..3",
    ),
    (
        "component one byte short",
        lambda cs: [cs[0], replace_value(cs[1], bytes(cs[1].value.reveal()[:-1])), cs[2]],
        ShareError,
        "#2 is 15 bytes, components of a 16-byte key are 16",
    ),
    (
        "component one byte long",
        lambda cs: [cs[0], cs[1], replace_value(cs[2], bytes(cs[2].value.reveal()) + b"\x01")],
        ShareError,
        "#3 is 17 bytes",
    ),
    (
        "two components with the same value",
        lambda cs: [cs[0], cs[1], replace_value(cs[2], bytes(cs[1].value.reveal()))],
        ShareError,
        "#2 and #3 are identical",
    ),
    (
        "component all zero",
        lambda cs: [cs[0], cs[1], replace_value(cs[2], bytes(16))],
        RuleViolation,
        "#3 is all zero",
    ),
    (
        "components combine to zero",
        lambda cs: [
            cs[0],
            cs[1],
            replace_value(cs[2], _xor(cs[0].value.reveal(), cs[1].value.reveal())),
        ],
        KeyMaterialError,
        "combine to all zero",
    ),
    (
        "mistyped component (one bit)",
        lambda cs: [
            cs[0],
            replace_value(cs[1], _xor(cs[1].value.reveal(), b"\x00" * 15 + b"\x01")),
            cs[2],
        ],
        CheckValueError,
        "does not match",
    ),
]


def base_components() -> list[Component]:
    with rng.installed(seeded(b"xor negative table"), "seeded test source"):
        return xor.split(Secret(KEY), IDENTITY, 3)


@pytest.mark.parametrize(
    ("description", "mutate", "error", "fragment"),
    COMBINE_CASES,
    ids=[c[0] for c in COMBINE_CASES],
)
def test_combine_refuses(
    description: str, mutate: Mutation, error: type[CeremonyError], fragment: str
) -> None:
    components = base_components()
    materials = [KEY, *(bytes(c.value.reveal()) for c in components)]
    with pytest.raises(error) as caught:
        xor.combine(mutate(components), expected=check_value_of(KEY, IDENTITY))
    assert type(caught.value) is error
    assert fragment in caught.value.message
    assert caught.value.hint
    assert_no_secret_in(caught.value, materials)


def test_combine_refuses_a_component_equal_to_the_key() -> None:
    # Four components: #1 is the key itself and #2 ^ #3 ^ #4 = 0, all distinct and non-zero.
    a, b = bytes.fromhex("0f" * 16), bytes.fromhex("f1" * 16)
    values = [KEY, a, b, _xor(a, b)]
    components = [
        Component(IDENTITY, Scheme.XOR, i, 4, 4, Secret(v)) for i, v in enumerate(values, start=1)
    ]
    with pytest.raises(RuleViolation, match="#1 equals the combined key") as caught:
        xor.combine(components, expected=check_value_of(KEY, IDENTITY))
    assert_no_secret_in(caught.value, values)


def test_combine_refuses_the_wrong_check_value() -> None:
    other = check_value_of(bytes.fromhex("ff" * 16), IDENTITY)
    with pytest.raises(CheckValueError, match="does not match"):
        xor.combine(base_components(), expected=other)


def test_combine_checks_with_the_recorded_method_and_length() -> None:
    legacy = kcv.check_value(KEY, kcv.KcvMethod.AES_ECB_ZERO)
    with xor.combine(base_components(), expected=legacy) as key:
        assert key.reveal() == KEY
    long = kcv.check_value(KEY, kcv.KcvMethod.AES_CMAC, 5)
    with xor.combine(base_components(), expected=long) as key:
        assert key.reveal() == KEY
    wrong = kcv.check_value(bytes.fromhex("ff" * 16), kcv.KcvMethod.AES_ECB_ZERO)
    with pytest.raises(CheckValueError, match="AES-ECB"):
        xor.combine(base_components(), expected=wrong)


def test_combine_refuses_components_of_another_identity_than_asked() -> None:
    with pytest.raises(ShareError, match="#1 belongs to ceremony 'CER-XOR-TEST'"):
        xor.combine(
            base_components(), expected=check_value_of(KEY, IDENTITY), identity=OTHER_CEREMONY
        )


def test_combine_with_the_asked_identity_succeeds() -> None:
    components = base_components()
    with xor.combine(components, expected=check_value_of(KEY, IDENTITY), identity=IDENTITY) as key:
        assert key.reveal() == KEY
        assert repr(key) == "<Secret 'zmk-main' 16 bytes>"


def with_parity(value: bytes, algorithm: KeyAlgorithm) -> bytes:
    """A TDES key as the tool makes one: DES odd parity in every byte."""
    if not parity.needs_parity(algorithm):
        return value
    adjusted = bytearray(value)
    parity.adjust(adjusted)
    return bytes(adjusted)

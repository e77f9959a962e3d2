"""Plain hex components from another system's key letter: parity and KCV are the only checks."""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.core import kcv, parity
from ceremony.core.ceremony_file import FileError, parse_ceremony_file
from ceremony.core.component import KeyAlgorithm, KeyIdentity
from ceremony.core.encoding import from_plain
from ceremony.core.kcv import KcvMethod
from ceremony.errors import CheckValueError, ComponentFormatError
from tests.unit.ceremony_files import dumps, template

IDENTITY = KeyIdentity("letter-0426", "zmk", KeyAlgorithm.TDES, 16)


def _part() -> bytearray:
    part = bytearray(secrets.token_bytes(16))
    parity.adjust(part)
    return part


def _groups(value: bytes | bytearray) -> str:
    digits = bytes(value).hex().upper()
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


@given(value=st.binary(min_size=16, max_size=16), spacing=st.sampled_from([" ", "  ", "\t", ""]))
@settings(max_examples=50)
def test_any_spacing_of_the_digits_gives_the_component(value: bytes, spacing: str) -> None:
    part = bytearray(value)
    parity.adjust(part)
    digits = part.hex()
    text = spacing.join(digits[i : i + 4] for i in range(0, 32, 4))
    expected = kcv.check_value(part, KcvMethod.TDES_ECB_ZERO)
    component = from_plain(IDENTITY, 2, 3, text, expected)
    assert bytes(component.value.reveal()) == bytes(part)
    assert (component.index, component.count, component.threshold) == (2, 3, 3)


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        (lambda t: t[:-1], ComponentFormatError, "31 hex digits typed"),
        (lambda t: t + "0", ComponentFormatError, "33 hex digits typed"),
        (lambda t: "G" + t[1:], ComponentFormatError, "group 1 has a character"),
        (lambda t: t.replace(" ", " x", 1), ComponentFormatError, "group 2 has a character"),
    ],
)
def test_a_typing_error_is_named_without_the_digits(
    change: object, error: type[Exception], words: str
) -> None:
    part = _part()
    text = _groups(part)
    with pytest.raises(error, match=words) as caught:
        from_plain(IDENTITY, 1, 3, change(text), kcv.check_value(part, KcvMethod.TDES_ECB_ZERO))  # type: ignore[operator]
    assert part.hex() not in str(caught.value).lower()
    assert not any(g.lower() in str(caught.value).lower() for g in text.split())


def test_a_wrong_parity_bit_is_named_by_byte_and_group() -> None:
    part = _part()
    expected = kcv.check_value(part, KcvMethod.TDES_ECB_ZERO)
    part[9] ^= 1  # byte 10, in group 5 of 4-digit groups
    with pytest.raises(ComponentFormatError, match=r"byte 10 \(group 5\) has even parity"):
        from_plain(IDENTITY, 1, 3, _groups(part), expected)


def test_a_component_that_does_not_give_its_kcv_is_refused() -> None:
    part, other = _part(), _part()
    with pytest.raises(CheckValueError, match="does not match"):
        from_plain(IDENTITY, 1, 3, _groups(part), kcv.check_value(other, KcvMethod.TDES_ECB_ZERO))


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (lambda s: s.update(scheme="shamir", threshold=2), "keys[0].split.format", "XOR"),
        (lambda s: s.pop("made_in"), "keys[0].split", "made_in"),
        (lambda s: s["components"][1].pop("kcv"), "keys[0].split.components[1].kcv", "KCV"),
    ],
)
def test_the_file_gives_plain_components_their_origin_and_kcvs(
    change: object, path: str, words: str
) -> None:
    doc = template("zmk-load")
    doc["keys"][0]["split"]["format"] = "plain"
    parse_ceremony_file(dumps(doc))
    change(doc["keys"][0]["split"])  # type: ignore[operator]
    with pytest.raises(FileError, match=words) as caught:
        parse_ceremony_file(dumps(doc))
    assert caught.value.path.startswith(path)

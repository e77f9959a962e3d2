"""Component text: round trips, every typo caught at its line, and no value in any message."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceremony.core import encoding, parity
from ceremony.core.component import Component, KeyAlgorithm, KeyIdentity, Scheme
from ceremony.core.encoding import (
    CHECK_ALPHABET,
    ComponentHeader,
    ComponentLineError,
    check_line,
    check_sum_line,
    component_kcv,
    format_lines,
    from_text,
    header_of,
    kcv_method_for,
    qr_payload,
    to_text,
)
from ceremony.core.kcv import KcvMethod
from ceremony.core.keylengths import ALLOWED_LENGTHS
from ceremony.core.secret import Secret
from ceremony.errors import ComponentFormatError

# Characters a typist or a scanner could put in place of another.
MUTATION_ALPHABET = "0123456789ABCDEFabcdef" + CHECK_ALPHABET + "IOSios:.- #"
# A standalone token of 4 or more hex characters: what a leaked group would look like.
HEX_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{4,}(?![0-9A-Za-z])")


def fake_value(length: int, seed: str = "fake") -> bytes:
    """Deterministic stand-in for a component value; never a real key."""
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(f"{seed}/{counter}".encode()).digest()
        counter += 1
    return out[:length]


def make_component(
    *,
    algorithm: KeyAlgorithm = KeyAlgorithm.AES,
    key_length: int = 32,
    scheme: Scheme = Scheme.XOR,
    index: int = 2,
    count: int = 3,
    threshold: int | None = None,
    value: bytes | None = None,
    ceremony_id: str = "2025-05-zmk-rotation",
    key_label: str = "zmk-prod",
) -> Component:
    if threshold is None:
        threshold = count if scheme is Scheme.XOR else 2
    if value is None:
        value = fake_value(key_length)
    if scheme is Scheme.XOR and parity.needs_parity(algorithm):
        # A TDES XOR component carries DES odd parity, as the split makes it.
        adjusted = bytearray(value)
        parity.adjust(adjusted)
        value = bytes(adjusted)
    identity = KeyIdentity(ceremony_id, key_label, algorithm, key_length)
    return Component(identity, scheme, index, count, threshold, Secret(value, "test component"))


def assert_same(parsed: Component, original: Component) -> None:
    assert parsed.identity == original.identity
    assert parsed.scheme is original.scheme
    assert (parsed.index, parsed.count, parsed.threshold) == (
        original.index,
        original.count,
        original.threshold,
    )
    assert parsed.value == original.value


def value_groups(component: Component) -> set[str]:
    hex_text = component.value.reveal().hex().upper()
    return {
        hex_text[i : i + 4] for i in range(0, len(hex_text), 4) if len(hex_text[i : i + 4]) == 4
    }


def assert_no_value_in(exc: BaseException, component: Component) -> None:
    """No printed group of the value stands in the message, and no 4-byte run hides in a word."""
    text = f"{exc} {exc!r}".upper()
    for group in value_groups(component):
        assert not re.search(rf"(?<![0-9A-Z]){group}(?![0-9A-Z])", text), group
    hex_text = component.value.reveal().hex().upper()
    for i in range(0, len(hex_text) - 7, 2):
        assert hex_text[i : i + 8] not in text


def body_line_numbers(lines: list[str]) -> list[int]:
    """Indices in ``lines`` of the value lines."""
    return [i for i, line in enumerate(lines) if re.match(r"[0-9]{2}:", line)]


# --- strategies -------------------------------------------------------------------------------

identifiers = st.from_regex(r"[!-~]{1,12}( [!-~]{1,12}){0,2}", fullmatch=True)


@st.composite
def components(draw: st.DrawFn) -> Component:
    algorithm = draw(st.sampled_from(list(KeyAlgorithm)))
    key_length = draw(st.sampled_from(ALLOWED_LENGTHS[algorithm]))
    scheme = draw(st.sampled_from(list(Scheme)))
    count = draw(st.integers(min_value=2, max_value=16))
    index = draw(st.integers(min_value=1, max_value=count))
    if scheme is Scheme.XOR:
        threshold, value_length = count, key_length
    else:
        threshold = draw(st.integers(min_value=2, max_value=count))
        value_length = draw(st.integers(min_value=key_length, max_value=encoding.MAX_VALUE_LENGTH))
    value = draw(st.binary(min_size=value_length, max_size=value_length))
    return make_component(
        algorithm=algorithm,
        key_length=key_length,
        scheme=scheme,
        index=index,
        count=count,
        threshold=threshold,
        value=value,
        ceremony_id=draw(identifiers),
        key_label=draw(identifiers),
    )


# --- round trips ------------------------------------------------------------------------------


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(component=components())
def test_round_trip(component: Component) -> None:
    text = to_text(component)
    assert_same(from_text(text), component)
    assert qr_payload(component) == text
    assert "\n".join(format_lines(component)) + "\n" == text


@pytest.mark.parametrize(
    ("algorithm", "lengths"),
    [(a, ALLOWED_LENGTHS[a]) for a in KeyAlgorithm],
)
def test_round_trip_every_key_length_both_schemes(
    algorithm: KeyAlgorithm, lengths: tuple[int, ...]
) -> None:
    for key_length in lengths:
        for scheme in Scheme:
            value_length = key_length if scheme is Scheme.XOR else 16 * -(-key_length // 16)
            component = make_component(
                algorithm=algorithm,
                key_length=key_length,
                scheme=scheme,
                value=fake_value(value_length, f"{algorithm}{key_length}"),
            )
            assert_same(from_text(to_text(component)), component)


@settings(max_examples=60)
@given(component=components(), data=st.data())
def test_parser_takes_any_spacing_either_case_blank_lines_and_crlf(
    component: Component, data: st.DataObject
) -> None:
    out: list[str] = []
    for line in format_lines(component):
        if not line.startswith(("CEREMONY:", "KEY:")):
            # Identifiers stay as written; everything else may change case.
            line = line.lower() if data.draw(st.booleans()) else line
        tokens = line.split(" ")
        spaces = data.draw(st.lists(st.sampled_from([" ", "  ", "\t", " \t "]), min_size=8))
        joined = tokens[0]
        for i, token in enumerate(tokens[1:]):
            joined += spaces[i % len(spaces)] + token
        out.append(data.draw(st.sampled_from(["", "  ", "\t"])) + joined + " ")
        if data.draw(st.booleans()):
            out.append(data.draw(st.sampled_from(["", "   ", "\t"])))
    newline = data.draw(st.sampled_from(["\n", "\r\n"]))
    assert_same(from_text(newline.join(out)), component)


def test_parsed_value_is_a_secret_and_hidden() -> None:
    component = make_component()
    parsed = from_text(to_text(component))
    assert isinstance(parsed.value, Secret)
    assert "16 bytes" in repr(parsed.value) or "32 bytes" in repr(parsed.value)
    hex_text = component.value.reveal().hex().upper()
    assert hex_text[:8] not in repr(parsed).upper()


def test_sample_layout() -> None:
    component = make_component(key_length=16, index=1, count=2)
    lines = format_lines(component)
    assert lines[:8] == [
        "CEREMONY-COMPONENT V1",
        "CEREMONY: 2025-05-zmk-rotation",
        "KEY: zmk-prod",
        "ALGORITHM: AES",
        "KEY-LENGTH: 16",
        "SCHEME: XOR 2 OF 2",
        "COMPONENT: 1 OF 2",
        "LENGTH: 16",
    ]
    assert lines[8] == f"KCV: {component_kcv(component)}"
    assert lines[8].startswith("KCV: AES-CMAC ")
    assert re.fullmatch(r"01: ([0-9A-F]{4} ){4}[" + CHECK_ALPHABET + "]", lines[9])
    assert re.fullmatch(r"02: ([0-9A-F]{4} ){4}[" + CHECK_ALPHABET + "]", lines[10])
    assert re.fullmatch(r"SUM: [0-9A-F]{4} [0-9A-F]{4} [" + CHECK_ALPHABET + "]", lines[11])
    assert len(lines) == 12


def test_golden_text_is_stable() -> None:
    # Papers outlive releases: V1 text for a fixed (fake) value must never change.
    component = make_component(
        key_length=16,
        index=1,
        count=2,
        value=bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"),
    )
    assert to_text(component) == (
        "CEREMONY-COMPONENT V1\n"
        "CEREMONY: 2025-05-zmk-rotation\n"
        "KEY: zmk-prod\n"
        "ALGORITHM: AES\n"
        "KEY-LENGTH: 16\n"
        "SCHEME: XOR 2 OF 2\n"
        "COMPONENT: 1 OF 2\n"
        "LENGTH: 16\n"
        "KCV: AES-CMAC 2090A6 (3 of 5 bytes)\n"
        "01: 0123 4567 89AB CDEF J\n"
        "02: FEDC BA98 7654 3210 K\n"
        "SUM: 33FE D528 V\n"
    )


def test_odd_length_last_line_has_a_short_group() -> None:
    component = make_component(
        algorithm=KeyAlgorithm.HMAC, key_length=33, value=fake_value(33, "odd")
    )
    lines = format_lines(component)
    assert re.fullmatch(r"05: [0-9A-F]{2} [" + CHECK_ALPHABET + "]", lines[-2])
    assert_same(from_text(to_text(component)), component)


def test_check_alphabet_never_looks_like_hex() -> None:
    assert len(CHECK_ALPHABET) == 17 and len(set(CHECK_ALPHABET)) == 17
    assert not set(CHECK_ALPHABET.lower()) & set("0123456789abcdef")
    assert not set(CHECK_ALPHABET) & set("IOS")


def test_kcv_method_per_component() -> None:
    assert kcv_method_for(KeyAlgorithm.AES, 32) is KcvMethod.AES_CMAC
    assert kcv_method_for(KeyAlgorithm.TDES, 16) is KcvMethod.TDES_ECB_ZERO
    assert kcv_method_for(KeyAlgorithm.HMAC, 48) is KcvMethod.HMAC_SHA256_ZERO
    # A Shamir share longer than any AES key falls back to the HMAC convention.
    assert kcv_method_for(KeyAlgorithm.AES, 48) is KcvMethod.HMAC_SHA256_ZERO
    assert kcv_method_for(KeyAlgorithm.TDES, 32) is KcvMethod.HMAC_SHA256_ZERO


def test_a_tdes_component_without_odd_parity_is_flagged_at_its_line() -> None:
    value = bytearray(fake_value(16, "tdes"))
    parity.adjust(value)
    value[11] ^= 1  # byte 4 of value line 02
    component = make_component(algorithm=KeyAlgorithm.TDES, key_length=16, value=bytes(value))
    # make_component adjusts parity: put the wrong bit back on the paper.
    component.value.reveal()[11] ^= 1
    lines = format_lines(component)
    with pytest.raises(ComponentLineError, match="byte 4 of this line has even parity") as info:
        from_text(to_text(component))
    assert info.value.value_line == 2
    assert_no_value_in(info.value, component)
    with pytest.raises(ComponentLineError, match="even parity") as live:
        check_line(header_of(component), 2, lines[[ln[:3] for ln in lines].index("02:")])
    assert live.value.value_line == 2
    # A Shamir share is a point on a polynomial, not a DES key: no parity to check.
    share = make_component(
        algorithm=KeyAlgorithm.TDES, key_length=16, scheme=Scheme.SHAMIR, value=bytes(value)
    )
    assert_same(from_text(to_text(share)), share)


# --- every typo is caught at its line ---------------------------------------------------------


def _equivalent(a: str, b: str) -> bool:
    return a.upper() == b.upper() or (a.isspace() and b.isspace())


def _where_of(lines: list[str], index: int) -> int:
    """The value-line number a mutation of ``lines[index]`` must be reported at (SUM = 0)."""
    return 0 if lines[index].startswith("SUM:") else int(lines[index][:2])


def _assert_caught_at(
    component: Component, lines: list[str], index: int, mutated: str
) -> ComponentLineError:
    text = "\n".join([*lines[:index], mutated, *lines[index + 1 :]])
    with pytest.raises(ComponentLineError) as info:
        from_text(text)
    assert info.value.value_line == _where_of(lines, index), (str(info.value), index)
    assert info.value.text_line == index + 1
    assert_no_value_in(info.value, component)
    # The live checker flags the same line on its own.
    header = header_of(component)
    with pytest.raises(ComponentLineError):
        if _where_of(lines, index):
            check_line(header, _where_of(lines, index), mutated)
        else:
            check_sum_line(header, mutated)
    return info.value


def _substitutions(line: str) -> list[str]:
    out = []
    for i, old in enumerate(line):
        for new in MUTATION_ALPHABET:
            if not _equivalent(old, new):
                out.append(line[:i] + new + line[i + 1 :])
    return out


def _swaps(line: str) -> list[str]:
    return [
        line[:i] + line[i + 1] + line[i] + line[i + 2 :]
        for i in range(len(line) - 1)
        if not _equivalent(line[i], line[i + 1])
    ]


@pytest.mark.parametrize(
    "component",
    [
        make_component(),
        make_component(
            algorithm=KeyAlgorithm.HMAC,
            key_length=33,
            scheme=Scheme.SHAMIR,
            count=5,
            threshold=3,
            value=fake_value(41, "shamir"),
        ),
    ],
    ids=["aes256-xor", "hmac33-shamir41"],
)
def test_exhaustive_substitutions_and_swaps_caught_at_that_line(component: Component) -> None:
    lines = format_lines(component)
    targets = [*body_line_numbers(lines), len(lines) - 1]  # value lines and the SUM line
    checked = 0
    for index in targets:
        for mutated in _substitutions(lines[index]) + _swaps(lines[index]):
            _assert_caught_at(component, lines, index, mutated)
            checked += 1
    assert checked > 2000


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(component=components(), data=st.data())
def test_any_substitution_or_swap_caught_at_that_line(
    component: Component, data: st.DataObject
) -> None:
    lines = format_lines(component)
    index = data.draw(st.sampled_from([*body_line_numbers(lines), len(lines) - 1]))
    line = lines[index]
    if data.draw(st.booleans()):
        position = data.draw(st.integers(min_value=0, max_value=len(line) - 1))
        new = data.draw(st.sampled_from(MUTATION_ALPHABET))
        if _equivalent(line[position], new):
            return
        mutated = line[:position] + new + line[position + 1 :]
    else:
        position = data.draw(st.integers(min_value=0, max_value=len(line) - 2))
        if _equivalent(line[position], line[position + 1]):
            return
        mutated = line[:position] + line[position + 1] + line[position] + line[position + 2 :]
    _assert_caught_at(component, lines, index, mutated)


def test_moved_and_renumbered_lines_are_caught_at_the_first_wrong_position() -> None:
    component = make_component(
        algorithm=KeyAlgorithm.HMAC,
        key_length=64,
        scheme=Scheme.SHAMIR,
        value=fake_value(encoding.MAX_VALUE_LENGTH, "long"),
    )
    lines = format_lines(component)
    body = body_line_numbers(lines)
    assert len(body) == encoding.MAX_LINES
    for a in range(len(body)):
        for b in range(a + 1, len(body)):
            ia, ib = body[a], body[b]
            moved = list(lines)
            # Swap the contents but keep each position's number: only the check letter can tell.
            moved[ia] = lines[ia][:3] + lines[ib][3:]
            moved[ib] = lines[ib][:3] + lines[ia][3:]
            if moved[ia] == lines[ia]:
                continue
            with pytest.raises(ComponentLineError, match="check letter does not match") as info:
                from_text("\n".join(moved))
            assert info.value.value_line == a + 1


def test_line_from_another_component_is_refused() -> None:
    mine = make_component(index=1)
    other = make_component(index=2, value=fake_value(32, "other"))
    lines, foreign = format_lines(mine), format_lines(other)
    for index in body_line_numbers(lines):
        spliced = [*lines[:index], foreign[index], *lines[index + 1 :]]
        with pytest.raises(ComponentFormatError):
            from_text("\n".join(spliced))


# --- live entry -------------------------------------------------------------------------------


def test_check_line_accepts_correct_lines_with_or_without_number() -> None:
    component = make_component(
        algorithm=KeyAlgorithm.HMAC, key_length=33, value=fake_value(33, "live")
    )
    header = header_of(component)
    lines = format_lines(component)
    for index in body_line_numbers(lines):
        n = int(lines[index][:2])
        check_line(header, n, lines[index])
        check_line(header, n, lines[index][3:])
        check_line(header, n, "  " + lines[index][3:].lower().replace(" ", "   ") + " ")
        with pytest.raises(ComponentLineError) as info:
            check_line(header, n % header.line_count + 1, lines[index][3:])
        assert info.value.value_line == n % header.line_count + 1
    check_sum_line(header, lines[-1])
    check_sum_line(header, lines[-1][4:])
    with pytest.raises(ComponentLineError, match="value lines 01 to 05"):
        check_line(header, 6, lines[9])
    with pytest.raises(ComponentLineError):
        check_line(header, 0, lines[9])


def test_check_line_depends_on_the_header() -> None:
    component = make_component()
    lines = format_lines(component)
    header = header_of(component)
    others = [
        ComponentHeader(header.identity, header.scheme, 3, 3, 3, 32),
        ComponentHeader(
            KeyIdentity("2025-05-zmk-rotation", "zmk-test", KeyAlgorithm.AES, 32),
            Scheme.XOR,
            2,
            3,
            3,
            32,
        ),
    ]
    for other in others:
        failures = 0
        for index in body_line_numbers(lines):
            try:
                check_line(other, int(lines[index][:2]), lines[index])
            except ComponentLineError:
                failures += 1
        # A changed header shifts every line alike: all fail, or (1 in 17) none do.
        assert failures in (0, len(body_line_numbers(lines)))


# --- negative table ---------------------------------------------------------------------------

BASE = make_component()
BASE_LINES = format_lines(BASE)
BASE_TEXT = "\n".join(BASE_LINES) + "\n"
FIRST_BODY = body_line_numbers(BASE_LINES)[0]  # index of "01:"


def _replace_line(index: int, new: str) -> str:
    return "\n".join([*BASE_LINES[:index], new, *BASE_LINES[index + 1 :]]) + "\n"


def _drop_line(index: int) -> str:
    return "\n".join([*BASE_LINES[:index], *BASE_LINES[index + 1 :]]) + "\n"


def _field(name: str) -> int:
    return next(i for i, line in enumerate(BASE_LINES) if line.startswith(f"{name}:"))


def _other_letter(line: str) -> str:
    current = line[-1]
    return line[:-1] + next(c for c in CHECK_ALPHABET if c != current)


def _forged_kcv_text() -> str:
    """A paper whose KCV was changed and whose SUM was recomputed to match (a forged header)."""
    header = header_of(BASE)
    check = component_kcv(BASE)
    forged = type(check)(check.method, bytes(b ^ 0x5A for b in check.value))
    lines = list(BASE_LINES)
    lines[_field("KCV")] = f"KCV: {forged}"
    checksum = encoding._checksum(header, forged, BASE.value.reveal()).hex().upper()
    lines[-1] = encoding._format_digit_line("SUM", checksum, 0, encoding._line_offset(header))
    return "\n".join(lines)


L1, L2, L3, L4 = (FIRST_BODY + k for k in range(4))
SUM_INDEX = len(BASE_LINES) - 1

NEGATIVE: list[tuple[str, str, str]] = [
    ("empty text", "", "the text is empty"),
    ("blank lines only", "\n \r\n\t\n", "the text is empty"),
    ("not a component", "HELLO WORLD\n" + BASE_TEXT, "not a component text"),
    ("unknown version", BASE_TEXT.replace("COMPONENT V1", "COMPONENT V2", 1), "unknown format"),
    ("version missing", BASE_TEXT.replace("COMPONENT V1", "COMPONENT", 1), "version is missing"),
    *[
        (f"missing header field {name}", _drop_line(_field(name)), f"field {name} is missing")
        for name in encoding._FIELDS
    ],
    (
        "duplicated header field",
        _replace_line(_field("LENGTH"), "KEY: zmk-prod"),
        "header field KEY appears twice",
    ),
    ("unknown header field", _replace_line(_field("KEY"), "KY: zmk-prod"), "unknown header field"),
    (
        "header field after value lines",
        "\n".join([*BASE_LINES[:L2], "KEY: zmk-prod", *BASE_LINES[L2:]]),
        "header field comes after the value lines",
    ),
    ("unknown algorithm", BASE_TEXT.replace("ALGORITHM: AES", "ALGORITHM: DES"), "ALGORITHM must"),
    ("invalid key length", BASE_TEXT.replace("KEY-LENGTH: 32", "KEY-LENGTH: 20"), "AES keys must"),
    ("non-decimal length", BASE_TEXT.replace("\nLENGTH: 32\n", "\nLENGTH: 3x\n"), "decimal number"),
    ("bad scheme", BASE_TEXT.replace("SCHEME: XOR", "SCHEME: SSS"), "SCHEME must read"),
    (
        "scheme and component disagree",
        BASE_TEXT.replace("SCHEME: XOR 3 OF 3", "SCHEME: XOR 4 OF 4"),
        "different numbers of components",
    ),
    (
        "XOR threshold below n",
        BASE_TEXT.replace("SCHEME: XOR 3 OF 3", "SCHEME: XOR 2 OF 3"),
        "XOR components are always n of n",
    ),
    (
        "index out of range",
        BASE_TEXT.replace("COMPONENT: 2 OF 3", "COMPONENT: 4 OF 3"),
        "component 4 cannot be one of 3",
    ),
    (
        "length mismatch (XOR value not key length)",
        BASE_TEXT.replace("\nLENGTH: 32\n", "\nLENGTH: 40\n"),
        "exactly as long as the key",
    ),
    (
        "length mismatch (fewer bytes declared than written)",
        BASE_TEXT.replace("KEY-LENGTH: 32", "KEY-LENGTH: 24").replace(
            "LENGTH: 32\n", "LENGTH: 24\n"
        ),
        "more value lines than LENGTH 24 allows",
    ),
    (
        "key label retyped with other spacing (collapsed, so another key)",
        BASE_TEXT.replace("zmk-prod", "zmk  prod"),
        "another component or key",
    ),
    ("bad KCV text", _replace_line(_field("KCV"), "KCV: 123456"), "not a labelled check value"),
    (
        "KCV of the wrong method",
        _replace_line(_field("KCV"), "KCV: TDES-ECB 123456"),
        "KCV made with AES-CMAC",
    ),
    ("KCV changed", _replace_line(_field("KCV"), "KCV: AES-CMAC 000000"), "checksum does not"),
    ("KCV forged with matching SUM", _forged_kcv_text(), "does not match the value"),
    (
        "foreign key label (checksum)",
        BASE_TEXT.replace("KEY: zmk-prod", "KEY: zmk-test"),
        "another component or key",
    ),
    (
        "foreign ceremony (checksum)",
        BASE_TEXT.replace("CEREMONY: 2025-05-zmk-rotation", "CEREMONY: 2024-11-zmk-rotation"),
        "another component or key",
    ),
    (
        "other component index (checksum)",
        BASE_TEXT.replace("COMPONENT: 2 OF 3", "COMPONENT: 3 OF 3"),
        "another component or key",
    ),
    (
        "bad check char",
        _replace_line(L2, _other_letter(BASE_LINES[L2])),
        "value line 02: the check",
    ),
    (
        "check char is a hex digit",
        _replace_line(L2, BASE_LINES[L2][:-1] + "8"),
        f"value line 02: the check letter at column 25 must be one of {CHECK_ALPHABET}",
    ),
    (
        "check char missing",
        _replace_line(L2, BASE_LINES[L2][:-2]),
        "value line 02: the check letter at the end of the line is missing",
    ),
    (
        "check char glued to the last group",
        _replace_line(L2, BASE_LINES[L2][:-2] + BASE_LINES[L2][-1]),
        "value line 02: put a space before the check letter",
    ),
    (
        "wrong group length (digit dropped)",
        _replace_line(L2, BASE_LINES[L2][:9] + BASE_LINES[L2][10:]),
        "value line 02: group 2 has 3 hex digits where 4 belong",
    ),
    (
        "wrong group length (digit doubled)",
        _replace_line(L2, BASE_LINES[L2][:5] + BASE_LINES[L2][4] + BASE_LINES[L2][5:]),
        "value line 02: group 1 has 5 hex digits where 4 belong",
    ),
    (
        "group missing",
        _replace_line(L2, BASE_LINES[L2][:4] + BASE_LINES[L2][9:]),
        "value line 02: the line has 3 groups where 4 belong",
    ),
    (
        "non-hex character (letter O for zero)",
        _replace_line(L3, BASE_LINES[L3][:6] + "O" + BASE_LINES[L3][7:]),
        "value line 03: non-hex character at column 7",
    ),
    (
        "non-hex character (check letter in a group)",
        _replace_line(L3, BASE_LINES[L3][:20] + "K" + BASE_LINES[L3][21:]),
        "value line 03: non-hex character at column 21",
    ),
    (
        "line number missing",
        _replace_line(L3, BASE_LINES[L3][4:]),
        "value line 03: the line number (like 03:) is missing",
    ),
    (
        "line number of one digit",
        _replace_line(L3, BASE_LINES[L3][1:]),
        "value line 03: the line number must be two digits",
    ),
    (
        "swapped lines",
        _replace_line(L3, BASE_LINES[L2]).replace(
            BASE_LINES[L2] + "\n" + BASE_LINES[L2], BASE_LINES[L3] + "\n" + BASE_LINES[L2]
        ),
        "value line 02: found a line numbered 03 where line 02 belongs",
    ),
    (
        "moved line renumbered",
        _replace_line(L2, "02:" + BASE_LINES[L3][3:]),
        "value line 02: the check letter does not match",
    ),
    ("missing line", _drop_line(L3), "value line 03: found a line numbered 04 where line 03"),
    (
        "duplicated line",
        _replace_line(L3, BASE_LINES[L2]),
        "value line 03: found a line numbered 02 where line 03",
    ),
    (
        "missing last line",
        _drop_line(L4),
        "value line 04: this line is missing (LENGTH 32 needs 4 lines)",
    ),
    (
        "extra value line",
        "\n".join([*BASE_LINES[: L4 + 1], "05: 0000 0000 0000 0000 G", BASE_LINES[-1]]),
        "value line 05: more value lines than LENGTH 32 allows",
    ),
    ("truncated (lines and SUM lost)", "\n".join(BASE_LINES[:L3]), "truncated: 2 of 4 value lines"),
    (
        "truncated mid-line",
        "\n".join([*BASE_LINES[:L4], BASE_LINES[L4][:11]]),
        "value line 04: the line is cut short: 6 of 16 hex digits, no check letter",
    ),
    ("SUM line missing", _drop_line(SUM_INDEX), "SUM line: missing, the text is truncated"),
    (
        "SUM line name mistyped",
        _replace_line(SUM_INDEX, "5UM" + BASE_LINES[-1][3:]),
        "SUM line: the line must start with 'SUM:'",
    ),
    (
        "SUM line colon lost",
        _replace_line(SUM_INDEX, "SUM" + BASE_LINES[-1][4:]),
        "SUM line: the line must start with 'SUM:'",
    ),
    (
        "SUM digit typo",
        _replace_line(SUM_INDEX, BASE_LINES[-1][:5] + "Z" + BASE_LINES[-1][6:]),
        "SUM line: non-hex character at column 6",
    ),
    ("SUM check letter wrong", _replace_line(SUM_INDEX, _other_letter(BASE_LINES[-1])), "SUM line"),
    ("text after SUM", BASE_TEXT + "01: 0000 G\n", "nothing may follow the SUM line"),
]


@pytest.mark.parametrize(
    ("description", "text", "expected"), NEGATIVE, ids=[n[0] for n in NEGATIVE]
)
def test_negative_table(description: str, text: str, expected: str) -> None:
    with pytest.raises(ComponentFormatError) as info:
        from_text(text)
    message = str(info.value)
    assert expected in message, f"{description}: {message}"
    assert "What to do:" in message
    assert_no_value_in(info.value, BASE)
    if "KCV" not in description:
        # Messages carry numbers and words, never a token of 4 hex characters like a group.
        assert not HEX_RUN.search(message), message


def test_negative_table_covers_the_required_classes() -> None:
    names = " ".join(n[0] for n in NEGATIVE)
    for required in (
        "truncated",
        "bad check char",
        "wrong group length",
        "length mismatch",
        "non-hex",
        "missing header field",
        "duplicated header field",
        "foreign key label",
        "swapped lines",
        "unknown version",
        "missing line",
    ):
        assert required in names


# --- writing refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"key_label": "zmk\nprod"}, "printable ASCII"),
        ({"key_label": "zmk  prod"}, "printable ASCII"),
        ({"key_label": " zmk"}, "printable ASCII"),
        ({"ceremony_id": "cérémonie"}, "printable ASCII"),
        ({"ceremony_id": ""}, "is empty"),
        ({"key_length": 20}, "AES keys must"),
        ({"value": bytes(16)}, "exactly as long as the key"),
        ({"scheme": Scheme.SHAMIR, "value": bytes(16)}, "shorter than the key"),
        ({"scheme": Scheme.SHAMIR, "value": bytes(129)}, "1 to 128 bytes"),
        ({"index": 4}, "component 4 cannot be one of 3"),
    ],
)
def test_to_text_refuses_what_it_could_not_read_back(
    changes: dict[str, object], problem: str
) -> None:
    with pytest.raises(ComponentFormatError, match=re.escape(problem)):
        to_text(make_component(**changes))  # type: ignore[arg-type]


def test_from_text_refuses_non_strings() -> None:
    with pytest.raises(ComponentFormatError):
        from_text(b"CEREMONY-COMPONENT V1")  # type: ignore[arg-type]


@settings(max_examples=40)
@given(component=components(), cut=st.integers(min_value=1, max_value=2000))
def test_any_truncation_is_refused_without_the_value(component: Component, cut: int) -> None:
    text = to_text(component)
    end = text.rstrip("\n")
    if cut >= len(end):
        return
    with pytest.raises(ComponentFormatError) as info:
        from_text(text[:cut])
    assert_no_value_in(info.value, component)

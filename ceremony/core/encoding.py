"""Component text for paper, keyboard and QR: labelled header, check-lettered hex, checksum."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ceremony.core import kcv, parity
from ceremony.core.component import Component, KeyAlgorithm, KeyIdentity, Scheme
from ceremony.core.keylengths import require_identity
from ceremony.core.secret import Secret
from ceremony.errors import CheckValueError, ComponentFormatError, KeyMaterialError

# Text format, version 1 (sample value is fake):
#
#   CEREMONY-COMPONENT V1
#   CEREMONY: 2025-05-zmk-rotation
#   KEY: zmk-prod
#   ALGORITHM: AES
#   KEY-LENGTH: 16
#   SCHEME: XOR 2 OF 2
#   COMPONENT: 1 OF 2
#   LENGTH: 16
#   KCV: AES-CMAC 2090A6 (3 of 5 bytes)
#   01: 0123 4567 89AB CDEF J
#   02: FEDC BA98 7654 3210 K
#   SUM: 33FE D528 V
#
# Value lines hold 8 bytes as 4 groups of 4 hex digits (the last line may be shorter, its last
# group 2 digits), then one check letter. The parser ignores blank lines, CR and case, and takes
# any run of spaces or tabs between tokens; "NN:" is one token.
#
# Check letter. Let d_1..d_m be the line's hex digits (m <= 16), L its line number (1..16, SUM
# line 0) and h = SHA-256 of the structural header (every field but KCV) mod 17. Then
#     S = (1*d_1 + 2*d_2 + ... + m*d_m + L + h) mod 17,   letter = CHECK_ALPHABET[S].
# 17 is prime and every weight j and every digit change (+-1..15) is non-zero mod 17, so:
#  - one wrong digit changes S by j*delta != 0;
#  - two adjacent digits swapped (also across a group space) change S by (d_j+1 - d_j) != 0;
#  - a wrong letter is another residue, and a letter-for-hex confusion cannot parse, because
#    the 17 letters (no I, O, S) are disjoint from hex; swaps that move the letter into a group
#    or a space into a group break the token structure, so they fail before the sum;
#  - a line renumbered and moved from a to b shifts S by b - a, non-zero since 1 <= a, b <= 16;
#  - h differs between components, so a line copied from another paper fails 16 times in 17,
#    and a changed header field (KCV aside: SUM covers it) shifts every line's S by one common
#    amount: the parser then reports the header, not a line.
#
# SUM line: the first 4 bytes of SHA-256 over the canonical header text and the value. It
# catches a changed header or a paper from another key with 1 - 2^-32 certainty. It leaks
# nothing useful: it is printed only next to the value it digests (the journal keeps the KCV),
# and a component on its own says nothing about the key (XOR: one-time pad; Shamir: fewer than
# k shares). Integrity against a forger is not its job: the combined key's KCV is.

FORMAT_NAME = "CEREMONY-COMPONENT"
FORMAT_VERSION = "V1"
BYTES_PER_LINE = 8
DIGITS_PER_GROUP = 4
MAX_LINES = 16  # line numbers must stay below the modulus 17 for the move guarantee
MAX_VALUE_LENGTH = BYTES_PER_LINE * MAX_LINES
MAX_COUNT = 255  # Shamir x-coordinates live in GF(2^8)-sized index space
CHECK_ALPHABET = "GHJKLMNPQRTUVWXYZ"
_MODULUS = len(CHECK_ALPHABET)
SUM_BYTES = 4
SUM_LINE_NUMBER = 0

_FIELDS = ("CEREMONY", "KEY", "ALGORITHM", "KEY-LENGTH", "SCHEME", "COMPONENT", "LENGTH", "KCV")
_HEX = frozenset("0123456789abcdefABCDEF")
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z-]*")
_NUMBER = re.compile(r"[0-9]{1,3}")
_OF = re.compile(r"([0-9]{1,3}) OF ([0-9]{1,3})")
_SCHEME = re.compile(r"(XOR|SHAMIR) ([0-9]{1,3}) OF ([0-9]{1,3})")
_LINE_PREFIX = re.compile(r"\s*[0-9]{2}")

_LINE_HINT = "compare this line with the paper character by character, then type it again"
_HEADER_HINT = "copy the header again from the paper; it must match exactly"
_FOREIGN_HINT = (
    "make sure this paper is the component named in the header, for this key and ceremony; "
    "if it is, re-read the header fields"
)


class ComponentLineError(ComponentFormatError):
    """A component text problem at a known place; ``value_line`` is set for value and SUM lines."""

    def __init__(
        self,
        where: str,
        problem: str,
        *,
        hint: str,
        value_line: int | None = None,
        text_line: int | None = None,
    ) -> None:
        super().__init__(f"{where}: {problem}", hint=hint)
        self.where = where
        self.problem = problem
        self.value_line = value_line
        self.text_line = text_line


@dataclass(frozen=True)
class ComponentHeader:
    """Everything on a component's paper except the value and its KCV; drives line checks."""

    identity: KeyIdentity
    scheme: Scheme
    index: int
    count: int
    threshold: int
    value_length: int

    @classmethod
    def of(cls, component: Component) -> ComponentHeader:
        return cls(
            component.identity,
            component.scheme,
            component.index,
            component.count,
            component.threshold,
            len(component.value),
        )

    @property
    def line_count(self) -> int:
        return -(-self.value_length // BYTES_PER_LINE)

    def group_sizes(self, line_number: int) -> list[int]:
        """Hex digits per group on value line ``line_number``."""
        start = (line_number - 1) * BYTES_PER_LINE
        digits = 2 * min(BYTES_PER_LINE, self.value_length - start)
        full, rest = divmod(digits, DIGITS_PER_GROUP)
        return [DIGITS_PER_GROUP] * full + ([rest] if rest else [])


def header_of(component: Component) -> ComponentHeader:
    """The header a component's text carries (without its KCV)."""
    return ComponentHeader.of(component)


def kcv_method_for(algorithm: KeyAlgorithm, value_length: int) -> kcv.KcvMethod:
    """The key algorithm's KCV method, or HMAC-SHA256 when the value cannot take it (a share)."""
    try:
        return kcv.default_method(algorithm, value_length)
    except KeyMaterialError:
        return kcv.KcvMethod.HMAC_SHA256_ZERO


def component_kcv(component: Component) -> kcv.CheckValue:
    """The component's own labelled check value, as printed in its header."""
    method = kcv_method_for(component.identity.algorithm, len(component.value))
    return kcv.check_value(component.value, method)


# --- header -----------------------------------------------------------------------------------


def _identifier_problem(text: str) -> str | None:
    if not text:
        return "is empty"
    if text != " ".join(text.split()) or not all(" " <= c <= "~" for c in text):
        return "must be printable ASCII with single spaces between words"
    return None


def _header_problem(header: ComponentHeader) -> tuple[str, str] | None:
    """(field, problem) for the first inconsistency, or None; callers raise with a location."""
    ident = header.identity
    for field, text in (("CEREMONY", ident.ceremony_id), ("KEY", ident.key_label)):
        problem = _identifier_problem(text)
        if problem:
            return field, f"the {field} field {problem}"
    try:
        require_identity(ident)
    except KeyMaterialError as exc:
        return "KEY-LENGTH", exc.message
    if not 1 <= header.count <= MAX_COUNT:
        return "COMPONENT", f"the number of components must be 1 to {MAX_COUNT}"
    if not 1 <= header.index <= header.count:
        return "COMPONENT", f"component {header.index} cannot be one of {header.count}"
    if not 1 <= header.threshold <= header.count:
        return "SCHEME", f"a threshold of {header.threshold} cannot apply to {header.count}"
    if header.scheme is Scheme.XOR and header.threshold != header.count:
        return "SCHEME", "XOR components are always n of n"
    if not 1 <= header.value_length <= MAX_VALUE_LENGTH:
        return "LENGTH", f"a component value must be 1 to {MAX_VALUE_LENGTH} bytes"
    if header.scheme is Scheme.XOR and header.value_length != ident.key_length:
        return "LENGTH", "an XOR component is exactly as long as the key"
    if header.value_length < ident.key_length:
        return "LENGTH", "a share cannot be shorter than the key"
    return None


def _structural_lines(header: ComponentHeader) -> list[str]:
    ident = header.identity
    return [
        f"{FORMAT_NAME} {FORMAT_VERSION}",
        f"CEREMONY: {ident.ceremony_id}",
        f"KEY: {ident.key_label}",
        f"ALGORITHM: {ident.algorithm.value}",
        f"KEY-LENGTH: {ident.key_length}",
        f"SCHEME: {header.scheme.value} {header.threshold} OF {header.count}",
        f"COMPONENT: {header.index} OF {header.count}",
        f"LENGTH: {header.value_length}",
    ]


def _header_lines(header: ComponentHeader, check: kcv.CheckValue) -> list[str]:
    return [*_structural_lines(header), f"KCV: {check}"]


def header_lines(header: ComponentHeader, check: kcv.CheckValue | None = None) -> list[str]:
    """The header lines of a component text (with its KCV line when ``check`` is given).

    For entry: the ceremony knows the header; the custodian types the KCV and value lines.
    """
    _require_writable(header)
    lines = _structural_lines(header)
    return lines if check is None else [*lines, f"KCV: {check}"]


def _line_offset(header: ComponentHeader) -> int:
    text = "\n".join(["line check", *_structural_lines(header)]).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") % _MODULUS


def _checksum(header: ComponentHeader, check: kcv.CheckValue, value: bytes | bytearray) -> bytes:
    digest = hashlib.sha256()
    digest.update("\n".join(["checksum", *_header_lines(header, check), ""]).encode())
    digest.update(value)
    return digest.digest()[:SUM_BYTES]


def _check_residue(digits: Sequence[int], line_number: int, offset: int) -> int:
    weighted = sum(weight * d for weight, d in enumerate(digits, start=1))
    return (weighted + line_number + offset) % _MODULUS


# --- writing ----------------------------------------------------------------------------------


def _require_writable(header: ComponentHeader) -> None:
    problem = _header_problem(header)
    if problem:
        field, message = problem
        raise ComponentFormatError(
            f"unusable component header: {message}",
            hint=f"fix the {field} value in the ceremony file or the component",
        )


def _format_digit_line(prefix: str, hex_text: str, line_number: int, offset: int) -> str:
    groups = [hex_text[i : i + DIGITS_PER_GROUP] for i in range(0, len(hex_text), DIGITS_PER_GROUP)]
    letter = CHECK_ALPHABET[_check_residue([int(c, 16) for c in hex_text], line_number, offset)]
    return f"{prefix}: {' '.join(groups)} {letter}"


def format_lines(component: Component) -> list[str]:
    """Every line of the component's text: header, value lines, SUM line.

    The returned strings contain the value in hex; Python cannot wipe them, so use and drop them.
    """
    header = ComponentHeader.of(component)
    _require_writable(header)
    check = component_kcv(component)
    offset = _line_offset(header)
    value = component.value.reveal()
    lines = _header_lines(header, check)
    with memoryview(value) as view:  # slices of a view copy nothing we would have to wipe
        for n in range(1, header.line_count + 1):
            chunk = view[(n - 1) * BYTES_PER_LINE : n * BYTES_PER_LINE]
            lines.append(_format_digit_line(f"{n:02d}", chunk.hex().upper(), n, offset))
    checksum = _checksum(header, check, value).hex().upper()
    lines.append(_format_digit_line("SUM", checksum, SUM_LINE_NUMBER, offset))
    return lines


def to_text(component: Component) -> str:
    """The component as text for paper and keyboard entry (LF line ends, final newline)."""
    return "\n".join(format_lines(component)) + "\n"


def qr_payload(component: Component) -> str:
    """The QR payload: the same text, so a scan and a typed copy parse identically."""
    return to_text(component)


# --- reading one line -------------------------------------------------------------------------


def _value_where(line_number: int) -> str:
    return "SUM line" if line_number == SUM_LINE_NUMBER else f"value line {line_number:02d}"


def _parse_digit_line(
    text: str,
    *,
    line_number: int,
    sizes: Sequence[int],
    require_prefix: bool,
    text_line: int | None,
    length_note: str = "",
) -> tuple[list[int], int]:
    """Digits and written check residue of one value or SUM line; raises on any syntax problem."""
    where = _value_where(line_number)

    def fail(problem: str, hint: str = _LINE_HINT) -> ComponentLineError:
        return ComponentLineError(
            where, problem, hint=hint, value_line=line_number, text_line=text_line
        )

    start = 0
    colon = text.find(":")
    if line_number == SUM_LINE_NUMBER:
        if colon >= 0:
            if text[:colon].strip().upper() != "SUM" or text[:colon] != text[:colon].rstrip():
                raise fail("the line must start with 'SUM:'")
            start = colon + 1
        elif require_prefix:
            raise fail("the line must start with 'SUM:'")
    elif colon >= 0:
        if not _LINE_PREFIX.fullmatch(text[:colon]):
            raise fail("the line number must be two digits followed by ':' (like 03:)")
        written = int(text[:colon])
        if written != line_number:
            raise fail(
                f"found a line numbered {written:02d} where line {line_number:02d} belongs: "
                "a line is missing, repeated or out of order",
                hint="put the lines in order and type every line once",
            )
        start = colon + 1
    elif require_prefix:
        raise fail("the line number (like 03:) is missing at the start of the line")

    tokens = [(start + m.start() + 1, m.group()) for m in re.finditer(r"\S+", text[start:])]
    if not tokens:
        raise fail("the line has no hex digits and no check letter")
    column, letter = tokens[-1]
    if len(letter) != 1:
        if letter[-1].upper() in CHECK_ALPHABET:
            raise fail(f"put a space before the check letter at column {column + len(letter) - 1}")
        typed = sum(len(token) for _, token in tokens)
        if all(c in _HEX for _, token in tokens for c in token) and typed < sum(sizes):
            raise fail(
                f"the line is cut short: {typed} of {sum(sizes)} hex digits, no check letter"
            )
        raise fail("the check letter at the end of the line is missing")
    residue = CHECK_ALPHABET.find(letter.upper())
    if residue < 0:
        raise fail(
            f"the check letter at column {column} must be one of {CHECK_ALPHABET} "
            "(never a hex digit)"
        )
    groups = tokens[:-1]
    for column, group in groups:
        for k, char in enumerate(group):
            if char not in _HEX:
                raise fail(f"non-hex character at column {column + k}")
    for i, ((_, group), size) in enumerate(zip(groups, sizes, strict=False), start=1):
        if len(group) != size:
            raise fail(
                f"group {i} has {len(group)} hex digits where {size} belong{length_note}",
                hint="a digit was dropped, doubled or a space misplaced; " + _LINE_HINT,
            )
    if len(groups) != len(sizes):
        raise fail(f"the line has {len(groups)} groups where {len(sizes)} belong{length_note}")
    return [int(char, 16) for _, group in groups for char in group], residue


def _require_line_number(header: ComponentHeader, line_number: int) -> None:
    if not 1 <= line_number <= header.line_count:
        raise ComponentLineError(
            f"value line {line_number}",
            f"this component has value lines 01 to {header.line_count:02d}",
            hint="this is a bug in the entry form",
            value_line=line_number,
        )


def _mismatch(where: str, line_number: int, text_line: int | None) -> ComponentLineError:
    return ComponentLineError(
        where,
        "the check letter does not match: a digit on this line is wrong or two are swapped, "
        "or the paper belongs to another component or key",
        hint=_LINE_HINT,
        value_line=line_number,
        text_line=text_line,
    )


def check_line(header: ComponentHeader, line_number: int, text: str) -> None:
    """Raise ComponentLineError unless ``text`` is a correct value line ``line_number``.

    For live entry: the ``NN:`` prefix is optional here; the header comes from the ceremony.
    """
    _require_writable(header)
    _require_line_number(header, line_number)
    digits, residue = _parse_digit_line(
        text,
        line_number=line_number,
        sizes=header.group_sizes(line_number),
        require_prefix=False,
        text_line=None,
    )
    try:
        if _check_residue(digits, line_number, _line_offset(header)) != residue:
            raise _mismatch(_value_where(line_number), line_number, None)
        _require_parity(header, digits, line_number, None)
    finally:
        digits.clear()


def _require_parity(
    header: ComponentHeader, digits: Sequence[int], line_number: int, text_line: int | None
) -> None:
    # An XOR component of a TDES key is a DES key itself and carries odd parity; a Shamir share
    # is a point on a polynomial and does not.
    if not (header.scheme is Scheme.XOR and parity.needs_parity(header.identity.algorithm)):
        return
    line = bytearray(digits[i] << 4 | digits[i + 1] for i in range(0, len(digits), 2))
    try:
        wrong = parity.even_parity_bytes(line)
    finally:
        line[:] = bytes(len(line))
    if wrong:
        places = " and ".join(str(i) for i in wrong[:4]) + (" ..." if len(wrong) > 4 else "")
        raise ComponentLineError(
            _value_where(line_number),
            f"byte {places} of this line has even parity, and every byte of a TDES component "
            "has odd parity: the paper was not parity-adjusted, or a digit is wrong",
            hint="compare the line with the paper; if it matches, the component was not made "
            "for a payment HSM: ask for it to be re-issued",
            value_line=line_number,
            text_line=text_line,
        )


def check_sum_line(header: ComponentHeader, text: str) -> None:
    """Raise ComponentLineError unless the SUM line's own check letter fits (typo check only)."""
    _require_writable(header)
    digits, residue = _parse_digit_line(
        text,
        line_number=SUM_LINE_NUMBER,
        sizes=[DIGITS_PER_GROUP] * (2 * SUM_BYTES // DIGITS_PER_GROUP),
        require_prefix=False,
        text_line=None,
    )
    if _check_residue(digits, SUM_LINE_NUMBER, _line_offset(header)) != residue:
        raise _mismatch("SUM line", SUM_LINE_NUMBER, None)


# --- reading a whole text ---------------------------------------------------------------------


def _header_error(
    text_line: int | None, problem: str, hint: str = _HEADER_HINT
) -> ComponentLineError:
    where = f"text line {text_line} (header)" if text_line else "header"
    return ComponentLineError(where, problem, hint=hint, text_line=text_line)


def _read_version(number: int, line: str) -> None:
    tokens = line.split()
    if not tokens or tokens[0].upper() != FORMAT_NAME:
        raise _header_error(
            number,
            f"not a component text: the first line must be '{FORMAT_NAME} {FORMAT_VERSION}'",
        )
    if len(tokens) != 2:
        raise _header_error(number, "the format version is missing after the format name")
    if tokens[1].upper() != FORMAT_VERSION:
        raise _header_error(
            number,
            f"unknown format version (this tool reads {FORMAT_VERSION})",
            hint="use the tool version that wrote this paper, or re-issue the component",
        )


def _parse_header(fields: dict[str, tuple[int, str]]) -> tuple[ComponentHeader, kcv.CheckValue]:
    for name in _FIELDS:
        if name not in fields:
            raise _header_error(None, f"field {name} is missing")

    def value(name: str) -> tuple[int, str]:
        number, text = fields[name]
        return number, " ".join(text.split())

    def number_of(name: str) -> int:
        number, text = value(name)
        if not _NUMBER.fullmatch(text):
            raise _header_error(number, f"{name} must be a decimal number")
        return int(text)

    ceremony_line, ceremony_id = value("CEREMONY")
    key_line, key_label = value("KEY")
    for name, line, text in (
        ("CEREMONY", ceremony_line, ceremony_id),
        ("KEY", key_line, key_label),
    ):
        problem = _identifier_problem(text)
        if problem:
            raise _header_error(line, f"the {name} field {problem}")
    algorithm_line, algorithm_text = value("ALGORITHM")
    try:
        algorithm = KeyAlgorithm(algorithm_text.upper())
    except ValueError:
        names = ", ".join(a.value for a in KeyAlgorithm)
        raise _header_error(algorithm_line, f"ALGORITHM must be one of {names}") from None
    scheme_line, scheme_text = value("SCHEME")
    scheme_match = _SCHEME.fullmatch(scheme_text.upper())
    if scheme_match is None:
        raise _header_error(scheme_line, "SCHEME must read 'XOR n OF n' or 'SHAMIR k OF n'")
    component_line, component_text = value("COMPONENT")
    component_match = _OF.fullmatch(component_text.upper())
    if component_match is None:
        raise _header_error(component_line, "COMPONENT must read 'i OF n'")
    if int(scheme_match[3]) != int(component_match[2]):
        raise _header_error(
            component_line, "SCHEME and COMPONENT give different numbers of components"
        )
    header = ComponentHeader(
        KeyIdentity(ceremony_id, key_label, algorithm, number_of("KEY-LENGTH")),
        Scheme(scheme_match[1]),
        int(component_match[1]),
        int(component_match[2]),
        int(scheme_match[2]),
        number_of("LENGTH"),
    )
    inconsistency = _header_problem(header)
    if inconsistency:
        field, message = inconsistency
        raise _header_error(fields[field][0], message)
    kcv_line, kcv_text = value("KCV")
    try:
        check = kcv.parse_check_value(kcv_text)
    except CheckValueError as exc:
        raise _header_error(kcv_line, f"KCV: {exc.message}") from None
    expected_method = kcv_method_for(algorithm, header.value_length)
    if check.method is not expected_method:
        raise _header_error(
            kcv_line, f"components of this key carry a KCV made with {expected_method.label}"
        )
    return header, check


def _split_text(
    text: str,
) -> tuple[dict[str, tuple[int, str]], list[tuple[int, str]], tuple[int, str] | None]:
    """Header fields, value lines and the SUM line, each with its text line number."""
    entries = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not entries:
        raise ComponentLineError("text", "the text is empty", hint="enter the component text")
    _read_version(*entries[0])
    fields: dict[str, tuple[int, str]] = {}
    body: list[tuple[int, str]] = []
    sum_line: tuple[int, str] | None = None
    last = entries[-1][0]
    for number, line in entries[1:]:
        if sum_line is not None:
            raise ComponentLineError(
                f"text line {number}",
                "nothing may follow the SUM line",
                hint="remove the extra lines; the SUM line ends a component",
                text_line=number,
            )
        prefix, colon, rest = line.partition(":")
        name = prefix.strip().upper()
        if colon and name == "SUM":
            sum_line = (number, line)
        elif body and number == last and colon and not _LINE_PREFIX.fullmatch(prefix):
            # The last line after the value lines is the SUM line, even if its name is mistyped.
            sum_line = (number, line)
        elif colon and _FIELD_NAME.fullmatch(name):
            if body:
                raise _header_error(number, "a header field comes after the value lines")
            if name not in _FIELDS:
                raise _header_error(number, "unknown header field")
            if name in fields:
                raise _header_error(number, f"header field {name} appears twice")
            fields[name] = (number, rest)
        else:
            body.append((number, line))
    return fields, body, sum_line


def from_text(text: str) -> Component:
    """Parse a component text (paper, keyboard or QR) back into a Component.

    Every problem raises ComponentLineError naming the line and the problem, never the value.
    """
    if not isinstance(text, str):
        raise ComponentFormatError("component text must be a string", hint="this is a bug")
    fields, body, sum_line = _split_text(text)
    header, check = _parse_header(fields)
    offset = _line_offset(header)
    expected = header.line_count
    length_note = f" (LENGTH says {header.value_length} bytes)"

    # Preallocated: appending would reallocate and leave unwiped copies behind.
    value = bytearray(header.value_length)
    filled = 0
    digits: list[int] = []
    shifts: list[tuple[int, int, int | None]] = []  # (shift, value line, text line)
    try:
        if sum_line is None and len(body) == expected + 1:
            # One line too many and no SUM line: the last one is a SUM line with a mistyped name.
            sum_line = body.pop()
        for position, (text_line, line) in enumerate(body, start=1):
            if position > expected:
                raise ComponentLineError(
                    f"value line {position:02d}",
                    f"more value lines than LENGTH {header.value_length} allows",
                    hint="remove the extra line, or check LENGTH against the paper",
                    value_line=position,
                    text_line=text_line,
                )
            digits, residue = _parse_digit_line(
                line,
                line_number=position,
                sizes=header.group_sizes(position),
                require_prefix=True,
                text_line=text_line,
                length_note=length_note if position == expected else "",
            )
            shift = (residue - _check_residue(digits, position, offset)) % _MODULUS
            shifts.append((shift, position, text_line))
            if not shift:
                _require_parity(header, digits, position, text_line)
            for high, low in zip(digits[::2], digits[1::2], strict=True):
                value[filled] = high << 4 | low
                filled += 1
            digits.clear()
        if len(body) < expected:
            missing = len(body) + 1
            if sum_line is None:
                raise ComponentLineError(
                    "text",
                    f"truncated: {len(body)} of {expected} value lines and no SUM line",
                    hint="type or scan the rest of the component",
                    value_line=missing,
                )
            raise ComponentLineError(
                _value_where(missing),
                f"this line is missing (LENGTH {header.value_length} needs {expected} lines)",
                hint="type the missing line from the paper",
                value_line=missing,
                text_line=sum_line[0],
            )
        if sum_line is None:
            raise ComponentLineError(
                "SUM line",
                "missing, the text is truncated",
                hint="type or scan the SUM line at the end of the paper",
                value_line=SUM_LINE_NUMBER,
            )
        digits, residue = _parse_digit_line(
            sum_line[1],
            line_number=SUM_LINE_NUMBER,
            sizes=[DIGITS_PER_GROUP] * (2 * SUM_BYTES // DIGITS_PER_GROUP),
            require_prefix=True,
            text_line=sum_line[0],
        )
        written_sum = bytes(digits[i] << 4 | digits[i + 1] for i in range(0, len(digits), 2))
        shift = (residue - _check_residue(digits, SUM_LINE_NUMBER, offset)) % _MODULUS
        shifts.append((shift, SUM_LINE_NUMBER, sum_line[0]))
        _require_checks(shifts)
        if not hmac.compare_digest(written_sum, _checksum(header, check, value)):
            raise ComponentLineError(
                "SUM line",
                "the checksum does not match the header and value: a header field was changed, "
                "or the paper belongs to another component or key",
                hint=_FOREIGN_HINT,
                value_line=SUM_LINE_NUMBER,
                text_line=sum_line[0],
            )
        computed = kcv.check_value(value, check.method, len(check.value))
        try:
            kcv.require_match(check, computed, "component")
        except CheckValueError:
            raise _header_error(
                fields["KCV"][0],
                f"the KCV {check} does not match the value, which gives {computed}",
                hint="the paper was written wrongly; ask for the component to be re-issued",
            ) from None
        label = f"{header.identity.key_label} component {header.index}/{header.count}"
        return Component(
            header.identity,
            header.scheme,
            header.index,
            header.count,
            header.threshold,
            Secret(value, label),
        )
    finally:
        value[:] = bytes(len(value))
        digits.clear()


def _require_checks(shifts: Sequence[tuple[int, int, int | None]]) -> None:
    """Raise at the first line whose check letter is off, or at the header if all are off alike.

    A changed header moves every line's sum by one common amount; a typo moves one line's.
    """
    if len(shifts) >= 2 and shifts[0][0] != 0 and all(s == shifts[0][0] for s, _, _ in shifts):
        raise _header_error(
            None,
            "the header does not belong to these value lines (every check letter is off): "
            "a header field was changed, or the paper belongs to another component or key",
            hint=_FOREIGN_HINT,
        )
    for shift, line_number, text_line in shifts:
        if shift:
            raise _mismatch(_value_where(line_number), line_number, text_line)


# --- plain hex components from another system -------------------------------------------------


def from_plain(
    identity: KeyIdentity, index: int, count: int, text: str, expected: kcv.CheckValue
) -> Component:
    """An XOR component another system issued: bare hex digits, checked by parity and its KCV.

    A card network's or partner's key letter prints each component as hex digits (in groups)
    with its check value; there are no check letters, so a typo is caught by DES parity (TDES)
    and then by the KCV. Every problem names the group, never the digits.
    """
    groups = text.split()
    length = identity.key_length
    value = bytearray(length)
    try:
        digits = 0
        for g, group in enumerate(groups, start=1):
            for k, char in enumerate(group, start=1):
                if char not in _HEX:
                    raise ComponentFormatError(
                        f"group {g} has a character that is not a hex digit (its character {k})",
                        hint="type only the digits 0-9 and A-F of the component, in its groups",
                    )
            digits += len(group)
        if digits != 2 * length:
            raise ComponentFormatError(
                f"{digits} hex digits typed; a component of this {identity.algorithm.value} key "
                f"has {2 * length}",
                hint="a digit was dropped or doubled, or a group typed twice: type it again",
            )
        joined = "".join(groups)
        for i in range(length):
            value[i] = int(joined[2 * i : 2 * i + 2], 16)
        del joined
        if parity.needs_parity(identity.algorithm):
            wrong = parity.even_parity_bytes(value)
            if wrong:
                where = _plain_place(groups, wrong[0])
                raise ComponentFormatError(
                    f"byte {wrong[0]} ({where}) has even parity, and every byte of a TDES "
                    "component has odd parity: a digit there is wrong",
                    hint="compare that group with the key letter and type the component again",
                )
        method = kcv.default_method(identity.algorithm, length)
        computed = kcv.check_value(value, method, len(expected.value))
        kcv.require_match(expected, computed, f"component {index}")
        label = f"{identity.key_label} component {index}/{count}"
        return Component(identity, Scheme.XOR, index, count, count, Secret(value, label))
    finally:
        value[:] = bytes(len(value))
        groups.clear()


def _plain_place(groups: Sequence[str], byte: int) -> str:
    """Which typed group holds the first digit of ``byte`` (1-based): 'group 3'."""
    digit = 2 * (byte - 1)
    seen = 0
    for g, group in enumerate(groups, start=1):
        if digit < seen + len(group):
            return f"group {g}"
        seen += len(group)
    return f"group {len(groups)}"

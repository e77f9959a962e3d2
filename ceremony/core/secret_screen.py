"""Screening the tool's own messages for the secrets a run holds: raw, hex and base64."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from ceremony.core.secret import Secret
from ceremony.errors import JournalError

MAX_TEXT = 1000  # as a journal text field

SCREEN_WINDOW = 8  # hex or base64 characters (4-6 bytes) of a held value that give it away
_SEPARATORS = re.compile(r"[\s:-]")  # how hex is grouped: "3F41 9E1C", "3f:41:9e", "3F41-9E1C"
_HEX_CANDIDATE = re.compile(rf"[0-9A-Fa-f]{{{SCREEN_WINDOW},}}")
_B64_CANDIDATE = re.compile(rf"[A-Za-z0-9+/_-]{{{SCREEN_WINDOW},}}")
_HEX_DIGITS = b"0123456789abcdef"
_B64_DIGITS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
MIN_RAW = 4  # a typed value shorter than this (never a PIN or passphrase) is not looked for
WITHHELD = "details withheld from the journal: they hold a value this ceremony keeps secret"


def _hex_form(value: bytes | bytearray) -> bytearray:
    out = bytearray(2 * len(value))
    for i, b in enumerate(value):
        out[2 * i], out[2 * i + 1] = _HEX_DIGITS[b >> 4], _HEX_DIGITS[b & 15]
    return out


def _b64_form(value: bytes | bytearray) -> bytearray:
    """Standard base64 without padding, into a buffer the caller wipes (no immutable copy)."""
    out = bytearray()
    for i in range(0, len(value), 3):
        chunk = value[i : i + 3]
        n = int.from_bytes(chunk.ljust(3, b"\0"), "big")
        digits = [(n >> shift) & 63 for shift in (18, 12, 6, 0)][: len(chunk) + 1]
        out.extend(_B64_DIGITS[d] for d in digits)
    return out


def _wipe(buffer: bytearray) -> None:
    buffer[:] = bytes(len(buffer))


def _windows_in(candidates: Sequence[bytes], form: bytearray) -> bool:
    for candidate in candidates:
        for i in range(len(candidate) - SCREEN_WINDOW + 1):
            if form.find(candidate[i : i + SCREEN_WINDOW]) >= 0:
                return True
    return False


class SecretScreen:
    """The values a run holds secret, looked for in the tool's messages before they are journaled.

    ``held`` gives the live secrets (keys, components, PINs while they are held); ``finds`` also
    takes what was just typed. A value is found raw (a printable one whole, a binary one by any
    8 bytes of it), or by any run of 8 characters of its hex (either case, grouped or not) or
    of its base64 (standard or URL-safe): a prefix gives it away as well as the whole. Hex
    that is not a held value (a token serial, a SHA-256, a CKA_ID) passes.
    """

    def __init__(self, held: Callable[[], Iterable[Secret]] = tuple) -> None:
        self._held = held

    def finds(self, text: str, typed: Iterable[str] = ()) -> bool:
        compact = _SEPARATORS.sub("", text)
        hexes = [m.group().lower().encode() for m in _HEX_CANDIDATE.finditer(compact)]
        b64s = [
            m.group().replace("-", "+").replace("_", "/").encode()
            for m in _B64_CANDIDATE.finditer(text)
        ]
        raw = text.encode("utf-8", "surrogatepass")
        for secret in self._held():
            if not secret.closed and self._holds(secret.reveal(), text, raw, hexes, b64s):
                return True
        for value in typed:
            scratch = bytearray(value.encode("utf-8", "surrogatepass"))
            try:
                if self._holds(scratch, text, raw, hexes, b64s):
                    return True
            finally:
                _wipe(scratch)
        return False

    @staticmethod
    def _holds(
        value: bytearray, text: str, raw: bytes, hexes: Sequence[bytes], b64s: Sequence[bytes]
    ) -> bool:
        if len(value) < MIN_RAW:
            return False
        try:
            printable = value.decode("utf-8")
        except UnicodeDecodeError:
            printable = None
        if printable is not None and printable.isprintable():
            # Whole only: a passphrase's words are ordinary words ("passphrase", "correct").
            if printable in text:
                return True
        elif any(
            raw.find(value[i : i + SCREEN_WINDOW]) >= 0
            for i in range(max(1, len(value) - SCREEN_WINDOW + 1))
        ):
            return True
        hex_form, b64_form = _hex_form(value), _b64_form(value)
        try:
            return _windows_in(hexes, hex_form) or _windows_in(b64s, b64_form)
        finally:
            _wipe(hex_form)
            _wipe(b64_form)


@dataclass(frozen=True)
class Message:
    """One line of the tool's own text (an error, a reason, a step id), screened by value.

    Unlike ``Text`` it may name serials, digests and ids in hex: what keeps a secret out is
    ``screen``, the values this run holds, checked when the message is made.
    """

    value: str
    screen: SecretScreen = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        text = self.value
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise JournalError(f"a message must be 1-{MAX_TEXT} characters", hint="this is a bug")
        if not text.isprintable():
            raise JournalError("a message holds control characters", hint="use one line of text")
        if self.screen.finds(text):
            raise JournalError(
                "a message holds a value this ceremony keeps secret and is not journaled",
                hint="this is a bug in the caller: messages never hold key material or PINs",
            )

    @classmethod
    def screened(cls, text: str, screen: SecretScreen, typed: Iterable[str] = ()) -> Message:
        """``text`` made one journal line; withheld whole when it holds a secret value."""
        line = "".join(c if c.isprintable() else " " for c in text)
        line = " ".join(line.split())[:900] or "(no message)"
        if screen.finds(line, typed):
            line = WITHHELD
        return cls(line, screen)


__all__ = ["WITHHELD", "Message", "SecretScreen"]

"""Hash-chained ceremony journal: canonical JSON Lines, typed allowlisted data, verification."""

# Canonical JSON, as used here (a subset of RFC 8785 JCS on which the two agree):
#   - values are objects, arrays, strings, integers with |n| <= 2**53 - 1, true, false, null;
#     no floats, no NaN/Infinity;
#   - object keys are ASCII and unique, sorted by code point (= JCS's UTF-16 order for ASCII);
#   - no whitespace between tokens; separators "," and ":";
#   - strings are UTF-8, unescaped except '"', '\\' and U+0000..U+001F, which are written
#     \b \t \n \f \r where those exist and \u00xx (lowercase hex) otherwise; lone
#     surrogates are refused;
#   - one entry per line, each line ends with "\n" (the newline is not hashed).
# Entry hash: SHA-256, lowercase hex, of the canonical entry object without its "hash" member.
#
# Secret material stays out by construction, not by scanning: entry data accepts only the typed
# values below (labels, text, KCVs, file digests, fingerprints, passphrase hashes, small
# integers, flags, times), so a ``Secret``, ``bytes`` or a bare ``str`` is refused outright.
# Labels and text (names people chose) also refuse 16 or more hex digits in a row and long
# base64-looking tokens; that heuristic cannot be complete, the type allowlist is the control.
# The tool's own messages (``Message``: an error, a reason) legitimately name serials, digests
# and ids in hex, so they are screened by value instead: ``SecretScreen`` looks in them for the
# secrets this run holds (keys, components, PINs, what was typed), raw, in hex and in base64.

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeAlias

from ceremony.core import pgpwords
from ceremony.core.kcv import CheckValue
from ceremony.core.labels import LABEL_RULE, is_label
from ceremony.core.providers.import_key import Fingerprint
from ceremony.core.rules import PassphraseRecord
from ceremony.core.secret import Secret

# The tool's own messages are screened by value; re-exported here beside the typed values.
from ceremony.core.secret_screen import MAX_TEXT as MAX_TEXT
from ceremony.core.secret_screen import WITHHELD as WITHHELD
from ceremony.core.secret_screen import Message as Message
from ceremony.core.secret_screen import SecretScreen as SecretScreen
from ceremony.errors import JournalError

FORMAT = "ceremony journal 1"
ZERO_HASH = "0" * 64
GENESIS = "genesis"
ABORTED = "aborted"
FINISHED = "finished"
TERMINAL_EVENTS = frozenset({ABORTED, FINISHED})
MAX_SAFE_INTEGER = 2**53 - 1
MAX_LINE = 64 * 1024  # bytes; an entry never needs more

JsonValue: TypeAlias = bool | int | str | list["JsonValue"] | dict[str, "JsonValue"] | None

_FIELDS = ("actors", "ceremony", "data", "event", "hash", "prev", "seq", "time")
_HASH_RE = re.compile(r"[0-9a-f]{64}")
_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
_EVENT_RE = re.compile(r"[a-z][a-z0-9_]{0,47}")
_FIELD_RE = re.compile(r"[a-z][a-z0-9_]{0,47}")
_HEX_RUN = re.compile(r"[0-9A-Fa-f]{16,}")
_HEX_BYTES = re.compile(r"(?:[0-9A-Fa-f]{2}[:-]){7,}[0-9A-Fa-f]{2}")
_B64_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{24,}")
# Field names that announce a secret; "passphrase" is allowed only for a PassphraseRecord.
_DENIED_FIELD_PARTS = frozenset(
    {"pin", "puk", "pwd", "password", "passwd", "secret", "plaintext", "cleartext"}
)
# Field names the vocabulary needs that contain a denied part but name a flag, not a secret.
_ALLOWED_FIELDS = frozenset({"manual_cleartext"})


# ---- errors -----------------------------------------------------------------------------------


class JournalVerifyError(JournalError):
    """The journal does not verify; ``seq`` is the entry (or expected entry) where it fails."""

    def __init__(self, message: str, *, seq: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.seq = seq


class JournalTamperedError(JournalVerifyError):
    """An entry's bytes changed: it does not parse, is not canonical, or its hash differs."""


class JournalLinkError(JournalVerifyError):
    """An entry's ``prev`` is not the hash of the entry before it."""


class JournalOrderError(JournalVerifyError):
    """Entries are missing, repeated or out of order."""


class JournalTruncatedError(JournalVerifyError):
    """The journal ends early: a partial last line, or no closing entry where one is needed."""


class JournalForeignError(JournalVerifyError):
    """An entry belongs to another ceremony."""


# ---- typed values -----------------------------------------------------------------------------


def looks_secret(text: str) -> str | None:
    """Why ``text`` looks like key material (hex or base64), or None."""
    compact = "".join(text.split())
    if _HEX_RUN.search(compact) or _HEX_BYTES.search(compact):
        return "16 or more hex digits in a row"
    for token in text.split():
        if (
            _B64_TOKEN.fullmatch(token)
            and re.search(r"\d", token)
            and re.search(r"[a-z]", token)
            and re.search(r"[A-Z]", token)
        ):
            return "a long base64-like run"
    return None


def require_label(text: str, what: str = "label") -> str:
    """A label (1-64 of letters, digits, '.', '-', '_'; not hex-like), else JournalError."""
    if not is_label(text):
        raise JournalError(
            f"{what} must be {LABEL_RULE}",
            hint="this is a bug in the caller; labels come from the ceremony file",
        )
    if looks_secret(text):
        raise JournalError(
            f"{what} looks like key material ({looks_secret(text)}) and is not journaled",
            hint="use a descriptive label, never a key or component value",
        )
    return text


def require_text(text: str, what: str = "text") -> str:
    """Printable text up to 1000 characters, refusing key-like runs; else JournalError."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        raise JournalError(f"{what} must be 1-{MAX_TEXT} characters", hint="this is a bug")
    if not text.isprintable():
        raise JournalError(f"{what} holds control characters", hint="use one line of text")
    reason = looks_secret(text)
    if reason:
        raise JournalError(
            f"{what} looks like key material ({reason}) and is not journaled",
            hint="describe the event in words; never include a key or component value",
        )
    return text


@dataclass(frozen=True)
class Label:
    """An identifier: ceremony id, participant id, key or target label, event detail code."""

    value: str

    def __post_init__(self) -> None:
        require_label(self.value)


@dataclass(frozen=True)
class Text:
    """One line of human text: a name, a reason, a site."""

    value: str

    def __post_init__(self) -> None:
        require_text(self.value)


@dataclass(frozen=True)
class FileDigest:
    """SHA-256 of a file's bytes; made only by hashing, so it can never carry a key."""

    digest: bytes

    @classmethod
    def of(cls, data: bytes | bytearray | memoryview) -> FileDigest:
        return cls(hashlib.sha256(data).digest())

    @property
    def hex(self) -> str:
        return self.digest.hex()

    def __post_init__(self) -> None:
        if not isinstance(self.digest, bytes) or len(self.digest) != 32:
            raise JournalError("a file digest is 32 bytes of SHA-256", hint="this is a bug")


_PUBLIC_ID_RE = re.compile(r"[!-~]{1,64}")


@dataclass(frozen=True)
class PublicId:
    """An identifier a token chose and publishes: a serial number or a CKA_ID in hex.

    Such ids may be long runs of hex digits, which ``Label`` and ``Text`` refuse as possible key
    material; this type is the explicit exception, made only from token-reported identifiers.
    """

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not _PUBLIC_ID_RE.fullmatch(self.value):
            raise JournalError(
                "a public identifier is 1-64 printable ASCII characters without spaces",
                hint="this is a bug in the caller",
            )


_PATH_PART_RE = re.compile(r"[A-Za-z0-9._+-][A-Za-z0-9._+ -]{0,127}")


@dataclass(frozen=True)
class FilePath:
    """A relative path of an output file; each part is checked on its own like a label.

    Joined parts can look like base64 to ``looks_secret`` (``bundle/k/aws/SHA256SUMS``); a part
    that looks like key material on its own is still refused.
    """

    value: str

    def __post_init__(self) -> None:
        parts = self.value.split("/") if isinstance(self.value, str) else []
        if (
            not parts
            or len(self.value) > 1000
            or any(
                not _PATH_PART_RE.fullmatch(p) or p in (".", "..") or looks_secret(p) for p in parts
            )
        ):
            raise JournalError(
                "an output path is relative, with parts of letters, digits and '._+- '",
                hint="this is a bug in the caller",
            )


JournalValue: TypeAlias = (
    Label
    | Text
    | Message
    | PublicId
    | FilePath
    | FileDigest
    | CheckValue
    | Fingerprint
    | PassphraseRecord
    | datetime
    | bool
    | int
    | Sequence["JournalValue"]
    | Mapping[str, "JournalValue"]
    | None
)


def _field_name(name: object, passphrase_ok: bool) -> str:
    if not isinstance(name, str) or not _FIELD_RE.fullmatch(name):
        raise JournalError(
            f"journal field name {str(name)[:50]!r} must be lowercase letters, digits and '_'",
            hint="this is a bug in the caller",
        )
    parts = set(name.split("_"))
    if name in _ALLOWED_FIELDS:
        return name
    if parts & _DENIED_FIELD_PARTS or ("passphrase" in parts and not passphrase_ok):
        raise JournalError(
            f"journal field {name!r} names a secret; the journal never holds PINs, passwords "
            "or key material",
            hint="journal a KCV, a label, a file digest or a passphrase hash instead",
        )
    return name


def _plain(value: object, where: str) -> JsonValue:
    """The JSON form of one typed value; everything not on the allowlist is refused."""
    if isinstance(value, Secret | bytes | bytearray | memoryview):
        raise JournalError(
            f"journal field {where} is raw bytes or a Secret; key material is never journaled",
            hint="journal its KCV (CheckValue) or, for a file, FileDigest.of(data)",
        )
    if isinstance(value, Label | Text | Message | PublicId | FilePath):
        return value.value
    if isinstance(value, FileDigest | Fingerprint):
        return value.hex
    if isinstance(value, CheckValue):
        return dict(value.journal_fields())
    if isinstance(value, PassphraseRecord):
        return dict(value.journal_fields())
    if isinstance(value, datetime):
        return format_time(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise JournalError(f"journal field {where} is too large an integer", hint="bug")
        return value
    if isinstance(value, str):
        raise JournalError(
            f"journal field {where} is a bare string; wrap it as Label(...) or Text(...)",
            hint="typed fields keep key material out of the journal",
        )
    if isinstance(value, Mapping):
        return {
            _field_name(k, isinstance(v, PassphraseRecord)): _plain(v, f"{where}.{k}")
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise JournalError(
        f"journal field {where} has type {type(value).__name__}, which is not journaled",
        hint="use Label, Text, FileDigest, CheckValue, Fingerprint, PassphraseRecord, int, bool",
    )


# ---- canonical JSON ---------------------------------------------------------------------------


def _check_canonical_value(value: object) -> None:
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str):
            value.encode("utf-8")  # UnicodeEncodeError on a lone surrogate
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError("integer out of the I-JSON range")
        return
    if isinstance(value, list):
        for item in value:
            _check_canonical_value(item)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise ValueError("object keys must be ASCII strings")
            _check_canonical_value(item)
        return
    raise ValueError(f"{type(value).__name__} is not a canonical JSON value")


def canonical(value: JsonValue) -> bytes:
    """The canonical JSON bytes of ``value`` (see the module comment); ValueError if impossible."""
    _check_canonical_value(value)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate key")
        result[key] = value
    return result


def _refuse(text: str) -> None:
    raise ValueError(f"{text} is not allowed")


def parse_canonical(line: bytes) -> JsonValue:
    """Parse bytes that must be canonical JSON; ValueError unless they are exactly canonical."""
    value: JsonValue = json.loads(
        line.decode("utf-8"),
        object_pairs_hook=_no_duplicates,
        parse_float=_refuse,
        parse_constant=_refuse,
    )
    if canonical(value) != line:
        raise ValueError("not in canonical form")
    return value


def format_time(moment: datetime) -> str:
    """UTC with milliseconds: ``2025-06-01T09:30:00.000Z``; a naive time is refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise JournalError("the journal clock has no time zone", hint="pass an aware datetime")
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# ---- entries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One journal line. ``data`` holds plain JSON values (built from typed values)."""

    seq: int
    time: str
    ceremony: str
    actors: tuple[str, ...]
    event: str
    data: dict[str, JsonValue]
    prev: str
    hash: str

    def body(self) -> dict[str, JsonValue]:
        """The entry without its own hash: what the hash covers."""
        return {
            "actors": list(self.actors),
            "ceremony": self.ceremony,
            "data": self.data,
            "event": self.event,
            "prev": self.prev,
            "seq": self.seq,
            "time": self.time,
        }

    def line(self) -> bytes:
        """The canonical line, newline included, exactly as the store writes it."""
        return canonical({**self.body(), "hash": self.hash}) + b"\n"

    @property
    def terminal(self) -> bool:
        return self.event in TERMINAL_EVENTS


def _digest(body: dict[str, JsonValue]) -> str:
    return hashlib.sha256(canonical(body)).hexdigest()


def _build(
    seq: int,
    prev: str,
    ceremony_id: str,
    event: str,
    now: datetime,
    actors: Sequence[str],
    data: Mapping[str, JournalValue],
) -> Entry:
    require_label(ceremony_id, "ceremony id")
    if not _EVENT_RE.fullmatch(event):
        raise JournalError(
            f"event name {event[:50]!r} must be lowercase letters, digits and '_'", hint="bug"
        )
    for actor in actors:
        require_label(actor, "actor")
    if len(set(actors)) != len(actors):
        raise JournalError("an actor is listed twice in one entry", hint="this is a bug")
    if not isinstance(data, Mapping):
        raise JournalError("journal data must be a mapping of typed fields", hint="bug")
    plain = _plain(data, "data")
    assert isinstance(plain, dict)
    entry = Entry(seq, format_time(now), ceremony_id, tuple(actors), event, plain, prev, "")
    body = entry.body()
    if len(canonical(body)) > MAX_LINE - 100:
        raise JournalError(f"journal entry {seq} is too large", hint="journal less data")
    return replace(entry, hash=_digest(body))


def genesis(
    ceremony_id: str,
    ceremony_file: FileDigest,
    now: datetime,
    actors: Sequence[str] = (),
    data: Mapping[str, JournalValue] | None = None,
) -> Entry:
    """Entry 0: the ceremony id and the SHA-256 of the ceremony file it runs."""
    if not isinstance(ceremony_file, FileDigest):
        raise JournalError("the genesis entry needs FileDigest.of(ceremony file)", hint="bug")
    extra = dict(data or {})
    if {"format", "ceremony_file_sha256"} & set(extra):
        raise JournalError("genesis data may not redefine format or the file digest", hint="bug")
    fields: dict[str, JournalValue] = {
        "format": Text(FORMAT),
        "ceremony_file_sha256": ceremony_file,
        **extra,
    }
    return _build(0, ZERO_HASH, ceremony_id, GENESIS, now, actors, fields)


def next_entry(
    previous: Entry,
    event: str,
    now: datetime,
    actors: Sequence[str] = (),
    data: Mapping[str, JournalValue] | None = None,
) -> Entry:
    """The entry after ``previous``; refused after a ``finished`` entry or for a new genesis."""
    if event == GENESIS:
        raise JournalError("only the first entry is a genesis entry", hint="this is a bug")
    if previous.event == FINISHED:
        raise JournalError(
            f"ceremony {previous.ceremony} is finished (entry {previous.seq}); nothing more is "
            "journaled",
            hint="a new ceremony needs a new ceremony id",
        )
    return _build(
        previous.seq + 1, previous.hash, previous.ceremony, event, now, actors, data or {}
    )


def aborted(
    previous: Entry,
    reason: Text | Message,
    now: datetime,
    actors: Sequence[str] = (),
    torn: bytes | None = None,
) -> Entry:
    """An ``aborted`` entry; ``torn`` is what a crash left after ``previous``, kept by digest.

    The store writes it as ``b"\\n" + entry.line()`` right after the torn bytes.
    """
    data: dict[str, JournalValue] = {"reason": reason}
    if torn:
        data["torn_sha256"] = FileDigest.of(torn)
        data["torn_bytes"] = len(torn)
    return next_entry(previous, ABORTED, now, actors, data)


# ---- parsing and verification -----------------------------------------------------------------


def parse_entry(line: bytes, expected_seq: int) -> Entry:
    """One canonical line (no newline) as an Entry; JournalTamperedError unless well-formed."""

    def bad(why: str) -> JournalTamperedError:
        return JournalTamperedError(
            f"journal entry {expected_seq} is damaged or altered: {why}",
            seq=expected_seq,
            hint="keep the file as evidence; the chain cannot be trusted from this entry on",
        )

    if len(line) > MAX_LINE:
        raise bad("the line is too long")
    try:
        doc = parse_canonical(line)
    except (ValueError, UnicodeError, RecursionError):
        raise bad("the line is not canonical JSON") from None
    if not isinstance(doc, dict) or sorted(doc) != list(_FIELDS):
        raise bad("its fields are not " + ", ".join(_FIELDS))
    seq, time, ceremony, actors = doc["seq"], doc["time"], doc["ceremony"], doc["actors"]
    event, data, prev, own = doc["event"], doc["data"], doc["prev"], doc["hash"]
    if type(seq) is not int or seq < 0:
        raise bad("seq is not a number")
    if not isinstance(time, str) or not _TIME_RE.fullmatch(time):
        raise bad("time is not a UTC time")
    if not is_label(ceremony):
        raise bad("the ceremony id is malformed")
    if not isinstance(actors, list) or not all(is_label(a) for a in actors):
        raise bad("actors are malformed")
    if not isinstance(event, str) or not _EVENT_RE.fullmatch(event):
        raise bad("the event name is malformed")
    if not isinstance(data, dict):
        raise bad("data is not an object")
    for value in (prev, own):
        if not isinstance(value, str) or not _HASH_RE.fullmatch(value):
            raise bad("a hash is malformed")
    entry = Entry(seq, time, ceremony, tuple(actors), event, data, prev, own)  # type: ignore[arg-type]
    if _digest(entry.body()) != own:
        raise bad("its hash does not match its content")
    return entry


@dataclass(frozen=True)
class TornTail:
    """Bytes after the last good entry that a crash left behind (length and digest, never shown)."""

    offset: int
    data: bytes

    @property
    def length(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Verified:
    """A journal that verified: its entries, final hash and what a crash left behind."""

    entries: tuple[Entry, ...]
    torn_tail: TornTail | None  # bytes after the last entry, when allowed
    recovered: tuple[int, ...]  # seqs of aborted entries that recorded an earlier torn tail
    valid_length: int  # bytes up to the end of the last entry, its newline included
    needs_newline: bool = False  # the last entry is complete but its newline was never written

    @property
    def ceremony_id(self) -> str:
        return self.entries[0].ceremony

    @property
    def last(self) -> Entry:
        return self.entries[-1]

    @property
    def final_hash(self) -> str:
        return self.entries[-1].hash

    @property
    def ceremony_file_sha256(self) -> str:
        value = self.entries[0].data["ceremony_file_sha256"]
        assert isinstance(value, str)
        return value

    @property
    def finished(self) -> bool:
        return self.last.event == FINISHED

    @property
    def closed(self) -> bool:
        """The last run ended with ``finished`` or ``aborted``, and nothing torn follows."""
        return self.last.terminal and self.torn_tail is None


def _is_recovery_of(region: bytes, entry: Entry) -> bool:
    return (
        entry.event == ABORTED
        and entry.data.get("torn_sha256") == hashlib.sha256(region).hexdigest()
        and entry.data.get("torn_bytes") == len(region)
    )


def _next_parsing(lines: list[bytes], start: int, expected: int) -> tuple[int, Entry | None]:
    for j in range(start, len(lines)):
        try:
            return j, parse_entry(lines[j], expected)
        except JournalTamperedError:
            continue
    return len(lines), None


def verify(
    data: bytes,
    *,
    ceremony_id: str | None = None,
    allow_torn_tail: bool = False,
    require_closed: bool = False,
    expected_final_hash: str | None = None,
) -> Verified:
    """Verify a whole journal; raise the JournalVerifyError subclass that names the seq.

    A crash can leave bytes after the last entry (a torn tail). With ``allow_torn_tail`` they
    are reported, not refused. Damaged lines inside the journal are accepted only when the next
    entry is an ``aborted`` entry recording exactly those bytes (length and SHA-256): that is
    how a restart records a torn tail without ever rewriting the file.
    """
    if not data:
        raise JournalTruncatedError("the journal is empty", seq=0, hint="it has no genesis entry")
    lines = data.split(b"\n")
    lines.pop()  # the bytes after the last newline: b"" or a torn tail, handled below
    entries: list[Entry] = []
    recovered: list[int] = []
    offset = 0
    i = 0
    while i < len(lines):
        expected = len(entries)
        try:
            entry = parse_entry(lines[i], expected)
        except JournalTamperedError:
            if not entries:
                raise
            j, follower = _next_parsing(lines, i + 1, expected)
            if follower is None and allow_torn_tail:
                break  # nothing good after it: a torn tail (perhaps from a torn recovery)
            region = b"\n".join(lines[i:j])
            if follower is None or not _is_recovery_of(region, follower):
                raise
            recovered.append(follower.seq)
            offset += len(region) + 1
            i = j
            continue
        _check_link(entry, entries, ceremony_id)
        entries.append(entry)
        offset += len(lines[i]) + 1
        i += 1
    if not entries:
        raise JournalTruncatedError(
            "the journal has no complete genesis entry", seq=0, hint="the ceremony never started"
        )
    rest = data[offset:]
    torn = None
    needs_newline = False
    if rest and allow_torn_tail and b"\n" not in rest:
        # A whole entry whose newline was never written is a good entry.
        try:
            candidate = parse_entry(rest, len(entries))
            _check_link(candidate, entries, ceremony_id)
        except JournalVerifyError:
            pass
        else:
            entries.append(candidate)
            offset += len(rest)
            rest, needs_newline = b"", True
    if rest:
        torn = TornTail(offset, rest)
        if not allow_torn_tail:
            raise JournalTruncatedError(
                f"the journal ends with a partial entry {len(entries)} ({len(rest)} bytes) after "
                f"entry {entries[-1].seq}: the tool stopped while writing it",
                seq=len(entries),
                hint="open the journal with the ceremony tool, which marks the run aborted",
            )
    result = Verified(tuple(entries), torn, tuple(recovered), offset, needs_newline)
    if require_closed and not result.closed:
        raise JournalTruncatedError(
            f"the journal ends at entry {result.last.seq} ({result.last.event}) without a "
            "finished or aborted entry",
            seq=result.last.seq + 1,
            hint="the ceremony was interrupted or the end of the journal was cut off",
        )
    if expected_final_hash is not None and result.final_hash != expected_final_hash.lower():
        raise JournalTruncatedError(
            f"the journal's final hash (entry {result.last.seq}) is not the one recorded",
            seq=result.last.seq,
            hint="entries were cut off or appended after the record was made",
        )
    return result


def _check_link(entry: Entry, entries: list[Entry], ceremony_id: str | None) -> None:
    expected = len(entries)
    owner = entries[0].ceremony if entries else ceremony_id
    if owner is not None and entry.ceremony != owner:
        raise JournalForeignError(
            f"journal entry {entry.seq} belongs to ceremony {entry.ceremony!r}, not {owner!r}",
            seq=entry.seq,
            hint="entries from another ceremony's journal were mixed in",
        )
    if entry.seq != expected:
        how = "is missing" if entry.seq > expected else "is repeated or out of order"
        raise JournalOrderError(
            f"journal entry {expected} {how}: the line in its place is entry {entry.seq}",
            seq=expected,
            hint="entries were removed, duplicated or reordered",
        )
    if expected == 0:
        if entry.event != GENESIS or entry.prev != ZERO_HASH:
            raise JournalLinkError(
                "journal entry 0 is not a genesis entry", seq=0, hint="the start was altered"
            )
        digest = entry.data.get("ceremony_file_sha256")
        if entry.data.get("format") != FORMAT or not (
            isinstance(digest, str) and _HASH_RE.fullmatch(digest)
        ):
            raise JournalTamperedError(
                "journal entry 0 does not name the journal format and the ceremony file digest",
                seq=0,
                hint="this is not a journal of this tool",
            )
        return
    previous = entries[-1]
    if entry.event == GENESIS:
        raise JournalLinkError(
            f"journal entry {entry.seq} is a second genesis entry", seq=entry.seq, hint="spliced"
        )
    if entry.prev != previous.hash:
        raise JournalLinkError(
            f"journal entry {entry.seq} does not link to entry {previous.seq}",
            seq=entry.seq,
            hint="an earlier entry was altered and re-hashed, or entries were spliced in",
        )
    if previous.event == FINISHED:
        raise JournalLinkError(
            f"journal entry {entry.seq} follows the finished entry {previous.seq}",
            seq=entry.seq,
            hint="entries were appended after the ceremony finished",
        )


# ---- reading the final hash aloud -------------------------------------------------------------


def hash_groups(hex_hash: str) -> str:
    """``3F41 9E1C ...``: 16 groups of four uppercase hex digits."""
    text = bytes.fromhex(hex_hash).hex().upper()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def hash_words(hex_hash: str) -> tuple[str, ...]:
    """The hash as 32 PGP words, to read aloud and compare."""
    return pgpwords.encode(bytes.fromhex(hex_hash))


def hash_word_lines(hex_hash: str, per_line: int = 4) -> list[str]:
    """Numbered lines of four words, so a reader can say "line 5"."""
    words = hash_words(hex_hash)
    return [
        f"{i // per_line + 1:2d}  " + " ".join(words[i : i + per_line])
        for i in range(0, len(words), per_line)
    ]

"""The journal: canonical JSON, typed allowlisted data, the hash chain and every tamper class."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import string
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.core import journal, pgpwords
from ceremony.core.journal import (
    Entry,
    FileDigest,
    JournalForeignError,
    JournalLinkError,
    JournalOrderError,
    JournalTamperedError,
    JournalTruncatedError,
    JournalValue,
    JournalVerifyError,
    Label,
    Text,
    canonical,
    parse_canonical,
    verify,
)
from ceremony.core.kcv import CheckValue, KcvMethod, check_value
from ceremony.core.providers.import_key import Fingerprint
from ceremony.core.rules import PassphraseRecord
from ceremony.core.secret import Secret
from ceremony.errors import JournalError

T0 = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)
FILE = FileDigest.of(b"[ceremony]\nid = 'c1'\n")


def clock() -> Iterator[datetime]:
    moment = T0
    while True:
        yield moment
        moment += timedelta(seconds=7, milliseconds=250)


def chain(n: int = 4, ceremony: str = "c1", finish: bool = False) -> list[Entry]:
    times = clock()
    entries = [journal.genesis(ceremony, FILE, next(times), ["so1"])]
    for i in range(1, n):
        entries.append(
            journal.next_entry(
                entries[-1], "step", next(times), ["so1", "wit"], {"index": i, "key": Label("k")}
            )
        )
    if finish:
        entries.append(journal.next_entry(entries[-1], journal.FINISHED, next(times)))
    return entries


def forge(entry: Entry, **changes: object) -> Entry:
    """``entry`` with ``changes`` and a correct hash of its own (what a forger would do)."""
    changed = dataclasses.replace(entry, **changes)  # type: ignore[arg-type]
    digest = hashlib.sha256(canonical(changed.body())).hexdigest()
    return dataclasses.replace(changed, hash=digest)


def encode(entries: list[Entry]) -> bytes:
    return b"".join(e.line() for e in entries)


# ---- canonical JSON ---------------------------------------------------------------------------


def test_canonical_form_matches_rfc8785_for_this_subset() -> None:
    value = {"b": [1, -2, True, None], "a": '\u0001\b\t\n\f\r"\\/\u00e9\u2028\x7f', "A": {}}
    expected = (
        '{"A":{},"a":"\\u0001\\b\\t\\n\\f\\r\\"\\\\/\u00e9\u2028\x7f","b":[1,-2,true,null]}'
    ).encode()
    assert canonical(value) == expected
    assert parse_canonical(expected) == value


@pytest.mark.parametrize(
    "value",
    [1.5, 2**53, -(2**53), {"\u00e9": 1}, "\ud800", {1: 2}, b"x", float("nan")],
)
def test_canonical_refuses_what_jcs_subset_excludes(value: object) -> None:
    with pytest.raises((ValueError, UnicodeEncodeError)):
        canonical(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        b'{"a": 1}',
        b'{"b":1,"a":2}',
        b'{"a":1,"a":1}',
        b'{"a":1.0}',
        b'{"a":NaN}',
        b'{"a":"\\u0041"}',
    ],
)
def test_parse_canonical_refuses_other_spellings(text: bytes) -> None:
    with pytest.raises(ValueError):
        parse_canonical(text)


def test_golden_genesis_line_and_hash() -> None:
    entry = journal.genesis("c1", FileDigest.of(b"x"), T0, ["so1"])
    body = (
        '{"actors":["so1"],"ceremony":"c1","data":{"ceremony_file_sha256":'
        '"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",'
        '"format":"ceremony journal 1"},"event":"genesis","prev":"'
        + "0" * 64
        + '","seq":0,"time":"2025-06-01T09:30:00.000Z"}'
    )
    assert entry.hash == hashlib.sha256(body.encode()).hexdigest()
    line = body.replace('"prev":', f'"hash":"{entry.hash}","prev":') + "\n"
    assert entry.line() == line.encode()


def test_time_is_utc_with_milliseconds_and_must_be_aware() -> None:
    plus2 = timezone(timedelta(hours=2))
    entry = journal.genesis("c1", FILE, datetime(2025, 6, 1, 11, 30, 0, 123999, tzinfo=plus2))
    assert entry.time == "2025-06-01T09:30:00.123Z"
    with pytest.raises(JournalError, match="time zone"):
        journal.genesis("c1", FILE, datetime(2025, 6, 1))


# ---- typed, allowlisted data ------------------------------------------------------------------


def test_typed_values_become_plain_json() -> None:
    kcv = CheckValue(KcvMethod.AES_CMAC, bytes.fromhex("08793E"))
    fingerprint = Fingerprint.of_spki(b"spki")
    record = PassphraseRecord(bytes(16), bytes(32))
    entry = journal.next_entry(
        chain(1)[0],
        "roll_call",
        T0,
        ["so1"],
        {
            "key_kcv": kcv,
            "file_sha256": FileDigest.of(b"abc"),
            "wrapping_key": fingerprint,
            "passphrase_hash": record,
            "people": [Label("so1"), Text("Alice Martin")],
            "nested": {"count": 3, "ok": True, "none": None, "at": T0},
        },
    )
    assert entry.data["key_kcv"] == {"kcv": "08793E", "kcv_method": "AES-CMAC"}
    assert entry.data["file_sha256"] == hashlib.sha256(b"abc").hexdigest()
    assert entry.data["wrapping_key"] == fingerprint.hex
    assert entry.data["passphrase_hash"] == record.journal_fields()
    assert entry.data["people"] == ["so1", "Alice Martin"]
    assert entry.data["nested"] == {
        "count": 3,
        "ok": True,
        "none": None,
        "at": "2025-06-01T09:30:00.000Z",
    }


KEY = bytes(range(32))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"note": "plain string"}, "bare string"),
        ({"key": KEY}, "raw bytes"),
        ({"key": bytearray(KEY)}, "raw bytes"),
        ({"key": memoryview(KEY)}, "raw bytes"),
        ({"key": Secret(KEY, "k")}, "raw bytes or a Secret"),
        ({"ratio": 0.5}, "float"),
        ({"big": 2**64}, "too large"),
        ({"pin": 1234}, "names a secret"),
        ({"so_pin": Label("x")}, "names a secret"),
        ({"user_password": Label("x")}, "names a secret"),
        ({"secret_ref": Label("x")}, "names a secret"),
        ({"passphrase": Text("a sentence here")}, "names a secret"),
        ({"Bad": 1}, "lowercase"),
        ({"list": [{"pin": 1}]}, "names a secret"),
        ({"obj": object()}, "not journaled"),
    ],
)
def test_entry_builder_refuses_anything_off_the_allowlist(
    data: dict[str, object], match: str
) -> None:
    with pytest.raises(JournalError, match=match) as caught:
        journal.next_entry(chain(1)[0], "step", T0, (), data)  # type: ignore[arg-type]
    assert KEY.hex() not in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        KEY.hex(),
        KEY.hex().upper(),
        "01: 0123 4567 89AB CDEF J",
        ":".join(f"{b:02X}" for b in KEY[:16]),
        base64.b64encode(KEY).decode(),
        "key is " + base64.b64encode(KEY[:18]).decode(),
    ],
)
def test_labels_and_text_refuse_key_shaped_strings(text: str) -> None:
    with pytest.raises(JournalError, match="looks like key material") as caught:
        Text(text)
    assert text not in str(caught.value)
    if " " not in text and ":" not in text:
        with pytest.raises(JournalError):
            Label(text[:64])


def test_ordinary_text_is_fine() -> None:
    for text in ("Alice Martin", "route to fd00::/64 via fe80::1", "2025-06-01 rotation of ZMK 3"):
        Text(text)
    with pytest.raises(JournalError):
        Text("two\nlines")
    with pytest.raises(JournalError):
        Label("has space")


def test_a_kcv_is_all_the_journal_holds_of_a_key() -> None:
    secret = Secret(KEY, "zmk")
    value = check_value(secret, KcvMethod.AES_CMAC)
    line = journal.next_entry(chain(1)[0], "kcv", T0, (), {"key_kcv": value}).line()
    for form in (KEY, KEY.hex().encode(), KEY.hex().upper().encode(), base64.b64encode(KEY)):
        assert form not in line


def test_event_actor_and_genesis_guards() -> None:
    g = chain(1)[0]
    with pytest.raises(JournalError):
        journal.next_entry(g, "Bad Event", T0)
    with pytest.raises(JournalError):
        journal.next_entry(g, "step", T0, ["so1", "so1"])
    with pytest.raises(JournalError):
        journal.next_entry(g, journal.GENESIS, T0)
    with pytest.raises(JournalError):
        journal.genesis("c1", FILE, T0, data={"format": Text("mine")})
    done = journal.next_entry(g, journal.FINISHED, T0)
    with pytest.raises(JournalError, match="is finished"):
        journal.next_entry(done, "step", T0)


# ---- round trip -------------------------------------------------------------------------------

_FIELD = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda name: (
        not set(name.split("_"))
        & {
            "pin",
            "puk",
            "pwd",
            "password",
            "passwd",
            "secret",
            "plaintext",
            "cleartext",
            "passphrase",
        }
    )
)
_LABEL = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True).filter(
    lambda s: journal.looks_secret(s) is None
)
_TEXT = st.text(st.characters(codec="utf-8"), min_size=1, max_size=25).filter(
    lambda s: s.strip() != "" and s.isprintable() and journal.looks_secret(s) is None
)
_KCV = st.builds(
    lambda method, value: CheckValue(method, value[: method.max_length]),
    st.sampled_from(list(KcvMethod)),
    st.binary(min_size=5, max_size=5),
)
_LEAF: st.SearchStrategy[JournalValue] = st.one_of(
    st.builds(Label, _LABEL),
    st.builds(Text, _TEXT),
    st.builds(FileDigest.of, st.binary(max_size=20)),
    _KCV,
    st.integers(-(2**53) + 1, 2**53 - 1),
    st.booleans(),
    st.none(),
    st.datetimes(timezones=st.just(UTC)),
)
_VALUE = st.recursive(
    _LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_FIELD, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True).filter(
                lambda e: e not in (journal.GENESIS, journal.FINISHED)
            ),
            st.lists(_LABEL, max_size=3, unique=True),
            st.dictionaries(_FIELD, _VALUE, max_size=4),
        ),
        max_size=6,
    ),
    ceremony=_LABEL,
)
def test_encode_then_verify_round_trips(
    steps: list[tuple[str, list[str], dict[str, JournalValue]]], ceremony: str
) -> None:
    times = clock()
    entries = [journal.genesis(ceremony, FILE, next(times))]
    for event, actors, data in steps:
        entries.append(journal.next_entry(entries[-1], event, next(times), actors, data))
    verified = verify(encode(entries), ceremony_id=ceremony)
    assert list(verified.entries) == entries
    assert verified.final_hash == entries[-1].hash
    assert verified.ceremony_file_sha256 == FILE.hex


def test_final_hash_reads_as_32_words_and_hex_groups() -> None:
    final = chain(3)[-1].hash
    words = journal.hash_words(final)
    assert len(words) == 32 and pgpwords.decode(words) == bytes.fromhex(final)
    assert journal.hash_groups(final).replace(" ", "") == final.upper()
    assert len(journal.hash_word_lines(final)) == 8


# ---- tamper classes ---------------------------------------------------------------------------


def test_every_flipped_byte_is_caught_at_its_entry() -> None:
    entries = chain(4)
    data = encode(entries)
    for i in range(len(data)):
        mutated = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
        line = data[:i].count(b"\n")
        with pytest.raises(JournalVerifyError) as caught:
            verify(mutated)
        assert caught.value.seq == line, (i, caught.value)
        assert f"entry {line}" in caught.value.message


def test_tampered_entry_names_its_seq() -> None:
    data = encode(chain(4)).replace(b'"index":2', b'"index":9')
    with pytest.raises(JournalTamperedError, match="entry 2 is damaged or altered") as caught:
        verify(data)
    assert caught.value.seq == 2


def test_altered_and_rehashed_entry_breaks_the_link() -> None:
    entries = chain(5)
    forged = journal.next_entry(entries[1], "step", T0, ["so1"], {"index": 99})
    data = encode([*entries[:2], forged, *entries[3:]])
    with pytest.raises(JournalLinkError, match="entry 3 does not link to entry 2") as caught:
        verify(data)
    assert caught.value.seq == 3


def test_reordered_entries() -> None:
    lines = encode(chain(5)).splitlines(keepends=True)
    lines[2], lines[3] = lines[3], lines[2]
    with pytest.raises(JournalOrderError, match="entry 2") as caught:
        verify(b"".join(lines))
    assert caught.value.seq == 2


def test_removed_and_repeated_entries() -> None:
    lines = encode(chain(5)).splitlines(keepends=True)
    with pytest.raises(JournalOrderError, match="entry 2 is missing"):
        verify(b"".join(lines[:2] + lines[3:]))
    with pytest.raises(JournalOrderError, match="repeated"):
        verify(b"".join(lines[:3] + lines[2:]))


def test_truncated_tail_is_reported() -> None:
    data = encode(chain(4))
    cut = data[:-25]
    with pytest.raises(JournalTruncatedError, match="partial entry 3") as caught:
        verify(cut)
    assert caught.value.seq == 3
    report = verify(cut, allow_torn_tail=True)
    assert report.torn_tail is not None and report.torn_tail.data == cut[report.valid_length :]
    assert report.last.seq == 2 and not report.closed


def test_cut_off_end_is_caught_by_closing_entry_or_final_hash() -> None:
    entries = chain(4, finish=True)
    whole = encode(entries)
    assert verify(whole, require_closed=True, expected_final_hash=entries[-1].hash).finished
    short = encode(entries[:-2])
    verify(short)  # a prefix is a valid chain by itself...
    with pytest.raises(JournalTruncatedError, match="without a finished or aborted entry"):
        verify(short, require_closed=True)
    with pytest.raises(JournalTruncatedError, match="not the one recorded"):
        verify(short, expected_final_hash=entries[-1].hash)


def test_other_ceremony() -> None:
    data = encode(chain(3))
    with pytest.raises(JournalForeignError, match="ceremony 'c1', not 'c2'") as caught:
        verify(data, ceremony_id="c2")
    assert caught.value.seq == 0
    mine, theirs = chain(4, "c1"), chain(4, "c2")
    spliced = encode([*mine[:2], theirs[2], mine[3]])
    with pytest.raises(JournalForeignError) as caught:
        verify(spliced)
    assert caught.value.seq == 2


def test_genesis_rules() -> None:
    entries = chain(3)
    with pytest.raises(JournalTruncatedError):
        verify(b"")
    second = forge(journal.genesis("c1", FILE, T0), seq=3, prev=entries[-1].hash)
    with pytest.raises(JournalLinkError, match="second genesis"):
        verify(encode(entries) + second.line())
    not_genesis = forge(entries[1], seq=0, prev=journal.ZERO_HASH)
    with pytest.raises(JournalLinkError, match="entry 0 is not a genesis"):
        verify(not_genesis.line())
    with pytest.raises(JournalOrderError):
        verify(encode(entries[1:]))


def test_appended_after_finished() -> None:
    entries = chain(2, finish=True)
    extra = journal.next_entry(entries[-2], "step", T0)  # built off the entry before finished
    forged = forge(extra, seq=3, prev=entries[-1].hash)
    with pytest.raises(JournalLinkError, match="follows the finished entry"):
        verify(encode(entries) + forged.line())


def test_a_torn_region_is_accepted_only_with_its_aborted_record() -> None:
    entries = chain(3)
    torn = entries[2].line()[:40]
    head = encode(entries[:2])
    aborted = journal.aborted(entries[1], Text("stopped"), T0, torn=torn)
    good = head + torn + b"\n" + aborted.line()
    report = verify(good)
    assert report.recovered == (2,) and report.last.event == journal.ABORTED
    lying = journal.aborted(entries[1], Text("stopped"), T0, torn=torn + b"x")
    with pytest.raises(JournalTamperedError) as caught:
        verify(head + torn + b"\n" + lying.line())
    assert caught.value.seq == 2


def test_a_complete_entry_missing_its_newline_is_good() -> None:
    entries = chain(3)
    data = encode(entries)[:-1]
    report = verify(data, allow_torn_tail=True)
    assert report.needs_newline and report.torn_tail is None and report.last == entries[-1]


def test_printable_alphabet_sanity() -> None:
    # Labels never need more than this; guards against a regex that lets spaces through.
    assert all(journal.looks_secret(c * 3) is None for c in string.ascii_letters)

"""Custodian registry: strict JSON, deterministic bytes, and the history it feeds to the rules."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.core.component import Scheme
from ceremony.core.labels import attempt_of, is_label, restart_id
from ceremony.core.registry import (
    FORMAT,
    Holding,
    RecordEvent,
    Registry,
    RegistryRecord,
    check_assignments,
    check_identities,
    issue_records,
    parse_registry,
    require_not_voided,
    serialise_registry,
)
from ceremony.core.rules import Assignment, Participant, Role, Roster, RuleBreach
from ceremony.errors import ConfigError

NOW = datetime(2025, 7, 1, 10, 0, tzinfo=UTC)


def rec(person: str, index: int, **changes: object) -> RegistryRecord:
    base = RegistryRecord(
        ceremony="c1",
        key="zmk",
        set="c1",
        scheme=Scheme.XOR,
        threshold=3,
        count=3,
        component=index,
        person=person,
        name=f"Name {person}",
        id_reference=f"doc {person}",
        holding=Holding.CUSTODIAN,
        event=RecordEvent.ISSUED,
        time="2025-07-01T10:00:00.000Z",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


ROSTER = Roster(
    [
        Participant("so", "Officer", Role.SECURITY_OFFICER, "doc so"),
        Participant("a", "Name a", Role.KEY_CUSTODIAN, "doc a"),
        Participant("b", "Name b", Role.KEY_CUSTODIAN, "doc b"),
        Participant("c", "Name c", Role.KEY_CUSTODIAN, "doc c"),
        Participant("d", "Name d", Role.BACKUP_CUSTODIAN, "doc d"),
        Participant("e", "Name e", Role.KEY_CUSTODIAN, "doc e"),
        Participant("f", "Name f", Role.KEY_CUSTODIAN, "doc f"),
        Participant("g", "Name g", Role.KEY_CUSTODIAN, "doc g"),
    ]
)


def test_serialise_is_deterministic_and_parses_back() -> None:
    registry = Registry((rec("a", 1), rec("b", 2), rec("c", 3, holding=Holding.BACKUP)))
    data = serialise_registry(registry)
    assert data == serialise_registry(parse_registry(data))
    assert parse_registry(data) == registry
    doc = json.loads(data)
    assert doc["format"] == FORMAT and doc["records"][0]["scheme"] == "xor"
    assert data.endswith(b"\n")


_LABEL = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
_NAME = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20).filter(
    lambda s: s.strip() != "" and s.isprintable()
)


_ENVELOPE = st.from_regex(r"[A-Z]{2}-[0-9]{1,12}", fullmatch=True)


@st.composite
def records(draw: st.DrawFn) -> RegistryRecord:
    scheme = draw(st.sampled_from(list(Scheme)))
    count = draw(st.integers(2, 9))
    return RegistryRecord(
        ceremony=draw(_LABEL),
        key=draw(_LABEL),
        set=draw(_LABEL),
        scheme=scheme,
        threshold=count if scheme is Scheme.XOR else draw(st.integers(2, count)),
        count=count,
        component=draw(st.integers(1, count)),
        person=draw(_LABEL),
        name=draw(_NAME),
        id_reference=draw(_NAME),
        holding=draw(st.sampled_from(list(Holding))),
        event=draw(st.sampled_from(list(RecordEvent))),
        time=draw(st.datetimes(min_value=datetime(2000, 1, 1), timezones=st.just(UTC))).strftime(
            "%Y-%m-%dT%H:%M:%S.%f"
        )[:-3]
        + "Z",
        envelope=draw(st.none() | _ENVELOPE),
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(records(), max_size=6))
def test_round_trip_property(items: list[RegistryRecord]) -> None:
    # Keep each (key, set) to one shape, as a real registry has.
    shapes: dict[tuple[str, str], RegistryRecord] = {}
    fixed = []
    for r in items:
        first = shapes.setdefault((r.key, r.set), r)
        fixed.append(
            dataclasses.replace(
                r,
                scheme=first.scheme,
                threshold=first.threshold,
                count=first.count,
                component=min(r.component, first.count),
            )
        )
    registry = Registry(tuple(fixed))
    assert parse_registry(serialise_registry(registry)) == registry


def _doc(*records: dict[str, object], **top: object) -> bytes:
    return json.dumps({"format": FORMAT, "records": list(records), **top}).encode()


GOOD = rec("a", 1).as_json()


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"{", "not valid JSON"),
        (b"[]", "exactly 'format' and 'records'"),
        (_doc(extra=1), "exactly"),
        (json.dumps({"format": "other", "records": []}).encode(), "format is not"),
        (_doc({**GOOD, "note": "x"}), r"records\[0\]\.note is not a known field"),
        (
            _doc({k: v for k, v in GOOD.items() if k != "person"}),
            r"records\[0\]\.person is missing",
        ),
        (_doc({**GOOD, "scheme": "XOR"}), r"records\[0\]\.scheme is not one of"),
        (_doc({**GOOD, "holding": "owner"}), r"records\[0\]\.holding"),
        (_doc({**GOOD, "component": 4}), "outside 1..count"),
        (_doc({**GOOD, "component": True}), "outside 1..count"),
        (_doc({**GOOD, "threshold": 2}), "threshold does not fit"),
        (_doc({**GOOD, "time": "yesterday"}), "not a UTC time"),
        (_doc({**GOOD, "person": "a b"}), "not a label"),
        (_doc({**GOOD, "count": 3.0}), "not valid JSON"),
        (b'{"format": "x", "format": "y", "records": []}', "duplicate key"),
        (_doc(GOOD, {**GOOD, "scheme": "shamir", "threshold": 2}), "inconsistent"),
        (_doc({**GOOD, "envelope": None}), r"records\[0\]\.envelope is not a string"),
        (_doc({**GOOD, "envelope": 40111}), r"records\[0\]\.envelope is not a string"),
        (_doc({**GOOD, "envelope": " "}), r"records\[0\]\.envelope is not an envelope serial"),
        (_doc({**GOOD, "envelope": "TE\n1"}), "not an envelope serial"),
        (_doc({**GOOD, "envelope": "x" * 65}), "not an envelope serial"),
        (_doc({**GOOD, "envelope": "0123456789abcdef01"}), "not an envelope serial"),
    ],
)
def test_strict_parsing(data: bytes, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_registry(data)


def test_knowledge_and_holders() -> None:
    registry = Registry(
        (
            rec("a", 1),
            rec("d", 1, holding=Holding.BACKUP),
            rec("a", 1, event=RecordEvent.ENTERED, ceremony="c2"),
            rec("b", 2),
            rec("b", 1, set="c9"),
        )
    )
    assert registry.knowledge("zmk", "c1") == {"a": {1}, "d": {1}, "b": {2}}
    assert registry.holders("zmk", "c1") == {1: {"a", "d"}, 2: {"b"}}
    assert registry.shape("zmk", "c1") == (Scheme.XOR, 3, 3)
    assert registry.shape("zmk", "nope") is None


def test_earlier_knowledge_of_another_component_is_refused() -> None:
    registry = Registry((rec("a", 1), rec("a", 2, ceremony="c0"), rec("c", 3)))
    plan = [Assignment(1, "a"), Assignment(2, "b"), Assignment(3, "c")]
    with pytest.raises(RuleBreach, match="registry shows") as caught:
        check_assignments(registry, "zmk", "c1", Scheme.XOR, 3, plan, ROSTER)
    assert caught.value.people == ("a",)


def test_a_new_set_is_blocked_by_an_old_one_of_the_same_key() -> None:
    # PCI PIN 21-2.4 read literally: nobody holds two components of one key, from any split.
    registry = Registry((rec("a", 1), rec("b", 2), rec("c", 3)))
    plan = [Assignment(1, "b"), Assignment(2, "c"), Assignment(3, "a")]
    with pytest.raises(RuleBreach, match="set\\(s\\) c1 of the same key") as caught:
        check_assignments(registry, "zmk", "c2", Scheme.XOR, 3, plan, ROSTER)
    assert caught.value.people == ("b",)
    # New custodians are fine, and another key's history says nothing about this one.
    fresh = [Assignment(1, "e"), Assignment(2, "f"), Assignment(3, "g")]
    check_assignments(registry, "zmk", "c2", Scheme.XOR, 3, fresh, ROSTER)
    check_assignments(registry, "other-key", "c2", Scheme.XOR, 3, plan, ROSTER)


def test_holders_of_the_old_set_in_the_same_re_split_count_too() -> None:
    plan = [Assignment(1, "e"), Assignment(2, "a")]
    with pytest.raises(RuleBreach, match="from any split"):
        check_assignments(
            Registry(), "zmk", "c2", Scheme.XOR, 2, plan, ROSTER, also_held={"a": {"c1"}}
        )


def test_entering_a_component_someone_else_held_is_refused() -> None:
    registry = Registry((rec("a", 1), rec("b", 2), rec("c", 3)))
    plan = [Assignment(1, "a"), Assignment(2, "d"), Assignment(3, "c")]
    with pytest.raises(RuleBreach, match="held by Name b"):
        check_assignments(
            registry,
            "zmk",
            "c1",
            Scheme.XOR,
            3,
            plan,
            ROSTER,
            custodian_roles=(Role.KEY_CUSTODIAN, Role.BACKUP_CUSTODIAN),
        )


def test_a_partial_shamir_set_checks_its_shape_with_count() -> None:
    shamir = {"scheme": Scheme.SHAMIR, "threshold": 2, "count": 3}
    registry = Registry((rec("a", 1, **shamir), rec("b", 2, **shamir), rec("c", 3, **shamir)))
    plan = [Assignment(1, "a"), Assignment(3, "c")]
    check_assignments(registry, "zmk", "c1", Scheme.SHAMIR, 2, plan, ROSTER, count=3)
    with pytest.raises(RuleBreach, match="Shamir 2 of 3"):
        check_assignments(registry, "zmk", "c1", Scheme.SHAMIR, 2, plan, ROSTER)


def test_identity_alias_is_refused() -> None:
    registry = Registry((rec("alice", 1, id_reference="DOC  A"),))
    with pytest.raises(RuleBreach, match="registry records for 'alice'"):
        check_identities(registry, ROSTER)
    check_identities(Registry((rec("a", 1),)), ROSTER)


def test_issue_records_then_append() -> None:
    plan = [Assignment(1, "a", "d"), Assignment(2, "b"), Assignment(3, "c")]
    new = issue_records(
        ceremony_id="c1",
        key="zmk",
        split_set="c1",
        scheme=Scheme.XOR,
        threshold=3,
        assignments=plan,
        roster=ROSTER,
        event=RecordEvent.ISSUED,
        now=NOW,
    )
    assert [(r.person, r.component, r.holding) for r in new] == [
        ("a", 1, Holding.CUSTODIAN),
        ("d", 1, Holding.BACKUP),
        ("b", 2, Holding.CUSTODIAN),
        ("c", 3, Holding.CUSTODIAN),
    ]
    assert new[0].time == "2025-07-01T10:00:00.000Z" and new[0].id_reference == "doc a"
    registry = Registry().appended(new)
    with pytest.raises(ConfigError, match="inconsistent"):
        registry.appended([rec("a", 1, scheme=Scheme.SHAMIR, threshold=2)])


def test_envelope_round_trip_with_and_without() -> None:
    with_envelope = rec("a", 1, envelope="TE-40111")
    registry = Registry((with_envelope, rec("b", 2)))
    data = serialise_registry(registry)
    doc = json.loads(data)
    assert doc["records"][0]["envelope"] == "TE-40111"
    assert "envelope" not in doc["records"][1]  # never written as null
    assert parse_registry(data) == registry


def test_a_registry_written_before_envelopes_reads_and_writes_the_same_bytes() -> None:
    old = (
        json.dumps(
            {"format": FORMAT, "records": [rec("a", 1).as_json(), rec("b", 2).as_json()]},
            indent=2,
            sort_keys=True,
        ).encode()
        + b"\n"
    )
    assert b"envelope" not in old
    registry = parse_registry(old)
    assert all(r.envelope is None for r in registry.records)
    assert serialise_registry(registry) == old


def test_sealed_envelope_follows_the_component_until_it_is_opened() -> None:
    registry = Registry(
        (
            rec("a", 1, envelope="TE-1"),
            rec("d", 1, holding=Holding.BACKUP),  # the backup's record carries no envelope
            rec("b", 2),
        )
    )
    assert registry.sealed_envelope("zmk", "c1", 1) == "TE-1"
    assert registry.sealed_envelope("zmk", "c1", 2) is None
    assert registry.sealed_envelope("zmk", "other", 1) is None
    opened = registry.appended([rec("a", 1, ceremony="c2", event=RecordEvent.ENTERED)])
    assert opened.sealed_envelope("zmk", "c1", 1) is None


def test_issue_records_put_the_envelope_on_the_custodians_record() -> None:
    new = issue_records(
        ceremony_id="c1",
        key="zmk",
        split_set="c1",
        scheme=Scheme.XOR,
        threshold=2,
        assignments=[Assignment(1, "a", "d"), Assignment(2, "b")],
        roster=ROSTER,
        event=RecordEvent.ISSUED,
        now=NOW,
        envelopes={1: "TE-1"},
    )
    assert [(r.person, r.envelope) for r in new] == [("a", "TE-1"), ("d", None), ("b", None)]


def test_a_voided_set_is_never_entered_and_round_trips() -> None:
    voided = [
        rec(p, i, ceremony="c1.r2", event=RecordEvent.VOIDED) for p, i in (("a", 1), ("b", 2))
    ]
    registry = Registry((rec("a", 1), rec("b", 2), *voided))
    assert parse_registry(serialise_registry(registry)) == registry
    assert registry.voided_components("zmk", "c1") == {1, 2}
    assert registry.sealed_envelope("zmk", "c1", 1) is None
    with pytest.raises(RuleBreach, match=r"voided by ceremony 'c1\.r2'"):
        require_not_voided(registry, "zmk", "c1")
    require_not_voided(registry, "zmk", "c0")  # another set


def test_another_attempt_of_the_same_file_is_not_another_split() -> None:
    # c1 was interrupted after issuing components 1 and 2; c1.r2 restarts it, same custodians.
    registry = Registry(
        (
            rec("a", 1),
            rec("b", 2),
            rec("a", 1, ceremony="c1.r2", event=RecordEvent.VOIDED),
            rec("b", 2, ceremony="c1.r2", event=RecordEvent.VOIDED),
        )
    )
    same = [Assignment(1, "a"), Assignment(2, "b"), Assignment(3, "c")]
    check_assignments(registry, "zmk", "c1.r2", Scheme.XOR, 3, same, ROSTER, attempts_of="c1")
    # Without the file's id, or with components swapped, the strict rule holds.
    with pytest.raises(RuleBreach, match="of the same key"):
        check_assignments(registry, "zmk", "c1.r2", Scheme.XOR, 3, same, ROSTER)
    swapped = [Assignment(1, "b"), Assignment(2, "a"), Assignment(3, "c")]
    with pytest.raises(RuleBreach, match="of the same key"):
        check_assignments(
            registry, "zmk", "c1.r2", Scheme.XOR, 3, swapped, ROSTER, attempts_of="c1"
        )
    # Another ceremony's set still counts.
    with pytest.raises(RuleBreach, match="of the same key"):
        check_assignments(registry, "zmk", "c9", Scheme.XOR, 3, same, ROSTER, attempts_of="c9")


def test_restart_ids_stay_labels_and_are_read_back() -> None:
    assert restart_id("c1", 1) == "c1" and restart_id("c1", 2) == "c1.r2"
    long = "Stop-Split-Backup-Ceremony-Of-The-Zone-Master-Key-For-Payments-x"
    assert len(long) == 64
    for attempt in (2, 9, 10, 123):
        rid = restart_id(long, attempt)
        assert is_label(rid) and len(rid) <= 64 and attempt_of(long, rid) == attempt
    assert attempt_of("c1", "c1") == 1
    assert attempt_of("c1", "c2.r2") is None and attempt_of("c1", "c1.r1") is None

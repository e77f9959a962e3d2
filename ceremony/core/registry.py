"""Custodian registry: who held which component of which key, across ceremonies (PCI PIN 21-2.4)."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ceremony.core.component import Scheme
from ceremony.core.journal import format_time, looks_secret
from ceremony.core.labels import attempt_of, is_label
from ceremony.core.lookalike import same_person_keys
from ceremony.core.rules import (
    SPLIT_KNOWLEDGE,
    Assignment,
    Role,
    Roster,
    RuleBreach,
    require_split_knowledge,
)
from ceremony.errors import ConfigError

FORMAT = "ceremony custodian registry 1"
MAX_REGISTRY = 8 * 1024 * 1024  # bytes; far above any real registry
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
_RECORD_FIELDS = (
    "ceremony",
    "component",
    "count",
    "event",
    "holding",
    "id_reference",
    "key",
    "name",
    "person",
    "scheme",
    "set",
    "threshold",
    "time",
)
# Added later; a registry written before them still parses.
_OPTIONAL_FIELDS = ("envelope",)
_ENVELOPE_MAX = 64  # as ceremony_file's component envelope


class Holding(enum.Enum):
    """How the person knew the component."""

    CUSTODIAN = "custodian"
    BACKUP = "backup"


class RecordEvent(enum.Enum):
    """What happened to the component in the ceremony that wrote the record."""

    ISSUED = "issued"  # the component was given to the person
    ENTERED = "entered"  # the person entered it to reconstitute the key
    TO_DESTROY = "to-destroy"  # the set was replaced; the paper must be destroyed
    DESTROYED = "destroyed"
    # An interrupted ceremony issued it; the restart voided it: it can never be entered again
    # and its paper is destroyed in front of the witnesses.
    VOIDED = "voided"


@dataclass(frozen=True)
class RegistryRecord:
    """One fact: ``person`` knew component ``component`` of split set ``set`` of key ``key``.

    A split set is named by the ceremony that made it; knowledge never expires, so records
    are only ever added.
    """

    ceremony: str  # the ceremony that wrote this record
    key: str
    set: str  # the ceremony that made the components
    scheme: Scheme
    threshold: int
    count: int
    component: int  # 1-based
    person: str  # the participant id, stable across ceremonies
    name: str
    id_reference: str
    holding: Holding
    event: RecordEvent
    time: str  # RFC 3339 UTC with milliseconds
    # The tamper-evident envelope the custodian sealed the component in at issue (PCI PIN 9-4);
    # None when it was issued without one, and on every other event.
    envelope: str | None = None

    def validate(self, path: str = "record") -> None:
        """Raise ConfigError naming ``path`` when a field is malformed."""
        for name in ("ceremony", "key", "set", "person"):
            value = getattr(self, name)
            if not is_label(value) or looks_secret(value):
                raise ConfigError(
                    f"{path}.{name} is not a label", hint="letters, digits, '.', '-', '_'"
                )
        for name in ("name", "id_reference"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip() or len(value) > 200:
                raise ConfigError(f"{path}.{name} must be 1-200 characters", hint="fix the entry")
            if not value.isprintable():
                raise ConfigError(f"{path}.{name} holds control characters", hint="fix the entry")
        if not isinstance(self.scheme, Scheme) or not isinstance(self.holding, Holding):
            raise ConfigError(f"{path} has an unknown scheme or holding", hint="fix the entry")
        if not isinstance(self.event, RecordEvent):
            raise ConfigError(f"{path}.event is unknown", hint="fix the entry")
        ints = (self.threshold, self.count, self.component)
        if not all(type(v) is int for v in ints) or not 1 <= self.component <= self.count <= 255:
            raise ConfigError(f"{path}.component is outside 1..count", hint="fix the entry")
        if not 2 <= self.threshold <= self.count or (
            self.scheme is Scheme.XOR and self.threshold != self.count
        ):
            raise ConfigError(f"{path}.threshold does not fit the scheme", hint="fix the entry")
        if not isinstance(self.time, str) or not _TIME.fullmatch(self.time):
            raise ConfigError(f"{path}.time is not a UTC time", hint="fix the entry")
        if self.envelope is not None and (
            not isinstance(self.envelope, str)
            or not self.envelope.strip()
            or len(self.envelope) > _ENVELOPE_MAX
            or not self.envelope.isprintable()
            or looks_secret(self.envelope)
        ):
            raise ConfigError(
                f"{path}.envelope is not an envelope serial (1-{_ENVELOPE_MAX} printable "
                "characters)",
                hint="fix the entry from the envelope log",
            )

    def as_json(self) -> dict[str, str | int]:
        optional = {"envelope": self.envelope} if self.envelope is not None else {}
        return {
            **optional,
            "ceremony": self.ceremony,
            "component": self.component,
            "count": self.count,
            "event": self.event.value,
            "holding": self.holding.value,
            "id_reference": self.id_reference,
            "key": self.key,
            "name": self.name,
            "person": self.person,
            "scheme": self.scheme.value.lower(),
            "set": self.set,
            "threshold": self.threshold,
            "time": self.time,
        }


@dataclass(frozen=True)
class Registry:
    """Every record so far, in the order they were added."""

    records: tuple[RegistryRecord, ...] = ()

    def validate(self) -> None:
        """Raise ConfigError unless every record is well-formed and each set is consistent."""
        shapes: dict[tuple[str, str], tuple[Scheme, int, int]] = {}
        for i, record in enumerate(self.records):
            path = f"records[{i}]"
            record.validate(path)
            shape = (record.scheme, record.threshold, record.count)
            known = shapes.setdefault((record.key, record.set), shape)
            if known != shape:
                raise ConfigError(
                    f"{path} describes set {record.set!r} of key {record.key!r} as "
                    f"{_shape(shape)}, an earlier record as {_shape(known)}",
                    hint="the registry is inconsistent; restore it from its signed copy",
                )

    def knowledge(self, key: str, split_set: str) -> dict[str, frozenset[int]]:
        """Person id -> components of ``split_set`` of ``key`` they knew, ever."""
        known: dict[str, set[int]] = {}
        for r in self.records:
            if r.key == key and r.set == split_set:
                known.setdefault(r.person, set()).add(r.component)
        return {person: frozenset(indices) for person, indices in known.items()}

    def other_sets(self, key: str, split_set: str | None) -> dict[str, frozenset[str]]:
        """Person id -> the split sets of ``key`` but ``split_set`` they ever held a part of."""
        known: dict[str, set[str]] = {}
        for r in self.records:
            if r.key == key and r.set != split_set:
                known.setdefault(r.person, set()).add(r.set)
        return {person: frozenset(sets) for person, sets in known.items()}

    def holders(self, key: str, split_set: str) -> dict[int, frozenset[str]]:
        """Component index -> people who held it (custodian or backup)."""
        held: dict[int, set[str]] = {}
        for r in self.records:
            if r.key == key and r.set == split_set:
                held.setdefault(r.component, set()).add(r.person)
        return {index: frozenset(people) for index, people in held.items()}

    def shape(self, key: str, split_set: str) -> tuple[Scheme, int, int] | None:
        """(scheme, threshold, count) of a set the registry knows, else None."""
        for r in self.records:
            if r.key == key and r.set == split_set:
                return (r.scheme, r.threshold, r.count)
        return None

    def sealed_envelope(self, key: str, split_set: str, component: int) -> str | None:
        """The serial of the envelope ``component`` was sealed in at issue, if still sealed.

        A later entry (or a record to destroy it) means that envelope was opened, so the
        registry no longer knows which envelope holds the component: None.
        """
        serial: str | None = None
        for r in self.records:
            if r.key != key or r.set != split_set or r.component != component:
                continue
            if r.event is RecordEvent.ISSUED:
                serial = r.envelope if r.envelope is not None else serial
            else:
                serial = None
        return serial

    def voided(self, key: str, split_set: str) -> RegistryRecord | None:
        """The first record voiding set ``split_set`` of ``key`` (None: never voided)."""
        for r in self.records:
            if r.key == key and r.set == split_set and r.event is RecordEvent.VOIDED:
                return r
        return None

    def voided_components(self, key: str, split_set: str) -> frozenset[int]:
        """The components of a set that a restart voided."""
        return frozenset(
            r.component
            for r in self.records
            if r.key == key and r.set == split_set and r.event is RecordEvent.VOIDED
        )

    def appended(self, records: Iterable[RegistryRecord]) -> Registry:
        """A new registry with ``records`` added; checked like a parsed one."""
        result = Registry(self.records + tuple(records))
        result.validate()
        return result


def _shape(shape: tuple[Scheme, int, int]) -> str:
    scheme, k, n = shape
    return f"XOR {n}" if scheme is Scheme.XOR else f"Shamir {k} of {n}"


# ---- bytes in, bytes out ----------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key[:40]!r}")
        result[key] = value
    return result


def _refuse(text: str) -> None:
    raise ValueError(f"{text} is not allowed")


def _enum(kind: type[enum.Enum], value: object, path: str) -> Any:
    for member in kind:
        # Schemes are written in lowercase, like the ceremony file.
        if (member.value.lower() if kind is Scheme else member.value) == value:
            return member
    choices = ", ".join(str(m.value).lower() for m in kind)
    raise ConfigError(f"{path} is not one of {choices}", hint="fix the entry")


def parse_registry(data: bytes) -> Registry:
    """A registry from its JSON bytes; strict: unknown or missing fields are errors."""
    if len(data) > MAX_REGISTRY:
        raise ConfigError("the custodian registry is too large", hint="is this the right file?")
    try:
        doc = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_float=_refuse,
            parse_constant=_refuse,
        )
    except (ValueError, UnicodeError, RecursionError) as ex:
        raise ConfigError(
            f"the custodian registry is not valid JSON ({str(ex)[:80]})",
            hint="restore the registry from its last signed copy",
        ) from None
    if not isinstance(doc, dict) or set(doc) != {"format", "records"}:
        raise ConfigError(
            "the custodian registry must hold exactly 'format' and 'records'",
            hint="is this the right file?",
        )
    if doc["format"] != FORMAT:
        raise ConfigError(
            f"the custodian registry format is not {FORMAT!r}", hint="is this the right file?"
        )
    if not isinstance(doc["records"], list):
        raise ConfigError("records is not a list", hint="restore the registry")
    records = []
    for i, raw in enumerate(doc["records"]):
        path = f"records[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{path} is not an object", hint="restore the registry")
        unknown = sorted(set(raw) - set(_RECORD_FIELDS) - set(_OPTIONAL_FIELDS))
        missing = sorted(set(_RECORD_FIELDS) - set(raw))
        if unknown:
            raise ConfigError(f"{path}.{unknown[0][:40]} is not a known field", hint="fix it")
        if missing:
            raise ConfigError(f"{path}.{missing[0]} is missing", hint="fix the entry")
        if "envelope" in raw and not isinstance(raw["envelope"], str):
            raise ConfigError(f"{path}.envelope is not a string", hint="fix the entry")
        record = RegistryRecord(
            ceremony=raw["ceremony"],
            key=raw["key"],
            set=raw["set"],
            scheme=_enum(Scheme, raw["scheme"], f"{path}.scheme"),
            threshold=raw["threshold"],
            count=raw["count"],
            component=raw["component"],
            person=raw["person"],
            name=raw["name"],
            id_reference=raw["id_reference"],
            holding=_enum(Holding, raw["holding"], f"{path}.holding"),
            event=_enum(RecordEvent, raw["event"], f"{path}.event"),
            time=raw["time"],
            envelope=raw.get("envelope"),
        )
        records.append(record)
    registry = Registry(tuple(records))
    registry.validate()
    return registry


def serialise_registry(registry: Registry) -> bytes:
    """Deterministic JSON (sorted keys, two-space indent, UTF-8, final newline)."""
    registry.validate()
    doc = {"format": FORMAT, "records": [r.as_json() for r in registry.records]}
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def empty() -> Registry:
    return Registry(())


# ---- rule checks ------------------------------------------------------------------------------


def check_assignments(
    registry: Registry,
    key: str,
    split_set: str,
    scheme: Scheme,
    threshold: int,
    assignments: Sequence[Assignment],
    roster: Roster | None = None,
    *,
    count: int | None = None,
    custodian_roles: Collection[Role] = (Role.KEY_CUSTODIAN,),
    also_held: Mapping[str, Collection[str]] | None = None,
    attempts_of: str | None = None,
    new_set: bool = False,
) -> None:
    """Split knowledge for ``assignments`` counting what the registry says people knew before.

    ``count`` is n when only some components of an existing set are listed. Anyone who held a
    component of another set of the same key (in the registry, or in ``also_held``: person ->
    set ids, e.g. the old set entered in this same re-split) may not receive one of this set.

    For a set the registry already knows (reconstitute, re-split), also refuses a component
    handed to someone who never held it: entering it would show them another's component.

    ``attempts_of`` is the ceremony file's id: the sets other attempts of that same file made
    (the ceremony id, ``<id>.r2``, ...; each after an interruption) do not count as other sets
    for a person who held there only the components they are given again now. Each attempt
    is a fresh split, so one component from each of several independent splits tells nothing
    about the key; every attempt but the last was voided by the restart that followed it.

    ``new_set``: the split is made now. Records the registry holds under its id are an
    earlier attempt of the same file (the first attempt is named by the file's id), so they
    count as another set and nobody is asked to have held them; their shape must still match.
    """
    shape = registry.shape(key, split_set)
    count = len(assignments) if count is None else count
    if shape is not None and shape != (scheme, threshold, count):
        raise RuleBreach(
            f"{SPLIT_KNOWLEDGE} (key {key!r}): the registry records set {split_set!r} as "
            f"{_shape(shape)}, the ceremony file as {_shape((scheme, threshold, count))}",
            rule=SPLIT_KNOWLEDGE,
            hint="check the split scheme and the set's ceremony id in the ceremony file",
        )
    require_split_knowledge(
        key,
        scheme,
        threshold,
        assignments,
        roster,
        {} if new_set else registry.knowledge(key, split_set),
        custodian_roles,
        _merge(
            _other_attempts_removed(
                registry, key, None if new_set else split_set, assignments, attempts_of
            ),
            also_held or {},
        ),
    )
    if shape is None or new_set:
        return
    held = registry.holders(key, split_set)
    who = roster.who if roster is not None else (lambda ids: ", ".join(ids))
    for a in assignments:
        for person in a.holders:
            if person not in held.get(a.index, frozenset()):
                raise RuleBreach(
                    f"{SPLIT_KNOWLEDGE} (key {key!r}): {who([person])} is named for component "
                    f"{a.index} of set {split_set!r}, but the registry shows it was held by "
                    f"{who(sorted(held.get(a.index, frozenset())))}",
                    rule=SPLIT_KNOWLEDGE,
                    people=(person,),
                    component=a.index,
                    hint="a custodian never sees another custodian's component",
                )


def _other_attempts_removed(
    registry: Registry,
    key: str,
    split_set: str | None,
    assignments: Sequence[Assignment],
    attempts_of: str | None,
) -> dict[str, frozenset[str]]:
    other = registry.other_sets(key, split_set)
    if attempts_of is None:
        return other
    given: dict[str, set[int]] = {}
    for a in assignments:
        for person in a.holders:
            given.setdefault(person, set()).add(a.index)
    result: dict[str, frozenset[str]] = {}
    for person, sets in other.items():
        kept = {
            s
            for s in sets
            if attempt_of(attempts_of, s) is None
            or not registry.knowledge(key, s).get(person, frozenset()) <= given.get(person, set())
        }
        if kept:
            result[person] = frozenset(kept)
    return result


def require_not_voided(registry: Registry, key: str, split_set: str) -> None:
    """Refuse to enter a component of a set that a restart voided (it is paper to destroy)."""
    record = registry.voided(key, split_set)
    if record is None:
        return
    indices = ", ".join(str(i) for i in sorted(registry.voided_components(key, split_set)))
    raise RuleBreach(
        f"{SPLIT_KNOWLEDGE} (key {key!r}): component(s) {indices} of set {split_set!r} were "
        f"voided by ceremony {record.ceremony!r} at {record.time}, after the ceremony that "
        "issued them was interrupted; a voided component is never entered again",
        rule=SPLIT_KNOWLEDGE,
        hint="destroy the voided papers in front of the witnesses; enter the components of "
        "the set the restarted ceremony issued",
    )


def _merge(
    first: Mapping[str, Collection[str]], second: Mapping[str, Collection[str]]
) -> dict[str, frozenset[str]]:
    merged: dict[str, set[str]] = {}
    for source in (first, second):
        for person, sets in source.items():
            merged.setdefault(person, set()).update(sets)
    return {person: frozenset(sets) for person, sets in merged.items()}


def check_identities(registry: Registry, roster: Roster) -> None:
    """Refuse one person under two participant ids: one identity document, or look-alike ids."""
    by_reference: dict[str, str] = {}
    by_id: dict[str, str] = {}
    for r in registry.records:
        for key in same_person_keys(r.id_reference):
            by_reference.setdefault(key, r.person)
        for key in same_person_keys(r.person):
            by_id.setdefault(key, r.person)

    def earlier_of(table: dict[str, str], text: str, person_id: str) -> str | None:
        found = (table[k] for k in same_person_keys(text) if k in table)
        return next((e for e in found if e != person_id), None)

    for person in roster.participants:
        earlier = earlier_of(by_reference, person.id_reference, person.id)
        if earlier is not None and earlier != person.id:
            raise RuleBreach(
                f"{SPLIT_KNOWLEDGE}: {person.describe()} shows the identity document the "
                f"registry records for {earlier!r}",
                rule=SPLIT_KNOWLEDGE,
                people=(person.id, earlier),
                hint="one person keeps one id across ceremonies; use the id in the registry",
            )
        earlier = earlier_of(by_id, person.id, person.id)
        if earlier is not None and earlier != person.id:
            raise RuleBreach(
                f"{SPLIT_KNOWLEDGE}: the id of {person.describe()} looks like {earlier!r}, an id "
                "the registry records (Unicode confusables)",
                rule=SPLIT_KNOWLEDGE,
                people=(person.id, earlier),
                hint="one person keeps one id across ceremonies; use the id in the registry, "
                "or give a different person an id that does not look like it",
            )


def issue_records(
    *,
    ceremony_id: str,
    key: str,
    split_set: str,
    scheme: Scheme,
    threshold: int,
    assignments: Sequence[Assignment],
    roster: Roster,
    event: RecordEvent,
    now: datetime,
    count: int | None = None,
    envelopes: Mapping[int, str] | None = None,
) -> tuple[RegistryRecord, ...]:
    """The records for one event on a set (issued, entered, to-destroy, destroyed).

    ``count`` is n when ``assignments`` are only some components of the set; ``envelopes``
    (component index -> serial) go on the custodian's record, who sealed the envelope.
    """
    time = format_time(now)
    records = []
    for a in assignments:
        for person_id, holding in ((a.custodian, Holding.CUSTODIAN), (a.backup, Holding.BACKUP)):
            if person_id is None:
                continue
            person = roster.get(person_id)
            records.append(
                RegistryRecord(
                    ceremony=ceremony_id,
                    key=key,
                    set=split_set,
                    scheme=scheme,
                    threshold=threshold,
                    count=len(assignments) if count is None else count,
                    component=a.index,
                    person=person.id,
                    name=person.name,
                    id_reference=person.id_reference,
                    holding=holding,
                    event=event,
                    time=time,
                    envelope=(envelopes or {}).get(a.index)
                    if holding is Holding.CUSTODIAN
                    else None,
                )
            )
    for i, record in enumerate(records):
        record.validate(f"new record {i}")
    return tuple(records)

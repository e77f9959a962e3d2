"""A restart after an interruption: what the aborted attempts left, destroyed or voided.

A rerun of a ceremony file whose journal ended aborted (or was interrupted) is a new ceremony,
``<id>.r<n>``, linked to the aborted one by its genesis entry (``journal_store.start``). Its
first step reads the aborted journals and says what they left; after roll call and the HSM
login, each key they made on the token is destroyed and each component they issued (or began
to show) is voided, each under two approvals; two more approvals start it again, and the
ceremony runs from its beginning. Nothing is resumed: every secret of the aborted run died with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ceremony.core import events, journal, recovery_events
from ceremony.core.ceremony_file import CeremonyFile, KeyEntry, KeyType, SplitSpec
from ceremony.core.component import Scheme
from ceremony.core.journal import FileDigest, FilePath, JournalValue, JsonValue, Label, PublicId
from ceremony.core.kcv import CheckValue, KcvMethod
from ceremony.core.registry import RecordEvent, issue_records, serialise_registry
from ceremony.core.rules import Operation
from ceremony.engine.context import Context, Flow
from ceremony.engine.journal_store import AbortedJournal
from ceremony.engine.registry_store import RegistryFile, write_registry
from ceremony.engine.step_id import Family, StepId
from ceremony.engine.steps import people
from ceremony.errors import CeremonyError, KeyNotFoundError, RuleViolation

STAGE = StepId(Family.RECOVERY)
RESTART = StepId(Family.RESTART)
_SHOWN = ("show-component", "print-component")
# How far a component got, most exposed last: each state says what the custodian may hold.
_STATES = ("approved to be shown", "printed", "issued", "sealed")


@dataclass(frozen=True)
class LeftKey:
    """A key an aborted attempt made on the token (generated or imported) and never destroyed."""

    label: str
    id_hex: str | None
    kcvs: tuple[tuple[str, str], ...]  # (method label, hex) as journaled
    how: str  # "generated in the HSM", "imported into the HSM"
    ceremony: str
    seq: int

    def kcv_text(self) -> str:
        return ", ".join(f"{m} {h}" for m, h in self.kcvs) or "none recorded"


@dataclass(frozen=True)
class LeftComponent:
    """A component an aborted attempt issued, printed or began to show: void from now on."""

    key: str
    split_set: str
    index: int
    custodian: str
    backup: str | None
    envelope: str | None
    state: str  # one of _STATES
    ceremony: str
    seq: int


@dataclass(frozen=True)
class LeftOutput:
    name: str
    sha256: str
    ceremony: str
    seq: int


@dataclass(frozen=True)
class DestroyedEarlier:
    """A destroy ceremony's key that an aborted attempt already destroyed (under dual control).

    ``interrupted``: the attempt asked the token to destroy it (approved, ``token_call``) and
    died before the answer was journaled; only the token can say now whether it is gone.
    """

    label: str
    id_hex: str | None
    kcvs: tuple[tuple[str, str], ...]
    ceremony: str
    seq: int
    interrupted: bool = False


@dataclass(frozen=True)
class Restart:
    """This attempt's link to the aborted ones and what they left."""

    ceremony_id: str  # this attempt's id
    aborted: tuple[AbortedJournal, ...]  # oldest first
    keys: tuple[LeftKey, ...]
    components: tuple[LeftComponent, ...]
    outputs: tuple[LeftOutput, ...]
    destroyed: tuple[DestroyedEarlier, ...]
    registry_written: tuple[str, ...]  # aborted attempts that wrote the custodian registry
    attempts: tuple[tuple[str, journal.Entry], ...] = ()  # (ceremony, attempt_failed entry)

    @property
    def previous(self) -> AbortedJournal:
        return self.aborted[-1]

    def component_keys(self) -> list[str]:
        return list(dict.fromkeys(c.key for c in self.components))


# ---- reading the aborted journals (pure) -----------------------------------------------------


def _text(data: dict[str, JsonValue], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) else None


def _list(data: dict[str, JsonValue], name: str) -> list[JsonValue]:
    value = data.get(name)
    return value if isinstance(value, list) else []


def _kcvs(data: dict[str, JsonValue]) -> tuple[tuple[str, str], ...]:
    found = []
    for item in _list(data, "kcvs"):
        if isinstance(item, dict):
            method, value = item.get("kcv_method"), item.get("kcv")
            if isinstance(method, str) and isinstance(value, str):
                found.append((method, value))
    return tuple(found)


def _key_id(data: dict[str, JsonValue]) -> str | None:
    attributes = data.get("attributes")
    if isinstance(attributes, dict):
        value = attributes.get("id")
        return value if isinstance(value, str) else None
    return None


def _new_split(cf: CeremonyFile, label: str) -> tuple[KeyEntry, SplitSpec] | None:
    for key in cf.keys:
        if key.label == label:
            split = key.new_split if key.new_split is not None else key.split
            return (key, split) if split.scheme is not None else None
    return None


def read_restart(
    ceremony_id: str,
    aborted: Sequence[AbortedJournal],
    cf: CeremonyFile,
) -> Restart:
    """What the aborted attempts left, from their journals (oldest first).

    A component a cut-short restart voided in the registry but never journaled as voided is
    still listed: this attempt journals the void (the registry is not written twice).
    """
    keys: dict[str, LeftKey] = {}
    components: dict[tuple[str, str, int], LeftComponent] = {}
    outputs: list[LeftOutput] = []
    destroyed: dict[str, DestroyedEarlier] = {}
    written: list[str] = []
    failed: list[tuple[str, journal.Entry]] = []
    for attempt in aborted:
        owner = attempt.ceremony_id
        asked: dict[str, journal.Entry] = {}  # token calls whose answer never reached the journal
        for entry in attempt.verified.entries:
            d, e = entry.data, entry.event
            label = _text(d, "key")
            if e == "token_call" and label:
                asked[label] = entry
            elif label and e in ("key_generated", "key_imported", "key_destroyed"):
                asked.pop(label, None)
            if e == "key_generated" and label and d.get("where") == "hsm":
                keys[label] = LeftKey(
                    label, _key_id(d), _kcvs(d), "generated in the HSM", owner, entry.seq
                )
            elif e == "key_imported" and label:
                keys[label] = LeftKey(
                    label, _key_id(d), _kcvs(d), "imported into the HSM", owner, entry.seq
                )
            elif e in ("key_destroyed", "orphan_key_absent") and label:
                if label in keys:
                    del keys[label]  # an orphan an earlier restart already destroyed
                elif e == "key_destroyed":
                    destroyed[label] = DestroyedEarlier(
                        label, _text(d, "id"), _kcvs(d), owner, entry.seq
                    )
            elif e in ("component_issued", "component_printed", "envelope_sealed") or (
                e == "approval" and d.get("operation") in _SHOWN
            ):
                _component(components, cf, owner, entry.seq, e, d)
            elif e == "components_voided" and label:
                split_set = _text(d, "split_set") or ""
                for item in _list(d, "components"):
                    if isinstance(item, dict) and isinstance(item.get("index"), int):
                        components.pop((label, split_set, int(item["index"])), None)  # type: ignore[arg-type]
            elif e == "output_written":
                name, digest = _text(d, "name"), _text(d, "sha256")
                if name and digest:
                    outputs.append(LeftOutput(name, digest, owner, entry.seq))
            elif e == "wrapped":
                for f in _list(d, "files"):
                    if isinstance(f, dict):
                        name, digest = _text(f, "name"), _text(f, "sha256")
                        if name and digest:
                            outputs.append(LeftOutput(name, digest, owner, entry.seq))
            elif e == "registry_updated":
                written.append(owner)
            elif e == "attempt_failed":
                failed.append((owner, entry))
        for label, entry in asked.items():
            _unanswered(keys, destroyed, owner, label, entry)
    return Restart(
        ceremony_id,
        tuple(aborted),
        tuple(keys.values()),
        tuple(sorted(components.values(), key=lambda c: (c.key, c.split_set, c.index))),
        tuple(outputs),
        tuple(destroyed.values()),
        tuple(dict.fromkeys(written)),
        tuple(failed),
    )


def _unanswered(
    keys: dict[str, LeftKey],
    destroyed: dict[str, DestroyedEarlier],
    owner: str,
    label: str,
    entry: journal.Entry,
) -> None:
    """A token call the attempt died inside: the key may or may not be on the token now."""
    call = _text(entry.data, "call")
    if call in (recovery_events.TokenCall.GENERATE.value, recovery_events.TokenCall.IMPORT.value):
        # The label was checked free after the login, just before: whatever carries it now
        # was made by this call. The restart asks the token and destroys it if it is there.
        how = "generated" if call == recovery_events.TokenCall.GENERATE.value else "imported"
        keys[label] = LeftKey(
            label, None, (), f"being {how} in the HSM when the interruption came", owner, entry.seq
        )
    elif call == recovery_events.TokenCall.DESTROY.value and label not in keys:
        destroyed[label] = DestroyedEarlier(
            label, _text(entry.data, "id"), _kcvs(entry.data), owner, entry.seq, interrupted=True
        )


def _component(
    found: dict[tuple[str, str, int], LeftComponent],
    cf: CeremonyFile,
    owner: str,
    seq: int,
    event: str,
    d: dict[str, JsonValue],
) -> None:
    label, index = _text(d, "key"), d.get("index")
    if label is None or not isinstance(index, int) or isinstance(index, bool):
        return
    split_set = _text(d, "split_set") or owner  # a new set is named by the ceremony making it
    planned = _new_split(cf, label)
    spec = None
    if planned is not None:
        spec = next((c for c in planned[1].components if c.index == index), None)
    custodian = _text(d, "custodian") or (spec.custodian if spec else "?")
    state = {
        "component_issued": "issued",
        "component_printed": "printed",
        "envelope_sealed": "sealed",
    }.get(event, _STATES[0])
    earlier = found.get((label, split_set, index))
    if earlier is not None and _STATES.index(earlier.state) > _STATES.index(state):
        state = earlier.state
    found[(label, split_set, index)] = LeftComponent(
        label,
        split_set,
        index,
        custodian,
        spec.backup if spec else None,
        (spec.envelope if spec else None) or _text(d, "envelope"),
        state,
        owner,
        earlier.seq if earlier is not None else seq,
    )


# ---- plain words ------------------------------------------------------------------------------


def _who(ctx: Context, person: str | None) -> str:
    if person is None:
        return ""
    return ctx.roster.get(person).describe() if person in ctx.roster else person


def component_line(ctx: Context, c: LeftComponent) -> str:
    backup = f" (backup {_who(ctx, c.backup)})" if c.backup else ""
    envelope = f", envelope {c.envelope}" if c.envelope and c.state == "sealed" else ""
    if c.state == _STATES[0]:
        what = "was approved to be shown (it may have been on the screen or the printer)"
    elif c.state == "printed":
        what = "was printed"
    else:
        what = "was shown and confirmed" + (" and sealed" if c.state == "sealed" else "")
    return (
        f"Component {c.index} of key {c.key} (set {c.split_set}) {what} for "
        f"{_who(ctx, c.custodian)}{backup}{envelope}, entry {c.seq} of {c.ceremony}: it is "
        "voided; its paper is destroyed in front of the witnesses."
    )


def lines(ctx: Context, restart: Restart) -> list[str]:
    """What the interruption left, for the security officer to read aloud."""
    out = []
    for a in restart.aborted:
        last = a.verified.entries[-2] if len(a.verified.entries) > 1 else a.verified.last
        how = "was interrupted" if a.recovery is not None else "was stopped"
        out.append(
            f"Ceremony {a.ceremony_id} {how} after entry {last.seq} ({last.event}) at "
            f"{last.time}; its journal {a.path.name} now ends aborted: {a.reason}"
        )
    link = journal.hash_groups(restart.previous.final_hash)[:19]
    out.append(
        f"This run is a new ceremony, {restart.ceremony_id}, linked to "
        f"{restart.previous.ceremony_id} by its final hash {link} ... . It "
        "starts again from the beginning: nothing of the interrupted run is reused."
    )
    for k in restart.keys:
        if k.kcvs or k.id_hex:
            out.append(
                f"On the token: key {k.label}, id {k.id_hex or 'not recorded'}, KCV "
                f"{k.kcv_text()}, {k.how} by {k.ceremony} (entry {k.seq}). It is destroyed "
                "after the HSM login (two approvals, one by a security officer)."
            )
        else:
            out.append(
                f"Perhaps on the token: key {k.label} was {k.how} by {k.ceremony} (its entry "
                f"{k.seq} asked the token; no answer was journaled). After the HSM login the "
                "token is asked: a key with that label is destroyed (two approvals, one by a "
                "security officer); none there is recorded as absent."
            )
    for c in restart.components:
        out.append(component_line(ctx, c))
    for d in restart.destroyed:
        if d.interrupted:
            out.append(
                f"Key {d.label}: {d.ceremony} asked the token to destroy it (entry {d.seq}, "
                "after two approvals) and was interrupted before the answer was journaled. Its "
                "destroy step asks the token: if the key is gone that is recorded; if it is "
                "there it is destroyed as planned, under two new approvals."
            )
        else:
            out.append(
                f"Key {d.label} was destroyed by {d.ceremony} (entry {d.seq}); its destroy step "
                "checks that it is gone from the token and records it."
            )
    for o in restart.outputs:
        out.append(
            f"Output {o.name} (SHA-256 {o.sha256[:16]}...) was written by {o.ceremony}: it "
            "stays as evidence of the aborted ceremony and is never used."
        )
    for owner in restart.registry_written:
        out.append(f"{owner} wrote the custodian registry; its records stay, and voids follow.")
    if restart.attempts:
        out.append(
            f"{len(restart.attempts)} failed attempt(s) in the aborted journal(s) (wrong PIN, "
            "passphrase, KCV or serial): the record of this ceremony lists them."
        )
    if not (restart.keys or restart.components or restart.outputs or restart.destroyed):
        out.append("The interruption left no key on the token, no component and no output.")
    out.append(
        f"The record of {restart.ceremony_id} names {restart.previous.ceremony_id} as aborted and "
        "lists every key destroyed and every component voided here; 'ceremony verify' checks "
        "the link."
    )
    return out


# ---- the steps --------------------------------------------------------------------------------


def stages(restart: Restart | None) -> tuple[list[tuple[StepId, str]], list[tuple[StepId, str]]]:
    """The plan's recovery stages: (before the air-gap check, after the HSM login)."""
    if restart is None:
        return [], []
    first = [(STAGE, f"Recovery: what ceremony {restart.previous.ceremony_id} left")]
    after = [
        (StepId.of(Family.ORPHAN, k.label), f"Key {k.label}: orphan destroyed")
        for k in restart.keys
    ]
    after += [
        (StepId.of(Family.VOID, key), f"Key {key}: components voided")
        for key in restart.component_keys()
    ]
    after.append((RESTART, f"Start again as {restart.ceremony_id} (two approvals)"))
    return first, after


def review(ctx: Context) -> Flow[None]:
    """First of all: a security officer reads aloud what the interruption left, and confirms."""
    restart = ctx.restart
    if restart is None:
        return
    ctx.stage(STAGE)
    by = yield from ctx.confirm(
        STAGE,
        ctx.officers(),
        f"Ceremony {restart.previous.ceremony_id} did not finish. A security officer reads "
        "these lines aloud to everyone. After roll call and the HSM login, each key listed is "
        "destroyed and each component listed is voided, each under two approvals; two more "
        "approvals then start the ceremony again from its beginning. Type yes to go on, or "
        "stop the ceremony to leave everything as it is.",
        lines(ctx, restart),
    )
    ctx.journal(
        recovery_events.recovery_reviewed(
            aborted=[
                {
                    "ceremony": Label(a.ceremony_id),
                    "journal": FilePath(a.path.name),
                    "final_hash": FileDigest(bytes.fromhex(a.final_hash)),
                    "interrupted": a.recovery is not None,
                }
                for a in restart.aborted
            ],
            keys=[_key_data(k.label, k.id_hex, k.kcvs, k.ceremony, k.seq) for k in restart.keys],
            components=[_component_data(c) for c in restart.components],
            outputs=[
                {
                    "name": FilePath(o.name),
                    "sha256": FileDigest(bytes.fromhex(o.sha256)),
                    "ceremony": Label(o.ceremony),
                }
                for o in restart.outputs
            ],
            destroyed=[
                _key_data(d.label, d.id_hex, d.kcvs, d.ceremony, d.seq) for d in restart.destroyed
            ],
            confirmed_by=by,
            failed_attempts=[_attempt_data(ctx, owner, e) for owner, e in restart.attempts],
        ),
        [by],
    )


_ATTEMPT_TEXTS = ("kind", "role", "token_reports")
_ATTEMPT_NUMBERS = ("attempt", "limit", "tries_left")


def _attempt_data(ctx: Context, owner: str, entry: journal.Entry) -> dict[str, JournalValue]:
    """An aborted journal's failed attempt, as this journal repeats it (never a typed value)."""
    d = entry.data
    data: dict[str, JournalValue] = {
        "ceremony": Label(owner),
        "seq": entry.seq,
        "time": journal.Text(entry.time),
        "step": journal.Message.screened(_text(d, "step") or "?", ctx.screen),
        "counter": journal.Message.screened(_text(d, "counter") or "?", ctx.screen),
        "participants": [Label(p) for p in _list(d, "participants") if isinstance(p, str)],
    }
    for name in _ATTEMPT_TEXTS:
        value = _text(d, name)
        if value is not None:
            data[name] = journal.Message.screened(value, ctx.screen)
    for name in _ATTEMPT_NUMBERS:
        number = d.get(name)
        if isinstance(number, int) and not isinstance(number, bool):
            data[name] = number
    return data


def _key_data(
    label: str, id_hex: str | None, kcvs: Sequence[tuple[str, str]], ceremony: str, seq: int
) -> dict[str, JournalValue]:
    data: dict[str, JournalValue] = {
        "key": Label(label),
        "kcvs": [_check_value(m, h) for m, h in kcvs],
        "ceremony": Label(ceremony),
        "seq": seq,
    }
    if id_hex:
        data["id"] = PublicId(id_hex)
    return data


def _check_value(method: str, hex_value: str) -> CheckValue:
    return CheckValue(KcvMethod(method), bytes.fromhex(hex_value))


def _component_data(c: LeftComponent) -> dict[str, JournalValue]:
    data: dict[str, JournalValue] = {
        "key": Label(c.key),
        "split_set": Label(c.split_set),
        "index": c.index,
        "custodian": Label(c.custodian),
        "state": Label(c.state.replace(" ", "-")),
        "ceremony": Label(c.ceremony),
    }
    if c.backup:
        data["backup"] = Label(c.backup)
    if c.envelope:
        data["envelope"] = journal.Text(c.envelope)
    return data


def clean_up(ctx: Context) -> Flow[None]:
    """After the HSM login: each orphaned key destroyed, each component left voided."""
    restart = ctx.restart
    if restart is None:
        return
    for left in restart.keys:
        yield from _destroy_orphan(ctx, left)
    for key in restart.component_keys():
        yield from _void(ctx, key, [c for c in restart.components if c.key == key])
    ctx.stage(RESTART)
    previous = restart.previous.ceremony_id
    yield from people.approve(
        ctx,
        Operation.RESTART,
        previous,
        lines=[
            f"Ceremony {previous} did not finish; what it left on the token and with the "
            "custodians is dealt with above.",
            f"This run, {restart.ceremony_id}, now does the work of the ceremony file again from "
            f"its beginning: new key material, new components, outputs in its own bundle. "
            f"Nothing of {previous} is reused.",
        ],
    )


def _destroy_orphan(ctx: Context, left: LeftKey) -> Flow[None]:
    ctx.stage(StepId.of(Family.ORPHAN, left.label))
    try:
        attrs = ctx.hsm.key_attributes(left.label)
    except KeyNotFoundError:
        ctx.journal(
            recovery_events.orphan_key_absent(key=left.label, id=left.id_hex, left_by=left.ceremony)
        )
        ctx.notice(f"Key {left.label} of {left.ceremony} is not on the token: nothing to destroy.")
        return
    if left.id_hex and attrs.id_hex.lower() != left.id_hex.lower():
        raise RuleViolation(
            f"the key labelled {left.label!r} on the token has id {attrs.id_hex}, not the id "
            f"{left.id_hex} that {left.ceremony} recorded when it made it: nothing was destroyed",
            hint="stop and check the token with 'ceremony hsm info'; destroy the key the journal "
            "names with a destroy ceremony once it is identified",
        )
    shown = [
        f"Key {left.label}: {attrs.object_class}, {attrs.key_type}, id {attrs.id_hex}",
        f"Made by the interrupted ceremony {left.ceremony} ({left.how}, entry {left.seq}); "
        "no finished ceremony ever used it.",
    ]
    key_type = _key_type(ctx, left.label)
    if left.kcvs and key_type in (KeyType.AES, KeyType.HMAC):
        current = ctx.hsm.check_values(left.label)
        by_method = {v.method.label: v for v in current.values}
        for method, recorded in left.kcvs:
            value = by_method.get(method)
            if value is None:
                continue
            if value.hex != recorded.upper():
                raise RuleViolation(
                    f"the key labelled {left.label!r} on the token has {method} KCV {value.hex}, "
                    f"not {recorded} as {left.ceremony} recorded: nothing was destroyed",
                    hint="stop and check the token; this is not the key the journal names",
                )
            shown.append(f"Its KCV on the token: {method} {value.hex}, as recorded.")
    approvers = yield from people.approve(ctx, Operation.DESTROY, left.label, lines=shown)
    ctx.journal(
        recovery_events.token_call(
            call=recovery_events.TokenCall.DESTROY, key=left.label, id=attrs.id_hex
        )
    )
    record = ctx.hsm.destroy(left.label)
    ctx.journal(
        events.key_destroyed(
            key=left.label,
            id=record.id_hex or "none",
            kcvs=record.check_values,
            left_by=left.ceremony,
        ),
        approvers,
    )
    ctx.notice(f"Orphaned key {left.label} destroyed ({', '.join(record.objects)}).")
    ctx.count("orphaned key(s) destroyed")


def _key_type(ctx: Context, label: str) -> KeyType | None:
    return next((k.type for k in ctx.cf.keys if k.label == label), None)


def _void(ctx: Context, key: str, left: list[LeftComponent]) -> Flow[None]:
    ctx.stage(StepId.of(Family.VOID, key))
    shown = [component_line(ctx, c) for c in left]
    holders = frozenset(p for c in left for p in (c.custodian, c.backup) if p and p in ctx.roster)
    approvers = yield from people.approve(
        ctx, Operation.VOID_COMPONENTS, key, lines=shown, involved=holders
    )
    by_set: dict[str, list[LeftComponent]] = {}
    for c in left:
        by_set.setdefault(c.split_set, []).append(c)
    for split_set, voided in by_set.items():
        _void_in_registry(ctx, key, split_set, voided)
        ctx.journal(
            recovery_events.components_voided(
                key=key,
                split_set=split_set,
                components=[_component_data(c) for c in voided],
                left_by=voided[0].ceremony,
                approvers=approvers,
            ),
            approvers,
        )
        ctx.count("component(s) voided", len(voided))
    ctx.notice(
        f"{len(left)} component(s) of key {key} voided: their custodians destroy the papers "
        "now, in front of the witnesses."
    )


def _void_in_registry(ctx: Context, key: str, split_set: str, voided: list[LeftComponent]) -> None:
    """VOIDED records, written at once: a crash later in this run cannot undo the void."""
    if ctx.registry is None:
        return
    planned = _new_split(ctx.cf, key)
    if planned is None:
        raise CeremonyError(f"key {key!r} has no split in the ceremony file", hint="bug")
    split = planned[1]
    # A restart cut short after it wrote the registry voided these already: not twice.
    wanted = {c.index for c in voided} - ctx.registry.registry.voided_components(key, split_set)
    if not wanted:
        return
    records = issue_records(
        ceremony_id=ctx.ceremony_id,
        key=key,
        split_set=split_set,
        scheme=split.scheme or Scheme.XOR,
        threshold=split.k,
        assignments=[c.assignment for c in split.components if c.index in wanted],
        roster=ctx.roster,
        event=RecordEvent.VOIDED,
        now=ctx.now(),
        count=split.count,
    )
    new = ctx.registry.registry.appended(records)
    written = write_registry(ctx.registry, new, f"{ctx.ceremony_id}-void-{key}-{split_set}")
    ctx.registry = RegistryFile(ctx.registry.path, new, serialise_registry(new))
    ctx.journal(
        events.registry_updated(
            name=ctx.cf.ceremony.registry or ctx.registry.path.name,
            sha256=written.sha256,
            records=written.records,
            previous_sha256=written.previous_sha256,
        )
    )


def destroyed_earlier(ctx: Context, key: KeyEntry) -> bool:
    """Destroy: True when an aborted attempt destroyed this key and it is gone from the token.

    Safe to record instead of repeating: the destruction was approved and journaled in the
    aborted attempt (named here by entry), and the token is asked now that the key is absent.
    """
    restart = ctx.restart
    found = next((d for d in restart.destroyed if d.label == key.label), None) if restart else None
    if found is None:
        return False
    try:
        ctx.hsm.key_attributes(key.label)
    except KeyNotFoundError:
        ctx.journal(
            recovery_events.key_destroyed_earlier(
                key=key.label,
                id=found.id_hex,
                kcvs=[_check_value(m, h) for m, h in found.kcvs],
                ceremony=found.ceremony,
                seq=found.seq,
                interrupted=found.interrupted,
            )
        )
        how = "was asked to be destroyed" if found.interrupted else "was destroyed"
        ctx.notice(
            f"Key {key.label} {how} by {found.ceremony} (entry {found.seq}) and is not on "
            "the token: recorded, nothing more to destroy."
        )
        ctx.count("key(s) found destroyed by the aborted ceremony")
        return True
    return False  # a key with this label is there again: the destroy step checks it as usual

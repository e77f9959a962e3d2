"""What the record shows and what ``ceremony verify`` checks, read from a verified journal only.

Pure: entries in, a ``Model`` out, no I/O. The event names and fields are those of
docs/journal-events.md. The journal's ``data`` is plain JSON from a file that may be hostile, so
every field is read defensively: a missing or mistyped field shows as "?" and, where a rule
depends on it, fails that rule's check instead of crashing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ceremony.core.component import Scheme
from ceremony.core.journal import Entry, JsonValue, Verified
from ceremony.core.rules import (
    APPROVAL_POLICY,
    DUAL_CONTROL,
    ROLES,
    SPLIT_KNOWLEDGE,
    Operation,
    Role,
    knowledge_limit,
)
from ceremony.errors import RecordError
from ceremony.record import attempts as A
from ceremony.record.describe import describe
from ceremony.record.fields import (
    UNKNOWN,
    number,
    text,
    texts,
)
from ceremony.record.key_sections import ComponentRow as ComponentRow
from ceremony.record.key_sections import KeySection as KeySection
from ceremony.record.key_sections import add_key_event

# Manual clear-text events and the approved operations that may cover them.
_CLEAR_EVENTS: Mapping[str, tuple[Operation, ...]] = {
    "component_issued": (Operation.SHOW_COMPONENT, Operation.PRINT_COMPONENT),
    "component_shown_again": (Operation.SHOW_COMPONENT_AGAIN,),
    "component_entered": (Operation.ENTER_COMPONENT,),
    "key_combined": (Operation.ASSEMBLE_KEY,),
    "key_block_opened": (Operation.OPEN_KEY_BLOCK,),
    "key_exported": (Operation.CLEAR_EXPORT,),
    "wrapped": (Operation.SOFTWARE_WRAP,),
    "key_generated": (Operation.GENERATE_OUTSIDE_HSM,),
}
# Not clear-text operations, yet each needs its own earlier approval.
_APPROVED_EVENTS: Mapping[str, tuple[Operation, ...]] = {
    "key_destroyed": (Operation.DESTROY,),
    "key_block_written": (Operation.WRAP_KEY_BLOCK,),
    "components_voided": (Operation.VOID_COMPONENTS,),
}
_RECOVERY_EVENTS = frozenset(
    {"recovery_reviewed", "orphan_key_absent", "components_voided", "key_destroyed_earlier"}
)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CUSTODIAN_ROLES = frozenset({Role.KEY_CUSTODIAN.value, Role.BACKUP_CUSTODIAN.value})
_INDEX_RES = (
    re.compile(r"\b(?:component|share)\s*#?\s*(\d{1,3})\b", re.IGNORECASE),
    re.compile(r"#(\d{1,3})\b"),
    re.compile(r"\b(\d{1,3})\s*(?:of|/)\s*\d{1,3}\b", re.IGNORECASE),
)


# ---- the model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One rule checked against the journal: PASS or FAIL with its reason."""

    rule: str
    ok: bool
    detail: str
    seq: int | None = None
    subject: str = ""  # what the line is about when ``seq`` does not say it (a person, a key)

    @property
    def check(self) -> str:
        where = self.subject or (f"entry {self.seq}" if self.seq is not None else "")
        return f"{self.rule}, {where}" if where else self.rule


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str
    id_reference: str
    seq: int


@dataclass(frozen=True)
class ClearOperation:
    """A manual clear-text operation (or a destruction) and the approval that covered it."""

    seq: int
    time: str
    event: str
    operation: str  # the operation(s) that may approve it, e.g. "print-component"
    key: str
    index: int | None
    custodian: str | None
    manual_cleartext: bool
    approval_seq: int | None
    approvers: tuple[str, ...]
    ok: bool
    reason: str

    @property
    def subject(self) -> str:
        return self.key if self.index is None else f"{self.key} component {self.index}"


@dataclass
class TargetSection:
    key: str
    target: str
    provider: str = UNKNOWN
    method: str = UNKNOWN
    fingerprint: str = UNKNOWN
    # What ``fingerprint`` is of: "" the wrapping key, or events.ROOT_CA_CERTIFICATE, then
    # with the wrapping key's own fingerprint beside it.
    fingerprint_of: str = ""
    wrapping_key: str = ""
    confirmed_by: list[str] = field(default_factory=list)
    valid_to: str = "-"
    where: str = UNKNOWN
    mechanisms: list[str] = field(default_factory=list)
    files: list[tuple[str, str]] = field(default_factory=list)
    seq: int | None = None


@dataclass(frozen=True)
class Step:
    seq: int
    time: str
    event: str
    actors: tuple[str, ...]
    summary: str
    manual_cleartext: bool
    rules: tuple[str, ...]


@dataclass(frozen=True)
class OutputFile:
    name: str
    sha256: str
    kind: str
    seq: int


@dataclass
class Model:
    """Everything the record prints, in the order it prints it."""

    ceremony_id: str
    entries: tuple[Entry, ...]
    genesis: dict[str, JsonValue]
    attested: dict[str, JsonValue] | None = None
    airgap: list[tuple[int, dict[str, JsonValue]]] = field(default_factory=list)
    participants: list[Person] = field(default_factory=list)
    hsm: list[tuple[int, dict[str, JsonValue]]] = field(default_factory=list)
    signing: list[tuple[int, dict[str, JsonValue]]] = field(default_factory=list)
    random_sources: list[tuple[int, str]] = field(default_factory=list)
    printers: list[tuple[int, str, dict[str, JsonValue]]] = field(default_factory=list)
    keys: dict[str, KeySection] = field(default_factory=dict)
    targets: list[TargetSection] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    clear_operations: list[ClearOperation] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    outputs: list[OutputFile] = field(default_factory=list)
    attempts: list[A.Attempt] = field(default_factory=list)  # failed attempts, in order
    earlier_attempts: list[A.Attempt] = field(default_factory=list)  # the aborted attempts'
    # A restart after an interruption: what this ceremony destroyed or voided of the aborted one.
    recovery: list[tuple[int, str]] = field(default_factory=list)

    @property
    def restarts(self) -> Mapping[str, JsonValue] | None:
        """The genesis link to the aborted ceremony this one restarts (None: a first attempt)."""
        link = self.genesis.get("restarts")
        return link if isinstance(link, dict) else None

    @property
    def final_hash(self) -> str:
        return self.entries[-1].hash

    @property
    def last(self) -> Entry:
        return self.entries[-1]

    @property
    def rehearsal(self) -> bool:
        return self.genesis.get("rehearsal") is True

    @property
    def ceremony_type(self) -> str:
        return text(self.genesis, "ceremony_type")

    def person(self, person_id: str) -> Person | None:
        for p in self.participants:
            if p.id == person_id:
                return p
        return None

    def who(self, person_id: str) -> str:
        p = self.person(person_id)
        return f"{p.name} ({p.id})" if p else f"{person_id} (not at roll call)"

    def key(self, label: str) -> KeySection:
        if label not in self.keys:
            self.keys[label] = KeySection(label)
        return self.keys[label]

    @property
    def all_files(self) -> list[tuple[str, str, int]]:
        """Every output file the journal names with its SHA-256: (name, sha256, seq)."""
        found: list[tuple[str, str, int]] = []
        for t in self.targets:
            found.extend((n, h, t.seq or 0) for n, h in t.files)
        found.extend((o.name, o.sha256, o.seq) for o in self.outputs)
        return found

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]


# ---- building ----------------------------------------------------------------------------------


def subject_names(subject: str, key: str, index: int | None) -> bool:
    """Whether an approval's ``subject`` names ``key`` (and component ``index`` when given).

    The engine writes ``"<key> component <index>"``; ``#<index>`` and ``<index> of <n>`` are
    read too. The key must be a whole word of the subject.
    """
    words = [w.strip(".,;:()'\"") for w in subject.split()]
    if key not in words:
        return False
    if index is None:
        return True
    found: set[int] = set()
    for pattern in _INDEX_RES:
        found.update(int(m) for m in pattern.findall(subject))
    return index in found


def _approval_names(data: Mapping[str, JsonValue], key: str, index: int | None) -> bool:
    """An approval's structured ``key``/``index`` when journaled, else its ``subject`` text."""
    if isinstance(data.get("key"), str):
        if data["key"] != key:
            return False
        if index is None:
            return True
        if "index" in data:
            return data.get("index") == index
    return subject_names(text(data, "subject"), key, index)


def _is_manual(entry: Entry) -> bool:
    d = entry.data
    if d.get("manual_cleartext") is True:
        return True
    if entry.event == "wrapped" and d.get("where") == "software":
        return True
    return entry.event == "key_generated" and d.get("where") == "memory"


def _index(data: Mapping[str, JsonValue]) -> int | None:
    return number(data, "index")


class _Builder:
    def __init__(self, verified: Verified) -> None:
        entries = verified.entries
        self.m = Model(verified.ceremony_id, entries, dict(entries[0].data))
        self.approvals: list[Entry] = []
        # (key, split_set) -> person -> indices, for issued and entered separately
        self.known: dict[tuple[int, str, str, str], dict[str, set[int]]] = {}
        self.sets: dict[tuple[str, str], tuple[str, int | None]] = {}  # scheme, threshold
        self.envelope_bad: set[tuple[str, int]] = set()
        self.sealed: dict[tuple[str, int], str] = {}  # (key, index) -> envelope serial
        self.run = 1
        self.roll_call: set[str] = set()  # who answered in this run

    def finding(
        self, rule: str, ok: bool, detail: str, seq: int | None = None, subject: str = ""
    ) -> str:
        self.m.findings.append(Finding(rule, ok, detail, seq, subject))
        return f"{rule}: {'ok' if ok else 'BROKEN'}"

    def build(self) -> Model:
        for entry in self.m.entries:
            rules = self.entry(entry)
            self.m.steps.append(
                Step(
                    entry.seq,
                    entry.time,
                    entry.event,
                    entry.actors,
                    describe(entry),
                    _is_manual(entry),
                    tuple(rules),
                )
            )
        self.split_knowledge()
        self.m.attempts = A.read(self.m.entries)
        self.m.earlier_attempts = A.read_earlier(self.m.entries)
        for c in A.check(self.m.entries):
            self.finding(A.RULE, c.ok, c.detail, c.seq, subject=c.subject)
        return self.m

    # -- per event

    def entry(self, entry: Entry) -> list[str]:
        d = entry.data
        e = entry.event
        m = self.m
        rules: list[str] = []
        if e == "time_attested":
            m.attested = dict(d)
        elif e == "airgap_checked":
            m.airgap.append((entry.seq, dict(d)))
            if d.get("isolated") is not True:
                if self.m.rehearsal and "override_by" not in d:
                    rules.append(
                        self.finding(
                            "air gap",
                            True,
                            f"rehearsal on a machine that is not isolated (entry {entry.seq}); "
                            "allowed in rehearsal only",
                            entry.seq,
                        )
                    )
                else:
                    rules.append(self.override(entry, texts(d, "override_by"), "air-gap override"))
        elif e == "run_started":
            # A new run repeats every step: approvals and roll call of an aborted run count no more.
            self.run += 1
            self.approvals.clear()
            self.roll_call.clear()
        elif e == "participant_present":
            person = Person(
                text(d, "participant"),
                text(d, "name"),
                text(d, "role"),
                text(d, "id_reference"),
                entry.seq,
            )
            if person.id in self.roll_call:
                rules.append(
                    self.finding(
                        ROLES, False, f"{person.id} answered the roll call twice", entry.seq
                    )
                )
            self.roll_call.add(person.id)
            if m.person(person.id) is None:
                m.participants.append(person)
        elif e == "hsm_opened":
            m.hsm.append((entry.seq, dict(d)))
        elif e == "signing_identity":
            m.signing.append((entry.seq, dict(d)))
        elif e == "random_source":
            m.random_sources.append((entry.seq, text(d, "source")))
        elif e == "approval":
            _known_operation(entry)
            self.approvals.append(entry)
        elif e == "printer_override":
            m.printers.append((entry.seq, e, dict(d)))
            rules.append(self.override(entry, texts(d, "approvers"), "network printer override"))
        elif e == "printer_checked":
            m.printers.append((entry.seq, e, dict(d)))
        add_key_event(self.m.key, entry)
        if e == "output_written":
            m.outputs.append(
                OutputFile(text(d, "name"), text(d, "sha256"), text(d, "kind"), entry.seq)
            )
        if e in ("import_key_confirmed", "wrapped"):
            self.target(entry)
        if _is_manual(entry) or e in _APPROVED_EVENTS:
            rules.append(self.clear_operation(entry))
        if (
            e in _RECOVERY_EVENTS
            or (e == "key_destroyed" and "left_by" in d)
            or (e == "approval" and d.get("operation") == Operation.RESTART.value)
        ):
            m.recovery.append((entry.seq, describe(entry)))
        if e in ("component_issued", "component_entered"):
            rules.append(self.component(entry))
        if e in ("component_issued", "envelope_sealed") and isinstance(d.get("envelope"), str):
            index = _index(d)
            if index is not None:
                self.sealed[(text(d, "key"), index)] = text(d, "envelope")
        if e == "envelope_checked":
            rules.append(self.envelope(entry))
        if e == "key_combined" and d.get("matches_recorded") is not True:
            rules.append(
                self.finding(
                    "key check value",
                    False,
                    f"key {text(d, 'key')} was combined with a KCV that does not match the "
                    "recorded one, and the ceremony went on",
                    entry.seq,
                )
            )
        return rules

    def override(self, entry: Entry, approvers: Sequence[str], what: str) -> str:
        officers = [
            a
            for a in approvers
            if (p := self.m.person(a)) is not None and p.role == Role.SECURITY_OFFICER.value
        ]
        ok = len(set(officers)) >= 2 and len(set(approvers)) == len(approvers)
        who = ", ".join(self.m.who(a) for a in approvers) or "nobody"
        detail = (
            f"{what} at entry {entry.seq} approved by two distinct security officers ({who})"
            if ok
            else f"{what} at entry {entry.seq} needs two distinct security officers present "
            f"at roll call; approved by {who}"
        )
        return self.finding(DUAL_CONTROL, ok, detail, entry.seq)

    def target(self, entry: Entry) -> None:
        d = entry.data
        key, name = text(d, "key"), text(d, "target")
        found = [t for t in self.m.targets if t.key == key and t.target == name]
        t = found[0] if found else TargetSection(key, name)
        if not found:
            self.m.targets.append(t)
        t.provider = text(d, "provider")
        t.method = text(d, "method")
        if entry.event == "import_key_confirmed":
            t.fingerprint = text(d, "fingerprint")
            if "fingerprint_of" in d:
                t.fingerprint_of = text(d, "fingerprint_of")
                t.wrapping_key = text(d, "wrapping_key_fingerprint")
            t.confirmed_by = texts(d, "confirmed_by")
            t.valid_to = text(d, "valid_to") if "valid_to" in d else "-"
        else:
            t.where = (
                "inside the HSM" if d.get("where") == "hsm" else "in SOFTWARE (manual clear-text)"
            )
            t.mechanisms = texts(d, "mechanisms")
            files = d.get("files")
            t.files = [
                (text(f, "name"), text(f, "sha256"))
                for f in (files if isinstance(files, list) else [])
                if isinstance(f, dict)
            ]
            t.seq = entry.seq

    def clear_operation(self, entry: Entry) -> str:
        d = entry.data
        key = text(d, "key")
        with_index = ("component_issued", "component_entered", "component_shown_again")
        index = _index(d) if entry.event in with_index else None
        raw_custodian = d.get("custodian")
        custodian = raw_custodian if isinstance(raw_custodian, str) else None
        ops = _APPROVED_EVENTS.get(entry.event) or _CLEAR_EVENTS.get(entry.event, tuple(Operation))
        names = {op.value for op in ops}
        approval = None
        for candidate in reversed(self.approvals):
            cd = candidate.data
            if cd.get("operation") in names and _approval_names(cd, key, index):
                approval = candidate
                break
        manual = _is_manual(entry)
        op_text = " or ".join(op.value for op in ops) if len(ops) <= 2 else "an approved operation"
        approvers: tuple[str, ...] = ()
        seq: int | None = None
        if approval is None:
            ok = False
            reason = f"no earlier approval of {op_text} names {key}" + (
                f" component {index}" if index is not None else ""
            )
        else:
            approvers = tuple(texts(approval.data, "approvers"))
            op = _known_operation(approval)
            involved = {custodian} if isinstance(custodian, str) else set()
            if isinstance(approval.data.get("custodian"), str):
                involved.add(str(approval.data["custodian"]))
            ok, reason = self.dual_control(op, approvers, involved)
            seq = approval.seq
        subject = key if index is None else f"{key} component {index}"
        record = ClearOperation(
            entry.seq,
            entry.time,
            entry.event,
            op_text if approval is None else str(approval.data["operation"]),
            key,
            index,
            custodian,
            manual,
            seq,
            approvers,
            ok,
            reason,
        )
        self.m.clear_operations.append(record)
        label = "manual clear-text operation" if manual else "destruction"
        self.finding(
            DUAL_CONTROL,
            ok,
            f"{label} {entry.event} of {subject} (entry {entry.seq}): {reason}",
            entry.seq,
        )
        return f"{DUAL_CONTROL}: {'ok' if ok else 'BROKEN'}" + (
            f" (approval at entry {seq})" if seq is not None else ""
        )

    def dual_control(
        self, op: Operation, approvers: Sequence[str], involved: set[str]
    ) -> tuple[bool, str]:
        policy = APPROVAL_POLICY[op]
        who = ", ".join(self.m.who(a) for a in approvers) or "nobody"
        if len(set(approvers)) != len(approvers):
            return False, f"the same person approved twice ({who})"
        if len(approvers) < policy.minimum:
            return False, f"needs {policy.minimum} distinct approvers, had {len(approvers)} ({who})"
        roles = {r.value for r in policy.roles}
        for a in approvers:
            p = self.m.person(a)
            if p is None:
                return False, f"approver {a} was not present at roll call"
            if p.role not in roles:
                return (
                    False,
                    f"{self.m.who(a)} has the role {p.role} and may not approve {op.value}",
                )
        if involved and set(approvers) <= involved:
            return False, f"every approver is a custodian involved ({who})"
        if not policy.involved_may_approve and involved & set(approvers):
            return False, f"a custodian involved approved ({who})"
        if policy.needs_role is not None and not any(
            (p := self.m.person(a)) is not None and p.role == policy.needs_role.value
            for a in approvers
        ):
            return False, f"no {policy.needs_role.value} among the approvers ({who})"
        return True, f"approved by {who}"

    def envelope(self, entry: Entry) -> str:
        """An envelope checked before opening: intact, and the serial sealed for it (if known)."""
        d = entry.data
        key, index, serial = text(d, "key"), _index(d), text(d, "envelope")
        problems = []
        if d.get("serial_matches") is False:
            problems.append(f"the serial read on it is not {text(d, 'recorded')}, the recorded one")
        elif d.get("intact") is not True:
            problems.append("it was found NOT intact")
        if problems and index is not None:
            self.envelope_bad.add((key, index))
        sealed = self.sealed.get((key, index)) if index is not None else None
        if sealed is not None and sealed != serial:
            problems.append(f"its serial {serial} is not {sealed}, the one sealed for it")
        what = f"envelope {serial} of component {index} of key {key} (entry {entry.seq})"
        if problems:
            return self.finding("envelope", False, f"{what}: " + "; ".join(problems), entry.seq)
        known = "intact, and the serial sealed for it" if sealed else "intact"
        if d.get("serial_matches") is True:
            known += f"; serial as recorded in the {text(d, 'recorded_in').replace('-', ' ')}"
        return self.finding("envelope", True, f"{what}: {known}", entry.seq)

    def component(self, entry: Entry) -> str:
        d = entry.data
        key, split_set, custodian = text(d, "key"), text(d, "split_set"), text(d, "custodian")
        index = _index(d)
        kind = "issued" if entry.event == "component_issued" else "entered"
        problems: list[str] = []
        person = self.m.person(custodian)
        if person is None:
            problems.append(f"custodian {custodian} was not present at roll call")
        elif person.role not in _CUSTODIAN_ROLES:
            problems.append(f"{self.m.who(custodian)} is a {person.role}, not a custodian")
        if index is None:
            problems.append("the component index is missing")
        else:
            self.known.setdefault((self.run, kind, key, split_set), {}).setdefault(
                custodian, set()
            ).add(index)
            if kind == "entered" and (key, index) in self.envelope_bad:
                problems.append(f"its envelope was found not intact before entry {entry.seq}")
        if kind == "issued":
            threshold = number(d, "threshold")
            self.sets[(key, split_set)] = (text(d, "scheme"), threshold)
        if problems:
            return self.finding(
                SPLIT_KNOWLEDGE,
                False,
                f"component {index} of key {key} {kind} (entry {entry.seq}): "
                + "; ".join(problems),
                entry.seq,
            )
        return f"{SPLIT_KNOWLEDGE}: custodian {custodian} holds component {index}"

    def split_knowledge(self) -> None:
        for (run, kind, key, split_set), people in sorted(self.known.items()):
            where = f" in run {run}" if self.run > 1 else ""
            scheme_name, threshold = self.sets.get((key, split_set), ("", None))
            try:
                scheme = Scheme(scheme_name)
            except ValueError:
                scheme = Scheme.XOR  # unknown: apply the stricter limit
            limit = knowledge_limit(scheme, threshold) if threshold else 1
            for person, indices in sorted(people.items()):
                if len(indices) > limit:
                    shown = ", ".join(str(i) for i in sorted(indices))
                    self.finding(
                        SPLIT_KNOWLEDGE,
                        False,
                        f"{self.m.who(person)} {kind} components {shown} of key {key} "
                        f"(set {split_set}){where}; a person may know at most {limit}",
                        subject=person,
                    )
            if people:
                self.finding(
                    SPLIT_KNOWLEDGE,
                    all(len(i) <= limit for i in people.values()),
                    f"key {key} set {split_set}: components {kind} to "
                    f"{len(people)} different custodian(s){where}, at most {limit} each",
                    subject=f"key {key} {kind}" + (f" run {run}" if where else ""),
                )


def _known_operation(entry: Entry) -> Operation:
    """An approval's operation; RecordError when the entry names none the tool knows.

    Every dual-control check hangs on it, so it is never read as "?": a journal whose chain
    holds but whose approval names no known operation was not written by this tool.
    """
    raw = entry.data.get("operation")
    try:
        if isinstance(raw, str):
            return Operation(raw)
    except ValueError:
        pass
    shown = repr(raw)[:40] if isinstance(raw, str) else f"a {type(raw).__name__}, not text"
    raise RecordError(
        f"journal entry {entry.seq} (approval) names the operation {shown}, which is none of "
        f"the operations this tool approves ({', '.join(op.value for op in Operation)}): the "
        "journal was not written by this tool, or was altered and chained again",
        hint="make no record of it: keep the journal as found and report it to the security "
        "officers",
    )


def build(verified: Verified) -> Model:
    """The record's content from a journal that verified (``ceremony.core.journal.verify``)."""
    return _Builder(verified).build()


@dataclass(frozen=True)
class SignerAtLogin:
    """What the journal recorded at HSM login about the ceremony signing certificate.

    ``recorded`` is False for a journal made before ``hsm_opened`` carried the field;
    ``certificates`` maps each SHA-256 journaled to its entry; ``none_at`` lists the logins at
    which the token held no signing certificate.
    """

    recorded: bool
    certificates: dict[str, int]
    none_at: tuple[int, ...]

    def names(self, sha256: str) -> int | None:
        """The entry that journaled certificate ``sha256`` at login, or None."""
        return self.certificates.get(sha256)


def signer_at_login(model: Model) -> SignerAtLogin:
    """Read by the record's environment section and by ``verify`` alike."""
    certificates: dict[str, int] = {}
    none_at: list[int] = []
    recorded = False
    # [signing] names the record's key: its own entry decides, not the ceremony token's.
    for seq, d in model.signing or model.hsm:
        if "signing_certificate_sha256" not in d:
            continue
        recorded = True
        value = d["signing_certificate_sha256"]
        if isinstance(value, str) and _SHA256.fullmatch(value):
            certificates.setdefault(value, seq)
        else:
            none_at.append(seq)
    return SignerAtLogin(recorded, certificates, tuple(none_at))


def sealed_envelopes(verified: Verified) -> dict[tuple[str, int], tuple[str, str]]:
    """``(key, index) -> (envelope serial, custodian)`` as the journal last recorded them.

    For a later ``reconstitute``: compare each envelope's serial with the record of the
    ceremony that sealed it before anyone opens it (PCI PIN 8-1, 9-2).
    """
    found: dict[tuple[str, int], tuple[str, str]] = {}
    for entry in verified.entries:
        d = entry.data
        if entry.event in ("component_issued", "envelope_sealed") and isinstance(
            d.get("envelope"), str
        ):
            index = _index(d)
            if index is not None:
                found[(text(d, "key"), index)] = (text(d, "envelope"), text(d, "custodian"))
    return found

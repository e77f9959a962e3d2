"""Split-knowledge and dual-control rules as pure checks that raise RuleViolation naming people."""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from ceremony.core import rng
from ceremony.core.component import Scheme
from ceremony.core.lookalike import alike_note, same_person_keys
from ceremony.errors import RuleViolation

# ---- violations -----------------------------------------------------------------------------

SPLIT_KNOWLEDGE = "split knowledge"
DUAL_CONTROL = "dual control"
ROLES = "roles"
ONE_PERSON_ONE_ROLE = "one person, one role"
APPROVAL = "approval passphrase"


class RuleBreach(RuleViolation):
    """A named rule that named people would break; the engine journals ``rule`` and ``people``.

    ``component`` is the 1-based component concerned, when there is one; ``path`` is the
    ceremony file's dotted path when the breach was found while validating the file.
    """

    def __init__(
        self,
        message: str,
        *,
        rule: str,
        people: Sequence[str] = (),
        component: int | None = None,
        hint: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.rule = rule
        self.people = tuple(people)
        self.component = component
        self.path = path

    def at(self, path: str) -> RuleBreach:
        """The same breach, its message prefixed by a ceremony-file path."""
        return RuleBreach(
            f"{path}: {self.message}",
            rule=self.rule,
            people=self.people,
            component=self.component,
            hint=self.hint,
            path=path,
        )


# ---- people ---------------------------------------------------------------------------------


class Role(enum.Enum):
    """What a participant does in the room; one role per person per ceremony."""

    SECURITY_OFFICER = "security-officer"
    KEY_CUSTODIAN = "key-custodian"
    BACKUP_CUSTODIAN = "backup-custodian"
    WITNESS = "witness"
    AUDITOR = "auditor"

    @property
    def title(self) -> str:
        return _ROLE_TITLES[self]


_ROLE_TITLES = MappingProxyType(
    {
        Role.SECURITY_OFFICER: "security officer (ceremony administrator)",
        Role.KEY_CUSTODIAN: "key custodian",
        Role.BACKUP_CUSTODIAN: "backup custodian",
        Role.WITNESS: "witness",
        Role.AUDITOR: "auditor",
    }
)


@dataclass(frozen=True)
class Participant:
    """One person: ``id`` is stable across ceremonies (the registry keys on it)."""

    id: str
    name: str
    role: Role
    id_reference: str  # the identity document checked at roll call, e.g. "badge 0042"

    def describe(self) -> str:
        return f"{self.name} ({self.id})"


class Roster:
    """The ceremony's participants by id; refuses one person listed twice."""

    def __init__(self, participants: Iterable[Participant]) -> None:
        self._by_id: dict[str, Participant] = {}
        seen: dict[tuple[str, str], Participant] = {}
        for person in participants:
            for what, said in (
                ("id", "id"),
                ("name", "name"),
                ("id_reference", "identity reference"),
            ):
                value = getattr(person, what)
                keys = [(what, key) for key in same_person_keys(value)]
                other = next((seen[k] for k in keys if k in seen), None)
                if other is not None:
                    raise RuleBreach(
                        f"{ONE_PERSON_ONE_ROLE}: {other.describe()} and {person.describe()} "
                        f"share the same {said}{alike_note(getattr(other, what), value)}",
                        rule=ONE_PERSON_ONE_ROLE,
                        people=(other.id, person.id),
                        hint="each person appears once, with one role; give each their own "
                        "id, name and identity document",
                    )
                seen.update(dict.fromkeys(keys, person))
            self._by_id[person.id] = person
        self._participants = tuple(self._by_id.values())

    def __iter__(self) -> Iterator[Participant]:
        return iter(self._participants)

    def __len__(self) -> int:
        return len(self._participants)

    def __contains__(self, person_id: object) -> bool:
        return person_id in self._by_id

    @property
    def participants(self) -> tuple[Participant, ...]:
        return self._participants

    def get(self, person_id: str) -> Participant:
        try:
            return self._by_id[person_id]
        except KeyError:
            raise RuleBreach(
                f"{person_id[:64]!r} is not a participant of this ceremony",
                rule=ROLES,
                hint="only people listed in the ceremony file and present at roll call take part",
            ) from None

    def with_role(self, *roles: Role) -> tuple[Participant, ...]:
        return tuple(p for p in self._participants if p.role in roles)

    def who(self, person_ids: Iterable[str]) -> str:
        """``Alice Martin (amartin) and Bob Lee (blee)`` for messages."""
        shown = [self._by_id[i].describe() if i in self._by_id else repr(i) for i in person_ids]
        return _and(shown)


def _and(items: Sequence[str]) -> str:
    if not items:
        return "nobody"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


# ---- operations and who may do them ---------------------------------------------------------


class Operation(enum.Enum):
    """Manual clear-text key operations (PCI DSS 3.6.6 / 3.7.6) and the two-officer overrides."""

    GENERATE_OUTSIDE_HSM = "generate-outside-hsm"
    SHOW_COMPONENT = "show-component"
    SHOW_COMPONENT_AGAIN = "show-component-again"
    PRINT_COMPONENT = "print-component"
    ENTER_COMPONENT = "enter-component"
    ASSEMBLE_KEY = "assemble-key"
    SOFTWARE_WRAP = "software-wrap"
    CLEAR_EXPORT = "clear-export"
    DESTROY = "destroy"
    AIRGAP_OVERRIDE = "air-gap-override"
    PRINTER_OVERRIDE = "printer-override"
    CONFIRM_IMPORT_KEY = "confirm-import-key"
    CREATE_SIGNING_KEY = "create-signing-key"
    VOID_COMPONENTS = "void-components"
    RESTART = "restart-ceremony"
    OPEN_KEY_BLOCK = "open-key-block"
    WRAP_KEY_BLOCK = "wrap-key-block"

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]

    @property
    def on_component(self) -> bool:
        return self in (
            Operation.SHOW_COMPONENT,
            Operation.SHOW_COMPONENT_AGAIN,
            Operation.PRINT_COMPONENT,
            Operation.ENTER_COMPONENT,
        )


_DESCRIPTIONS = MappingProxyType(
    {
        Operation.GENERATE_OUTSIDE_HSM: "generate key material outside the HSM",
        Operation.SHOW_COMPONENT: "show a component on screen",
        Operation.SHOW_COMPONENT_AGAIN: "show a component on screen again",
        Operation.PRINT_COMPONENT: "print a component",
        Operation.ENTER_COMPONENT: "enter a component",
        Operation.ASSEMBLE_KEY: "assemble a key in memory",
        Operation.SOFTWARE_WRAP: "wrap a key in software",
        Operation.CLEAR_EXPORT: "export a key in clear from the HSM",
        Operation.DESTROY: "destroy a key",
        Operation.AIRGAP_OVERRIDE: "run on a machine that is not air-gapped",
        Operation.PRINTER_OVERRIDE: "print component forms on a network printer",
        Operation.CONFIRM_IMPORT_KEY: "confirm a cloud import key by its fingerprint",
        Operation.CREATE_SIGNING_KEY: "create the key and certificate that sign ceremony records",
        Operation.VOID_COMPONENTS: "void the components an interrupted ceremony issued",
        Operation.RESTART: "start an interrupted ceremony again from its beginning",
        Operation.OPEN_KEY_BLOCK: "open a TR-31 key block in memory",
        Operation.WRAP_KEY_BLOCK: "wrap a key in TR-31 key blocks in memory",
    }
)


@dataclass(frozen=True)
class ApprovalPolicy:
    """Who may approve an operation: at least ``minimum`` distinct people with these roles."""

    roles: frozenset[Role]
    minimum: int = 2
    # At least one approver must have this role (e.g. a security officer for destruction).
    needs_role: Role | None = None
    # False: no custodian involved may approve (a custodian never approves their own re-show).
    involved_may_approve: bool = True


_ACTIVE = frozenset(
    {Role.SECURITY_OFFICER, Role.WITNESS, Role.KEY_CUSTODIAN, Role.BACKUP_CUSTODIAN}
)
# Auditors never approve: they must stay independent of what they audit.
APPROVAL_POLICY: Mapping[Operation, ApprovalPolicy] = MappingProxyType(
    {
        **{op: ApprovalPolicy(_ACTIVE) for op in Operation},
        Operation.DESTROY: ApprovalPolicy(_ACTIVE, needs_role=Role.SECURITY_OFFICER),
        # A restart voids what the interrupted ceremony issued: a security officer decides.
        Operation.VOID_COMPONENTS: ApprovalPolicy(_ACTIVE, needs_role=Role.SECURITY_OFFICER),
        Operation.RESTART: ApprovalPolicy(_ACTIVE, needs_role=Role.SECURITY_OFFICER),
        Operation.AIRGAP_OVERRIDE: ApprovalPolicy(frozenset({Role.SECURITY_OFFICER})),
        # PCI PIN 6-3: a component reaches a network printer only if two officers accept it.
        Operation.PRINTER_OVERRIDE: ApprovalPolicy(frozenset({Role.SECURITY_OFFICER})),
        # The key every later record is trusted by: two security officers decide it.
        Operation.CREATE_SIGNING_KEY: ApprovalPolicy(frozenset({Role.SECURITY_OFFICER})),
        # Showing a component again is an exception the security officer decides: two people
        # who hold no part of that component, one of them a security officer.
        Operation.SHOW_COMPONENT_AGAIN: ApprovalPolicy(
            _ACTIVE, needs_role=Role.SECURITY_OFFICER, involved_may_approve=False
        ),
        # Two officers compare the fingerprint with the cloud console: a security officer and
        # another security officer or a witness.
        Operation.CONFIRM_IMPORT_KEY: ApprovalPolicy(
            frozenset({Role.SECURITY_OFFICER, Role.WITNESS}), needs_role=Role.SECURITY_OFFICER
        ),
    }
)

_CUSTODIANS = frozenset({Role.KEY_CUSTODIAN, Role.BACKUP_CUSTODIAN})
# Who performs the operation at the keyboard (approval is separate).
PERFORMERS: Mapping[Operation, frozenset[Role]] = MappingProxyType(
    {
        **{op: frozenset({Role.SECURITY_OFFICER}) for op in Operation},
        Operation.SHOW_COMPONENT: _CUSTODIANS,
        Operation.SHOW_COMPONENT_AGAIN: _CUSTODIANS,
        Operation.PRINT_COMPONENT: _CUSTODIANS,
        Operation.ENTER_COMPONENT: _CUSTODIANS,
    }
)


@dataclass(frozen=True)
class PlannedOperation:
    """One manual clear-text operation a ceremony will need, and who it involves."""

    operation: Operation
    key: str
    component: int | None = None  # 1-based, for operations on one component
    split_set: str | None = None  # the ceremony that made the component's set
    involved: frozenset[str] = field(default_factory=frozenset)  # custodians concerned

    def describe(self) -> str:
        what = self.operation.description
        if self.component is not None:
            return what.replace("a component", f"component {self.component} of key {self.key!r}")
        return f"{what} ({self.key!r})" if self.key else what


def require_dual_control(
    operation: Operation,
    approvers: Sequence[str],
    roster: Roster,
    involved: Collection[str] = (),
    subject: str = "",
) -> None:
    """Raise unless ``approvers`` are enough distinct, allowed people, not all ``involved``.

    ``approvers`` are participant ids whose passphrases the caller has verified; ``involved``
    are the custodians concerned (the custodian of the component, or all of the key's).
    """
    rule = f"{DUAL_CONTROL} ({subject or operation.description})"
    policy = APPROVAL_POLICY[operation]
    seen: list[str] = []
    for person_id in approvers:
        if person_id in seen:
            raise RuleBreach(
                f"{rule}: {roster.who([person_id])} approved twice; the same person never "
                "counts twice",
                rule=DUAL_CONTROL,
                people=(person_id,),
                hint="a second, different participant must approve as themselves",
            )
        seen.append(person_id)
        _require_role_may_approve(rule, policy, person_id, roster)
    if len(seen) < policy.minimum:
        raise RuleBreach(
            f"{rule}: needs {policy.minimum} distinct approvers, has {len(seen)} "
            f"({roster.who(seen)})",
            rule=DUAL_CONTROL,
            people=seen,
            hint="another participant must approve with their own passphrase",
        )
    _require_approver_mix(rule, policy, seen, involved, roster)


def _require_role_may_approve(
    rule: str, policy: ApprovalPolicy, person_id: str, roster: Roster
) -> None:
    person = roster.get(person_id)
    if person.role not in policy.roles:
        raise RuleBreach(
            f"{rule}: {person.describe()} is the {person.role.title} and may not approve this",
            rule=DUAL_CONTROL,
            people=(person_id,),
            hint="approvers: " + ", ".join(sorted(r.title for r in policy.roles)),
        )


def _require_not_involved(
    rule: str, policy: ApprovalPolicy, person_id: str, involved: Collection[str], roster: Roster
) -> None:
    if not policy.involved_may_approve and person_id in involved:
        raise RuleBreach(
            f"{rule}: {roster.who([person_id])} holds this component and may not approve it",
            rule=DUAL_CONTROL,
            people=(person_id,),
            hint="two people who hold no part of it approve, one a security officer",
        )


def _require_approver_mix(
    rule: str,
    policy: ApprovalPolicy,
    approvers: Sequence[str],
    involved: Collection[str],
    roster: Roster,
) -> None:
    """A complete set: one approver outside the custodians involved, and any role it needs."""
    people = list(approvers)
    for person_id in people:
        _require_not_involved(rule, policy, person_id, involved, roster)
    if involved and set(people) <= set(involved):
        raise RuleBreach(
            f"{rule}: every approver ({roster.who(people)}) is a custodian involved; at least "
            "one must not be",
            rule=DUAL_CONTROL,
            people=people,
            hint="a security officer or witness must also approve",
        )
    if policy.needs_role is not None and not any(
        roster.get(p).role is policy.needs_role for p in people
    ):
        raise RuleBreach(
            f"{rule}: no {policy.needs_role.title} among the approvers ({roster.who(people)})",
            rule=DUAL_CONTROL,
            people=people,
            hint=f"a {policy.needs_role.title} must be one of the approvers",
        )


def require_may_approve(
    operation: Operation,
    person_id: str,
    roster: Roster,
    already: Sequence[str] = (),
    involved: Collection[str] = (),
    subject: str = "",
) -> None:
    """Raise if ``person_id`` cannot be the next approver after ``already`` (checked one by one
    as people approve; ``require_dual_control`` checks the complete set)."""
    rule = f"{DUAL_CONTROL} ({subject or operation.description})"
    policy = APPROVAL_POLICY[operation]
    person = roster.get(person_id)
    if person_id in already:
        raise RuleBreach(
            f"{rule}: {person.describe()} already approved; the same person never counts twice",
            rule=DUAL_CONTROL,
            people=(person_id,),
            hint="a second, different participant must approve as themselves",
        )
    _require_role_may_approve(rule, policy, person_id, roster)
    _require_not_involved(rule, policy, person_id, involved, roster)
    together = [*already, person_id]
    if len(together) >= policy.minimum:
        _require_approver_mix(rule, policy, together, involved, roster)


def eligible_approvers(
    operation: Operation,
    roster: Roster,
    already: Sequence[str] = (),
    involved: Collection[str] = (),
) -> tuple[str, ...]:
    """Who could be the next approver after ``already``, in roster order (for the front end)."""
    result = []
    for person in roster.participants:
        try:
            require_may_approve(operation, person.id, roster, already, involved)
        except RuleBreach:
            continue
        result.append(person.id)
    return tuple(result)


def require_dual_control_possible(planned: PlannedOperation, roster: Roster) -> None:
    """Raise unless the roster holds people who could approve ``planned`` (file validation)."""
    policy = APPROVAL_POLICY[planned.operation]
    eligible = [p for p in roster.participants if p.role in policy.roles]
    rule = f"{DUAL_CONTROL} ({planned.describe()})"
    outsiders = [p for p in eligible if p.id not in planned.involved]
    if not policy.involved_may_approve:
        eligible = outsiders
    problem = None
    if len(eligible) < policy.minimum:
        problem = f"needs {policy.minimum} approvers but only {len(eligible)} participant(s) may"
    elif not outsiders:
        problem = "every participant who may approve is a custodian involved"
    elif policy.needs_role is not None and not any(p.role is policy.needs_role for p in eligible):
        problem = f"needs a {policy.needs_role.title} among the approvers and none is listed"
    if problem is not None:
        raise RuleBreach(
            f"{rule}: {problem} ({_and([p.describe() for p in eligible])})",
            rule=DUAL_CONTROL,
            people=[p.id for p in eligible],
            component=planned.component,
            hint="add a security officer or witness who holds no component of this key",
        )


def require_may_perform(operation: Operation, person_id: str, roster: Roster) -> None:
    """Raise unless ``person_id``'s role may carry out ``operation``."""
    person = roster.get(person_id)
    allowed = PERFORMERS[operation]
    if person.role not in allowed:
        raise RuleBreach(
            f"{ROLES}: {person.describe()} is the {person.role.title} and may not "
            f"{operation.description}",
            rule=ROLES,
            people=(person_id,),
            hint="this is done by: " + ", ".join(sorted(r.title for r in allowed)),
        )


# ---- split knowledge ------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    """Who holds component ``index`` (1-based) of a split: a custodian and an optional backup."""

    index: int
    custodian: str
    backup: str | None = None

    @property
    def holders(self) -> tuple[str, ...]:
        return (self.custodian,) if self.backup is None else (self.custodian, self.backup)


def knowledge_limit(scheme: Scheme, threshold: int) -> int:
    """The most components of one set one person may ever know."""
    # XOR: PCI lets nobody know two components. Shamir: PCI PIN 21-2.4 allows fewer than k.
    return 1 if scheme is Scheme.XOR else threshold - 1


def require_split_knowledge(
    key: str,
    scheme: Scheme,
    threshold: int,
    assignments: Sequence[Assignment],
    roster: Roster | None = None,
    history: Mapping[str, Collection[int]] | None = None,
    custodian_roles: Collection[Role] = (Role.KEY_CUSTODIAN,),
    other_sets: Mapping[str, Collection[str]] | None = None,
) -> None:
    """Raise unless components go to different custodians and nobody can know too many.

    ``threshold`` is k for Shamir (n for XOR). ``history`` maps person id to the component
    indices of this same set they held before (from the custodian registry). ``other_sets``
    maps person id to the other split sets of the same key they held a component of, now or
    before (PCI PIN 21-2.4, read literally: nobody holds two components of one key, whatever
    set they come from); such a person may not learn a component of this set.
    ``custodian_roles``: who may be named custodian (backup custodians too for an existing set,
    when they stand in for someone who left).
    """
    rule = f"{SPLIT_KNOWLEDGE} (key {key!r})"
    who = roster.who if roster is not None else _and
    primaries: dict[str, int] = {}
    indices: set[int] = set()
    for a in assignments:
        if a.index in indices:
            raise RuleBreach(
                f"{rule}: component {a.index} is assigned twice",
                rule=SPLIT_KNOWLEDGE,
                component=a.index,
                hint="list each component once",
            )
        indices.add(a.index)
        if a.custodian in primaries:
            raise RuleBreach(
                f"{rule}: {who([a.custodian])} would hold components {primaries[a.custodian]} "
                f"and {a.index}; each component goes to a different custodian",
                rule=SPLIT_KNOWLEDGE,
                people=(a.custodian,),
                component=a.index,
                hint="assign each component to its own key custodian",
            )
        primaries[a.custodian] = a.index
        if a.backup == a.custodian:
            raise RuleBreach(
                f"{rule}: {who([a.custodian])} is both custodian and backup of component {a.index}",
                rule=SPLIT_KNOWLEDGE,
                people=(a.custodian,),
                component=a.index,
                hint="the backup custodian is another person",
            )
        if roster is not None:
            _require_holder_role(f"{ROLES} (key {key!r})", roster, a, custodian_roles)
    known: dict[str, set[int]] = {}
    for a in assignments:
        for person in a.holders:
            known.setdefault(person, set()).add(a.index)
    limit = knowledge_limit(scheme, threshold)
    earlier = history or {}
    elsewhere = other_sets or {}
    for person, now in known.items():
        before = set(earlier.get(person, ()))
        sets = sorted(elsewhere.get(person, ()))
        if sets and now - before:
            raise RuleBreach(
                f"{rule}: {who([person])} would hold component(s) {_ints(now - before)} and "
                f"held a component of set(s) {', '.join(sets)} of the same key; a person never "
                "holds two components of one key, from any split",
                rule=SPLIT_KNOWLEDGE,
                people=(person,),
                component=max(now - before),
                hint="give these components to custodians who never held a component of this key",
            )
        last = max(now)
        total = now | before
        if len(total) <= limit:
            continue
        if len(now) > limit:
            reason = f"would hold components {_ints(now)} (custodian or backup)"
        else:
            reason = (
                f"would hold component(s) {_ints(now)} and the custodian registry shows they "
                f"held component(s) {_ints(before - now or before)} of the same set before"
            )
        allowed = "one component" if limit == 1 else f"at most {limit} of {threshold} shares"
        raise RuleBreach(
            f"{rule}: {who([person])} {reason}; a person may know {allowed}",
            rule=SPLIT_KNOWLEDGE,
            people=(person,),
            component=last,
            hint="give these components to other custodians or backups",
        )


def _require_holder_role(
    rule: str, roster: Roster, a: Assignment, custodian_roles: Collection[Role]
) -> None:
    custodian = roster.get(a.custodian)
    if custodian.role not in custodian_roles:
        raise RuleBreach(
            f"{rule}: component {a.index} goes to {custodian.describe()}, the "
            f"{custodian.role.title}, not a " + " or ".join(r.title for r in custodian_roles),
            rule=ROLES,
            people=(a.custodian,),
            component=a.index,
            hint="components go to participants with the role key-custodian",
        )
    if a.backup is not None:
        backup = roster.get(a.backup)
        if backup.role not in _CUSTODIANS:
            raise RuleBreach(
                f"{rule}: the backup of component {a.index} is {backup.describe()}, the "
                f"{backup.role.title}, not a custodian",
                rule=ROLES,
                people=(a.backup,),
                component=a.index,
                hint="backups are participants with the role backup-custodian or key-custodian",
            )


def require_may_see_component(
    person_id: str, key: str, assignment: Assignment, roster: Roster | None = None
) -> None:
    """Raise unless ``person_id`` holds this component: a custodian never sees another's."""
    if person_id in assignment.holders:
        return
    who = roster.who if roster is not None else _and
    raise RuleBreach(
        f"{SPLIT_KNOWLEDGE} (key {key!r}): {who([person_id])} may not see component "
        f"{assignment.index}, which belongs to {who(assignment.holders)}",
        rule=SPLIT_KNOWLEDGE,
        people=(person_id,),
        component=assignment.index,
        hint="only that component's custodian or backup may see, print or enter it",
    )


def _ints(values: Iterable[int]) -> str:
    return _and([str(v) for v in sorted(values)])


# ---- approval passphrases -------------------------------------------------------------------

MIN_PASSPHRASE_LENGTH = 8
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
# Records with a cheaper work factor are refused: a journal hash must cost a brute force.
_MIN_SCRYPT_N = 2**14
_SALT_LENGTH = 16
_DIGEST_LENGTH = 32
_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True)
class PassphraseRecord:
    """The scrypt hash of one participant's approval passphrase; safe to journal."""

    salt: bytes
    digest: bytes
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    def __post_init__(self) -> None:
        if (
            len(self.salt) != _SALT_LENGTH
            or len(self.digest) != _DIGEST_LENGTH
            or self.n < _MIN_SCRYPT_N
            or self.n & (self.n - 1)
            or not 1 <= self.r <= 32
            or not 1 <= self.p <= 16
        ):
            raise RuleViolation(
                "a passphrase record has unusable scrypt parameters",
                hint="set the passphrase again at roll call",
            )

    def journal_fields(self) -> dict[str, str | int]:
        return {
            "kdf": "scrypt",
            "n": self.n,
            "r": self.r,
            "p": self.p,
            "salt": self.salt.hex(),
            "hash": self.digest.hex(),
        }

    @classmethod
    def from_journal_fields(cls, fields: Mapping[str, object]) -> PassphraseRecord:
        """Read a record back from ``journal_fields()``; raises RuleViolation when malformed."""
        bad = RuleViolation(
            "a journaled passphrase record does not parse", hint="the journal may be damaged"
        )
        if set(fields) != {"kdf", "n", "r", "p", "salt", "hash"} or fields["kdf"] != "scrypt":
            raise bad
        n, r, p, salt, digest = (fields[k] for k in ("n", "r", "p", "salt", "hash"))
        if not (type(n) is int and type(r) is int and type(p) is int):
            raise bad
        if not (isinstance(salt, str) and isinstance(digest, str)):
            raise bad
        if not (_HEX.fullmatch(salt) and _HEX.fullmatch(digest)) or len(salt) % 2:
            raise bad
        if len(digest) % 2:
            raise bad
        return cls(bytes.fromhex(salt), bytes.fromhex(digest), n, r, p)


def _passphrase_bytes(passphrase: str) -> bytes:
    # NFC so that the same passphrase typed on two keyboards hashes the same.
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def _scrypt(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        _passphrase_bytes(passphrase),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=256 * n * r + (1 << 20),
        dklen=_DIGEST_LENGTH,
    )


def hash_passphrase(
    passphrase: str, salt: bytes | None = None, *, n: int = SCRYPT_N
) -> PassphraseRecord:
    """Hash a passphrase set at roll call (salt from ``ceremony.core.rng``); never journal it."""
    if len(passphrase.strip()) < MIN_PASSPHRASE_LENGTH or len(set(passphrase)) < 3:
        raise RuleViolation(
            f"an approval passphrase needs at least {MIN_PASSPHRASE_LENGTH} characters and "
            "some variety",
            hint="choose a longer passphrase; it is used only for this ceremony",
        )
    salt = rng.random_bytes(_SALT_LENGTH) if salt is None else salt
    if len(salt) != _SALT_LENGTH:
        raise RuleViolation(f"a passphrase salt is {_SALT_LENGTH} bytes", hint="this is a bug")
    return PassphraseRecord(salt, _scrypt(passphrase, salt, n, SCRYPT_R, SCRYPT_P), n)


def verify_passphrase(record: PassphraseRecord, passphrase: str, who: str = "participant") -> None:
    """Raise RuleViolation unless ``passphrase`` matches ``record``."""
    candidate = _scrypt(passphrase, record.salt, record.n, record.r, record.p)
    if not hmac.compare_digest(candidate, record.digest):
        raise RuleBreach(
            f"{DUAL_CONTROL}: the approval passphrase of {who} does not match",
            rule=APPROVAL,
            hint=f"{who} types the passphrase they set at roll call; nobody types it for them",
        )

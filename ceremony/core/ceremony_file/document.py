"""The whole ceremony file: its sections, the plan of clear-text operations and every rule."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ceremony.core import tr31
from ceremony.core.ceremony_file import per_type
from ceremony.core.ceremony_file.sections import (
    CeremonyInfo,
    ComponentSpec,
    HsmSpec,
    KeyEntry,
    PrinterSpec,
    SigningSpec,
    SplitSpec,
    validate_participant,
)
from ceremony.core.ceremony_file.vocabulary import (
    _CUSTODIAN_ROLE,
    _HOLDER_ROLES,
    CeremonyType,
    FileError,
    HsmLogin,
    KeySource,
    WrapPlace,
    _require_label,
    _require_path,
    _show,
)
from ceremony.core.component import Scheme
from ceremony.core.key_roles import KeyRole
from ceremony.core.lookalike import alike_note, same_person_keys
from ceremony.core.registry import (
    Registry,
    check_assignments,
    check_identities,
    require_not_voided,
)
from ceremony.core.rules import (
    DUAL_CONTROL,
    ONE_PERSON_ONE_ROLE,
    ROLES,
    Operation,
    Participant,
    PlannedOperation,
    Role,
    Roster,
    RuleBreach,
    require_dual_control_possible,
)
from ceremony.errors import KeyBlockError

# The roles whose keys protect other keys, and so may open a TR-31 block.
_PROTECTING_ROLES = frozenset({KeyRole.ZMK, KeyRole.KEK, KeyRole.KBPK})
# The ceremony types that hold their keys in memory, where TR-31 blocks are built and opened.
_IN_MEMORY = frozenset(
    {CeremonyType.SPLIT_BACKUP, CeremonyType.RECONSTITUTE, CeremonyType.RE_SPLIT}
)

# ---- the whole file ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CeremonyFile:
    """A parsed ceremony file; ``validate()`` checks every section and every rule."""

    ceremony: CeremonyInfo
    participants: tuple[Participant, ...]
    hsm: HsmSpec
    keys: tuple[KeyEntry, ...]
    printer: PrinterSpec | None = None
    signing: SigningSpec | None = None

    @property
    def roster(self) -> Roster:
        return Roster(self.participants)

    @property
    def rehearsal(self) -> bool:
        return self.ceremony.rehearsal

    @property
    def issues_components(self) -> bool:
        """Whether custodians receive new components (split-backup, re-split)."""
        return self.ceremony.type in (CeremonyType.SPLIT_BACKUP, CeremonyType.RE_SPLIT)

    def prints_forms(self, rehearsal: bool | None = None) -> bool:
        """Whether component forms go to the printer: production, with a ``[printer]``.

        A rehearsal never prints: its forms go into the bundle with the REHEARSAL watermark.
        ``rehearsal`` overrides the file's flag (``ceremony run --rehearsal``).
        """
        practice = self.rehearsal if rehearsal is None else rehearsal
        return self.printer is not None and self.issues_components and not practice

    def _require_distinct_envelopes(self) -> None:
        """One envelope holds one component: a serial given twice is a misread or a typo."""
        seen: dict[str, str] = {}
        for i, key in enumerate(self.keys):
            for name, split in (("split", key.split), ("new_split", key.new_split)):
                for j, c in enumerate(split.components if split is not None else ()):
                    if c.envelope is None:
                        continue
                    where = f"keys[{i}].{name}.components[{j}].envelope"
                    serial = c.envelope.strip().upper()
                    if serial in seen:
                        raise FileError(
                            where,
                            f"repeats {seen[serial]}: one tamper-evident envelope holds one "
                            "component",
                            hint="copy each serial from the envelope log again",
                        )
                    seen[serial] = where

    def split_sets(self) -> Iterator[tuple[str, KeyEntry, SplitSpec, str]]:
        """(path, key, split, set id) for every split; a new set is named by this ceremony."""
        for i, key in enumerate(self.keys):
            for name, split in (("split", key.split), ("new_split", key.new_split)):
                if split is not None and split.scheme is not None:
                    yield f"keys[{i}].{name}", key, split, split.made_in or self.ceremony.id

    def planned_operations(self) -> tuple[PlannedOperation, ...]:
        """Every manual clear-text operation this ceremony will need two approvals for."""
        return tuple(op for _, op in self._plan())

    def _plan(self) -> list[tuple[str, PlannedOperation]]:
        plan: list[tuple[str, PlannedOperation]] = []
        kind = self.ceremony.type
        for i, key in enumerate(self.keys):
            path = f"keys[{i}]"
            holders = key.split.holders() | (key.new_split.holders() if key.new_split else set())

            def add(
                operation: Operation,
                where: str = path,
                component: ComponentSpec | None = None,
                split_set: str | None = None,
                key: KeyEntry = key,
                holders: frozenset[str] = frozenset(holders),
            ) -> None:
                involved = frozenset(component.holders) if component is not None else holders
                index = component.index if component is not None else None
                plan.append(
                    (where, PlannedOperation(operation, key.label, index, split_set, involved))
                )

            if key.source is KeySource.HSM_RANDOM:
                add(Operation.GENERATE_OUTSIDE_HSM)
            exported = key.source in (KeySource.HSM_KEY, KeySource.HSM)
            if exported and kind is CeremonyType.SPLIT_BACKUP:
                add(Operation.CLEAR_EXPORT)
            if kind in (CeremonyType.RECONSTITUTE, CeremonyType.RE_SPLIT):
                old_set = key.split.made_in or self.ceremony.id
                for j, c in enumerate(key.split.components):
                    add(Operation.ENTER_COMPONENT, f"{path}.split.components[{j}]", c, old_set)
                if key.source is KeySource.KEY_BLOCK:
                    # No components to assemble: the key is opened from its block.
                    add(Operation.OPEN_KEY_BLOCK)
                else:
                    add(Operation.ASSEMBLE_KEY)
            new = key.split if kind is CeremonyType.SPLIT_BACKUP else key.new_split
            if kind in (CeremonyType.SPLIT_BACKUP, CeremonyType.RE_SPLIT) and new is not None:
                name = "split" if kind is CeremonyType.SPLIT_BACKUP else "new_split"
                issue = (
                    Operation.PRINT_COMPONENT if self.prints_forms() else Operation.SHOW_COMPONENT
                )
                for j, c in enumerate(new.components):
                    add(
                        issue,
                        f"{path}.{name}.components[{j}]",
                        c,
                        self.ceremony.id,
                    )
            software = [j for j, t in enumerate(key.targets) if t.wrap is WrapPlace.SOFTWARE]
            if software and kind in (CeremonyType.GENERATE_EXPORT, CeremonyType.RE_WRAP):
                add(Operation.CLEAR_EXPORT, f"{path}.targets[{software[0]}].wrap")
            for j in software:
                add(Operation.SOFTWARE_WRAP, f"{path}.targets[{j}].wrap")
            if key.tr31:
                add(Operation.WRAP_KEY_BLOCK, f"{path}.tr31")
            if kind is CeremonyType.DESTROY:
                add(Operation.DESTROY)
        return plan

    def _validate_kbpk(
        self, key: KeyEntry, kbpk_label: str, path: str, earlier: dict[str, int]
    ) -> None:
        """The protecting key of a TR-31 block: in memory in this ceremony, listed earlier, a
        key-encrypting role, and at least as strong as the key it protects (TR-31 forbids a
        weaker one). The HSM layer builds and opens no block: both keys are in memory here."""
        if self.ceremony.type not in _IN_MEMORY:
            raise FileError(
                path,
                f"is not used in a {self.ceremony.type.value} ceremony: TR-31 blocks are built "
                "and opened in memory, in a split-backup, reconstitute or re-split",
                hint="remove it, or load the keys from their components in this ceremony",
            )
        at = earlier.get(kbpk_label)
        if at is None or self.keys[at].label == key.label:
            raise FileError(
                f"{path}.kbpk",
                f"is {kbpk_label!r}, which is not a key loaded earlier in this ceremony",
                hint="the HSM cannot open or build TR-31 blocks: list the KBPK first, loaded in "
                "this same ceremony",
            )
        kbpk = self.keys[at]
        if kbpk.role not in _PROTECTING_ROLES:
            raise FileError(
                f"{path}.kbpk",
                f"is {kbpk_label!r}, a {kbpk.role.facts.name}, which does not protect other keys",
                hint="give that key role = 'zmk', 'kek' or 'kbpk'",
            )
        assert kbpk.algorithm is not None and kbpk.length is not None
        assert key.algorithm is not None and key.length is not None
        try:
            tr31.require_kbpk_strength(kbpk.algorithm, kbpk.length, key.algorithm, key.length)
        except KeyBlockError as ex:
            raise FileError(f"{path}.kbpk", ex.message, hint=ex.hint) from None

    def _validate_blocks(self, key: KeyEntry, path: str, earlier: dict[str, int]) -> None:
        if key.key_block is not None:
            _require_path(f"{path}.key_block.file", key.key_block.file)
            self._validate_kbpk(key, key.key_block.kbpk, f"{path}.key_block", earlier)
        names: set[str] = set()
        for j, out in enumerate(key.tr31):
            where = f"{path}.tr31[{j}]"
            _require_label(f"{where}.label", out.label, "a key block label")
            if out.label in names:
                raise FileError(f"{where}.label", "is used twice", hint="one label each")
            names.add(out.label)
            if not (len(out.key_version) == 2 and out.key_version.isascii()):
                raise FileError(
                    f"{where}.key_version",
                    f"is {out.key_version!r}; TR-31 gives two characters, e.g. '00'",
                )
            if key.algorithm is None or (key.role.payment and not key.role.allows(key.algorithm)):
                raise FileError(where, f"sends a {key.describe()} key, which TR-31 does not carry")
            self._validate_kbpk(key, out.kbpk, where, earlier)

    def validate(self, registry: Registry | None = None) -> None:
        """Every section, then the rules: roles, split knowledge (with the registry), dual
        control. Raises FileError (ConfigError) or RuleBreach, both naming the dotted path."""
        self.ceremony.validate("ceremony")
        self.hsm.validate("hsm")
        if self.signing is not None:
            self.signing.validate("signing")
        if self.printer is not None:
            self.printer.validate("printer")
            if not self.issues_components:
                raise FileError(
                    "printer",
                    f"is not used in a {self.ceremony.type.value} ceremony: it issues no component",
                    hint="remove the [printer] section",
                )
        roster = self._validate_participants()
        if not self.keys:
            raise FileError("keys", "is empty", hint="declare at least one [[keys]] entry")
        labels: dict[str, int] = {}
        target_labels: dict[str, str] = {}
        for i, key in enumerate(self.keys):
            path = f"keys[{i}]"
            per_type.check_shape(self.ceremony.type, key, path)
            key.validate(path)
            if key.label in labels:
                raise FileError(f"{path}.label", f"repeats keys[{labels[key.label]}].label")
            labels[key.label] = i
            for j, target in enumerate(key.targets):
                if target.label in target_labels:
                    raise FileError(
                        f"{path}.targets[{j}].label",
                        f"repeats {target_labels[target.label]}",
                        hint="each target label names its own bundle folder",
                    )
                target_labels[target.label] = f"{path}.targets[{j}].label"
            per_type.check_key(self.ceremony.type, key, path, self.rehearsal)
            self._validate_blocks(key, path, labels)
            self._validate_people(key, path, roster)
            per_type.require_envelopes(self.ceremony.type, key, path, self.rehearsal)
        self._require_distinct_envelopes()
        for path, key, split, split_set in self.split_sets():
            # In a re-split, whoever enters an old component already holds one of this key.
            old = key.split if split is key.new_split else None
            also_held = {p: {old.made_in or self.ceremony.id} for p in old.holders()} if old else {}
            try:
                if split.made_in:
                    require_not_voided(registry or Registry(), key.label, split_set)
                check_assignments(
                    registry or Registry(),
                    key.label,
                    split_set,
                    split.scheme or Scheme.XOR,
                    split.k,
                    split.assignments,
                    roster,
                    count=split.count,
                    # Whoever holds an existing component enters it, backups included.
                    custodian_roles=_HOLDER_ROLES if split.made_in else _CUSTODIAN_ROLE,
                    also_held=also_held,
                    attempts_of=self.ceremony.id,
                    new_set=not split.made_in,
                )
            except RuleBreach as ex:
                where = f"{path}.components[{ex.component - 1}]" if ex.component else path
                raise ex.at(where) from None
        if registry is not None:
            try:
                check_identities(registry, roster)
            except RuleBreach as ex:
                raise ex.at("participants") from None
        checks = list(self._plan())
        for i, key in enumerate(self.keys):
            for j in range(len(key.targets)):
                confirm = PlannedOperation(Operation.CONFIRM_IMPORT_KEY, key.label)
                checks.append((f"keys[{i}].targets[{j}].import_key", confirm))
        if self.signing is not None and self.signing.create:
            signing_key = PlannedOperation(Operation.CREATE_SIGNING_KEY, self.signing.key_label)
            checks.append(("signing.create", signing_key))
        for where, planned in checks:
            try:
                require_dual_control_possible(planned, roster)
            except RuleBreach as ex:
                raise ex.at(where) from None
        if (
            self.hsm.login is HsmLogin.SPLIT_PIN
            and len(roster.with_role(Role.SECURITY_OFFICER)) < 2
        ):
            raise RuleBreach(
                f"hsm.login: {DUAL_CONTROL}: a split PIN needs two security officers, one per half",
                rule=DUAL_CONTROL,
                hint="add a second security officer, or use login = 'pin'",
                path="hsm.login",
            )

    def _validate_participants(self) -> Roster:
        if not self.participants:
            raise FileError("participants", "is empty", hint="list everyone who takes part")
        seen: dict[tuple[str, str], int] = {}
        for i, person in enumerate(self.participants):
            path = f"participants[{i}]"
            validate_participant(person, path)
            for name in ("id", "name", "id_reference"):
                typed = getattr(person, name)
                keys = [(name, key) for key in same_person_keys(typed)]
                earlier = next((seen[k] for k in keys if k in seen), None)
                if earlier is not None:
                    other = self.participants[earlier]
                    why = alike_note(getattr(other, name), typed)
                    raise RuleBreach(
                        f"{path}.{name}: {ONE_PERSON_ONE_ROLE}: {person.describe()} has the same "
                        f"{name} as participants[{earlier}] ({other.describe()}){why}",
                        rule=ONE_PERSON_ONE_ROLE,
                        people=(other.id, person.id),
                        hint="each person is listed once, with one role; names, ids and identity "
                        "references are compared after Unicode normalisation and confusables",
                        path=f"{path}.{name}",
                    )
                seen.update(dict.fromkeys(keys, i))
        roster = Roster(self.participants)
        if not roster.with_role(Role.SECURITY_OFFICER):
            raise RuleBreach(
                f"participants: {ROLES}: no security officer is listed",
                rule=ROLES,
                hint="a security officer (ceremony administrator) runs every ceremony",
                path="participants",
            )
        if not self.rehearsal and not roster.with_role(Role.WITNESS):
            raise RuleBreach(
                f"participants: {ROLES}: a production ceremony needs a witness",
                rule=ROLES,
                hint="add a participant with role witness, or mark the file rehearsal = true",
                path="participants",
            )
        return roster

    def _validate_people(self, key: KeyEntry, path: str, roster: Roster) -> None:
        for name, split in (("split", key.split), ("new_split", key.new_split)):
            if split is None:
                continue
            for j, c in enumerate(split.components):
                for field_name, person in (("custodian", c.custodian), ("backup", c.backup)):
                    if person is not None and person not in roster:
                        raise FileError(
                            f"{path}.{name}.components[{j}].{field_name}",
                            f"is {_show(person)}, who is not in participants",
                            hint="use the id of a listed participant",
                        )

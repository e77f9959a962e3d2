"""What each ceremony type takes in a ``[[keys]]`` table: sections, fields and envelopes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ceremony.core.ceremony_file.sections import KeyEntry
from ceremony.core.ceremony_file.vocabulary import (
    _NEW_KEY_TYPES,
    _SOURCES,
    CeremonyType,
    FileError,
    KeySource,
    KeyType,
    WrapPlace,
)
from ceremony.core.keylengths import TOKEN_SECRET_LENGTHS
from ceremony.core.providers.methods import Provider

_EXISTING = frozenset({CeremonyType.RECONSTITUTE, CeremonyType.RE_SPLIT})
_SPLIT = frozenset({CeremonyType.SPLIT_BACKUP, CeremonyType.RECONSTITUTE, CeremonyType.RE_SPLIT})
_ON_HSM = frozenset({KeySource.HSM, KeySource.HSM_KEY})
# The types that take EC and RSA keys, and the types where a rebuilt key has nowhere to go.
_ANY_KEY_TYPE = frozenset({CeremonyType.GENERATE_EXPORT, CeremonyType.DESTROY})
# The types whose keys go to cloud targets and nowhere else.
_WRAPS = frozenset({CeremonyType.GENERATE_EXPORT, CeremonyType.RE_WRAP})
_GENERAL_KMS = frozenset({Provider.AWS, Provider.AZURE, Provider.GCP})
_ISSUED = {CeremonyType.SPLIT_BACKUP: "split", CeremonyType.RE_SPLIT: "new_split"}


def check_shape(kind: CeremonyType, key: KeyEntry, path: str) -> None:
    """Name the sections a ceremony type does not use before their contents are checked."""
    allowed = _SOURCES[kind]
    if key.source not in allowed:
        raise FileError(
            f"{path}.source",
            f"is {key.source.value}; a {kind.value} ceremony takes "
            + " or ".join(s.value for s in allowed),
            hint="remove source to use the default, " + allowed[0].value,
        )
    split_needed = kind in _SPLIT and key.source is not KeySource.KEY_BLOCK
    if key.source is KeySource.KEY_BLOCK and key.key_block is None:
        raise FileError(
            f"{path}.key_block",
            "is missing; a key of source key-block names its block and the key protecting it",
            hint="add [keys.key_block] with file and kbpk",
        )
    if key.source is not KeySource.KEY_BLOCK and key.key_block is not None:
        raise FileError(
            f"{path}.key_block",
            "is only for a key received as a TR-31 key block",
            hint="set source = 'key-block', or remove [keys.key_block]",
        )
    if split_needed and key.split.scheme is None:
        raise FileError(f"{path}.split", f"is missing; a {kind.value} ceremony splits every key")
    if not split_needed and key.split.scheme is not None:
        raise FileError(
            f"{path}.split", f"is not used in a {kind.value} ceremony", hint="remove it"
        )
    if kind is CeremonyType.RE_SPLIT:
        if key.new_split is None or key.new_split.scheme is None:
            raise FileError(f"{path}.new_split", "is missing; give the new set of custodians")
    elif key.new_split is not None:
        raise FileError(f"{path}.new_split", "is only for re-split ceremonies")
    if kind is CeremonyType.DESTROY and key.targets:
        raise FileError(f"{path}.targets", "are not used in a destroy ceremony")
    if kind in _WRAPS and not key.targets:
        raise FileError(f"{path}.targets", "is empty; name where the key is imported")


@dataclass(frozen=True)
class _Key:
    """A ``[[keys]]`` table seen from its ceremony: what the rules below ask about."""

    kind: CeremonyType
    key: KeyEntry
    rehearsal: bool

    @property
    def existing(self) -> bool:
        """Whether its components exist already (reconstitute, re-split)."""
        return self.kind in _EXISTING and self.key.source is not KeySource.KEY_BLOCK

    @property
    def in_hsm(self) -> bool:
        return self.key.source in _ON_HSM or self.key.store_in_hsm

    def new_components_with_kcv(self) -> Iterator[str]:
        sets = [("new_split", self.key.new_split)] if self.key.new_split is not None else []
        if not self.existing:
            sets.append(("split", self.key.split))
        for name, split in sets:
            for j, c in enumerate(split.components):
                if c.kcv is not None:
                    yield f"{name}.components[{j}].kcv"

    def targets(self, broken: Callable[[_Key, int], bool], field: str) -> Iterator[str]:
        for j in range(len(self.key.targets)):
            if broken(self, j):
                yield f"targets[{j}].{field}"


def _when(where: str, broken: Callable[[_Key], bool]) -> Callable[[_Key], Iterator[str]]:
    def check(k: _Key) -> Iterator[str]:
        if broken(k):
            yield where

    return check


@dataclass(frozen=True)
class _Rule:
    """One thing a ceremony type refuses in a key: where it breaks (paths under ``keys[i]``,
    "" for the key itself) and what to say; ``{kind}`` and ``{type}`` name the ceremony type
    and the key type."""

    breaks_at: Callable[[_Key], Iterator[str]]
    problem: str
    hint: str | None = None


def _hsm_wrap(k: _Key, j: int) -> bool:
    return k.key.targets[j].wrap is WrapPlace.HSM and not k.in_hsm


def _not_on_token(k: _Key) -> Iterator[str]:
    """A symmetric key this ceremony would create on the token, of a kind no token here holds."""
    key = k.key
    if key.algorithm is None or k.kind is CeremonyType.DESTROY:
        return
    where = "store_in_hsm" if key.store_in_hsm else "source" if key.source is KeySource.HSM else ""
    if where and key.length not in TOKEN_SECRET_LENGTHS.get(key.algorithm, ()):
        yield where


def _kms_for_payment(k: _Key, j: int) -> bool:
    # A general-purpose KMS would let software use a payment key outside the PCI PIN rules.
    return k.key.role.payment and k.key.targets[j].provider in _GENERAL_KMS


def _payment_clear_export(k: _Key, j: int) -> bool:
    # A software wrap of a key on the token exports it in clear first: a payment key leaves
    # the HSM in clear only to be split into components.
    return k.key.role.payment and k.kind in _WRAPS and k.key.targets[j].wrap is WrapPlace.SOFTWARE


def _unpinned(k: _Key, j: int) -> bool:
    target = k.key.targets[j]
    return target.pin_field == "fingerprint" and target.pinned is None and not k.rehearsal


def _unpinned_root(k: _Key, j: int) -> bool:
    target = k.key.targets[j]
    return target.pin_field == "root_ca_fingerprint" and target.pinned is None and not k.rehearsal


# In the order they are checked: the first broken rule is the one reported.
KEY_RULES: tuple[_Rule, ...] = (
    _Rule(
        _when("split.made_in", lambda k: k.existing and k.key.split.made_in is None),
        "is missing; name the ceremony that made these components",
        "copy it from the components' CEREMONY line",
    ),
    _Rule(
        _when("split.made_in", lambda k: not k.existing and k.key.split.made_in is not None),
        "is only for existing components (reconstitute, re-split)",
        "new components are named by this ceremony's id",
    ),
    _Rule(
        _when("kcv", lambda k: k.existing and k.key.kcv is None),
        "is missing; the rebuilt key is checked against its recorded KCV",
        "copy it with its method from the record, e.g. 'AES-CMAC 08793E'",
    ),
    _Rule(
        _when("kcv", lambda k: k.key.source is KeySource.KEY_BLOCK and k.key.kcv is None),
        "is missing; the key in the block is checked against the check value its sender gave",
        "copy it with its method from the sender's key letter, e.g. 'TDES-ECB 08793E'",
    ),
    _Rule(
        _when("kcv", lambda k: k.kind is CeremonyType.RE_WRAP and k.key.kcv is None),
        "is missing; the key on the token is chosen by its label and checked against its "
        "recorded KCV",
        "copy it with its method from the record of the ceremony that made the key, e.g. "
        "'AES-CMAC 08793E'",
    ),
    _Rule(
        _when(
            "new_split.made_in",
            lambda k: k.key.new_split is not None and k.key.new_split.made_in is not None,
        ),
        "is not used; the set is new",
    ),
    _Rule(
        _when("kcv", lambda k: k.kind is CeremonyType.GENERATE_EXPORT and k.key.kcv is not None),
        "is not known before the key is generated",
    ),
    _Rule(
        _when("kcv", lambda k: k.key.source is KeySource.HSM_RANDOM and k.key.kcv is not None),
        "is not known before the key is drawn",
    ),
    _Rule(_Key.new_components_with_kcv, "is not known before the component is made"),
    _Rule(
        _when(
            "store_in_hsm",
            lambda k: k.key.store_in_hsm and k.kind in _ANY_KEY_TYPE | {CeremonyType.RE_WRAP},
        ),
        "is not used in a {kind} ceremony",
    ),
    _Rule(
        _when("store_in_hsm", lambda k: k.key.store_in_hsm and k.key.source in _ON_HSM),
        "is not used: the key is already on the HSM",
    ),
    _Rule(
        _when("kcv", lambda k: k.key.source is KeySource.HSM and k.key.kcv is not None),
        "is not known before the key is generated",
    ),
    _Rule(
        _when(
            "",
            lambda k: (
                k.kind is CeremonyType.RECONSTITUTE and not k.key.targets and not k.key.store_in_hsm
            ),
        ),
        "neither stores the rebuilt key in the HSM nor wraps it for a target",
        "set store_in_hsm = true, or add [[keys.targets]]",
    ),
    _Rule(
        _when("type", lambda k: not k.key.type.symmetric and k.kind not in _ANY_KEY_TYPE),
        "is {type}; a {kind} ceremony handles AES, HMAC and TDES keys",
    ),
    _Rule(
        _when(
            "bits",
            lambda k: k.key.type is KeyType.TDES and k.key.bits == 64 and k.kind in _NEW_KEY_TYPES,
        ),
        "is 64: single-length DES is kept only to rebuild and retire old keys",
        "use 128 or 192",
    ),
    _Rule(
        _not_on_token,
        "would create a {type} key of this length on the HSM, and this tool creates only "
        "AES-128/192/256 keys, TDES-128/192 keys and HMAC keys of 160, 224, 256, 384 or 512 "
        "bits on a token; single-length DES never goes on a token",
        "for TDES use 128 (double length) or 192 (triple length) bits; for an HMAC key choose "
        "a digest length",
    ),
    _Rule(
        lambda k: k.targets(_hsm_wrap, "wrap"),
        "is hsm, but the key is never on the HSM",
        "set store_in_hsm = true, or wrap = 'software'",
    ),
    _Rule(
        lambda k: k.targets(_kms_for_payment, "provider"),
        "is a general-purpose cloud KMS, and a {role} never goes there: a payment key leaves "
        "in clear only as components under dual control, and otherwise only under a key of "
        "its own kind",
        "issue it as components, or set role = 'data' if this is not a payment key",
    ),
    _Rule(
        lambda k: k.targets(_payment_clear_export, "wrap"),
        "is software, which would export the {role} from the HSM in clear to wrap it; a "
        "payment key leaves the HSM in clear only as components under dual control",
        "wrap = 'hsm' on a token that can, or load the key from its components in a "
        "reconstitute and wrap it there",
    ),
    _Rule(
        lambda k: k.targets(_unpinned, "fingerprint"),
        "is missing; a production ceremony pins every wrapping key",
        "copy the SHA-256 fingerprint shown by the cloud console or CLI",
    ),
    _Rule(
        lambda k: k.targets(_unpinned_root, "root_ca_fingerprint"),
        "is missing; a production ceremony pins the root CA that certifies AWS Payment "
        "Cryptography's wrapping key",
        "copy the SHA-256 of the root CA certificate (WrappingKeyCertificateChain) from a "
        "source the officers trust, e.g. an earlier reviewed ceremony or AWS",
    ),
)


def check_key(kind: CeremonyType, key: KeyEntry, path: str, rehearsal: bool) -> None:
    """Raise FileError at the first of ``KEY_RULES`` the key breaks in a ``kind`` ceremony."""
    seen = _Key(kind, key, rehearsal)
    for rule in KEY_RULES:
        for where in rule.breaks_at(seen):
            raise FileError(
                f"{path}.{where}" if where else path,
                rule.problem.format(kind=kind.value, type=key.type.value, role=key.role.facts.name),
                hint=rule.hint,
            )


def require_envelopes(kind: CeremonyType, key: KeyEntry, path: str, rehearsal: bool) -> None:
    """A production ceremony seals every component it issues in a serialised envelope."""
    issued = _ISSUED.get(kind)
    split = getattr(key, issued) if issued else None
    if rehearsal or split is None:
        return
    for j, c in enumerate(split.components):
        if c.envelope is None:
            raise FileError(
                f"{path}.{issued}.components[{j}].envelope",
                "is missing: a production ceremony seals every component it issues in a "
                "tamper-evident envelope whose serial the file lists (PCI PIN 9-4)",
                hint='add envelope = "<serial>" from the envelope log to each component',
            )

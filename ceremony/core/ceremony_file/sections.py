"""The other tables: ``[ceremony]``, ``[hsm]``, ``[printer]``, ``[[keys]]`` and its splits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ceremony.core import keylengths
from ceremony.core.ceremony_file.targets import (
    TargetEntry,
)
from ceremony.core.ceremony_file.vocabulary import (
    _CURVES,
    _HMAC_KINDS,
    _RSA_BITS,
    CeremonyType,
    FileError,
    HsmLogin,
    KeySource,
    KeyType,
    TrustedWrap,
    _require_label,
    _require_path,
    _require_text,
    _show,
)
from ceremony.core.component import KeyAlgorithm, KeyIdentity, Scheme
from ceremony.core.journal import looks_secret
from ceremony.core.kcv import CheckValue, default_method
from ceremony.core.key_roles import KeyRole
from ceremony.core.providers.methods import MaterialKind
from ceremony.core.rules import (
    Assignment,
    Participant,
)
from ceremony.core.shamir import MAX_SHARES
from ceremony.core.xor import MAX_COMPONENTS, MIN_COMPONENTS

# A CUPS queue name, as ceremony.record.printer accepts it (core cannot import record).
# A CUPS queue name, as ceremony.record.printer accepts it (core cannot import record).
_QUEUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")


@dataclass(frozen=True)
class CeremonyInfo:
    """The ``[ceremony]`` table."""

    id: str
    type: CeremonyType
    site: str
    purpose: str
    output: str  # folder for the bundle and journal; relative to the ceremony file's folder
    rehearsal: bool = False
    registry: str | None = None  # custodian registry file
    require_memory_lock: bool = False  # stop before any secret unless mlockall succeeded

    def validate(self, path: str = "ceremony") -> None:
        _require_label(f"{path}.id", self.id, "a ceremony id")
        _require_text(f"{path}.site", self.site)
        _require_text(f"{path}.purpose", self.purpose, 500)
        _require_path(f"{path}.output", self.output)
        if self.registry is not None:
            _require_path(f"{path}.registry", self.registry)


def validate_participant(person: Participant, path: str) -> None:
    """Per-entry checks of ``[[participants]]``."""
    _require_label(f"{path}.id", person.id, "a participant id")
    _require_text(f"{path}.name", person.name, 100)
    _require_text(f"{path}.id_reference", person.id_reference, 100)


@dataclass(frozen=True)
class HsmSpec:
    """The ``[hsm]`` table; never a PIN."""

    module: str
    token_label: str | None = None
    token_serial: str | None = None
    login: HsmLogin = field(default_factory=lambda: HsmLogin.PIN)
    # C_Initialize's pReserved, for modules that need it (NSS softokn: its database folder).
    init_reserved: str | None = None
    trusted_wrap: TrustedWrap = field(default_factory=lambda: TrustedWrap.REQUIRED)

    def validate(self, path: str = "hsm") -> None:
        _require_path(f"{path}.module", self.module)
        if self.token_label is None and self.token_serial is None:
            raise FileError(
                path, "names no token", hint="give token_label or token_serial (or both)"
            )
        if self.token_label is not None and not 1 <= len(self.token_label.encode()) <= 32:
            raise FileError(
                f"{path}.token_label", "must be 1-32 bytes", hint="PKCS#11 labels hold 32 bytes"
            )
        if self.token_label is not None:
            _require_text(f"{path}.token_label", self.token_label, 32)
        if self.init_reserved is not None:
            _require_text(f"{path}.init_reserved", self.init_reserved, 1000)
        if self.token_serial is not None and not re.fullmatch(r"[ -~]{1,16}", self.token_serial):
            raise FileError(
                f"{path}.token_serial",
                "must be 1-16 printable ASCII characters",
                hint="copy the serial from ceremony hsm info",
            )


SIGNING_LABEL = "ceremony-signing"  # the record signing key's label, unless [signing] names one
MAX_VALIDITY_DAYS = 3650


@dataclass(frozen=True)
class SigningSpec:
    """The optional ``[signing]`` table: the key that signs the record, on which token."""

    organization: str | None = None  # the certificate's O, for a key this ceremony creates
    key_label: str = SIGNING_LABEL
    create: bool = False  # create key and certificate in the token if missing (dual control)
    validity_days: int = 1825
    # A second token signs the record (a token with EC where the ceremony token has none).
    module: str | None = None
    token_label: str | None = None
    token_serial: str | None = None
    init_reserved: str | None = None

    @property
    def token(self) -> HsmSpec | None:
        """The second token, or None: the ceremony's own token signs."""
        if self.module is None:
            return None
        return HsmSpec(
            self.module, self.token_label, self.token_serial, init_reserved=self.init_reserved
        )

    def validate(self, path: str = "signing") -> None:
        _require_label(f"{path}.key_label", self.key_label, "a key label")
        if self.organization is not None:
            _require_text(f"{path}.organization", self.organization, 64)
        elif self.create:
            raise FileError(
                f"{path}.organization",
                "is missing: a signing key created here needs the organisation its "
                "certificate names",
                hint='for example organization = "Example Payments Ltd"',
            )
        if not 1 <= self.validity_days <= MAX_VALIDITY_DAYS:
            raise FileError(
                f"{path}.validity_days",
                f"is {self.validity_days}, not 1-{MAX_VALIDITY_DAYS}",
                hint="the certificate's life in days; 1825 is five years",
            )
        token = self.token
        if token is not None:
            token.validate(path)
        elif self.token_label or self.token_serial or self.init_reserved:
            raise FileError(
                f"{path}.module",
                "is missing: token_label, token_serial or init_reserved name a second token",
                hint="give the second token's PKCS#11 module, or remove those keys so that "
                "the ceremony token signs",
            )


@dataclass(frozen=True)
class PrinterSpec:
    """The optional ``[printer]`` table: the CUPS queue production component forms go to."""

    queue: str

    def validate(self, path: str = "printer") -> None:
        if not _QUEUE.fullmatch(self.queue):
            raise FileError(
                f"{path}.queue",
                f"is {_show(self.queue)}, not a CUPS queue name",
                hint="letters, digits, '.', '_', '-', '@'; see 'lpstat -v' for the queue names",
            )
        if looks_secret(self.queue):
            raise FileError(f"{path}.queue", "looks like key material", hint="rename the queue")


@dataclass(frozen=True)
class ComponentSpec:
    """One ``[[keys.split.components]]`` entry; ``index`` is its 1-based position."""

    index: int
    custodian: str
    backup: str | None = None
    kcv: CheckValue | None = None  # the component's recorded KCV (existing sets only)
    envelope: str | None = None  # serial of its tamper-evident envelope (PCI PIN 9-4)

    @property
    def assignment(self) -> Assignment:
        return Assignment(self.index, self.custodian, self.backup)

    @property
    def holders(self) -> tuple[str, ...]:
        return self.assignment.holders

    def validate(self, path: str) -> None:
        _require_label(f"{path}.custodian", self.custodian, "a participant id")
        if self.backup is not None:
            _require_label(f"{path}.backup", self.backup, "a participant id")
        if self.envelope is not None:
            _require_text(f"{path}.envelope", self.envelope, 64)


@dataclass(frozen=True)
class SplitSpec:
    """``[keys.split]``: none, XOR n-of-n, or Shamir k-of-n, with each component's holder.

    A new set lists every component in order. An existing Shamir set (``made_in``) may list
    only the shares entered today, each with its ``index``, and give the set size as ``total``.
    """

    scheme: Scheme | None  # None: the key is not split
    threshold: int | None = None  # k, Shamir only
    components: tuple[ComponentSpec, ...] = ()
    made_in: str | None = None  # the ceremony that made an existing set
    total: int | None = None  # n, when not every component is listed
    # "plain": components another system issued, as bare hex digits with a KCV each (a card
    # network's or partner's key letter); "ceremony": this tool's component text.
    plain: bool = False

    @property
    def count(self) -> int:
        """n: the number of components in the set."""
        return self.total if self.total is not None else len(self.components)

    @property
    def k(self) -> int:
        """Components needed to rebuild the key (n for XOR)."""
        if self.scheme is Scheme.SHAMIR and self.threshold is not None:
            return self.threshold
        return self.count

    @property
    def assignments(self) -> tuple[Assignment, ...]:
        return tuple(c.assignment for c in self.components)

    def holders(self) -> frozenset[str]:
        return frozenset(p for c in self.components for p in c.holders)

    def _validate_plain(self, path: str) -> None:
        problem = _plain_problem(self)
        if problem is not None:
            where, text, hint = problem
            raise FileError(f"{path}.{where}", text, hint=hint)

    def describe(self) -> str:
        if self.scheme is None:
            return "not split"
        if self.scheme is Scheme.XOR:
            plain = ", typed as plain hex" if self.plain else ""
            return f"XOR into {self.count} components{plain}; all {self.count} are needed"
        listed = len(self.components)
        some = f"; {listed} listed here" if listed != self.count else ""
        return f"Shamir into {self.count} shares; any {self.k} rebuild the key{some}"

    def validate(self, path: str) -> None:
        if self.plain:
            self._validate_plain(path)
        if self.scheme is None:
            if self.components or self.threshold is not None or self.made_in is not None:
                raise FileError(
                    path,
                    "says scheme none but lists components, a threshold or made_in",
                    hint="remove them, or choose xor or shamir",
                )
            if self.total is not None:
                raise FileError(f"{path}.count", "is only for a split key", hint="remove it")
            return
        if self.made_in is not None:
            _require_label(f"{path}.made_in", self.made_in, "a ceremony id")
        partial = self.scheme is Scheme.SHAMIR and self.made_in is not None
        if self.total is not None and self.total != len(self.components) and not partial:
            raise FileError(
                f"{path}.count",
                f"is {self.total} but {len(self.components)} components are listed",
                hint="list every component; only an existing Shamir set may list fewer",
            )
        seen: dict[int, int] = {}
        for i, c in enumerate(self.components):
            here = f"{path}.components[{i}]"
            c.validate(here)
            if not partial and c.index != i + 1:
                raise FileError(
                    f"{here}.index",
                    f"is {c.index}; components are listed in order from 1",
                    hint="only an existing Shamir set may skip shares",
                )
            if not 1 <= c.index <= self.count:
                raise FileError(f"{here}.index", f"is {c.index}, outside 1..{self.count}")
            if c.index in seen:
                raise FileError(
                    f"{here}.index", f"repeats components[{seen[c.index]}]", hint="one entry each"
                )
            seen[c.index] = i
        if self.scheme is Scheme.XOR:
            if self.threshold is not None:
                raise FileError(
                    f"{path}.threshold",
                    "is only for shamir; XOR needs every component",
                    hint="remove threshold",
                )
            if not MIN_COMPONENTS <= self.count <= MAX_COMPONENTS:
                raise FileError(
                    f"{path}.components",
                    f"lists {self.count}; an XOR split has {MIN_COMPONENTS} to "
                    f"{MAX_COMPONENTS} components",
                    hint="list one entry per component",
                )
            return
        if self.threshold is None:
            raise FileError(f"{path}.threshold", "is missing", hint="give k, e.g. threshold = 3")
        if not 2 <= self.count <= MAX_SHARES:
            raise FileError(
                f"{path}.components",
                f"lists {self.count}; a Shamir split has 2 to {MAX_SHARES} shares",
                hint="list one entry per share",
            )
        if not 2 <= self.threshold <= self.count:
            raise FileError(
                f"{path}.threshold",
                f"is {self.threshold}; it must be 2 to {self.count} (the number of shares)",
                hint="k of n: at least 2, at most n",
            )
        if len(self.components) < self.threshold:
            raise FileError(
                f"{path}.components",
                f"lists {len(self.components)} shares; at least {self.threshold} are needed",
                hint="list the custodians who will enter their shares",
            )


def _plain_problem(split: SplitSpec) -> tuple[str, str, str] | None:
    """(where, problem, hint) of the first thing a set of plain hex components cannot be."""
    if split.scheme is not Scheme.XOR:
        return "format", "is plain, and plain hex components are XOR components", "scheme = 'xor'"
    if split.made_in is None:
        return (
            "format",
            "is plain, which is only for components that exist already",
            "name their origin in made_in, e.g. the partner's key letter reference",
        )
    for i, c in enumerate(split.components):
        if c.kcv is None:
            return (
                f"components[{i}].kcv",
                "is missing: a plain hex component is checked only by its KCV",
                "copy the component's check value from the key letter",
            )
    return None


@dataclass(frozen=True)
class KeyBlockEntry:
    """A key's ``[keys.key_block]``: the TR-31 block it arrives in, and the key protecting it."""

    file: str  # the block as the partner sent it, ASCII, next to the ceremony file
    kbpk: str  # the label of a key loaded earlier in this ceremony (a ZMK, KEK or KBPK)


@dataclass(frozen=True)
class KeyBlockOut:
    """One ``[[keys.tr31]]``: the key sent out as a TR-31 block under a key loaded here."""

    label: str  # names the block's file in the bundle: tr31/<key>/<label>.tr31
    kbpk: str  # the label of a key listed earlier in this file, in memory in this ceremony
    exportability: str = "N"  # TR-31: N none, E under a KEK, S sensitive
    key_version: str = "00"


@dataclass(frozen=True)
class KeyEntry:
    """One ``[[keys]]`` entry."""

    label: str
    type: KeyType
    source: KeySource
    bits: int | None = None  # AES, HMAC, TDES, RSA
    curve: str | None = None  # EC
    kcv: CheckValue | None = None  # the key's recorded check value
    store_in_hsm: bool = False  # load a key assembled on the workstation into the HSM
    split: SplitSpec = field(default_factory=lambda: SplitSpec(None))
    new_split: SplitSpec | None = None  # re-split only: the new set
    targets: tuple[TargetEntry, ...] = ()
    role: KeyRole = KeyRole.DATA  # what the key is for; payment roles carry their own rules
    key_block: KeyBlockEntry | None = None  # source = "key-block" only
    tr31: tuple[KeyBlockOut, ...] = ()  # sent out as TR-31 blocks

    @property
    def algorithm(self) -> KeyAlgorithm | None:
        """The core algorithm of a symmetric key; None for EC and RSA."""
        return {
            KeyType.AES: KeyAlgorithm.AES,
            KeyType.HMAC: KeyAlgorithm.HMAC,
            KeyType.TDES: KeyAlgorithm.TDES,
        }.get(self.type)

    @property
    def length(self) -> int | None:
        """Bytes of a symmetric key."""
        return self.bits // 8 if self.type.symmetric and self.bits is not None else None

    @property
    def material_kind(self) -> MaterialKind | None:
        """The cloud material kind, or None when no cloud imports this key."""
        if self.type is KeyType.AES:
            return {128: MaterialKind.AES_128, 192: MaterialKind.AES_192}.get(
                self.bits or 0, MaterialKind.AES_256 if self.bits == 256 else None
            )
        if self.type is KeyType.HMAC:
            return _HMAC_KINDS.get(self.length or 0)
        if self.type is KeyType.RSA:
            return MaterialKind[f"RSA_{self.bits}"] if self.bits in _RSA_BITS else None
        if self.type is KeyType.EC:
            return _CURVES.get(self.curve or "")
        if self.type is KeyType.TDES:
            return {128: MaterialKind.TDES_128, 192: MaterialKind.TDES_192}.get(self.bits or 0)
        return None

    def describe(self) -> str:
        if self.type is KeyType.EC:
            return f"EC {self.curve}"
        return f"{self.type.value} {self.bits}-bit"

    def describe_role(self) -> str:
        """The role as the record prints it, with its TR-31 usage and mode of use."""
        return self.role.describe(self.algorithm)

    def identity(self, ceremony_id: str) -> KeyIdentity:
        """The identity components of this key carry, for the set made in ``ceremony_id``."""
        if self.algorithm is None or self.length is None:
            raise FileError(self.label, "is not a symmetric key and has no components", hint="bug")
        return KeyIdentity(ceremony_id, self.label, self.algorithm, self.length)

    def validate(self, path: str) -> None:
        _require_label(f"{path}.label", self.label, "a key label")
        if self.role.payment and (self.algorithm is None or not self.role.allows(self.algorithm)):
            allowed = " or ".join(a.value for a in self.role.facts.usages)
            raise FileError(
                f"{path}.role",
                f"is {self.role.value}, and a {self.role.facts.name} is a {allowed} key, not "
                f"{self.describe()}",
                hint="change the key's type, or its role ('data' for a generic key)",
            )
        if self.type is KeyType.EC:
            if self.bits is not None:
                raise FileError(f"{path}.bits", "is not used for EC keys", hint="give curve")
            if self.curve not in _CURVES:
                raise FileError(
                    f"{path}.curve",
                    f"is {_show(self.curve)}, not one of " + ", ".join(_CURVES),
                    hint="name the curve",
                )
        else:
            if self.curve is not None:
                raise FileError(f"{path}.curve", "is only for EC keys", hint="give bits")
            self._validate_bits(path)
        if self.kcv is not None:
            if self.algorithm is None or self.length is None:
                raise FileError(
                    f"{path}.kcv",
                    "is only for AES, HMAC and TDES keys",
                    hint="EC and RSA keys are identified by their label",
                )
            _require_kcv_method(f"{path}.kcv", self.kcv, self.algorithm, self.length)
        for name, split in (("split", self.split), ("new_split", self.new_split)):
            if split is None:
                continue
            split.validate(f"{path}.{name}")
            if split.scheme is not None and not self.type.symmetric:
                raise FileError(
                    f"{path}.{name}.scheme",
                    f"is {split.scheme.value.lower()}, but {self.type.value} keys are not split",
                    hint="only AES, HMAC and TDES keys are split into components",
                )
            for i, c in enumerate(split.components):
                if c.kcv is not None and self.algorithm is not None and self.length is not None:
                    _require_kcv_method(
                        f"{path}.{name}.components[{i}].kcv", c.kcv, self.algorithm, self.length
                    )
        labels: set[str] = set()
        for i, target in enumerate(self.targets):
            target_path = f"{path}.targets[{i}]"
            target.validate(target_path)
            if target.label in labels:
                raise FileError(f"{target_path}.label", "is used twice", hint="one label each")
            labels.add(target.label)
            kind = self.material_kind
            if kind is None:
                raise FileError(
                    target_path,
                    f"imports a {self.describe()} key, which no cloud provider takes",
                    hint="AES-128/192/256, HMAC of a digest length, EC and RSA keys only, and "
                    "TDES-128/192 for AWS Payment Cryptography; never single DES",
                )
            target.check_material(kind, target_path)

    def _validate_bits(self, path: str) -> None:
        bits = self.bits
        if bits is None:
            raise FileError(f"{path}.bits", "is missing", hint="give the key size in bits")
        if self.type is KeyType.RSA:
            if bits not in _RSA_BITS:
                raise FileError(f"{path}.bits", f"is {bits}; RSA keys are 2048, 3072 or 4096")
            return
        algorithm = self.algorithm
        assert algorithm is not None
        allowed = keylengths.allowed_lengths(algorithm)
        if bits % 8 or bits // 8 not in allowed:
            raise FileError(
                f"{path}.bits",
                f"is {bits}; {self.type.value} keys are "
                + ", ".join(str(n * 8) for n in allowed[:3])
                + (f" ... {allowed[-1] * 8}" if len(allowed) > 3 else "")
                + " bits",
                hint="give the key size in bits",
            )


def _require_kcv_method(path: str, value: CheckValue, algorithm: KeyAlgorithm, length: int) -> None:
    expected = default_method(algorithm, length)
    if value.method is not expected:
        raise FileError(
            path,
            f"uses {value.method.label}; {algorithm.value} keys are checked with {expected.label}",
            hint="copy the check value with its method from the record of the ceremony that "
            "made it",
        )

"""The ceremony file: strict TOML into frozen dataclasses, validated section by section."""

from __future__ import annotations

import difflib
import enum
import re
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

from ceremony.core import keylengths
from ceremony.core.component import KeyAlgorithm, KeyIdentity, Scheme
from ceremony.core.journal import looks_secret
from ceremony.core.kcv import CheckValue, default_method, parse_check_value
from ceremony.core.labels import LABEL_RULE, is_label
from ceremony.core.providers import aws, azure, gcp
from ceremony.core.providers.common import (
    Fingerprint,
    ImportKey,
    MaterialInfo,
    MaterialKind,
    Provider,
    WrapMethod,
    parse_fingerprint,
    parse_method,
)
from ceremony.core.registry import Registry, check_assignments, check_identities
from ceremony.core.rules import (
    DUAL_CONTROL,
    ONE_PERSON_ONE_ROLE,
    ROLES,
    Assignment,
    Operation,
    Participant,
    PlannedOperation,
    Role,
    Roster,
    RuleBreach,
    require_dual_control_possible,
)
from ceremony.core.shamir import MAX_SHARES
from ceremony.core.xor import MAX_COMPONENTS, MIN_COMPONENTS
from ceremony.errors import CeremonyError, ConfigError

MAX_FILE = 256 * 1024  # bytes; a ceremony file is a page or two
# A CUPS queue name, as ceremony.record.printer accepts it (core cannot import record).
_QUEUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")
# Any key naming a PIN, password or secret is refused before anything else is read.
_SECRET_KEY = re.compile(
    r"(?:^|[-_ .])(?:pins?|puk|pwd|passwd|so_?pin|user_?pin)(?:$|[-_ .])"
    r"|password|passphrase|secret",
    re.IGNORECASE,
)


class FileError(ConfigError):
    """A ceremony-file error at ``path`` (``keys[0].targets[1].algorithm``)."""

    def __init__(self, path: str, problem: str, hint: str | None = None) -> None:
        super().__init__(f"{path} {problem}", hint=hint)
        self.path = path


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---- vocabulary -------------------------------------------------------------------------------


class CeremonyType(enum.Enum):
    GENERATE_EXPORT = "generate-export"
    SPLIT_BACKUP = "split-backup"
    RECONSTITUTE = "reconstitute"
    RE_SPLIT = "re-split"
    DESTROY = "destroy"

    @property
    def description(self) -> str:
        return _TYPE_TEXT[self]


_TYPE_TEXT = MappingProxyType(
    {
        CeremonyType.GENERATE_EXPORT: "generate keys inside the HSM and export them wrapped "
        "for cloud import",
        CeremonyType.SPLIT_BACKUP: "split keys into components for custodians to keep as a backup",
        CeremonyType.RECONSTITUTE: "rebuild keys from custodians' components",
        CeremonyType.RE_SPLIT: "rebuild keys from their components and split them again for a "
        "new set of custodians",
        CeremonyType.DESTROY: "destroy keys in the HSM",
    }
)


class KeyType(enum.Enum):
    AES = "AES"
    HMAC = "HMAC"
    TDES = "TDES"
    EC = "EC"
    RSA = "RSA"

    @property
    def symmetric(self) -> bool:
        return self in (KeyType.AES, KeyType.HMAC, KeyType.TDES)


class KeySource(enum.Enum):
    """Where a key's material comes from in this ceremony."""

    HSM = "hsm"  # generated inside the HSM
    HSM_RANDOM = "hsm-random"  # drawn from the HSM's random generator, split on the workstation
    HSM_KEY = "hsm-key"  # a key already on the token
    COMPONENTS = "components"  # entered by its custodians

    @property
    def description(self) -> str:
        return _SOURCE_TEXT[self]


_SOURCE_TEXT = MappingProxyType(
    {
        KeySource.HSM: "generated inside the HSM",
        KeySource.HSM_RANDOM: "drawn from the HSM's random generator and split on the workstation",
        KeySource.HSM_KEY: "an existing key on the HSM",
        KeySource.COMPONENTS: "rebuilt from its custodians' components",
    }
)
# Allowed sources per ceremony type; the first is the default.
_SOURCES = MappingProxyType(
    {
        CeremonyType.GENERATE_EXPORT: (KeySource.HSM,),
        CeremonyType.SPLIT_BACKUP: (KeySource.HSM_RANDOM, KeySource.HSM_KEY, KeySource.HSM),
        CeremonyType.RECONSTITUTE: (KeySource.COMPONENTS,),
        CeremonyType.RE_SPLIT: (KeySource.COMPONENTS,),
        CeremonyType.DESTROY: (KeySource.HSM_KEY,),
    }
)


_CUSTODIAN_ROLE = frozenset({Role.KEY_CUSTODIAN})
_HOLDER_ROLES = frozenset({Role.KEY_CUSTODIAN, Role.BACKUP_CUSTODIAN})
# Ceremony types that make or keep using a key; single DES is refused for them.
_NEW_KEY_TYPES = frozenset(
    {CeremonyType.GENERATE_EXPORT, CeremonyType.SPLIT_BACKUP, CeremonyType.RE_SPLIT}
)


class HsmLogin(enum.Enum):
    """How the PINs are typed: by one security officer, or split between two (dual control)."""

    PIN = "pin"
    SPLIT_PIN = "split-pin"


class WrapPlace(enum.Enum):
    HSM = "hsm"  # the HSM wraps; the key never leaves it in clear
    SOFTWARE = "software"  # the workstation wraps the clear key (a manual clear-text operation)


_PROVIDERS = MappingProxyType({"aws": Provider.AWS, "azure": Provider.AZURE, "gcp": Provider.GCP})
_CURVES = MappingProxyType(
    {
        "P-256": MaterialKind.EC_P256,
        "P-384": MaterialKind.EC_P384,
        "P-521": MaterialKind.EC_P521,
        "secp256k1": MaterialKind.EC_SECP256K1,
    }
)
_HMAC_KINDS = MappingProxyType(
    {
        20: MaterialKind.HMAC_SHA1,
        28: MaterialKind.HMAC_SHA224,
        32: MaterialKind.HMAC_SHA256,
        48: MaterialKind.HMAC_SHA384,
        64: MaterialKind.HMAC_SHA512,
    }
)
_RSA_BITS = (2048, 3072, 4096)

# ---- sections ---------------------------------------------------------------------------------


def _require_label(path: str, value: str, what: str = "a label") -> None:
    if not is_label(value):
        raise FileError(
            path,
            f"is {_show(value)}, not {what}",
            hint=f"use {LABEL_RULE}",
        )
    if looks_secret(value):
        raise FileError(path, "looks like key material", hint="use a descriptive name")


def _require_text(path: str, value: str, limit: int = 200) -> None:
    if not value.strip() or len(value) > limit:
        raise FileError(path, f"must be 1-{limit} characters", hint="write it on one line")
    if not value.isprintable():
        raise FileError(path, "holds control characters or line breaks", hint="one line only")
    reason = looks_secret(value)
    if reason:
        raise FileError(
            path,
            f"looks like key material ({reason})",
            hint="a ceremony file never holds key material; describe it in words",
        )


def _require_path(path: str, value: str) -> None:
    if not value.strip() or len(value) > 4096 or not value.isprintable():
        raise FileError(path, "must be a file or folder path on one line", hint="check the path")


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
        if self.token_serial is not None and not re.fullmatch(r"[ -~]{1,16}", self.token_serial):
            raise FileError(
                f"{path}.token_serial",
                "must be 1-16 printable ASCII characters",
                hint="copy the serial from ceremony hsm info",
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

    def describe(self) -> str:
        if self.scheme is None:
            return "not split"
        if self.scheme is Scheme.XOR:
            return f"XOR into {self.count} components; all {self.count} are needed"
        listed = len(self.components)
        some = f"; {listed} listed here" if listed != self.count else ""
        return f"Shamir into {self.count} shares; any {self.k} rebuild the key{some}"

    def validate(self, path: str) -> None:
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


@dataclass(frozen=True)
class AwsFields:
    key_id: str | None = None  # KMS key ARN or id; defaults to the one in the parameters file
    region: str | None = None
    import_token: str | None = None  # path to the import token, when not in the parameters
    material_valid_to: datetime | None = None  # None: the material never expires


@dataclass(frozen=True)
class AzureFields:
    kek_id: str  # the versioned KEK id
    key_name: str
    ops: tuple[str, ...] = ()


@dataclass(frozen=True)
class GcpFields:
    key: str  # the CryptoKey id in the import job's key ring
    import_job: str | None = None  # projects/.../importJobs/...; else from the job JSON
    key_algorithm: str | None = None  # gcloud --algorithm; default per key kind


ProviderFields = AwsFields | AzureFields | GcpFields


@dataclass(frozen=True)
class TargetSpec:
    """One ``[[keys.targets]]`` entry: where a key is imported and how it is wrapped."""

    label: str
    provider: Provider
    algorithm: WrapMethod
    import_key: str  # path to the provider's wrapping key download
    fingerprint: bytes | None  # pinned SHA-256 of the wrapping key's SPKI
    fields: ProviderFields
    wrap: WrapPlace = WrapPlace.HSM

    @property
    def pinned(self) -> Fingerprint | None:
        return Fingerprint(self.fingerprint) if self.fingerprint is not None else None

    def validate(self, path: str) -> None:
        _require_label(f"{path}.label", self.label, "a target label")
        _require_path(f"{path}.import_key", self.import_key)
        if self.algorithm.provider is not self.provider:
            raise FileError(
                f"{path}.algorithm",
                f"is {self.algorithm.value}, a {self.algorithm.provider.value} method, not a "
                f"{self.provider.value} one",
                hint="pick a method of the target's provider",
            )
        if self.fingerprint is not None and len(self.fingerprint) != 32:
            raise FileError(f"{path}.fingerprint", "is not a SHA-256 digest", hint="64 hex digits")
        f = self.fields
        try:
            if isinstance(f, AwsFields):
                if self.provider is not Provider.AWS:
                    raise FileError(path, "has AWS fields but another provider", hint="bug")
                if f.key_id is not None:
                    aws._require_key_id(f.key_id)
                if f.region is not None and not aws._REGION.fullmatch(f.region):
                    raise FileError(f"{path}.region", "is not an AWS Region", hint="e.g. eu-west-1")
                if f.import_token is not None:
                    _require_path(f"{path}.import_token", f.import_token)
                if f.material_valid_to is not None and f.material_valid_to.tzinfo is None:
                    raise FileError(
                        f"{path}.material_valid_to",
                        "has no time zone",
                        hint="write it with Z or an offset, e.g. 2026-06-30T00:00:00Z",
                    )
            elif isinstance(f, AzureFields):
                if self.provider is not Provider.AZURE:
                    raise FileError(path, "has Azure fields but another provider", hint="bug")
                azure.parse_kek_id(f.kek_id)
                if not azure._KEY_NAME.fullmatch(f.key_name):
                    raise FileError(
                        f"{path}.key_name", "is not a Key Vault key name", hint="1-127 [A-Za-z0-9-]"
                    )
                for j, op in enumerate(f.ops):
                    if op not in azure._OPS:
                        raise FileError(
                            f"{path}.ops[{j}]",
                            f"is {_show(op)}, not a key operation",
                            hint="pick from " + ", ".join(azure._OPS),
                        )
            else:
                if self.provider is not Provider.GCP:
                    raise FileError(path, "has GCP fields but another provider", hint="bug")
                if not gcp._KEY_ID.fullmatch(f.key):
                    raise FileError(
                        f"{path}.key", "is not a CryptoKey id", hint="letters, digits, '-', '_'"
                    )
                if f.import_job is not None:
                    gcp.parse_import_job_name(f.import_job)
        except FileError:
            raise
        except CeremonyError as ex:
            raise FileError(path, f"is invalid: {ex.message}", hint=ex.hint) from None

    def check_material(self, kind: MaterialKind, path: str) -> None:
        """Raise unless the provider imports ``kind`` with this method (the provider's own rule)."""
        if kind.is_rsa and not self.algorithm.composite:
            raise FileError(
                f"{path}.algorithm",
                f"is {self.algorithm.value}, which cannot carry an RSA private key",
                hint="pick a two-part method (RSA_AES_KEY_WRAP_SHA_256, *_AES_256)",
            )
        # The providers' check_material reads only the method, names and KEK id, so a
        # placeholder import key lets the file be checked with their rules before the day.
        placeholder = ImportKey(
            self.provider,
            None,  # type: ignore[arg-type]
            b"",
            reference=self.fields.kek_id if isinstance(self.fields, AzureFields) else "",
        )
        f = self.fields
        target: aws.AwsTarget | azure.AzureTarget | gcp.GcpTarget
        if isinstance(f, AwsFields):
            target = aws.AwsTarget(self.label, self.algorithm, placeholder)
        elif isinstance(f, AzureFields):
            target = azure.AzureTarget(self.label, placeholder, f.key_name, f.ops, self.algorithm)
        else:
            target = gcp.GcpTarget(
                self.label, self.algorithm, placeholder, f.key, f.key_algorithm or ""
            )
        try:
            target.check_material(MaterialInfo(kind, kind.raw_length, None))
        except CeremonyError as ex:
            raise FileError(path, f"cannot take this key: {ex.message}", hint=ex.hint) from None


@dataclass(frozen=True)
class KeySpec:
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
    targets: tuple[TargetSpec, ...] = ()

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
        return None

    def describe(self) -> str:
        if self.type is KeyType.EC:
            return f"EC {self.curve}"
        return f"{self.type.value} {self.bits}-bit"

    def identity(self, ceremony_id: str) -> KeyIdentity:
        """The identity components of this key carry, for the set made in ``ceremony_id``."""
        if self.algorithm is None or self.length is None:
            raise FileError(self.label, "is not a symmetric key and has no components", hint="bug")
        return KeyIdentity(ceremony_id, self.label, self.algorithm, self.length)

    def validate(self, path: str) -> None:
        _require_label(f"{path}.label", self.label, "a key label")
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
                    hint="AES-128/192/256, HMAC of a digest length, EC and RSA keys only",
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


# ---- the whole file ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CeremonyFile:
    """A parsed ceremony file; ``validate()`` checks every section and every rule."""

    ceremony: CeremonyInfo
    participants: tuple[Participant, ...]
    hsm: HsmSpec
    keys: tuple[KeySpec, ...]
    printer: PrinterSpec | None = None

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

    def split_sets(self) -> Iterator[tuple[str, KeySpec, SplitSpec, str]]:
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
                key: KeySpec = key,
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
            if software and kind is CeremonyType.GENERATE_EXPORT:
                add(Operation.CLEAR_EXPORT, f"{path}.targets[{software[0]}].wrap")
            for j in software:
                add(Operation.SOFTWARE_WRAP, f"{path}.targets[{j}].wrap")
            if kind is CeremonyType.DESTROY:
                add(Operation.DESTROY)
        return plan

    def validate(self, registry: Registry | None = None) -> None:
        """Every section, then the rules: roles, split knowledge (with the registry), dual
        control. Raises FileError (ConfigError) or RuleBreach, both naming the dotted path."""
        self.ceremony.validate("ceremony")
        self.hsm.validate("hsm")
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
            self._validate_shape_for_type(key, path)
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
            self._validate_key_for_type(key, path)
            self._validate_people(key, path, roster)
            self._require_envelopes(key, path)
        for path, key, split, split_set in self.split_sets():
            # In a re-split, whoever enters an old component already holds one of this key.
            old = key.split if split is key.new_split else None
            also_held = {p: {old.made_in or self.ceremony.id} for p in old.holders()} if old else {}
            try:
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
            for name, value in (
                ("id", person.id),
                ("name", " ".join(person.name.casefold().split())),
                ("id_reference", " ".join(person.id_reference.casefold().split())),
            ):
                if (name, value) in seen:
                    other = self.participants[seen[(name, value)]]
                    raise RuleBreach(
                        f"{path}.{name}: {ONE_PERSON_ONE_ROLE}: {person.describe()} has the same "
                        f"{name} as participants[{seen[(name, value)]}] ({other.describe()})",
                        rule=ONE_PERSON_ONE_ROLE,
                        people=(other.id, person.id),
                        hint="each person is listed once, with one role",
                        path=f"{path}.{name}",
                    )
                seen[(name, value)] = i
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

    def _require_envelopes(self, key: KeySpec, path: str) -> None:
        """A production ceremony seals every component it issues in a serialised envelope."""
        kind = self.ceremony.type
        issued = {CeremonyType.SPLIT_BACKUP: "split", CeremonyType.RE_SPLIT: "new_split"}.get(kind)
        split = getattr(key, issued) if issued else None
        if self.rehearsal or split is None:
            return
        for j, c in enumerate(split.components):
            if c.envelope is None:
                raise FileError(
                    f"{path}.{issued}.components[{j}].envelope",
                    "is missing: a production ceremony seals every component it issues in a "
                    "tamper-evident envelope whose serial the file lists (PCI PIN 9-4)",
                    hint='add envelope = "<serial>" from the envelope log to each component',
                )

    def _validate_people(self, key: KeySpec, path: str, roster: Roster) -> None:
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

    def _validate_shape_for_type(self, key: KeySpec, path: str) -> None:
        # Sections a ceremony type does not use are named before their contents are checked.
        kind = self.ceremony.type
        allowed = _SOURCES[kind]
        if key.source not in allowed:
            raise FileError(
                f"{path}.source",
                f"is {key.source.value}; a {kind.value} ceremony takes "
                + " or ".join(s.value for s in allowed),
                hint="remove source to use the default, " + allowed[0].value,
            )
        split_needed = kind in (CeremonyType.SPLIT_BACKUP, CeremonyType.RECONSTITUTE)
        split_needed = split_needed or kind is CeremonyType.RE_SPLIT
        if split_needed and key.split.scheme is None:
            raise FileError(
                f"{path}.split", f"is missing; a {kind.value} ceremony splits every key"
            )
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
        if kind is CeremonyType.GENERATE_EXPORT and not key.targets:
            raise FileError(f"{path}.targets", "is empty; name where the key is imported")

    def _validate_key_for_type(self, key: KeySpec, path: str) -> None:
        kind = self.ceremony.type
        existing = kind in (CeremonyType.RECONSTITUTE, CeremonyType.RE_SPLIT)
        if existing and key.split.made_in is None:
            raise FileError(
                f"{path}.split.made_in",
                "is missing; name the ceremony that made these components",
                hint="copy it from the components' CEREMONY line",
            )
        if not existing and key.split.made_in is not None:
            raise FileError(
                f"{path}.split.made_in",
                "is only for existing components (reconstitute, re-split)",
                hint="new components are named by this ceremony's id",
            )
        if existing and key.kcv is None:
            raise FileError(
                f"{path}.kcv",
                "is missing; the rebuilt key is checked against its recorded KCV",
                hint="copy it with its method from the record, e.g. 'AES-CMAC 08793E'",
            )
        if key.new_split is not None and key.new_split.made_in is not None:
            raise FileError(f"{path}.new_split.made_in", "is not used; the set is new")
        if kind is CeremonyType.GENERATE_EXPORT and key.kcv is not None:
            raise FileError(f"{path}.kcv", "is not known before the key is generated")
        if key.source is KeySource.HSM_RANDOM and key.kcv is not None:
            raise FileError(f"{path}.kcv", "is not known before the key is drawn")
        new_sets = [("new_split", key.new_split)] if key.new_split is not None else []
        if not existing:
            new_sets.append(("split", key.split))
        for name, split in new_sets:
            for j, c in enumerate(split.components):
                if c.kcv is not None:
                    raise FileError(
                        f"{path}.{name}.components[{j}].kcv",
                        "is not known before the component is made",
                    )
        if key.store_in_hsm and kind in (CeremonyType.GENERATE_EXPORT, CeremonyType.DESTROY):
            raise FileError(f"{path}.store_in_hsm", f"is not used in a {kind.value} ceremony")
        if key.store_in_hsm and key.source in (KeySource.HSM_KEY, KeySource.HSM):
            raise FileError(f"{path}.store_in_hsm", "is not used: the key is already on the HSM")
        if key.source is KeySource.HSM and key.kcv is not None:
            raise FileError(f"{path}.kcv", "is not known before the key is generated")
        if kind is CeremonyType.RECONSTITUTE and not key.targets and not key.store_in_hsm:
            raise FileError(
                path,
                "neither stores the rebuilt key in the HSM nor wraps it for a target",
                hint="set store_in_hsm = true, or add [[keys.targets]]",
            )
        if not key.type.symmetric and kind not in (
            CeremonyType.GENERATE_EXPORT,
            CeremonyType.DESTROY,
        ):
            raise FileError(
                f"{path}.type",
                f"is {key.type.value}; a {kind.value} ceremony handles AES, HMAC and TDES keys",
            )
        if key.type is KeyType.TDES and key.bits == 64 and kind in _NEW_KEY_TYPES:
            raise FileError(
                f"{path}.bits",
                "is 64: single-length DES is kept only to rebuild and retire old keys",
                hint="use 128 or 192",
            )
        in_hsm = key.source in (KeySource.HSM, KeySource.HSM_KEY) or key.store_in_hsm
        for j, target in enumerate(key.targets):
            if target.wrap is WrapPlace.HSM and not in_hsm:
                raise FileError(
                    f"{path}.targets[{j}].wrap",
                    "is hsm, but the key is never on the HSM",
                    hint="set store_in_hsm = true, or wrap = 'software'",
                )
            if target.fingerprint is None and not self.rehearsal:
                raise FileError(
                    f"{path}.targets[{j}].fingerprint",
                    "is missing; a production ceremony pins every wrapping key",
                    hint="copy the SHA-256 fingerprint shown by the cloud console or CLI",
                )


# ---- parsing ----------------------------------------------------------------------------------

_T = TypeVar("_T")


class _Table:
    """A TOML table at ``path``; refuses unknown keys and wrong types, naming the dotted path."""

    def __init__(
        self,
        raw: object,
        path: str,
        allowed: Sequence[str],
        elsewhere: dict[str, str] | None = None,
    ) -> None:
        if not isinstance(raw, dict):
            raise FileError(path, "must be a table", hint="see docs/ceremony-file.md")
        self.raw: dict[str, Any] = raw
        self.path = path
        for key in raw:
            if key not in allowed:
                where = (elsewhere or {}).get(key)
                if where:
                    raise FileError(self.at(key), f"is {where}", hint="remove it")
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]}?" if close else "known: " + ", ".join(allowed)
                raise FileError(self.at(key), "is not a known field", hint=hint)

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str, kind: type[_T], what: str, required: bool) -> _T | None:
        if key not in self.raw:
            if required:
                raise FileError(self.at(key), "is missing", hint="see docs/ceremony-file.md")
            return None
        value = self.raw[key]
        # bool is an int in Python; TOML keeps them apart, so do we.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise FileError(self.at(key), f"must be {what}, not {_toml_type(value)}")
        return value

    def text(self, key: str, required: bool = True) -> str | None:
        return self._get(key, str, "a string", required)

    def need_text(self, key: str) -> str:
        value = self.text(key)
        assert value is not None
        return value

    def integer(self, key: str, required: bool = True) -> int | None:
        return self._get(key, int, "an integer", required)

    def flag(self, key: str) -> bool:
        return bool(self._get(key, bool, "true or false", False))

    def choice(self, key: str, choices: dict[str, _T], required: bool = True) -> _T | None:
        value = self.text(key, required)
        if value is None:
            return None
        if value not in choices:
            raise FileError(self.at(key), f"is {_show(value)}, not one of " + ", ".join(choices))
        return choices[value]

    def table(self, key: str, allowed: Sequence[str], required: bool = True) -> _Table | None:
        if key not in self.raw:
            if required:
                raise FileError(self.at(key), "is missing", hint="see docs/ceremony-file.md")
            return None
        return _Table(self.raw[key], self.at(key), allowed)

    def tables(self, key: str) -> list[tuple[str, object]]:
        value = self.raw.get(key, [])
        if not isinstance(value, list):
            raise FileError(self.at(key), f"must be an array of tables ([[{self.at(key)}]])")
        return [(f"{self.at(key)}[{i}]", item) for i, item in enumerate(value)]

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise FileError(self.at(key), "must be a list of strings")
        return tuple(value)

    def when(self, key: str) -> datetime | None:
        return self._get(key, datetime, "a date and time", False)


def _toml_type(value: object) -> str:
    for kind, name in ((bool, "true/false"), (int, "a number"), (float, "a number")):
        if isinstance(value, kind):
            return name
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return "a date or time" if hasattr(value, "isoformat") else type(value).__name__


def _refuse_secret_keys(node: object, path: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            if _SECRET_KEY.search(str(key)):
                raise FileError(
                    here,
                    "would hold a PIN, password or secret; a ceremony file never does",
                    hint="remove it: PINs are typed at the HSM prompt, passphrases at roll call",
                )
            _refuse_secret_keys(value, here)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _refuse_secret_keys(item, f"{path}[{i}]")


_TOP = ("ceremony", "participants", "hsm", "keys", "printer")
_CEREMONY = ("id", "type", "site", "purpose", "rehearsal", "output", "registry")
_PARTICIPANT = ("id", "name", "role", "id_reference")
_HSM = ("module", "token_label", "token_serial", "login")
_PRINTER = ("queue",)
_KEY = (
    "label",
    "type",
    "bits",
    "curve",
    "source",
    "kcv",
    "store_in_hsm",
    "split",
    "new_split",
    "targets",
)
_SPLIT = ("scheme", "threshold", "count", "made_in", "components")
_COMPONENT = ("index", "custodian", "backup", "kcv", "envelope")
_TARGET_COMMON = ("label", "provider", "algorithm", "import_key", "fingerprint", "wrap")
_TARGET_FIELDS = MappingProxyType(
    {
        Provider.AWS: ("key_id", "region", "import_token", "material_valid_to"),
        Provider.AZURE: ("kek_id", "key_name", "ops"),
        Provider.GCP: ("import_job", "key", "key_algorithm"),
    }
)
_ROLES = MappingProxyType({r.value: r for r in Role})
_TYPES = MappingProxyType({t.value: t for t in CeremonyType})
_KEY_TYPES = MappingProxyType({t.value: t for t in KeyType})
_SCHEMES: dict[str, Scheme | None] = {"none": None, "xor": Scheme.XOR, "shamir": Scheme.SHAMIR}
_WRAPS = MappingProxyType({w.value: w for w in WrapPlace})
_LOGINS = MappingProxyType({x.value: x for x in HsmLogin})
_SOURCE_NAMES = MappingProxyType({s.value: s for s in KeySource})


def _converted(path: str, call: Callable[[], _T]) -> _T:
    try:
        return call()
    except FileError:
        raise
    except CeremonyError as ex:
        raise FileError(path, f"is invalid: {ex.message}", hint=ex.hint) from None


def _parse_kcv(path: str, text: str | None) -> CheckValue | None:
    if text is None:
        return None
    return _converted(path, lambda: parse_check_value(text))


def _parse_split(table: _Table, path_name: str) -> SplitSpec | None:
    split = table.table(path_name, _SPLIT, required=False)
    if split is None:
        return None
    scheme = split.choice("scheme", _SCHEMES)
    components = []
    for i, (path, raw) in enumerate(split.tables("components")):
        c = _Table(raw, path, _COMPONENT)
        kcv_text = c.text("kcv", False)
        index = c.integer("index", False)
        components.append(
            ComponentSpec(
                index=i + 1 if index is None else index,
                custodian=c.need_text("custodian"),
                backup=c.text("backup", False),
                kcv=_parse_kcv(c.at("kcv"), kcv_text),
                envelope=c.text("envelope", False),
            )
        )
    return SplitSpec(
        scheme=scheme,
        threshold=split.integer("threshold", False),
        components=tuple(components),
        made_in=split.text("made_in", False),
        total=split.integer("count", False),
    )


def _parse_target(path: str, raw: object) -> TargetSpec:
    every = _TARGET_COMMON + tuple(f for fields in _TARGET_FIELDS.values() for f in fields)
    peek = _Table(raw, path, every)
    provider = peek.choice("provider", dict(_PROVIDERS))
    assert provider is not None
    own = _TARGET_FIELDS[provider]
    elsewhere = {
        f: f"a field of {other.value} targets, not {provider.value} ones"
        for other, fields in _TARGET_FIELDS.items()
        if other is not provider
        for f in fields
        if f not in own
    }
    t = _Table(raw, path, _TARGET_COMMON + own, elsewhere)
    method_text = t.text("algorithm", provider is not Provider.AZURE)
    if method_text is None:
        method = WrapMethod.AZURE_BYOK
    else:
        try:
            method = parse_method(method_text, provider)
        except CeremonyError as ex:
            raise FileError(
                t.at("algorithm"),
                f"is {_show(method_text)}, not a wrapping method for {provider.value}",
                hint=ex.hint,
            ) from None
    fingerprint_text = t.text("fingerprint", False)
    fingerprint = (
        _converted(t.at("fingerprint"), lambda: parse_fingerprint(fingerprint_text or ""))
        if fingerprint_text is not None
        else None
    )
    fields: ProviderFields
    if provider is Provider.AWS:
        fields = AwsFields(
            key_id=t.text("key_id", False),
            region=t.text("region", False),
            import_token=t.text("import_token", False),
            material_valid_to=t.when("material_valid_to"),
        )
    elif provider is Provider.AZURE:
        fields = AzureFields(
            kek_id=t.need_text("kek_id"), key_name=t.need_text("key_name"), ops=t.texts("ops")
        )
    else:
        fields = GcpFields(
            key=t.need_text("key"),
            import_job=t.text("import_job", False),
            key_algorithm=t.text("key_algorithm", False),
        )
    wrap = t.choice("wrap", dict(_WRAPS), required=False) or WrapPlace.HSM
    return TargetSpec(
        label=t.need_text("label"),
        provider=provider,
        algorithm=method,
        import_key=t.need_text("import_key"),
        fingerprint=fingerprint,
        fields=fields,
        wrap=wrap,
    )


def _parse_key(path: str, raw: object, kind: CeremonyType) -> KeySpec:
    k = _Table(raw, path, _KEY)
    key_type = k.choice("type", dict(_KEY_TYPES))
    assert key_type is not None
    source = k.choice("source", dict(_SOURCE_NAMES), required=False) or _SOURCES[kind][0]
    kcv_text = k.text("kcv", False)
    split = _parse_split(k, "split") or SplitSpec(None)
    return KeySpec(
        label=k.need_text("label"),
        type=key_type,
        source=source,
        bits=k.integer("bits", False),
        curve=k.text("curve", False),
        kcv=_parse_kcv(k.at("kcv"), kcv_text),
        store_in_hsm=k.flag("store_in_hsm"),
        split=split,
        new_split=_parse_split(k, "new_split"),
        targets=tuple(_parse_target(p, r) for p, r in k.tables("targets")),
    )


def parse_ceremony_file(
    source: str | bytes, *, registry: Registry | None = None, validate: bool = True
) -> CeremonyFile:
    """Parse and (by default) validate a ceremony file given as TOML text or UTF-8 bytes.

    Raises FileError (a ConfigError) or RuleBreach (a RuleViolation), each naming the dotted
    path; messages never hold a PIN because keys that could hold one are refused first.
    """
    if isinstance(source, bytes | bytearray):
        if len(source) > MAX_FILE:
            raise ConfigError("the ceremony file is too large", hint="is this the right file?")
        try:
            text = bytes(source).decode("utf-8")
        except UnicodeDecodeError as ex:
            raise ConfigError(
                f"the ceremony file is not UTF-8 (byte {ex.start})", hint="save it as UTF-8"
            ) from None
    else:
        text = source
    if len(text) > MAX_FILE:
        raise ConfigError("the ceremony file is too large", hint="is this the right file?")
    try:
        doc = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as ex:
        raise ConfigError(
            f"the ceremony file is not valid TOML: {ex}", hint="fix the syntax"
        ) from None
    _refuse_secret_keys(doc, "")
    top = _Table(doc, "", _TOP)
    head = top.table("ceremony", _CEREMONY)
    assert head is not None
    kind = head.choice("type", dict(_TYPES))
    assert kind is not None
    info = CeremonyInfo(
        id=head.need_text("id"),
        type=kind,
        site=head.need_text("site"),
        purpose=head.need_text("purpose"),
        output=head.need_text("output"),
        rehearsal=head.flag("rehearsal"),
        registry=head.text("registry", False),
    )
    participants = []
    for path, raw in top.tables("participants"):
        p = _Table(raw, path, _PARTICIPANT)
        role = p.choice("role", dict(_ROLES))
        assert role is not None
        participants.append(
            Participant(
                id=p.need_text("id"),
                name=p.need_text("name"),
                role=role,
                id_reference=p.need_text("id_reference"),
            )
        )
    hsm = top.table("hsm", _HSM)
    assert hsm is not None
    printer = top.table("printer", _PRINTER, required=False)
    result = CeremonyFile(
        ceremony=info,
        participants=tuple(participants),
        hsm=HsmSpec(
            module=hsm.need_text("module"),
            token_label=hsm.text("token_label", False),
            token_serial=hsm.text("token_serial", False),
            login=hsm.choice("login", dict(_LOGINS), required=False) or HsmLogin.PIN,
        ),
        keys=tuple(_parse_key(path, raw, kind) for path, raw in top.tables("keys")),
        printer=PrinterSpec(printer.need_text("queue")) if printer is not None else None,
    )
    if validate:
        result.validate(registry)
    return result


# ---- the summary a witness reads aloud --------------------------------------------------------


def summary(ceremony: CeremonyFile) -> list[str]:
    """The ceremony in plain sentences, one per line, for a witness to read aloud."""
    info = ceremony.ceremony
    roster = ceremony.roster
    lines = [f"Ceremony {info.id}: {info.type.value}, to {info.type.description}."]
    if info.rehearsal:
        lines.append("This is a REHEARSAL: nothing it produces may be used for real keys.")
    lines += [f"Site: {info.site}.", f"Purpose: {info.purpose}", ""]
    lines.append(f"Participants ({len(ceremony.participants)}):")
    for p in ceremony.participants:
        lines.append(
            f"  {p.describe()}, {p.role.title}; identity checked against {p.id_reference}."
        )
    token = []
    if ceremony.hsm.token_label is not None:
        token.append(f"labelled {ceremony.hsm.token_label!r}")
    if ceremony.hsm.token_serial is not None:
        token.append(f"with serial {ceremony.hsm.token_serial!r}")
    login = (
        "two security officers each type half of each PIN"
        if ceremony.hsm.login is HsmLogin.SPLIT_PIN
        else "a security officer types each PIN"
    )
    lines += [
        "",
        f"HSM: the token {' and '.join(token)}, through {ceremony.hsm.module}; {login}.",
        "",
    ]
    for i, key in enumerate(ceremony.keys):
        lines.append(
            f"Key {i + 1} of {len(ceremony.keys)}: {key.label!r}, {key.describe()}, "
            f"{key.source.description}."
        )
        if key.kcv is not None:
            lines.append(f"  Its recorded check value is {key.kcv}.")
        for name, split in (("Components", key.split), ("New components", key.new_split)):
            if split is None or split.scheme is None:
                continue
            made = f", made in ceremony {split.made_in}" if split.made_in else ""
            lines.append(f"  {name}: {split.describe()}{made}.")
            for c in split.components:
                held = roster.who([c.custodian])
                if c.backup is not None:
                    held += f", backup {roster.who([c.backup])}"
                extra = f", check value {c.kcv}" if c.kcv is not None else ""
                extra += f", envelope {c.envelope}" if c.envelope else ""
                lines.append(f"    Component {c.index}: held by {held}{extra}.")
        if key.store_in_hsm:
            lines.append("  The key will be stored in the HSM.")
        for t in key.targets:
            where = "inside the HSM" if t.wrap is WrapPlace.HSM else "in software on this machine"
            lines.append(
                f"  Target {t.label!r}: {t.provider.value}, wrapped with {t.algorithm.value} "
                f"{where}; wrapping key from {t.import_key}."
            )
            pinned = t.pinned
            if pinned is not None:
                lines.append(f"    Pinned fingerprint: {pinned.groups()}.")
            else:
                lines.append("    No pinned fingerprint (rehearsal only).")
        lines.append("")
    planned = ceremony.planned_operations()
    if planned:
        lines.append(f"Manual clear-text operations, each needing two approvals ({len(planned)}):")
        lines += [f"  {op.describe()}" for op in planned]
    else:
        lines.append("No manual clear-text operation: keys never leave the HSM in clear.")
    lines += _printing_summary(ceremony)
    lines.append(f"Output folder: {info.output}.")
    lines.append(
        f"Custodian registry: {info.registry}." if info.registry else "Custodian registry: none."
    )
    return lines


def _printing_summary(ceremony: CeremonyFile) -> list[str]:
    """How components reach their custodians (docs/evidence.md, printing)."""
    if not ceremony.issues_components:
        return []
    queue = ceremony.printer.queue if ceremony.printer is not None else None
    if ceremony.rehearsal:
        unused = f" The printer {queue!r} is not used in a rehearsal." if queue else ""
        return [
            "Component forms: written into the bundle with the REHEARSAL watermark; each "
            f"component is also shown on screen.{unused}"
        ]
    if queue is None:
        return [
            "Component forms: no printer; each component is shown on screen to its custodian "
            "alone, who copies it by hand onto a blank form."
        ]
    return [
        f"Component forms: printed from memory on the CUPS printer {queue!r}, which must be "
        "attached locally (USB); a network printer needs two security officers to override, "
        "a printer that writes to a file is refused. The component is not shown on screen."
    ]

"""The HSM interface in domain terms: what a ceremony asks of a token, whatever its vendor."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from ceremony.core.ceremony_file.vocabulary import TrustedWrap
from ceremony.core.component import KeyAlgorithm
from ceremony.core.kcv import CheckValue, KcvMethod
from ceremony.core.providers import WrapMethod
from ceremony.core.secret import Secret
from ceremony.core.wrap import OaepHash
from ceremony.errors import MechanismNotSupportedError

RandomBytes = Callable[[int], bytes]


class KeyKind(enum.Enum):
    SECRET = "secret key"  # noqa: S105 - a name, not a password
    KEY_PAIR = "key pair"


@dataclass(frozen=True)
class _SpecData:
    kind: KeyKind
    family: str  # "AES", "HMAC", "TDES", "EC", "RSA"
    size: int  # bytes for secret keys, bits for RSA, curve bits for EC
    curve: str | None = None  # asn1crypto / cryptography curve name


class KeySpec(enum.Enum):
    """Every key the backend generates; the value is how the record names it."""

    AES_128 = "AES-128"
    AES_192 = "AES-192"
    AES_256 = "AES-256"
    # Generic secrets for HMAC, one per digest length (the key length NIST SP 800-107 suggests).
    HMAC_SHA1 = "HMAC-SHA1 (20-byte generic secret)"
    HMAC_SHA224 = "HMAC-SHA224 (28-byte generic secret)"
    HMAC_SHA256 = "HMAC-SHA256 (32-byte generic secret)"
    HMAC_SHA384 = "HMAC-SHA384 (48-byte generic secret)"
    HMAC_SHA512 = "HMAC-SHA512 (64-byte generic secret)"
    # Double- and triple-length TDES (CKK_DES2, CKK_DES3); single-length DES is never made.
    TDES_128 = "TDES-128 (double length, CKK_DES2)"
    TDES_192 = "TDES-192 (triple length, CKK_DES3)"
    EC_P256 = "EC P-256"
    EC_P384 = "EC P-384"
    RSA_2048 = "RSA-2048"
    RSA_3072 = "RSA-3072"
    RSA_4096 = "RSA-4096"

    @property
    def _data(self) -> _SpecData:
        return _SPECS[self]

    @property
    def kind(self) -> KeyKind:
        return self._data.kind

    @property
    def family(self) -> str:
        return self._data.family

    @property
    def size(self) -> int:
        """Bytes for secret keys; bits (modulus or curve) for key pairs."""
        return self._data.size

    @property
    def curve(self) -> str | None:
        return self._data.curve

    @property
    def algorithm(self) -> KeyAlgorithm | None:
        """The core algorithm of a secret key (None for key pairs)."""
        return {
            "AES": KeyAlgorithm.AES,
            "HMAC": KeyAlgorithm.HMAC,
            "TDES": KeyAlgorithm.TDES,
        }.get(self.family)

    @classmethod
    def for_secret(cls, algorithm: KeyAlgorithm, length: int) -> KeySpec:
        """The spec of an ``algorithm`` secret key of ``length`` bytes, for imports."""
        for spec in cls:
            if spec.algorithm is algorithm and spec.size == length:
                return spec
        raise MechanismNotSupportedError(
            f"the HSM backend has no {algorithm.value} key of {length} bytes",
            hint="use AES-128/192/256, TDES-128/192 or an HMAC key of a digest length "
            "(20, 28, 32, 48, 64 bytes); single-length DES is never made on a token",
        )


_S, _P = KeyKind.SECRET, KeyKind.KEY_PAIR
_SPECS: Mapping[KeySpec, _SpecData] = {
    KeySpec.AES_128: _SpecData(_S, "AES", 16),
    KeySpec.AES_192: _SpecData(_S, "AES", 24),
    KeySpec.AES_256: _SpecData(_S, "AES", 32),
    KeySpec.HMAC_SHA1: _SpecData(_S, "HMAC", 20),
    KeySpec.HMAC_SHA224: _SpecData(_S, "HMAC", 28),
    KeySpec.HMAC_SHA256: _SpecData(_S, "HMAC", 32),
    KeySpec.HMAC_SHA384: _SpecData(_S, "HMAC", 48),
    KeySpec.HMAC_SHA512: _SpecData(_S, "HMAC", 64),
    KeySpec.TDES_128: _SpecData(_S, "TDES", 16),
    KeySpec.TDES_192: _SpecData(_S, "TDES", 24),
    KeySpec.EC_P256: _SpecData(_P, "EC", 256, "secp256r1"),
    KeySpec.EC_P384: _SpecData(_P, "EC", 384, "secp384r1"),
    KeySpec.RSA_2048: _SpecData(_P, "RSA", 2048),
    KeySpec.RSA_3072: _SpecData(_P, "RSA", 3072),
    KeySpec.RSA_4096: _SpecData(_P, "RSA", 4096),
}


class Capability(enum.Enum):
    """What a ceremony may need from a token; the value is the plain-language 'can' line."""

    RANDOM = "generate random numbers (C_GenerateRandom)"
    GENERATE_AES = "generate AES-128/192/256 keys"
    GENERATE_HMAC = "generate HMAC keys (generic secrets)"
    GENERATE_TDES = "generate double- and triple-length TDES keys"
    GENERATE_EC = "generate EC P-256/P-384 key pairs"
    GENERATE_RSA = "generate RSA-2048/3072/4096 key pairs"
    KCV_AES_CMAC = "compute AES-CMAC check values in the token"
    KCV_AES_ECB = "compute AES-ECB zero-block check values in the token"
    KCV_HMAC = "compute HMAC-SHA256 check values in the token"
    KCV_TDES_ECB = "compute TDES-ECB zero-block check values in the token (CKM_DES3_ECB)"
    OAEP_SHA1 = "wrap with RSA-OAEP SHA-1 (MGF1-SHA1, empty label)"
    OAEP_SHA256 = "wrap with RSA-OAEP SHA-256 (MGF1-SHA256, empty label)"
    OAEP_SHA512 = "wrap with RSA-OAEP SHA-512 (MGF1-SHA512, empty label)"
    AES_KWP = "wrap with AES key wrap with padding (RFC 5649)"
    RSA_AES_KEY_WRAP_SHA1 = "wrap with CKM_RSA_AES_KEY_WRAP in one call, SHA-1"
    RSA_AES_KEY_WRAP_SHA256 = "wrap with CKM_RSA_AES_KEY_WRAP in one call, SHA-256"
    XOR_COMBINE = "combine XOR components inside the token (CKM_XOR_BASE_AND_DATA)"
    WRAP_WITH_TRUSTED = "restrict wrapping to SO-trusted keys (CKA_WRAP_WITH_TRUSTED)"
    ECDSA_RAW = "sign with raw ECDSA over a given digest (CKM_ECDSA)"
    ECDSA_SHA256 = "sign with ECDSA-SHA256 in one call (CKM_ECDSA_SHA256)"

    @classmethod
    def for_oaep(cls, oaep_hash: OaepHash) -> Capability:
        """RSA-OAEP with ``oaep_hash`` (and MGF1 of the same hash)."""
        return _OAEP_CAPABILITY[oaep_hash]

    @classmethod
    def for_rsa_aes(cls, oaep_hash: OaepHash) -> Capability:
        """CKM_RSA_AES_KEY_WRAP in one call with ``oaep_hash``."""
        return _RSA_AES_CAPABILITY[oaep_hash]


_OAEP_CAPABILITY: Mapping[OaepHash, Capability] = {
    OaepHash.SHA1: Capability.OAEP_SHA1,
    OaepHash.SHA256: Capability.OAEP_SHA256,
    OaepHash.SHA512: Capability.OAEP_SHA512,
}
_RSA_AES_CAPABILITY: Mapping[OaepHash, Capability] = {
    OaepHash.SHA1: Capability.RSA_AES_KEY_WRAP_SHA1,
    OaepHash.SHA256: Capability.RSA_AES_KEY_WRAP_SHA256,
}


@dataclass(frozen=True)
class CapabilityStatus:
    """One preflight answer: whether the token can, how (mechanism), and what the probe saw."""

    capability: Capability
    supported: bool
    mechanism: str | None = None
    detail: str = ""
    probed: bool = False  # True when a throw-away key proved the answer, not just the list
    # False when the probe could not decide (it needs a login): not "cannot", and not "can".
    known: bool = True

    def line(self) -> str:
        verdict = "can   " if self.supported else "cannot" if self.known else "unknown"
        extra = f" [{self.mechanism}]" if self.mechanism else ""
        note = f" ({self.detail})" if self.detail else ""
        return f"{verdict} {self.capability.value}{extra}{note}"


class TrustedWrapSupport(enum.Enum):
    """What the preflight proved about CKA_WRAP_WITH_TRUSTED on this token."""

    ENFORCED = "enforces CKA_WRAP_WITH_TRUSTED (an untrusted wrapping key is refused)"
    IGNORED = (
        "accepts CKA_WRAP_WITH_TRUSTED but does not enforce it (an untrusted key wrapped a key "
        "that carried it)"
    )
    ABSENT = "does not know CKA_WRAP_WITH_TRUSTED (it refuses the attribute in a template)"
    UNKNOWN = "could not be probed for CKA_WRAP_WITH_TRUSTED"

    @property
    def attribute_known(self) -> bool:
        """Whether a template may carry the attribute at all."""
        return self in (TrustedWrapSupport.ENFORCED, TrustedWrapSupport.IGNORED)


# How the record names an AES-CMAC check value the token computed without CKM_AES_CMAC.
KCV_SOURCE_CMAC = "CKM_AES_CMAC in the token"
KCV_SOURCE_CMAC_FROM_ECB = (
    "computed in the token from AES-ECB: the CMAC of one zero block is E_K(dbl(E_K(0))) "
    "(RFC 4493), two CKM_AES_ECB encryptions; the token has no CKM_AES_CMAC"
)
KCV_SOURCE_ECB = "CKM_AES_ECB of one zero block in the token"
KCV_SOURCE_HMAC = "CKM_SHA256_HMAC of one zero block in the token"
KCV_SOURCE_TDES_ECB = "CKM_DES3_ECB of one zero block in the token"


class PinState(enum.Enum):
    """What the token says about a PIN before anyone types it (CKF_*_PIN_* flags)."""

    OK = "no failed tries reported"
    # CKF_*_PIN_COUNT_LOW: set after one wrong PIN; it says nothing of how many tries remain.
    COUNT_LOW = "a wrong PIN was typed since the last good login"
    FINAL_TRY = "one try left; a wrong PIN now locks it"
    LOCKED = "locked"
    NOT_INITIALIZED = "not initialised"


@dataclass(frozen=True)
class TokenInfo:
    """Who the token is, for the record: everything here is public."""

    label: str
    serial: str
    model: str
    manufacturer: str
    hardware_version: str
    firmware_version: str
    library_description: str
    library_manufacturer: str
    library_version: str
    cryptoki_version: str
    module_path: str
    user_pin: PinState
    so_pin: PinState
    flags: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"{self.model} serial {self.serial} (label {self.label!r})"

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("token label", self.label),
            ("serial", self.serial),
            ("model", self.model),
            ("manufacturer", self.manufacturer),
            ("hardware version", self.hardware_version),
            ("firmware version", self.firmware_version),
            ("library", f"{self.library_description} {self.library_version}"),
            ("library manufacturer", self.library_manufacturer),
            ("PKCS#11 version", self.cryptoki_version),
            ("module", self.module_path),
            ("user PIN", self.user_pin.value),
            ("SO PIN", self.so_pin.value),
        ]


@dataclass(frozen=True)
class Preflight:
    """The token's capabilities, read from its mechanism list and proved by probes."""

    token: TokenInfo
    statuses: tuple[CapabilityStatus, ...]
    kwp_mechanism: str | None = None  # which of 0x210B / 0x210A behaves as RFC 5649 here
    # SoftHSM 2.6.1 zero-pads key material to a multiple of 8 bytes before RFC 5649, so its
    # output is RFC 5649 only for material that is already a multiple of 8 bytes long.
    kwp_multiple_of_8_only: bool = False
    # Shortest HMAC key the token computes CKM_SHA256_HMAC with (SoftHSM 2.6.1: 32 bytes).
    hmac_kcv_min_length: int | None = None
    trusted_wrap: TrustedWrapSupport = TrustedWrapSupport.UNKNOWN
    # The AES-CMAC check value comes from two CKM_AES_ECB calls (the token has no CKM_AES_CMAC).
    kcv_cmac_from_ecb: bool = False
    # CKA_LOCAL as a key generated in the token reads back (NSS softokn: False); None: not probed.
    generated_keys_local: bool | None = None
    # The token takes CKA_CHECK_VALUE on a secret key it is given (opencryptoki 3.8: no).
    check_value_attribute: bool = True

    def status(self, capability: Capability) -> CapabilityStatus:
        for s in self.statuses:
            if s.capability is capability:
                return s
        return CapabilityStatus(capability, False, detail="not checked")

    def supports(self, capability: Capability) -> bool:
        return self.status(capability).supported

    def require(self, capability: Capability, purpose: str, alternatives: str = "") -> None:
        """Raise MechanismNotSupportedError naming ``purpose`` unless the token can."""
        status = self.status(capability)
        if status.supported:
            return
        detail = f" ({status.detail})" if status.detail else ""
        raise MechanismNotSupportedError(
            f"{purpose}: this token cannot {capability.value}{detail}; "
            f"not supported by {self.token.describe()}",
            hint=alternatives or "use a token that supports it, or change the ceremony",
        )

    def require_trusted_wrap(self, policy: TrustedWrap, purpose: str) -> None:
        """Raise unless this token can keep ``policy`` for an extractable key (no PIN needed).

        ``REQUIRED`` needs a token that enforces CKA_WRAP_WITH_TRUSTED; ``NOT_ENFORCED`` needs
        nothing: extractable keys are made without the attribute and wrapped without the SO.
        """
        if policy is TrustedWrap.NOT_ENFORCED or self.trusted_wrap is TrustedWrapSupport.ENFORCED:
            return
        detail = self.status(Capability.WRAP_WITH_TRUSTED).detail
        seen = f" ({detail})" if detail else ""
        raise MechanismNotSupportedError(
            f"{purpose}: the ceremony file says [hsm] trusted_wrap = "
            f'"{TrustedWrap.REQUIRED.value}", but {self.token.describe()} '
            f"{self.trusted_wrap.value}{seen}: an extractable key could leave it under any key",
            hint="choose explicitly: (1) a token that enforces CKA_WRAP_WITH_TRUSTED ('ceremony "
            "hsm info' shows it), or (2) state the weaker control in the ceremony file, [hsm] "
            f'trusted_wrap = "{TrustedWrap.NOT_ENFORCED.value}" (the record says so), or (3) '
            "make the key non-extractable. Nothing was done",
        )

    def lines(self) -> list[str]:
        return [s.line() for s in self.statuses]

    def limits(self) -> list[str]:
        """What a ceremony cannot do, or does differently, on this token: plain sentences."""
        out: list[str] = []

        def cannot(capability: Capability) -> bool:
            return not self.supports(capability)

        if cannot(Capability.KCV_AES_CMAC):
            out.append("no AES key can be generated or imported: no AES-CMAC check value")
        elif self.kcv_cmac_from_ecb:
            out.append(
                "AES-CMAC check values are computed from AES-ECB (no CKM_AES_CMAC); the record "
                "says so"
            )
        if self.trusted_wrap is not TrustedWrapSupport.ENFORCED:
            out.append(
                f"the token {self.trusted_wrap.value}: an extractable key needs [hsm] "
                f'trusted_wrap = "{TrustedWrap.NOT_ENFORCED.value}" in the ceremony file'
            )
        if cannot(Capability.AES_KWP):
            out.append(
                "no backup export and no RSA-AES wrap (AWS RSA_AES_KEY_WRAP_*, GCP *_AES_256, "
                "Azure .byok): no AES key wrap with padding (RFC 5649)"
            )
        for oaep_hash, capability in _OAEP_CAPABILITY.items():
            if cannot(capability):
                out.append(f"no wrap with RSA-OAEP {oaep_hash.value}")
        if cannot(Capability.GENERATE_EC) or cannot(Capability.ECDSA_RAW):
            out.append(
                "cannot sign the ceremony record (no EC P-256 key or CKM_ECDSA): the record "
                "must be signed by a second token"
            )
        if cannot(Capability.GENERATE_RSA):
            out.append("no RSA-2048/3072/4096 key generation")
        if not self.check_value_attribute:
            out.append("no CKA_CHECK_VALUE: an imported key is checked by its check values only")
        if self.generated_keys_local is False:
            out.append("keys it generates read back CKA_LOCAL false (the record shows it)")
        return out


@dataclass(frozen=True)
class KeyAttributes:
    """A key's security attributes as the token reports them (None = the token did not say)."""

    label: str
    id_hex: str
    object_class: str
    key_type: str
    token: bool | None = None
    private: bool | None = None
    local: bool | None = None
    sensitive: bool | None = None
    always_sensitive: bool | None = None
    extractable: bool | None = None
    never_extractable: bool | None = None
    wrap_with_trusted: bool | None = None
    trusted: bool | None = None
    modifiable: bool | None = None
    check_value_hex: str | None = None  # CKA_CHECK_VALUE, a public 3-byte value
    # False: the token reports CKA_WRAP_WITH_TRUSTED but the preflight proved it does not
    # enforce it, so the attribute protects nothing; None: not known.
    wrap_with_trusted_enforced: bool | None = None

    @property
    def protected_by_trusted_wrap(self) -> bool:
        """Whether only an SO-trusted key can wrap this key out (attribute set and enforced)."""
        return self.wrap_with_trusted is True and self.wrap_with_trusted_enforced is True

    def as_record(self) -> dict[str, str]:
        def show(v: bool | str | None) -> str:
            return "not reported" if v is None else str(v)

        trusted_wrap = show(self.wrap_with_trusted)
        if self.wrap_with_trusted is True and self.wrap_with_trusted_enforced is False:
            trusted_wrap = "True (not enforced by this token)"

        return {
            "label": self.label,
            "id": self.id_hex,
            "class": self.object_class,
            "key_type": self.key_type,
            "CKA_TOKEN": show(self.token),
            "CKA_PRIVATE": show(self.private),
            "CKA_LOCAL": show(self.local),
            "CKA_SENSITIVE": show(self.sensitive),
            "CKA_ALWAYS_SENSITIVE": show(self.always_sensitive),
            "CKA_EXTRACTABLE": show(self.extractable),
            "CKA_NEVER_EXTRACTABLE": show(self.never_extractable),
            "CKA_WRAP_WITH_TRUSTED": trusted_wrap,
            "CKA_TRUSTED": show(self.trusted),
            "CKA_MODIFIABLE": show(self.modifiable),
            "CKA_CHECK_VALUE": show(self.check_value_hex),
        }


@dataclass(frozen=True)
class TokenCheckValues:
    """Check values computed inside the token, already cross-checked where the token allows."""

    values: tuple[CheckValue, ...]
    token_check_value_hex: str | None  # CKA_CHECK_VALUE as the token stores it
    cross_checks: tuple[str, ...]  # what was compared with what, for the record
    # How the token computed each value (KCV_SOURCE_*), for the record; in the order of values.
    sources: tuple[tuple[KcvMethod, str], ...] = ()

    def source(self, method: KcvMethod) -> str:
        """How the token computed the ``method`` value (``KCV_SOURCE_*``), "" if not said."""
        return dict(self.sources).get(method, "")

    @property
    def cmac_from_ecb(self) -> bool:
        """The AES-CMAC value was computed from AES-ECB (the token has no CKM_AES_CMAC)."""
        return self.source(KcvMethod.AES_CMAC) == KCV_SOURCE_CMAC_FROM_ECB

    def of(self, method: KcvMethod) -> CheckValue:
        for v in self.values:
            if v.method is method:
                return v
        raise MechanismNotSupportedError(
            f"the token gave no {method.label} check value for this key",
            hint="see 'ceremony hsm info' for the check values this token can compute",
        )


@dataclass(frozen=True)
class KeyRecord:
    """What was made in the token: attributes asked for and as read back afterwards."""

    label: str
    id_hex: str
    spec: KeySpec
    requested: Mapping[str, bool]
    attributes: KeyAttributes
    check_values: TokenCheckValues | None = None  # secret keys
    public_key_der: bytes | None = None  # key pairs: SubjectPublicKeyInfo


class ImportPath(enum.Enum):
    """How clear key material became a key in the token; the record names the path taken."""

    HOST_MEMORY = (
        "combined in process memory and created with CKA_CHECK_VALUE (manual clear-text operation)"
    )


@dataclass(frozen=True)
class ImportResult:
    path: ImportPath
    key: KeyRecord


class WrapConstruction(enum.Enum):
    """How the token builds the blob a cloud method asks for."""

    RSA_OAEP = "RSA-OAEP of the key"
    RSA_AES = "RSA-OAEP of an ephemeral AES-256 key, then AES-KWP of the key"

    @classmethod
    def of(cls, method: WrapMethod) -> WrapConstruction:
        """The construction behind one of the providers' import methods."""
        return cls.RSA_AES if method.composite else cls.RSA_OAEP


@dataclass(frozen=True)
class WrapResult:
    """A blob wrapped inside the token for a provider's public key."""

    blob: bytes
    method: WrapConstruction
    oaep_hash: OaepHash
    mechanisms: tuple[str, ...]  # in the order the token ran them
    import_key_sha256: str  # SHA-256 of the provider's DER SubjectPublicKeyInfo
    trusted_import_key: bool  # the SO marked the import key TRUSTED
    target_label: str
    target_id_hex: str


class SignatureFormat(enum.Enum):
    DER = "DER Ecdsa-Sig-Value"
    RAW = "r||s"


@dataclass(frozen=True)
class DestroyRecord:
    """What was destroyed, identified without its secret."""

    label: str
    id_hex: str
    objects: tuple[str, ...]  # classes destroyed, e.g. ("private key", "public key")
    check_values: tuple[CheckValue, ...] = ()
    public_key_sha256: str | None = None


@dataclass(frozen=True)
class TrustRequest:
    """What the security officer marks TRUSTED, in an SO login before the user logs in.

    A key made with CKA_WRAP_WITH_TRUSTED can only leave the token under a TRUSTED key, and only
    the SO can set CKA_TRUSTED. The trusted objects are session objects: they vanish with the
    session and are never stored on the token.
    """

    import_keys: tuple[bytes, ...] = ()  # provider import keys, DER SubjectPublicKeyInfo
    rsa_aes_wraps: int = 0  # ephemeral AES-256 keys for two-step RSA-AES wraps
    exports: int = 0  # transport keys for clear exports (backup)

    @property
    def empty(self) -> bool:
        return not (self.import_keys or self.rsa_aes_wraps or self.exports)


@dataclass(frozen=True)
class HsmConfig:
    """Which module and token: from the ceremony file, overridden by the environment in tests."""

    module_path: str
    token_label: str | None = None
    token_serial: str | None = None
    init_reserved: str | None = None  # C_Initialize pReserved (NSS softokn's database folder)
    trusted_wrap: TrustedWrap = TrustedWrap.REQUIRED

    def describe(self) -> str:
        """The token as the file names it, before it is found ("the token labelled ...")."""
        who = (
            f"labelled {self.token_label!r}"
            if self.token_label
            else f"with serial {self.token_serial!r}"
        )
        return f"the token {who} in {self.module_path}"


class PinRole(enum.Enum):
    USER = "user"
    SO = "security officer"


@dataclass(frozen=True)
class PinRequest:
    """What a prompter is asked for; carries no secret, so it may be shown and logged."""

    role: PinRole
    token_label: str
    module_path: str
    token: TokenInfo | None = None  # None while the token is being created
    new: bool = False  # choosing a PIN for a new token: ask twice

    def describe(self) -> str:
        verb = "choose the new" if self.new else "enter the"
        return f"{verb} {self.role.value} PIN for token {self.token_label!r}"


class PinPrompter(Protocol):
    """Gets a PIN for one login; the caller wipes the returned Secret straight after use."""

    def pin(self, request: PinRequest) -> Secret: ...

    def confirm_final_try(self, request: PinRequest) -> bool:
        """Whether to spend the token's last PIN try (the token locks on a wrong PIN)."""
        ...


class HsmSession(Protocol):
    """A logged-in session on one token; a context manager that logs out and closes."""

    @property
    def token(self) -> TokenInfo: ...

    def preflight(self) -> Preflight: ...

    def random_bytes(self, length: int) -> bytes: ...

    def random_source(self) -> tuple[RandomBytes, str]:
        """``(source, name)`` for ``ceremony.core.rng.installed``."""
        ...

    def key_attributes(self, label: str) -> KeyAttributes: ...

    def require_new_label(self, label: str) -> None:
        """Raise ``LabelExistsError`` if any object on the token carries ``label``."""
        ...

    def generate_key(
        self, label: str, spec: KeySpec, *, extractable: bool = False
    ) -> KeyRecord: ...

    def check_values(self, label: str, length: int | None = None) -> TokenCheckValues:
        """In-token check values; ``length`` bytes for the CMAC/HMAC ones (default 3)."""
        ...

    def import_key(
        self,
        label: str,
        algorithm: KeyAlgorithm,
        key: Secret,
        *,
        expected: CheckValue,
        extractable: bool = False,
    ) -> ImportResult: ...

    def export_clear(self, label: str) -> Secret: ...

    def wrap_for_public_key(
        self,
        label: str,
        import_key_der: bytes,
        *,
        method: WrapConstruction,
        oaep_hash: OaepHash,
    ) -> WrapResult: ...

    def public_key(self, label: str) -> bytes: ...

    def certificate(self, label: str) -> bytes | None: ...

    def store_certificate(self, label: str, der: bytes) -> None: ...

    def sign_digest(
        self, label: str, digest: bytes, fmt: SignatureFormat = SignatureFormat.DER
    ) -> bytes: ...

    def destroy(self, label: str) -> DestroyRecord: ...

    def pkcs11_session(self) -> object:
        """The PKCS#11 library session under this login, opaque, for a PKCS#11 signer (pyHanko).

        HsmError on a token that has none (the fake).
        """
        ...

    def close(self) -> None: ...

    def __enter__(self) -> HsmSession: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class LoginSteps(Protocol):
    """A session opened on the token and logged in one role at a time: the SO, then the user.

    Each login asks its prompter for one PIN, so a wrong SO PIN is known before anyone types
    the user PIN; a wrong PIN raises PinIncorrectError and the same login may be tried again.
    ``close`` wipes the trusted objects and closes the session unless ``user`` returned it.
    """

    @property
    def needs_security_officer(self) -> bool:
        """True while the trust request waits for the SO's login."""
        ...

    def security_officer(self, prompter: PinPrompter) -> None:
        """C_Login as SO, create what the trust request names as TRUSTED, log the SO out."""
        ...

    def user(self, prompter: PinPrompter) -> HsmSession:
        """C_Login as the user (after the SO when the trust request is not empty)."""
        ...

    def close(self) -> None: ...


class HsmBackend(Protocol):
    """One token behind one module; opening a session asks for PINs through a prompter."""

    def describe(self) -> TokenInfo: ...

    def preflight(self) -> Preflight: ...

    def open(
        self,
        prompter: PinPrompter,
        *,
        trust: TrustRequest | None = None,
    ) -> HsmSession:
        """Both logins in one call (``begin_login``, then the SO if ``trust`` asks, the user)."""
        ...

    def begin_login(self, trust: TrustRequest | None = None) -> LoginSteps:
        """A session to log in step by step, so that each PIN is checked when it is typed."""
        ...

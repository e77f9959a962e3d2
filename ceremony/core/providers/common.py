"""What the three clouds share: time, the key material's checks, targets and bundle files."""

from __future__ import annotations

import abc
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ceremony.core.labels import LABEL_RULE, is_label

# Fingerprint and Provider are re-exported: the engine and the TUI import them from here.
from ceremony.core.providers.import_key import Fingerprint as Fingerprint
from ceremony.core.providers.import_key import ImportKey, looks_like_base64
from ceremony.core.providers.methods import MaterialKind, WrapMethod
from ceremony.core.providers.methods import Provider as Provider
from ceremony.core.secret import Secret
from ceremony.core.wrap import oaep_max_payload
from ceremony.errors import ImportKeyError, KeyMaterialError, WrapError

# ---- time -------------------------------------------------------------------------------------


def require_aware(now: datetime) -> datetime:
    """``now`` in UTC; a naive time would silently be local time, so it is refused."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise WrapError(
            "the ceremony clock has no time zone", hint="this is a bug: pass an aware datetime"
        )
    return now.astimezone(UTC)


def iso(moment: datetime) -> str:
    """UTC, whole seconds, ``Z``: the form the AWS CLI and RFC 3339 both take."""
    return require_aware(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.(\d{1,9}))?(?:[Zz]|[+-]\d{2}:\d{2})\Z"
)


def parse_time(value: object, what: str) -> datetime:
    """RFC 3339 text (fractions to nanoseconds) or POSIX seconds, as the cloud CLIs print them."""
    if isinstance(value, bool):
        raise ImportKeyError(f"{what} is not a time", hint="give the provider's unchanged output")
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str) and (match := _RFC3339.match(value.strip())):
            text = value.strip()
            if match.group(1):
                # Python takes at most microseconds; GCP prints nanoseconds.
                text = text.replace("." + match.group(1), "." + match.group(1)[:6].ljust(6, "0"))
            return datetime.fromisoformat(text.upper().replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise ImportKeyError(
        f"{what} is not a time the tool understands",
        hint="give the provider's unchanged output (RFC 3339 text or POSIX seconds)",
    )


def check_expiry(
    valid_to: datetime | None, now: datetime, what: str, warn_within: timedelta, lifetime: str
) -> list[str]:
    """Refuse an expired import key; return a warning when it expires soon or when unknown."""
    now = require_aware(now)
    if valid_to is None:
        return [f"{what}: this form does not say when it expires ({lifetime}); import promptly"]
    if now >= valid_to:
        raise ImportKeyError(
            f"{what} expired at {iso(valid_to)} (now {iso(now)})",
            hint="download a fresh wrapping key (and token) from the provider and start again",
        )
    left = valid_to - now
    if left < warn_within:
        minutes = int(left.total_seconds() // 60)
        return [
            f"{what} expires at {iso(valid_to)}, in {minutes // 60} h {minutes % 60:02d} min: "
            "the import must be done before then"
        ]
    return []


# ---- key material -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MaterialInfo:
    """What the bundle records about the key; never the key itself."""

    kind: MaterialKind
    length: int | None  # bytes the wrap carries; None when an HSM wrapped a PKCS#8 key
    kcv: str | None  # labelled check value from the caller, e.g. "AES-CMAC 08793E (3 of 5 bytes)"
    public_key_sha256: str | None = None  # SHA-256 of the SPKI of an asymmetric key


def _der_header(data: bytes | bytearray, offset: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at ``offset``; ValueError if bad."""
    if offset + 2 > len(data):
        raise ValueError("truncated")
    tag, first = data[offset], data[offset + 1]
    start = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if not 1 <= count <= 4 or start + count > len(data):
            raise ValueError("bad length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    if start + length > len(data):
        raise ValueError("truncated")
    return tag, start, start + length


def _require_pkcs8_shape(buf: bytearray, kind: MaterialKind) -> None:
    """Tell PKCS#8 apart from PKCS#1, SEC1 and encrypted PKCS#8, which the clouds refuse."""
    convert = "convert it: openssl pkcs8 -topk8 -nocrypt -outform DER"
    try:
        tag, start, end = _der_header(buf, 0)
        if tag != 0x30 or end != len(buf):
            raise ValueError("not one SEQUENCE")
        first_tag, _, first_end = _der_header(buf, start)
        if first_tag == 0x30:
            raise KeyMaterialError(
                f"the {kind.value} key is encrypted PKCS#8; the clouds want it unencrypted",
                hint="export it as unencrypted PKCS#8 DER (the wrap is what protects it)",
            )
        second_tag = _der_header(buf, first_end)[0] if first_tag == 0x02 else -1
    except ValueError:
        raise KeyMaterialError(
            f"the {kind.value} key is not DER",
            hint="give the private key as PKCS#8 DER bytes, not PEM, hex or base64",
        ) from None
    if second_tag == 0x02:
        raise KeyMaterialError(
            f"the {kind.value} key is PKCS#1 (RSAPrivateKey), not PKCS#8", hint=convert
        )
    if second_tag == 0x04:
        raise KeyMaterialError(
            f"the {kind.value} key is SEC1 (ECPrivateKey), not PKCS#8", hint=convert
        )
    if second_tag != 0x30:
        raise KeyMaterialError(f"the {kind.value} key is not PKCS#8", hint=convert)


_HEX_TEXT = re.compile(rb"[0-9A-Fa-f\s]+")


def _refuse_text(buf: bytearray, kind: MaterialKind) -> None:
    """Raw key bytes that read entirely as PEM, hex or base64 text were almost surely encoded."""
    if bytes(buf[:10]) == b"-----BEGIN":
        raise KeyMaterialError(
            f"the {kind.value} key is PEM text",
            hint="give raw bytes (PKCS#8 DER for private keys); never PEM, hex or base64",
        )
    # A random key of 16 bytes or more is all-hex or all-base64 with chance below 2^-31.
    if _HEX_TEXT.fullmatch(buf) or looks_like_base64(buf):
        raise KeyMaterialError(
            f"the {kind.value} key reads as hex or base64 text, not raw bytes",
            hint="decode it to raw bytes first; the clouds never take encoded key material",
        )


def inspect_material(material: Secret, kind: MaterialKind, kcv: str | None) -> MaterialInfo:
    """Check the material has the encoding ``kind`` requires; return what the bundle records."""
    buf = material.reveal()
    _refuse_text(buf, kind)
    raw_length = kind.raw_length
    if raw_length is not None:
        if len(buf) != raw_length:
            raise KeyMaterialError(
                f"{material.label} is {len(buf)} bytes; {kind.value} keys are {raw_length} bytes",
                hint="check the key's algorithm and length in the ceremony file",
            )
        return MaterialInfo(kind, len(buf), kcv)
    _require_pkcs8_shape(buf, kind)
    try:
        key = serialization.load_der_private_key(bytes(buf), None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyMaterialError(
            f"the {kind.value} key does not load as PKCS#8", hint="export it again as PKCS#8 DER"
        ) from None
    if kind.is_rsa:
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != kind.rsa_bits:
            raise KeyMaterialError(
                f"{material.label} is not an {kind.value} private key",
                hint="pick the material kind that matches the key",
            )
    elif not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != kind.curve:
        raise KeyMaterialError(
            f"{material.label} is not an {kind.value} private key",
            hint="pick the material kind that matches the key",
        )
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return MaterialInfo(kind, len(buf), kcv, hashlib.sha256(spki).hexdigest())


def material_for_hsm(
    kind: MaterialKind, kcv: str | None, public_key_sha256: str | None = None
) -> MaterialInfo:
    """MaterialInfo for a key that only the HSM has seen; PKCS#8 length is then unknown."""
    return MaterialInfo(kind, kind.raw_length, kcv, public_key_sha256)


# ---- targets and bundle files -----------------------------------------------------------------


@dataclass(frozen=True)
class BundleFile:
    """One output file: a path relative to the bundle root ('/'-separated) and its bytes."""

    name: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def require_label(text: str, what: str) -> str:
    """A folder-safe name: letters, digits, dot, dash, underscore; up to 64 characters."""
    if not is_label(text):
        raise WrapError(f"{what} {text[:70]!r} cannot name a folder", hint=f"use {LABEL_RULE}")
    return text


class Target(abc.ABC):
    """Where one key goes: a provider, a method, the provider's import key and the names."""

    provider: ClassVar[Provider]
    label: str
    method: WrapMethod
    import_key: ImportKey
    # Warn when less than this is left before the import key expires.
    warn_within: ClassVar[timedelta]
    lifetime: ClassVar[str | None]  # how long import keys last; None: they do not expire
    # Largest plaintext and largest wrapped file the provider takes; None = no stated limit.
    max_material: ClassVar[int | None] = None
    max_wrapped: ClassVar[int | None] = None

    def check(self, info: MaterialInfo, now: datetime) -> list[str]:
        """Raise if this target cannot take the material; return warnings to show."""
        require_label(self.label, "target label")
        self._check_method()
        self.check_material(info)
        self._check_size(info)
        if self.lifetime is None and self.import_key.valid_to is None:
            return []  # this provider's import keys do not expire
        return check_expiry(
            self.import_key.valid_to,
            now,
            f"{self.provider.value} wrapping key for {self.label!r}",
            self.warn_within,
            self.lifetime or "",
        )

    def _check_method(self) -> None:
        method, key = self.method, self.import_key
        if method.provider is not self.provider:
            raise WrapError(
                f"{method.value} is a {method.provider.value} method, not a {self.provider.value} "
                "one",
                hint="pick a method of the target's provider",
            )
        if key.provider is not self.provider:
            raise ImportKeyError(
                f"the wrapping key for {self.label!r} was read as a {key.provider.value} key",
                hint="parse it with this provider's reader",
            )
        if key.method is not None and key.method is not method:
            raise WrapError(
                f"the import job says {key.method.value}, the target says {method.value}",
                hint=f"set the target's method to {key.method.value}, or use a matching job",
            )
        if key.key_bits not in method.spec.key_bits:
            raise ImportKeyError(
                f"{method.value} needs an RSA-"
                + " or RSA-".join(str(b) for b in method.spec.key_bits)
                + f" wrapping key; this one is RSA-{key.key_bits}",
                hint="download a wrapping key of the size the method names",
            )

    def _check_size(self, info: MaterialInfo) -> None:
        method, kind = self.method, info.kind
        if not method.composite:
            if kind.is_rsa:
                raise WrapError(
                    f"an RSA private key cannot be wrapped with {method.value}: direct OAEP "
                    "holds at most a few hundred bytes and the clouds refuse it",
                    hint=f"pick the two-part method: {_two_part_hint(self.provider)}",
                )
            if kind is MaterialKind.EC_P521 and self.import_key.key_bits == 2048:
                raise WrapError(
                    f"a P-521 key (PKCS#8, about 241 bytes) does not fit {method.value} under an "
                    "RSA-2048 wrapping key (at most 214 bytes with SHA-1, 190 with SHA-256)",
                    hint=f"pick {_two_part_hint(self.provider)}, or an RSA-3072/4096 wrapping key",
                )
            limit = oaep_max_payload(self.import_key.modulus_length, method.oaep_hash)
            if info.length is not None and info.length > limit:
                raise WrapError(
                    f"{info.kind.value} material is {info.length} bytes; {method.value} under "
                    f"RSA-{self.import_key.key_bits} carries at most {limit} (k - 2h - 2)",
                    hint=f"pick {_two_part_hint(self.provider)}",
                )
        if self.max_material is not None and (info.length or 0) > self.max_material:
            raise WrapError(
                f"{self.provider.value} takes at most {self.max_material} bytes of key material; "
                f"this is {info.length}",
                hint="this key cannot be imported into this provider",
            )

    def check_blob(self, wrapped: bytes) -> None:
        if self.max_wrapped is not None and len(wrapped) > self.max_wrapped:
            raise WrapError(
                f"the wrapped key is {len(wrapped)} bytes; {self.provider.value} takes at most "
                f"{self.max_wrapped}",
                hint="pick a smaller key or another provider",
            )

    @abc.abstractmethod
    def check_material(self, info: MaterialInfo) -> None:
        """Raise unless the provider imports this kind of key this way."""

    @abc.abstractmethod
    def import_files(
        self, wrapped: bytes, info: MaterialInfo, key_label: str, now: datetime, wrapped_by: str
    ) -> list[tuple[str, bytes]]:
        """The provider's import files and IMPORT.md, named as its documentation names them."""

    @abc.abstractmethod
    def wrap_file_name(self) -> str:
        """The name of the file holding the wrapped key."""

    def manifest_fields(self, info: MaterialInfo) -> dict[str, object]:
        return {}


def _two_part_hint(provider: Provider) -> str:
    if provider is Provider.AWS:
        return "RSA_AES_KEY_WRAP_SHA_256"
    return "RSA_OAEP_3072_SHA256_AES_256 or RSA_OAEP_4096_SHA256_AES_256"


def unsupported(provider: Provider, kind: MaterialKind, hint: str) -> WrapError:
    return WrapError(f"{provider.value} does not import {kind.value} keys this way", hint=hint)


def fingerprint_block(key: ImportKey) -> str:
    """Markdown lines showing the wrapping key's fingerprint for two officers to compare."""
    lines = [
        "Wrapping key fingerprint (SHA-256 of the SubjectPublicKeyInfo):",
        "",
        f"    {key.fingerprint.groups()}",
        "",
        "The same value from the downloaded public key, on the online computer:",
        "`openssl pkey -pubin -in <public key file> -outform DER | sha256sum`",
        "(add `-inform DER` for AWS's binary PublicKey).",
        "",
        "Read aloud (PGP word list):",
        "",
    ]
    lines += ["    " + line for line in key.fingerprint.word_lines()]
    return "\n".join(lines)


def online_intro(
    key: ImportKey,
    now: datetime,
    before: Sequence[tuple[str, Sequence[str]]] = (),
    fingerprints: str | None = None,
) -> list[str]:
    """IMPORT.md lines every provider shares: when the bundle was made, the wrapping key's
    fingerprint (or the provider's own ``fingerprints`` block), how the cloud side was prepared
    (``before``: text, command), and the first step on the online computer (check the files
    arrived unchanged).
    """
    block = fingerprint_block(key) if fingerprints is None else fingerprints
    lines = [f"- Bundle made: {iso(now)}", "", block, ""]
    if before:
        lines += [
            "## Before the ceremony: how the cloud side was prepared",
            "",
            "Done on the online computer before the ceremony; check that it was done so (the",
            "check at the end shows it).",
            "",
        ]
        for n, (text, command) in enumerate(before):
            lines += [f"{chr(ord('a') + n)}. {text}", "", shell_block(shell_command(command)), ""]
    return [
        *lines,
        "## On the online computer",
        "",
        "1. Check that the files arrived unchanged:",
        "",
        "       sha256sum -c SHA256SUMS",
        "",
    ]


def shell_command(args: Sequence[str]) -> str:
    """One command, an argument a line, continued with backslashes."""
    return " \\\n    ".join(args)


def shell_block(command: str) -> str:
    """A shell command indented as a code block inside a numbered IMPORT.md step."""
    return "       " + command.replace("\n", "\n       ")


def material_line(info: MaterialInfo) -> str:
    parts = [info.kind.value]
    if info.length is not None:
        parts.append(f"{info.length} bytes {'raw' if info.kind.is_symmetric else 'PKCS#8 DER'}")
    if info.kcv:
        parts.append(f"KCV {info.kcv}")
    if info.public_key_sha256:
        parts.append(f"public key SHA-256 {info.public_key_sha256}")
    return ", ".join(parts)

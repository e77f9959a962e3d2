"""What the three clouds share: methods, material kinds, import keys, fingerprints, bundle files."""

from __future__ import annotations

import abc
import base64
import binascii
import codecs
import enum
import hashlib
import hmac
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import ClassVar

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ceremony.core import pgpwords
from ceremony.core.labels import LABEL_RULE, is_label
from ceremony.core.secret import Secret
from ceremony.core.wrap import OaepHash, modulus_bytes, oaep_max_payload
from ceremony.errors import ImportKeyError, KeyMaterialError, WrapError

# Bigger inputs are not a provider's key file; refusing early keeps parsers fast.
MAX_KEY_FILE = 64 * 1024


class Provider(enum.Enum):
    AWS = "AWS KMS"
    AZURE = "Azure Key Vault"
    GCP = "Google Cloud KMS"


class MaterialKind(enum.Enum):
    """The key being imported, which fixes its encoding: raw bytes or PKCS#8 DER."""

    AES_128 = "AES-128"
    AES_192 = "AES-192"
    AES_256 = "AES-256"
    HMAC_SHA1 = "HMAC-SHA1"
    HMAC_SHA224 = "HMAC-SHA224"
    HMAC_SHA256 = "HMAC-SHA256"
    HMAC_SHA384 = "HMAC-SHA384"
    HMAC_SHA512 = "HMAC-SHA512"
    EC_P256 = "EC P-256"
    EC_P384 = "EC P-384"
    EC_P521 = "EC P-521"
    EC_SECP256K1 = "EC secp256k1"
    RSA_2048 = "RSA-2048"
    RSA_3072 = "RSA-3072"
    RSA_4096 = "RSA-4096"

    @property
    def raw_length(self) -> int | None:
        """Bytes of a symmetric key (HMAC keys are digest length); None for PKCS#8 keys."""
        return _RAW_LENGTHS.get(self)

    @property
    def is_symmetric(self) -> bool:
        return self in _RAW_LENGTHS

    @property
    def is_rsa(self) -> bool:
        return self.name.startswith("RSA_")

    @property
    def is_ec(self) -> bool:
        return self.name.startswith("EC_")

    @property
    def rsa_bits(self) -> int | None:
        return int(self.name[4:]) if self.is_rsa else None

    @property
    def curve(self) -> str | None:
        """The curve's SEC name as pyca reports it."""
        return _CURVES.get(self)


_RAW_LENGTHS = MappingProxyType(
    {
        MaterialKind.AES_128: 16,
        MaterialKind.AES_192: 24,
        MaterialKind.AES_256: 32,
        MaterialKind.HMAC_SHA1: 20,
        MaterialKind.HMAC_SHA224: 28,
        MaterialKind.HMAC_SHA256: 32,
        MaterialKind.HMAC_SHA384: 48,
        MaterialKind.HMAC_SHA512: 64,
    }
)
_CURVES = MappingProxyType(
    {
        MaterialKind.EC_P256: "secp256r1",
        MaterialKind.EC_P384: "secp384r1",
        MaterialKind.EC_P521: "secp521r1",
        MaterialKind.EC_SECP256K1: "secp256k1",
    }
)


class WrapMethod(enum.Enum):
    """The 11 import formats; each value is the provider's own name for it."""

    AWS_RSAES_OAEP_SHA_1 = "RSAES_OAEP_SHA_1"
    AWS_RSAES_OAEP_SHA_256 = "RSAES_OAEP_SHA_256"
    AWS_RSA_AES_KEY_WRAP_SHA_1 = "RSA_AES_KEY_WRAP_SHA_1"
    AWS_RSA_AES_KEY_WRAP_SHA_256 = "RSA_AES_KEY_WRAP_SHA_256"
    AZURE_BYOK = "CKM_RSA_AES_KEY_WRAP"
    GCP_RSA_OAEP_3072_SHA1_AES_256 = "RSA_OAEP_3072_SHA1_AES_256"
    GCP_RSA_OAEP_4096_SHA1_AES_256 = "RSA_OAEP_4096_SHA1_AES_256"
    GCP_RSA_OAEP_3072_SHA256_AES_256 = "RSA_OAEP_3072_SHA256_AES_256"
    GCP_RSA_OAEP_4096_SHA256_AES_256 = "RSA_OAEP_4096_SHA256_AES_256"
    GCP_RSA_OAEP_3072_SHA256 = "RSA_OAEP_3072_SHA256"
    GCP_RSA_OAEP_4096_SHA256 = "RSA_OAEP_4096_SHA256"

    @property
    def spec(self) -> MethodSpec:
        return _METHOD_SPECS[self]

    @property
    def provider(self) -> Provider:
        return self.spec.provider

    @property
    def oaep_hash(self) -> OaepHash:
        return self.spec.oaep_hash

    @property
    def composite(self) -> bool:
        """True for OAEP(ephemeral AES-256) || KWP(material); False for OAEP of the material."""
        return self.spec.composite


@dataclass(frozen=True)
class MethodSpec:
    provider: Provider
    oaep_hash: OaepHash
    composite: bool
    key_bits: tuple[int, ...]


_SHA1, _SHA256 = OaepHash.SHA1, OaepHash.SHA256
_ANY_BITS = (2048, 3072, 4096)
_METHOD_SPECS = MappingProxyType(
    {
        WrapMethod.AWS_RSAES_OAEP_SHA_1: MethodSpec(Provider.AWS, _SHA1, False, _ANY_BITS),
        WrapMethod.AWS_RSAES_OAEP_SHA_256: MethodSpec(Provider.AWS, _SHA256, False, _ANY_BITS),
        WrapMethod.AWS_RSA_AES_KEY_WRAP_SHA_1: MethodSpec(Provider.AWS, _SHA1, True, _ANY_BITS),
        WrapMethod.AWS_RSA_AES_KEY_WRAP_SHA_256: MethodSpec(Provider.AWS, _SHA256, True, _ANY_BITS),
        # Azure's spec names RSA-OAEP with SHA-1; vendors use MGF1-SHA1 and no label.
        WrapMethod.AZURE_BYOK: MethodSpec(Provider.AZURE, _SHA1, True, _ANY_BITS),
        WrapMethod.GCP_RSA_OAEP_3072_SHA1_AES_256: MethodSpec(Provider.GCP, _SHA1, True, (3072,)),
        WrapMethod.GCP_RSA_OAEP_4096_SHA1_AES_256: MethodSpec(Provider.GCP, _SHA1, True, (4096,)),
        WrapMethod.GCP_RSA_OAEP_3072_SHA256_AES_256: MethodSpec(
            Provider.GCP, _SHA256, True, (3072,)
        ),
        WrapMethod.GCP_RSA_OAEP_4096_SHA256_AES_256: MethodSpec(
            Provider.GCP, _SHA256, True, (4096,)
        ),
        WrapMethod.GCP_RSA_OAEP_3072_SHA256: MethodSpec(Provider.GCP, _SHA256, False, (3072,)),
        WrapMethod.GCP_RSA_OAEP_4096_SHA256: MethodSpec(Provider.GCP, _SHA256, False, (4096,)),
    }
)

_REFUSED_METHODS = {
    "RSAES_PKCS1_V1_5": (
        "RSAES_PKCS1_V1_5 is refused: PKCS#1 v1.5 encryption is open to padding-oracle attacks "
        "and AWS KMS stopped supporting it on 2023-10-10",
        "request parameters for RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256 instead",
    ),
    "SM2PKE": (
        "SM2PKE (AWS China Regions) is not supported by this tool",
        "use an RSA wrapping key spec with RSA_AES_KEY_WRAP_SHA_256 or RSAES_OAEP_SHA_256",
    ),
}


def parse_method(text: str, provider: Provider | None = None) -> WrapMethod:
    """A method from its spelling (``RSA_AES_KEY_WRAP_SHA_256``, ``rsa-oaep-3072-sha256``)."""
    name = text.strip().upper().replace("-", "_")
    if name in _REFUSED_METHODS:
        message, hint = _REFUSED_METHODS[name]
        raise WrapError(message, hint=hint)
    for method in WrapMethod:
        if method.value == name and (provider is None or method.provider is provider):
            return method
    choices = ", ".join(m.value for m in WrapMethod if provider is None or m.provider is provider)
    raise WrapError(f"unknown wrapping method {text.strip()[:60]!r}", hint=f"pick one of {choices}")


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


# ---- import (wrapping) keys -------------------------------------------------------------------


@dataclass(frozen=True)
class Fingerprint:
    """SHA-256 of a DER SubjectPublicKeyInfo, in hex groups and as PGP words to read aloud."""

    digest: bytes

    @classmethod
    def of_spki(cls, spki_der: bytes) -> Fingerprint:
        return cls(hashlib.sha256(spki_der).digest())

    @property
    def hex(self) -> str:
        return self.digest.hex()

    def groups(self) -> str:
        """``3F41 9E1C ...``: 16 groups of four hex digits."""
        text = self.digest.hex().upper()
        return " ".join(text[i : i + 4] for i in range(0, len(text), 4))

    def words(self) -> tuple[str, ...]:
        return pgpwords.encode(self.digest)

    def word_lines(self, per_line: int = 4) -> list[str]:
        """Numbered lines of four words, so a reader can say "line 5"."""
        words = self.words()
        return [
            f"{i + 1:2d}  " + " ".join(words[i : i + per_line])
            for i in range(0, len(words), per_line)
        ]

    def __str__(self) -> str:
        return f"SHA-256 {self.groups()}"


def parse_fingerprint(text: str) -> bytes:
    """A pinned fingerprint from hex (any case, spaces or colons) or from the 32 PGP words."""
    cleaned = text.strip()
    for prefix in ("sha-256", "sha256"):
        if cleaned.lower().startswith(prefix):
            cleaned = cleaned[len(prefix) :].lstrip(" :=")
    hex_digits = re.sub(r"[\s:\-]", "", cleaned)
    if re.fullmatch(r"[0-9A-Fa-f]{64}", hex_digits):
        return bytes.fromhex(hex_digits)
    words = re.split(r"[\s,\-]+", cleaned)
    words = [w for w in words if w and not w.isdigit()]
    if len(words) == 32:
        try:
            return pgpwords.decode(words)
        except ValueError as ex:
            raise ImportKeyError(
                f"pinned fingerprint: {ex}", hint="copy the 32 words again, in order"
            ) from None
    raise ImportKeyError(
        "the pinned fingerprint is neither 64 hex digits nor 32 PGP words",
        hint="copy the SHA-256 fingerprint of the wrapping key from the ceremony file",
    )


@dataclass(frozen=True)
class ImportKey:
    """A provider's RSA wrapping key as parsed from its own download, with what came along."""

    provider: Provider
    public_key: rsa.RSAPublicKey
    spki_der: bytes
    valid_to: datetime | None = None
    reference: str = ""  # AWS KeyId ARN, Azure versioned KEK id, GCP import job name
    import_token: bytes | None = None  # AWS only; passed through byte for byte
    method: WrapMethod | None = None  # the method the provider states (GCP importMethod)
    state: str | None = None  # GCP import job state
    protection_level: str | None = None  # GCP import job protection level

    @property
    def key_bits(self) -> int:
        return self.public_key.key_size

    @property
    def modulus_length(self) -> int:
        return modulus_bytes(self.public_key)

    @property
    def fingerprint(self) -> Fingerprint:
        return Fingerprint.of_spki(self.spki_der)

    def require_fingerprint(self, expected: str) -> None:
        """Stop the ceremony unless the key is the one the ceremony file pins."""
        wanted = parse_fingerprint(expected)
        if not hmac.compare_digest(wanted, self.fingerprint.digest):
            raise ImportKeyError(
                f"the {self.provider.value} wrapping key is not the pinned one: it is "
                f"{self.fingerprint.groups()}, the ceremony file pins "
                f"{Fingerprint(wanted).groups()}",
                hint="stop: download the wrapping key again and compare it with the cloud console",
            )


@contextmanager
def parsing(what: str) -> Iterator[None]:
    """Translate any library or decoding error into ImportKeyError naming ``what``."""
    try:
        yield
    except (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        UnicodeError,
        RecursionError,
        OverflowError,
        UnsupportedAlgorithm,
    ) as ex:
        raise ImportKeyError(
            f"{what} does not parse ({type(ex).__name__})",
            hint="give the provider's file unchanged, in one of the forms the docs list",
        ) from None


def as_bytes(data: bytes | bytearray | str, what: str) -> bytes:
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    data = bytes(data)
    # PowerShell 5 redirects write UTF-16 with a BOM; Notepad may add a UTF-8 BOM.
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        with parsing(what):
            data = data.decode("utf-16").encode("utf-8")
    data = data.removeprefix(codecs.BOM_UTF8)
    if not data.strip():
        raise ImportKeyError(f"{what} is empty", hint="give the provider's file")
    if len(data) > MAX_KEY_FILE:
        raise ImportKeyError(
            f"{what} is {len(data)} bytes, too big for a wrapping key file",
            hint="give the provider's public key file, not another file",
        )
    return data


_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/=\s]+")


def decode_base64(text: bytes | str, what: str) -> bytes:
    """Strict standard base64 (whitespace allowed), as the AWS CLI prints blobs."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    compact = re.sub(rb"\s", b"", raw)
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise ImportKeyError(
            f"{what} is not valid base64", hint="copy the value unchanged from the CLI output"
        ) from None
    if not decoded:
        raise ImportKeyError(f"{what} is empty", hint="copy the value from the CLI output")
    return decoded


def looks_like_base64(data: bytes) -> bool:
    return _BASE64_TEXT.fullmatch(data) is not None


def _refuse_not_public(data: bytes, what: str) -> None:
    """Name what the file is when it is a certificate or a private key instead of a public key."""
    try:
        x509.load_der_x509_certificate(data)
    except ValueError:
        pass
    else:
        raise ImportKeyError(
            f"{what} is a certificate, not a public key",
            hint="give the wrapping public key exactly as the provider hands it out",
        )
    try:
        serialization.load_der_private_key(data, None, unsafe_skip_rsa_key_validation=True)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return
    raise ImportKeyError(
        f"{what} is a private key; the wrapping key is public",
        hint="never bring private keys of the cloud into the ceremony; download the public key",
    )


def load_rsa_public_key(
    data: bytes, what: str, allowed_bits: tuple[int, ...] = _ANY_BITS
) -> tuple[rsa.RSAPublicKey, bytes]:
    """An RSA public key from SPKI PEM or DER; returns it with its canonical SPKI DER."""
    blocks = _PEM_BLOCK.findall(data)
    if b"-----BEGIN" in data:
        if len(blocks) != 1:
            raise ImportKeyError(
                f"{what}: expected exactly one complete PEM block, found {len(blocks)}",
                hint="the file is truncated or holds several keys; download it again",
            )
        label = blocks[0][0].decode("ascii")
        if label == "CERTIFICATE":
            raise ImportKeyError(
                f"{what} is a certificate, not a public key",
                hint="give the wrapping public key exactly as the provider hands it out",
            )
        if "PRIVATE KEY" in label:
            raise ImportKeyError(
                f"{what} is a private key; the wrapping key is public",
                hint="never bring private keys of the cloud into the ceremony",
            )
        if label not in ("PUBLIC KEY", "RSA PUBLIC KEY"):
            raise ImportKeyError(
                f"{what} is a PEM {label!r}, not a public key", hint="give the public key file"
            )
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ImportKeyError(
                f"{what}: the PEM public key does not decode",
                hint="the file is damaged or truncated; download it again",
            ) from None
    else:
        try:
            key = serialization.load_der_public_key(data)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            _refuse_not_public(data, what)
            raise ImportKeyError(
                f"{what} is not a DER or PEM public key",
                hint="give the provider's public key file unchanged",
            ) from None
    if not isinstance(key, rsa.RSAPublicKey):
        kind = "an EC" if isinstance(key, ec.EllipticCurvePublicKey) else "a non-RSA"
        raise ImportKeyError(
            f"{what} is {kind} key; cloud wrapping keys are RSA",
            hint="request an RSA wrapping key (RSA_2048/3072/4096, RSA-HSM, or an import job)",
        )
    if key.key_size not in allowed_bits:
        raise ImportKeyError(
            f"{what} is RSA-{key.key_size}; this method needs RSA-"
            + " or RSA-".join(str(b) for b in allowed_bits),
            hint="request a wrapping key of a supported size",
        )
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, spki


def load_json_object(data: bytes, what: str) -> dict[str, object] | None:
    """The JSON object in ``data``, or None when ``data`` is not JSON at all."""
    stripped = data.strip()
    if not stripped.startswith(b"{"):
        return None
    with parsing(what):
        doc = json.loads(stripped.decode("utf-8"), parse_constant=_no_constant)
    if not isinstance(doc, dict):
        raise ImportKeyError(f"{what} is not a JSON object", hint="give the CLI's JSON output")
    return doc


def _no_constant(name: str) -> object:
    raise ValueError(f"JSON constant {name} is not allowed")


def json_string(doc: dict[str, object], field: str, what: str) -> str:
    value = doc.get(field)
    if not isinstance(value, str) or not value:
        raise ImportKeyError(
            f"{what} has no {field!r} text field", hint="give the CLI's unchanged JSON output"
        )
    return value


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
    if _HEX_TEXT.fullmatch(buf) or _BASE64_TEXT.fullmatch(buf):
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

    def manifest_fields(self) -> dict[str, object]:
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


def online_intro(key: ImportKey, now: datetime) -> list[str]:
    """IMPORT.md lines every provider shares: when the bundle was made, the wrapping key's
    fingerprint, and the first step on the online computer (check the files arrived unchanged).
    """
    return [
        f"- Bundle made: {iso(now)}",
        "",
        fingerprint_block(key),
        "",
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

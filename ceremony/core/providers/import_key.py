"""A provider's wrapping (import) key: its fingerprint read aloud and the parsing of its files."""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ceremony.core import pgpwords
from ceremony.core.pem import pem_blocks
from ceremony.core.providers.methods import _ANY_BITS, Provider, WrapMethod
from ceremony.core.wrap import modulus_bytes
from ceremony.errors import ImportKeyError

# Bigger inputs are not a provider's key file; refusing early keeps parsers fast.
MAX_KEY_FILE = 64 * 1024


@dataclass(frozen=True)
class Fingerprint:
    """SHA-256 of a DER SubjectPublicKeyInfo (or of a DER certificate, for a pinned root CA),
    in hex groups and as PGP words to read aloud."""

    digest: bytes

    @classmethod
    def of_spki(cls, spki_der: bytes) -> Fingerprint:
        return cls(hashlib.sha256(spki_der).digest())

    @classmethod
    def of_certificate(cls, certificate_der: bytes) -> Fingerprint:
        return cls(hashlib.sha256(certificate_der).digest())

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
    import_token_form: str | None = None  # AWS only: how the token was read (aws.TOKEN_*)
    method: WrapMethod | None = None  # the method the provider states (GCP importMethod)
    state: str | None = None  # GCP import job state
    protection_level: str | None = None  # GCP import job protection level
    # AWS Payment Cryptography only: the wrapping key's certificate, then its chain to the
    # root CA, each DER, as verified when parsed.
    certificates: tuple[bytes, ...] = ()

    @property
    def key_bits(self) -> int:
        return self.public_key.key_size

    @property
    def modulus_length(self) -> int:
        return modulus_bytes(self.public_key)

    @property
    def fingerprint(self) -> Fingerprint:
        return Fingerprint.of_spki(self.spki_der)

    @property
    def root_fingerprint(self) -> Fingerprint | None:
        """SHA-256 of the root CA certificate that certifies the key, when it came certified."""
        return Fingerprint.of_certificate(self.certificates[-1]) if self.certificates else None

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


def looks_like_base64(data: bytes | bytearray) -> bool:
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
    blocks = pem_blocks(data)
    if b"-----BEGIN" in data:
        if len(blocks) != 1:
            raise ImportKeyError(
                f"{what}: expected exactly one complete PEM block, found {len(blocks)}",
                hint="the file is truncated or holds several keys; download it again",
            )
        label = blocks[0][0]
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

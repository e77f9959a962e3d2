"""Key check values, always labelled with the method that made them."""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from dataclasses import dataclass

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ceremony.core.component import KeyAlgorithm
from ceremony.core.secret import Secret
from ceremony.errors import CheckValueError, KeyMaterialError

KeyInput = Secret | bytes | bytearray | memoryview

_AES_KEY_LENGTHS = (16, 24, 32)
_TDES_KEY_LENGTHS = (8, 16, 24)
# Every method prints at least 3 bytes: fewer lets a wrong key match one time in 65,536.
MIN_LENGTH = 3


class KcvMethod(enum.Enum):
    """How a check value is computed; the value is the label printed next to every KCV."""

    # X9.24-1:2017 / PCI PIN 15-1 method 2: AES-CMAC over one zero block, leftmost bytes.
    AES_CMAC = "AES-CMAC"
    # Legacy AES: ECB encryption of one zero block; what PKCS#11 CKA_CHECK_VALUE holds.
    AES_ECB_ZERO = "AES-ECB"
    # Legacy TDES: ECB encryption of 8 zero bytes (X9.24-1:2017 7.7.2, PCI PIN method 1).
    TDES_ECB_ZERO = "TDES-ECB"
    # This tool's convention for HMAC keys: HMAC-SHA-256 keyed with the key over 16 zero bytes.
    HMAC_SHA256_ZERO = "HMAC-SHA256"

    @property
    def label(self) -> str:
        return self.value

    @property
    def default_length(self) -> int:
        # 3 bytes (6 hex digits) is what HSMs, AWS Payment Cryptography and PCI print.
        return 3

    @property
    def max_length(self) -> int:
        # X9.24-1 A.3 caps the CMAC KCV at 40 bits; PCI caps encrypt-zero KCVs at 24 bits,
        # since every extra bit is a known plaintext/ciphertext pair for a key search.
        if self in (KcvMethod.AES_CMAC, KcvMethod.HMAC_SHA256_ZERO):
            return 5
        return 3

    def accepts(self, key_length: int) -> bool:
        """Whether a key of ``key_length`` bytes can be checked with this method."""
        if self in (KcvMethod.AES_CMAC, KcvMethod.AES_ECB_ZERO):
            return key_length in _AES_KEY_LENGTHS
        if self is KcvMethod.TDES_ECB_ZERO:
            return key_length in _TDES_KEY_LENGTHS
        return key_length >= 1

    def describe_key_lengths(self) -> str:
        if self in (KcvMethod.AES_CMAC, KcvMethod.AES_ECB_ZERO):
            return "16, 24 or 32 bytes"
        if self is KcvMethod.TDES_ECB_ZERO:
            return "8, 16 or 24 bytes"
        return "at least 1 byte"


_BY_LABEL = {m.label: m for m in KcvMethod}


@dataclass(frozen=True, eq=False)
class CheckValue:
    """A KCV that cannot be shown without its method: ``AES-CMAC 08793E (3 of 5 bytes)``."""

    method: KcvMethod
    value: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.method, KcvMethod):
            raise CheckValueError("a check value needs a KcvMethod", hint="this is a bug")
        if not isinstance(self.value, bytes):
            # Normalise bytearray/memoryview so the frozen value cannot change under us.
            object.__setattr__(self, "value", bytes(self.value))
        _require_kcv_length(self.method, len(self.value))

    @property
    def hex(self) -> str:
        """Bare uppercase hex for journal fields that store the method next to it; never display."""
        return self.value.hex().upper()

    def journal_fields(self) -> dict[str, str]:
        """Method and value as separate fields, for a machine-read record."""
        return {"kcv_method": self.method.label, "kcv": self.hex}

    def truncated(self, length: int) -> CheckValue:
        """The leftmost ``length`` bytes, e.g. to compare a 5-byte KCV with a 3-byte record."""
        _require_kcv_length(self.method, length)
        if length > len(self.value):
            raise CheckValueError(
                f"cannot lengthen a {len(self.value)}-byte check value to {length} bytes",
                hint="recompute the check value from the key with the longer length",
            )
        return CheckValue(self.method, self.value[:length])

    def __str__(self) -> str:
        return (
            f"{self.method.label} {self.hex} ({len(self.value)} of {self.method.max_length} bytes)"
        )

    def __repr__(self) -> str:
        return f"CheckValue({self!s})"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CheckValue):
            return NotImplemented
        return self.method is other.method and hmac.compare_digest(self.value, other.value)

    def __hash__(self) -> int:
        return hash((self.method, self.value))


def _require_kcv_length(method: KcvMethod, length: int) -> None:
    if not MIN_LENGTH <= length <= method.max_length:
        raise CheckValueError(
            f"a {method.label} check value must be {MIN_LENGTH} to {method.max_length} bytes, "
            f"not {length}",
            hint="use the default length (3 bytes) unless a counterpart asks for more",
        )


def _require_key_length(method: KcvMethod, length: int) -> None:
    if not method.accepts(length):
        raise KeyMaterialError(
            f"a {method.label} check value needs a key of {method.describe_key_lengths()}, "
            f"this key is {length} bytes",
            hint="check the key algorithm and length, and the check-value method chosen for it",
        )


def _material(key: KeyInput) -> tuple[bytes | bytearray, bytearray | None]:
    """The key bytes, plus a copy we made (from a memoryview) that the caller must wipe."""
    if isinstance(key, Secret):
        return key.reveal(), None
    if isinstance(key, memoryview):
        copy = bytearray(key)
        return copy, copy
    return key, None


def aes_cmac(key: KeyInput, message: bytes, tag_length: int = 16) -> bytes:
    """AES-CMAC (SP 800-38B), leftmost ``tag_length`` bytes; the primitive under AES-CMAC KCVs."""
    material, owned = _material(key)
    try:
        _require_key_length(KcvMethod.AES_CMAC, len(material))
        if not 1 <= tag_length <= 16:
            raise CheckValueError(f"a CMAC tag is 1 to 16 bytes, not {tag_length}")
        mac = cmac.CMAC(algorithms.AES(material))
        mac.update(message)
        return mac.finalize()[:tag_length]
    finally:
        if owned is not None:
            owned[:] = bytes(len(owned))


def _aes_ecb_zero(material: bytes | bytearray) -> bytes:
    # ECB over one fixed block is the definition of the legacy KCV, not a data mode.
    encryptor = Cipher(algorithms.AES(material), modes.ECB()).encryptor()  # noqa: S305
    return encryptor.update(bytes(16)) + encryptor.finalize()


def _tdes_ecb_zero(material: bytes | bytearray) -> bytes:
    # cryptography 50 deprecates 8- and 16-byte TDES keys; expand to K1K2K3 ourselves (X9.52 keying
    # options 3 and 2) and wipe the copy.
    expanded = bytearray(material)
    try:
        if len(expanded) == 8:
            expanded += expanded + expanded
        elif len(expanded) == 16:
            expanded += expanded[:8]
        # The stub says bytes, the runtime checks bytes-like: a bytearray keeps the copy wipeable.
        cipher = TripleDES(expanded)  # type: ignore[arg-type]
        encryptor = Cipher(cipher, modes.ECB()).encryptor()  # noqa: S305
        return encryptor.update(bytes(8)) + encryptor.finalize()
    finally:
        expanded[:] = bytes(len(expanded))


def check_value(key: KeyInput, method: KcvMethod, length: int | None = None) -> CheckValue:
    """The ``method`` check value of ``key``, ``length`` bytes (default 3)."""
    material, owned = _material(key)
    try:
        _require_key_length(method, len(material))
        length = method.default_length if length is None else length
        _require_kcv_length(method, length)
        if method is KcvMethod.AES_CMAC:
            full = aes_cmac(material, bytes(16))
        elif method is KcvMethod.AES_ECB_ZERO:
            full = _aes_ecb_zero(material)
        elif method is KcvMethod.TDES_ECB_ZERO:
            full = _tdes_ecb_zero(material)
        else:
            full = hmac.new(material, bytes(16), hashlib.sha256).digest()
        return CheckValue(method, full[:length])
    finally:
        if owned is not None:
            owned[:] = bytes(len(owned))


def default_method(algorithm: KeyAlgorithm, length: int) -> KcvMethod:
    """The method this tool prints for an ``algorithm`` key of ``length`` bytes.

    Each algorithm has one method, computed with the key's own algorithm: AES keys get the
    X9.24 CMAC KCV, TDES keys the legacy TDES KCV, and HMAC keys always HMAC-SHA256, whatever
    their length, so the label never changes with length and an HMAC key never enters AES.
    Raises KeyMaterialError when that method cannot take ``length``.
    """
    method = {
        KeyAlgorithm.AES: KcvMethod.AES_CMAC,
        KeyAlgorithm.TDES: KcvMethod.TDES_ECB_ZERO,
        KeyAlgorithm.HMAC: KcvMethod.HMAC_SHA256_ZERO,
    }[algorithm]
    _require_key_length(method, length)
    return method


def require_match(expected: CheckValue, actual: CheckValue, what: str) -> None:
    """Raise CheckValueError unless ``actual`` equals ``expected`` (same method, shorter length)."""
    if expected.method is not actual.method:
        raise CheckValueError(
            f"{what}: the recorded check value {expected} and the computed {actual} use "
            "different methods and cannot be compared",
            hint=f"recompute the check value with {expected.method.label}",
        )
    # Both are leftmost bytes of the same computation, so a 3-byte record checks a 5-byte value.
    length = min(len(expected.value), len(actual.value))
    if not hmac.compare_digest(expected.value[:length], actual.value[:length]):
        raise CheckValueError(
            f"{what}: computed check value {actual.truncated(length)} does not match "
            f"the recorded {expected.truncated(length)}",
            hint="stop: a component was entered wrong or belongs to another key; "
            "re-enter the components and compare again before going on",
        )


_KCV_TEXT = re.compile(
    r"\s*(?P<label>[A-Za-z0-9-]+)\s+(?P<hex>[0-9A-Fa-f]+)"
    # A byte count has at most 4 digits: int() refuses more than 4,300, found by the fuzz driver.
    r"\s*(?:\(\s*(?P<n>[0-9]{1,4})\s+of\s+(?P<max>[0-9]{1,4})\s+bytes?\s*\))?\s*",
    re.IGNORECASE,
)


def parse_check_value(text: str) -> CheckValue:
    """Read ``AES-CMAC 08793E`` or ``AES-CMAC 08793E (3 of 5 bytes)`` back; a bare hex is refused.

    Messages never repeat the text: a key pasted into a KCV field must not reach a log.
    """
    match = _KCV_TEXT.fullmatch(text)
    if match is None:
        raise CheckValueError(
            "not a labelled check value",
            hint="write the method, then the hex digits, e.g. 'AES-CMAC' followed by 6 hex digits",
        )
    method = _BY_LABEL.get(match["label"].upper())
    if method is None:
        raise CheckValueError(
            "unknown check-value method",
            hint="use one of " + ", ".join(_BY_LABEL),
        )
    if len(match["hex"]) % 2:
        raise CheckValueError(
            f"a {method.label} check value has an odd number of hex digits",
            hint="copy the check value again; every byte is two hex digits",
        )
    value = bytes.fromhex(match["hex"])
    if match["n"] is not None and (
        int(match["n"]) != len(value) or int(match["max"]) != method.max_length
    ):
        raise CheckValueError(
            f"the byte count written after a {method.label} check value does not fit its digits",
            hint="copy the check value again",
        )
    return CheckValue(method, value)

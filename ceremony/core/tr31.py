"""TR-31 / ANSI X9.143 key blocks, versions B (TDES) and D (AES): wrap, unwrap, strength rule."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from types import MappingProxyType

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import (
    BlockCipherAlgorithm,
    Cipher,
    algorithms,
    modes,
)

from ceremony.core import keylengths
from ceremony.core.component import KeyAlgorithm
from ceremony.core.rng import RandomBytes
from ceremony.core.secret import Secret
from ceremony.errors import KeyBlockError

KeyInput = Secret | bytes | bytearray

# The fixed header: version, length, usage, algorithm, mode, key version, exportability,
# number of optional blocks, reserved (X9.143 6.2, table 1).
FIXED_HEADER_LENGTH = 16
# The length field has four decimal digits.
MAX_BLOCK_LENGTH = 9999
MAX_OPTIONAL_BLOCKS = 99


@dataclass(frozen=True)
class _Binding:
    """What a version's key derivation binding method uses (X9.143 6.1 and 7)."""

    kbpk_algorithm: KeyAlgorithm
    kbpk_lengths: tuple[int, ...]
    block_size: int
    mac_length: int


_BINDINGS = MappingProxyType(
    {
        "B": _Binding(KeyAlgorithm.TDES, (16, 24), 8, 8),
        "D": _Binding(KeyAlgorithm.AES, (16, 24, 32), 16, 16),
    }
)

# Header algorithm codes this tool carries; 'D' (single DES) and the asymmetric 'E', 'R', 'S'
# are refused by name.
ALGORITHMS = MappingProxyType(
    {"T": KeyAlgorithm.TDES, "A": KeyAlgorithm.AES, "H": KeyAlgorithm.HMAC}
)

MODES = frozenset("BCDEGNSVXY")
EXPORTABILITY = frozenset("ENS")

_TA = frozenset("TA")
_CRYPT = frozenset("BDEN")
_MAC = frozenset("CGVN")
_DERIVE = frozenset("NX")


@dataclass(frozen=True)
class Usage:
    """One symmetric key usage of X9.143 table 6: the algorithms and modes of use it allows."""

    description: str
    algorithms: frozenset[str]
    modes: frozenset[str]


# X9.143 table 6 (TR-31:2018 A.5.1), symmetric usages only. 'N' (no restriction beyond the
# usage's) is accepted for each: HSMs export K0, B0 and D0 keys with it (the payShield blocks in
# tests/vectors/tr31). 'X' (derive) only for derivation keys, so a K0 or P0 can never derive.
USAGES = MappingProxyType(
    {
        "B0": Usage("BDK base derivation key", _TA, _DERIVE),
        "B1": Usage("initial DUKPT key", _TA, _DERIVE),
        # Deprecated; 'Y' (create variants) is what a base key variant key is for.
        "B2": Usage("base key variant key", frozenset("T"), frozenset("NXY")),
        "B3": Usage("key derivation key (non-X9.24)", _TA, _DERIVE),
        "C0": Usage("card verification key", _TA, _MAC),
        "D0": Usage("data encryption key", _TA, _CRYPT),
        "D2": Usage("data encryption key for a decimalization table", _TA, _CRYPT),
        "D3": Usage("data encryption key for sensitive data", _TA, _CRYPT),
        "E0": Usage("EMV issuer master key: application cryptograms", _TA, _DERIVE),
        "E1": Usage("EMV issuer master key: secure messaging confidentiality", _TA, _DERIVE),
        "E2": Usage("EMV issuer master key: secure messaging integrity", _TA, _DERIVE),
        "E3": Usage("EMV issuer master key: data authentication code", _TA, _DERIVE),
        "E4": Usage("EMV issuer master key: dynamic numbers", _TA, _DERIVE),
        "E5": Usage("EMV issuer master key: card personalization", _TA, _DERIVE),
        "E6": Usage("EMV issuer master key: other", _TA, _DERIVE),
        "I0": Usage("initialization vector", _TA, frozenset("N")),
        "K0": Usage("key encryption or wrapping key", _TA, _CRYPT),
        "K1": Usage("TR-31 key block protection key", _TA, _CRYPT),
        "K4": Usage("ISO 20038 key block protection key", frozenset("A"), _CRYPT),
        "M0": Usage("ISO 16609 MAC algorithm 1 (TDES)", frozenset("T"), _MAC),
        "M1": Usage("ISO 9797-1 MAC algorithm 1", _TA, _MAC),
        "M2": Usage("ISO 9797-1 MAC algorithm 2", _TA, _MAC),
        "M3": Usage("ISO 9797-1 MAC algorithm 3 (retail MAC)", frozenset("T"), _MAC),
        "M4": Usage("ISO 9797-1 MAC algorithm 4", _TA, _MAC),
        "M5": Usage("ISO 9797-1:1999 MAC algorithm 5", _TA, _MAC),
        "M6": Usage("ISO 9797-1:2011 MAC algorithm 5 (CMAC)", _TA, _MAC),
        "M7": Usage("HMAC key", frozenset("H"), _MAC),
        "M8": Usage("ISO 9797-1:2011 MAC algorithm 6", _TA, _MAC),
        "P0": Usage("PIN encryption key", _TA, _CRYPT),
        "P1": Usage("PIN generation key", _TA, _MAC),
        "V0": Usage("PIN verification key (other algorithm)", _TA, _MAC),
        "V1": Usage("PIN verification key (IBM 3624)", _TA, _MAC),
        "V2": Usage("PIN verification key (Visa PVV)", _TA, _MAC),
        "V3": Usage("PIN verification key (X9.132 algorithm 1)", _TA, _MAC),
        "V4": Usage("PIN verification key (X9.132 algorithm 2)", _TA, _MAC),
        "V5": Usage("PIN verification key (X9.132 algorithm 3)", _TA, _MAC),
    }
)
_ASYMMETRIC_USAGES = frozenset({"D1", "E7", "K2", "K3", "S0", "S1", "S2"})

# TDES keys in a key block are double or triple length; single DES has algorithm 'D', refused.
_KEY_LENGTHS = MappingProxyType(
    {
        KeyAlgorithm.TDES: (16, 24),
        KeyAlgorithm.AES: keylengths.allowed_lengths(KeyAlgorithm.AES),
        KeyAlgorithm.HMAC: keylengths.allowed_lengths(KeyAlgorithm.HMAC),
    }
)
# X9.143 5 and 6.1: the key length is hidden by padding to the algorithm's longest key.
_DEFAULT_MASK = MappingProxyType({KeyAlgorithm.TDES: 24, KeyAlgorithm.AES: 32})


def _printable(text: str) -> bool:
    return all(" " <= c <= "~" for c in text)


def _alphanumeric(text: str) -> bool:
    return text.isascii() and text.isalnum()


def _upper_hex(text: str) -> bool:
    return all(c in "0123456789ABCDEF" for c in text)


@dataclass(frozen=True)
class Header:
    """The clear header of a key block; ``blocks`` ends in the 'PB' padding block when one is due.

    A header built without 'PB' gets one added (zeros) when the optional blocks would not end on
    the version's cipher block, so a built header equals the one read back from its key block.
    """

    version: str
    key_usage: str
    algorithm: str
    mode_of_use: str
    key_version: str = "00"
    exportability: str = "N"
    blocks: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _require_version(self.version)
        _require_fields(self)
        if not isinstance(self.blocks, tuple) or not all(
            isinstance(b, tuple) and len(b) == 2 and all(isinstance(x, str) for x in b)
            for b in self.blocks
        ):
            raise KeyBlockError(
                "optional blocks are a tuple of (ID, data) pairs of text",
                hint="this is a bug in the caller; report it",
            )
        object.__setattr__(self, "blocks", _padded_blocks(self.blocks, self.block_size))

    @property
    def key_algorithm(self) -> KeyAlgorithm:
        return ALGORITHMS[self.algorithm]

    @property
    def block_size(self) -> int:
        """Bytes of the cipher block of this version: 8 (TDES, B) or 16 (AES, D)."""
        return _BINDINGS[self.version].block_size

    def block(self, block_id: str) -> str | None:
        """The data of optional block ``block_id``, or None when the header has none."""
        return next((data for bid, data in self.blocks if bid == block_id), None)

    def text(self, block_length: int) -> str:
        """The header as it starts a key block of ``block_length`` characters."""
        if not FIXED_HEADER_LENGTH <= block_length <= MAX_BLOCK_LENGTH:
            raise KeyBlockError(
                f"a key block is at most {MAX_BLOCK_LENGTH} characters; this one would be "
                f"{block_length}",
                hint="shorten the optional blocks",
            )
        return (
            f"{self.version}{block_length:04d}{self.key_usage}{self.algorithm}{self.mode_of_use}"
            f"{self.key_version}{self.exportability}{len(self.blocks):02d}00"
            f"{_encode_blocks(self.blocks)}"
        )

    @property
    def length(self) -> int:
        """Characters of the header, optional blocks included."""
        return FIXED_HEADER_LENGTH + len(_encode_blocks(self.blocks))


def _require_version(version: object) -> None:
    if version in ("A", "C"):
        raise KeyBlockError(
            "a version A or C key block (legacy variant binding) is not accepted",
            hint="ask the sender for a version B (TDES) or D (AES) key block, which bind the "
            "header with key derivation and CMAC (X9.143)",
        )
    if version not in _BINDINGS:
        raise KeyBlockError(
            "unknown or unsupported key block version",
            hint="this tool reads and writes TR-31 / X9.143 versions B (TDES KBPK) and D "
            "(AES KBPK) only",
        )


def _require_fields(header: Header) -> None:
    usage, algorithm, mode = header.key_usage, header.algorithm, header.mode_of_use
    for name, value, size in (
        ("key usage", usage, 2),
        ("algorithm", algorithm, 1),
        ("mode of use", mode, 1),
        ("key version number", header.key_version, 2),
        ("exportability", header.exportability, 1),
    ):
        if not isinstance(value, str) or len(value) != size or not _alphanumeric(value):
            raise KeyBlockError(
                f"the {name} field is {size} letters or digits",
                hint="check the key block header against X9.143 table 1",
            )
    if usage in _ASYMMETRIC_USAGES or algorithm in ("E", "R", "S"):
        raise KeyBlockError(
            "asymmetric key blocks (RSA, EC, DSA keys) are not supported",
            hint="this tool carries symmetric keys only (TDES, AES, HMAC)",
        )
    if algorithm == "D":
        raise KeyBlockError(
            "algorithm 'D' (single DES) is not accepted",
            hint="use a double- or triple-length TDES key (algorithm 'T') or an AES key",
        )
    entry = USAGES.get(usage)
    if entry is None:
        raise KeyBlockError(
            f"key usage {usage!r} is not a symmetric usage of X9.143 table 6",
            hint="use one of " + ", ".join(USAGES),
        )
    if algorithm not in ALGORITHMS or algorithm not in entry.algorithms:
        raise KeyBlockError(
            f"algorithm {algorithm!r} is not allowed for key usage {usage} ({entry.description})",
            hint="allowed: " + ", ".join(sorted(entry.algorithms)),
        )
    if mode not in MODES or mode not in entry.modes:
        raise KeyBlockError(
            f"mode of use {mode!r} is not allowed for key usage {usage} ({entry.description})",
            hint="allowed: " + ", ".join(sorted(entry.modes)),
        )
    if header.exportability not in EXPORTABILITY:
        raise KeyBlockError(
            f"exportability {header.exportability!r} is not E, N or S",
            hint="E: exportable under a KEK as X9.24 allows, N: not exportable, S: sensitive",
        )


def _encode_blocks(blocks: tuple[tuple[str, str], ...]) -> str:
    parts: list[str] = []
    for block_id, data in blocks:
        if 4 + len(data) <= 0xFF:
            parts.append(f"{block_id}{4 + len(data):02X}{data}")
        else:
            # X9.143 8.5 and 8.6 write an extended length as '00', the count of its hex digits
            # ('04'), then the length; psec 1.3.0 writes '02' there (openemv/tr31 issue 4).
            parts.append(f"{block_id}0004{10 + len(data):04X}{data}")
    return "".join(parts)


def _padding_block(length: int, block_size: int) -> tuple[str, str] | None:
    """The 'PB' block that ends ``length`` characters of optional blocks on a cipher block."""
    if length % block_size == 0:
        return None
    return ("PB", "0" * ((-(length + 4)) % block_size))


def _padded_blocks(
    blocks: tuple[tuple[str, str], ...], block_size: int
) -> tuple[tuple[str, str], ...]:
    seen: set[str] = set()
    for index, (block_id, data) in enumerate(blocks, 1):
        if len(block_id) != 2 or not _alphanumeric(block_id):
            raise KeyBlockError(
                f"optional block {index}: an ID is 2 letters or digits",
                hint="use an X9.143 optional block ID such as 'KS', 'KP', 'LB' or 'TS'",
            )
        if block_id in seen:
            raise KeyBlockError(
                f"optional block {block_id} appears twice",
                hint="give each optional block once",
            )
        seen.add(block_id)
        if not _printable(data):
            raise KeyBlockError(
                f"optional block {block_id}: data must be printable ASCII",
                hint="encode binary data as hex",
            )
        if 10 + len(data) > 0xFFFF:
            raise KeyBlockError(
                f"optional block {block_id} is too long ({len(data)} characters)",
                hint="a key block is at most 9999 characters",
            )
        if block_id == "PB" and index != len(blocks):
            raise KeyBlockError(
                "the padding block PB must be the last optional block",
                hint="move PB to the end, or leave it out and let it be added",
            )
    length = len(_encode_blocks(blocks))
    if blocks and blocks[-1][0] == "PB":
        if length % block_size:
            raise KeyBlockError(
                f"the padding block PB leaves the optional blocks at {length} characters, not a "
                f"multiple of {block_size}",
                hint="leave PB out and let it be computed",
            )
        padded = blocks
    else:
        pad = _padding_block(length, block_size)
        padded = blocks if pad is None else (*blocks, pad)
    if len(padded) > MAX_OPTIONAL_BLOCKS:
        raise KeyBlockError(
            f"a key block holds at most {MAX_OPTIONAL_BLOCKS} optional blocks, this one "
            f"{len(padded)}",
            hint="drop optional blocks",
        )
    return padded


def _parse_blocks(
    text: str, count: int, block_size: int
) -> tuple[tuple[tuple[str, str], ...], int]:
    """``count`` optional blocks from the start of ``text``, and the characters they take."""
    blocks: list[tuple[str, str]] = []
    at = 0
    for index in range(1, count + 1):
        head = text[at : at + 4]
        if len(head) < 4 or not _alphanumeric(head[:2]) or not _upper_hex(head[2:]):
            raise KeyBlockError(
                f"optional block {index} of {count}: its ID or length is malformed",
                hint="the block was altered or truncated; ask for it again",
            )
        length, head_length = int(head[2:], 16), 4
        if length == 0:
            digits_text = text[at + 4 : at + 6]
            digits = (
                int(digits_text, 16) if len(digits_text) == 2 and _upper_hex(digits_text) else 0
            )
            length_text = text[at + 6 : at + 6 + digits]
            if not 1 <= digits <= 4 or len(length_text) != digits or not _upper_hex(length_text):
                raise KeyBlockError(
                    f"optional block {index} of {count}: its extended length is malformed",
                    hint="the block was altered or truncated, or written with a length-of-length "
                    "other than X9.143's (count of hex digits); ask for it again",
                )
            length, head_length = int(length_text, 16), 6 + digits
        if length < head_length or at + length > len(text):
            raise KeyBlockError(
                f"optional block {index} of {count}: its length does not fit the header",
                hint="the block was altered or truncated; ask for it again",
            )
        blocks.append((head[:2], text[at + head_length : at + length]))
        at += length
    if at % block_size:
        raise KeyBlockError(
            f"the optional blocks take {at} characters, not a multiple of {block_size}: "
            "the padding block PB is missing or wrong",
            hint="the block was altered or built wrongly; ask the sender for a new one",
        )
    return tuple(blocks), at


def read_header(block: str) -> Header:
    """The header a key block claims, checked but not yet authenticated (no KBPK needed)."""
    header, _ = _read_header(block)
    return header


def _read_header(block: object) -> tuple[Header, int]:
    if not isinstance(block, str):
        raise KeyBlockError("a key block is text", hint="pass the key block as a str")
    for position, char in enumerate(block, 1):
        if not " " <= char <= "~":
            raise KeyBlockError(
                f"the key block holds a character that is not printable ASCII at position "
                f"{position}",
                hint="copy the key block again as plain text, without line breaks",
            )
    if len(block) < FIXED_HEADER_LENGTH:
        raise KeyBlockError(
            f"a key block is at least {FIXED_HEADER_LENGTH} characters; this text is {len(block)}",
            hint="the key block is truncated; copy it again",
        )
    _require_version(block[0])
    length_field = block[1:5]
    if not (length_field.isascii() and length_field.isdigit()):
        raise KeyBlockError(
            "the key block length field (characters 2 to 5) is not 4 digits",
            hint="this is not a key block, or it was altered",
        )
    if int(length_field) != len(block):
        raise KeyBlockError(
            f"the key block length field does not match its length ({len(block)} characters)",
            hint="the key block was truncated or has extra characters; copy it again",
        )
    count = block[12:14]
    if not (count.isascii() and count.isdigit()):
        raise KeyBlockError(
            "the number of optional blocks (characters 13 and 14) is not 2 digits",
            hint="the key block was altered; ask for it again",
        )
    if block[14:16] != "00":
        raise KeyBlockError(
            "the reserved field (characters 15 and 16) is not '00'",
            hint="X9.143:2022 key context values are not supported; ask for a block with '00'",
        )
    binding = _BINDINGS[block[0]]
    blocks, blocks_length = _parse_blocks(
        block[FIXED_HEADER_LENGTH:], int(count), binding.block_size
    )
    header = Header(
        version=block[0],
        key_usage=block[5:7],
        algorithm=block[7],
        mode_of_use=block[8],
        key_version=block[9:11],
        exportability=block[11],
        blocks=blocks,
    )
    return header, FIXED_HEADER_LENGTH + blocks_length


# Security strength in bits (NIST SP 800-57 part 1, table 2; X9.24-1 and PCI PIN 18-3 ask that
# a key be protected by one of equal or greater strength). An HMAC key gives at most its length.
def _strength(algorithm: KeyAlgorithm, length: int) -> int:
    if algorithm is KeyAlgorithm.TDES:
        return {8: 56, 16: 80, 24: 112}.get(length, 0)
    if algorithm is KeyAlgorithm.AES:
        return {16: 128, 24: 192, 32: 256}.get(length, 0)
    return min(8 * length, 256)


def _describe(algorithm: KeyAlgorithm, length: int) -> str:
    if algorithm is KeyAlgorithm.TDES:
        name = {8: "single DES", 16: "TDES-2key", 24: "TDES-3key"}.get(length, "TDES")
    elif algorithm is KeyAlgorithm.AES:
        name = f"AES-{8 * length}"
    else:
        name = f"HMAC ({length} bytes)"
    return f"{name} ({_strength(algorithm, length)}-bit strength)"


def require_kbpk_strength(
    kbpk_algorithm: KeyAlgorithm, kbpk_length: int, key_algorithm: KeyAlgorithm, key_length: int
) -> None:
    """Raise KeyBlockError unless the KBPK is a key block KBPK at least as strong as the key."""
    if kbpk_algorithm is KeyAlgorithm.TDES:
        allowed: tuple[int, ...] = _BINDINGS["B"].kbpk_lengths
    elif kbpk_algorithm is KeyAlgorithm.AES:
        allowed = _BINDINGS["D"].kbpk_lengths
    else:
        raise KeyBlockError(
            f"a {kbpk_algorithm.value} key cannot be a KBPK",
            hint="a key block protection key is a TDES (version B) or AES (version D) key",
        )
    if kbpk_length not in allowed:
        raise KeyBlockError(
            f"a {kbpk_algorithm.value} KBPK is {' or '.join(map(str, allowed))} bytes, "
            f"not {kbpk_length}",
            hint="check the KBPK: single DES is never a KBPK",
        )
    if _strength(key_algorithm, key_length) > _strength(kbpk_algorithm, kbpk_length):
        raise KeyBlockError(
            f"a {_describe(kbpk_algorithm, kbpk_length)} KBPK cannot protect this "
            f"{_describe(key_algorithm, key_length)} key: a KBPK must be at least as strong as "
            "the key it protects (X9.24-1, PCI PIN 18-3)",
            hint="use a KBPK at least as strong as the key: an AES KBPK (version D) of at least "
            "the key's length for AES and HMAC keys",
        )


def _require_binding(version: str, kbpk_algorithm: KeyAlgorithm, kbpk_length: int) -> _Binding:
    binding = _BINDINGS[version]
    if kbpk_algorithm is not binding.kbpk_algorithm:
        raise KeyBlockError(
            f"a version {version} key block needs a {binding.kbpk_algorithm.value} KBPK, "
            f"not a {kbpk_algorithm.value} one",
            hint="use version B with a TDES KBPK and version D with an AES KBPK",
        )
    require_kbpk_strength(kbpk_algorithm, kbpk_length, kbpk_algorithm, min(binding.kbpk_lengths))
    return binding


def _require_key_length(header: Header, length: int) -> None:
    allowed = _KEY_LENGTHS[header.key_algorithm]
    if length not in allowed:
        sizes = (
            "16 or 24 bytes"
            if header.key_algorithm is KeyAlgorithm.TDES
            else keylengths.describe(header.key_algorithm)
        )
        raise KeyBlockError(
            f"a key block with algorithm {header.algorithm!r} holds a "
            f"{header.key_algorithm.value} key of {sizes}, not {length} bytes",
            hint="check the key and the header's algorithm field",
        )


def _material(key: KeyInput) -> bytes | bytearray:
    if isinstance(key, Secret):
        return key.reveal()
    if isinstance(key, bytes | bytearray):
        return key
    raise KeyBlockError("a key is a Secret or bytes", hint="this is a bug in the caller")


def _cipher(algorithm: KeyAlgorithm, key: bytearray) -> BlockCipherAlgorithm:
    if algorithm is KeyAlgorithm.AES:
        return algorithms.AES(key)
    # The stub says bytes, the runtime checks bytes-like: a bytearray keeps the copy wipeable.
    return TripleDES(key)  # type: ignore[arg-type]


def _key_copy(algorithm: KeyAlgorithm, key: bytes | bytearray) -> bytearray:
    # cryptography 50 deprecates 16-byte TDES keys: K1K2 becomes K1K2K1 (X9.52 keying option 2).
    copy = bytearray(key)
    if algorithm is KeyAlgorithm.TDES and len(copy) == 16:
        copy += copy[:8]
    return copy


def _cmac(algorithm: KeyAlgorithm, key: bytes | bytearray, *parts: bytes | bytearray) -> bytes:
    copy = _key_copy(algorithm, key)
    try:
        mac = cmac.CMAC(_cipher(algorithm, copy))
        for part in parts:
            # The stub says bytes; a bytearray keeps the clear payload out of immutable copies.
            mac.update(part)  # type: ignore[arg-type]
        return mac.finalize()
    finally:
        _wipe(copy)


def _cbc(
    algorithm: KeyAlgorithm, key: bytearray, iv: bytes, data: bytes | bytearray, *, encrypt: bool
) -> bytearray:
    """CBC without padding into a bytearray of our own, so a clear payload stays wipeable."""
    copy = _key_copy(algorithm, key)
    out = bytearray(len(data) + len(iv) - 1)
    try:
        cipher = Cipher(_cipher(algorithm, copy), modes.CBC(iv))
        context = cipher.encryptor() if encrypt else cipher.decryptor()
        written = context.update_into(data, out)
        if context.finalize():
            raise KeyBlockError("CBC left a partial block", hint="this is a bug; report it")
    except BaseException:
        _wipe(out)
        raise
    finally:
        _wipe(copy)
    del out[written:]
    return out


def _derive(version: str, kbpk: bytes | bytearray) -> tuple[bytearray, bytearray]:
    """KBEK and KBAK by the key derivation binding method (X9.143 7.2 for B, 7.3 for D)."""
    binding = _BINDINGS[version]
    length = len(kbpk)
    if version == "B":
        algorithm_id, calls = {16: 0, 24: 1}[length], length // 8
    else:
        algorithm_id, calls = {16: 2, 24: 3, 32: 4}[length], 1 if length == 16 else 2
    kbek, kbak = bytearray(), bytearray()
    for counter in range(1, calls + 1):
        for usage, out in ((0, kbek), (1, kbak)):
            # Counter, key usage (0000 encryption, 0001 MAC), separator, algorithm, bit length.
            data = (
                bytes([counter])
                + usage.to_bytes(2, "big")
                + b"\x00"
                + algorithm_id.to_bytes(2, "big")
                + (8 * length).to_bytes(2, "big")
            )
            out += _cmac(binding.kbpk_algorithm, kbpk, data)
    for derived in (kbek, kbak):
        # AES-192 takes the leftmost 24 of two CMAC blocks; wipe the rest before dropping it.
        derived[length:] = bytes(len(derived) - length)
        del derived[length:]
    return kbek, kbak


def _wipe(*buffers: bytearray) -> None:
    for buffer in buffers:
        buffer[:] = bytes(len(buffer))


def wrap(
    kbpk: KeyInput,
    header: Header,
    key: KeyInput,
    random_bytes: RandomBytes,
    *,
    kbpk_algorithm: KeyAlgorithm,
    masked_length: int | None = None,
) -> str:
    """The key block of ``key`` under ``kbpk``, padded with ``random_bytes``.

    ``masked_length`` hides the key's length by padding as for a key that long; by default a
    TDES key is padded as 24 bytes and an AES key as 32 (X9.143 5), an HMAC key not at all.
    """
    if not isinstance(header, Header):
        raise KeyBlockError("wrap needs a Header", hint="this is a bug in the caller")
    kbpk_material, key_material = _material(kbpk), _material(key)
    binding = _require_binding(header.version, kbpk_algorithm, len(kbpk_material))
    _require_key_length(header, len(key_material))
    require_kbpk_strength(
        kbpk_algorithm, len(kbpk_material), header.key_algorithm, len(key_material)
    )
    if masked_length is None:
        masked_length = max(_DEFAULT_MASK.get(header.key_algorithm, 0), len(key_material))
    if not len(key_material) <= masked_length <= MAX_BLOCK_LENGTH:
        raise KeyBlockError(
            f"the masked key length ({masked_length} bytes) must be at least the key's "
            f"length ({len(key_material)} bytes)",
            hint="leave masked_length out to mask as X9.143 asks",
        )
    size = binding.block_size
    payload_length = 2 + masked_length + (-(2 + masked_length)) % size
    total = header.length + 2 * payload_length + 2 * binding.mac_length
    header_text = header.text(total).encode("ascii")
    pad_length = payload_length - 2 - len(key_material)
    pad = random_bytes(pad_length) if pad_length else b""
    if not isinstance(pad, bytes | bytearray) or len(pad) != pad_length:
        raise KeyBlockError(
            f"the random source returned the wrong number of padding bytes (wanted {pad_length})",
            hint="check the HSM connection; the key block cannot be built without full padding",
        )
    payload = bytearray(payload_length)
    kbek = kbak = bytearray()
    try:
        payload[0:2] = (8 * len(key_material)).to_bytes(2, "big")
        payload[2 : 2 + len(key_material)] = key_material
        payload[2 + len(key_material) :] = pad
        kbek, kbak = _derive(header.version, kbpk_material)
        # B and D: the MAC is over header and clear payload, and is the CBC IV (X9.143 7.2, 7.3).
        mac = _cmac(binding.kbpk_algorithm, kbak, header_text, payload)
        encrypted = _cbc(binding.kbpk_algorithm, kbek, mac, payload, encrypt=True)
    finally:
        _wipe(payload, kbek, kbak)
    return header_text.decode("ascii") + encrypted.hex().upper() + mac.hex().upper()


def unwrap(
    kbpk: KeyInput, block: str, *, kbpk_algorithm: KeyAlgorithm, label: str = "unwrapped key"
) -> tuple[Header, Secret]:
    """The header and key of ``block``; nothing comes back unless its MAC verifies first."""
    header, header_length = _read_header(block)
    kbpk_material = _material(kbpk)
    binding = _require_binding(header.version, kbpk_algorithm, len(kbpk_material))
    # Before any crypto: a KBPK weaker than the shortest key of the header's algorithm.
    require_kbpk_strength(
        kbpk_algorithm,
        len(kbpk_material),
        header.key_algorithm,
        min(_KEY_LENGTHS[header.key_algorithm]),
    )
    body = block[header_length:]
    size, mac_hex = binding.block_size, 2 * binding.mac_length
    payload_hex = len(body) - mac_hex
    if payload_hex < 2 * size or payload_hex % (2 * size) or not _upper_hex(body):
        raise KeyBlockError(
            f"a version {header.version} key block's encrypted key is whole {size}-byte blocks "
            f"of upper-case hex followed by a {binding.mac_length}-byte MAC; this one is not",
            hint="the key block was altered or truncated; copy it again",
        )
    encrypted, received = bytes.fromhex(body[:payload_hex]), bytes.fromhex(body[payload_hex:])
    kbek, kbak = _derive(header.version, kbpk_material)
    payload = bytearray()
    try:
        payload = _cbc(binding.kbpk_algorithm, kbek, received, encrypted, encrypt=False)
        mac = _cmac(binding.kbpk_algorithm, kbak, block[:header_length].encode("ascii"), payload)
        if not hmac.compare_digest(mac, received):
            raise KeyBlockError(
                "the key block's MAC does not verify under this KBPK: wrong KBPK, or the block "
                "was altered",
                hint="check the KBPK's check value; if it matches, ask the sender for the key "
                "block again",
            )
        bits = int.from_bytes(payload[0:2], "big")
        if bits % 8 or bits // 8 > len(payload) - 2:
            raise KeyBlockError(
                "the key block's key length field does not fit its payload",
                hint="the sender built the key block wrongly; ask for a new one",
            )
        key_length = bits // 8
        _require_key_length(header, key_length)
        require_kbpk_strength(kbpk_algorithm, len(kbpk_material), header.key_algorithm, key_length)
        _require_kp(header, kbpk_material, kbpk_algorithm)
        with memoryview(payload) as view:
            return header, Secret(view[2 : 2 + key_length], label)
    finally:
        _wipe(payload, kbek, kbak)


def _kbpk_kcv(kbpk: bytes | bytearray, kbpk_algorithm: KeyAlgorithm, method: str) -> bytes:
    if method == "01":
        # X9.24-1:2017 A.3: CMAC over one zero block, leftmost 5 bytes at most.
        return _cmac(kbpk_algorithm, kbpk, bytes(16 if kbpk_algorithm is KeyAlgorithm.AES else 8))
    # Legacy: encrypt one zero block.
    size = 16 if kbpk_algorithm is KeyAlgorithm.AES else 8
    copy = bytearray(kbpk)
    try:
        return bytes(_cbc(kbpk_algorithm, copy, bytes(size), bytes(size), encrypt=True))
    finally:
        _wipe(copy)


def kbpk_check_block(kbpk: KeyInput, kbpk_algorithm: KeyAlgorithm) -> tuple[str, str]:
    """The 'KP' optional block: '01' (CMAC method) and the KBPK's 5-byte CMAC check value."""
    material = _material(kbpk)
    require_kbpk_strength(
        kbpk_algorithm, len(material), kbpk_algorithm, min(_KEY_LENGTHS[kbpk_algorithm])
    )
    return ("KP", "01" + _kbpk_kcv(material, kbpk_algorithm, "01")[:5].hex().upper())


def _require_kp(header: Header, kbpk: bytes | bytearray, kbpk_algorithm: KeyAlgorithm) -> None:
    data = header.block("KP")
    if data is None:
        return
    method, value = data[:2], data[2:]
    # Legacy check values are 3 bytes (PCI PIN), CMAC ones 3 to 5 (X9.24-1 A.3).
    sizes = {"00": (6,), "01": (6, 8, 10)}.get(method, ())
    if len(value) not in sizes or not _upper_hex(value):
        raise KeyBlockError(
            "the key block's KP block is not a KCV method ('00' or '01') and a 3- to 5-byte KCV",
            hint="the sender built the key block wrongly; ask for a new one",
        )
    computed = _kbpk_kcv(kbpk, kbpk_algorithm, method)[: len(value) // 2]
    if not hmac.compare_digest(computed, bytes.fromhex(value)):
        raise KeyBlockError(
            "the key block's KP check value is not this KBPK's, though its MAC verifies",
            hint="the sender named another KBPK in the block; ask them which KBPK they used",
        )

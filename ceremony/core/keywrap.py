"""RFC 5649 AES key wrap with padding (KWP), the only AES wrap the cloud formats use."""

from __future__ import annotations

from cryptography.hazmat.primitives import keywrap

from ceremony.core.secret import Secret
from ceremony.errors import WrapError

Buffer = bytes | bytearray | memoryview

# RFC 5649 §3 alternative initial value prefix; RFC 3394 KW uses A6A6A6A6A6A6A6A6 instead.
KWP_AIV = bytes.fromhex("A65959A6")
KEK_LENGTHS = (16, 24, 32)
# RFC 5649 §3 bounds: at least one octet, at most 2^32 octets.
MAX_MATERIAL = 2**32


def wrapped_length(material_length: int) -> int:
    """Bytes of KWP output for ``material_length`` bytes of input (RFC 5649 §4)."""
    if not 1 <= material_length <= MAX_MATERIAL:
        raise WrapError(f"KWP cannot wrap {material_length} bytes", hint="wrap 1 byte or more")
    if material_length <= 8:
        return 16
    return 8 * -(-material_length // 8) + 8


def _require_kek(kek: Buffer) -> None:
    if len(kek) not in KEK_LENGTHS:
        raise WrapError(
            f"KWP wrapping key is {len(kek)} bytes; AES keys are 16, 24 or 32 bytes",
            hint="this is a bug in the wrap flow; report it",
        )


def wrap(kek: Buffer, material: Buffer) -> bytes:
    """KWP-wrap ``material`` under the AES key ``kek`` (deterministic)."""
    _require_kek(kek)
    if not 1 <= len(material) <= MAX_MATERIAL:
        raise WrapError(
            f"KWP cannot wrap {len(material)} bytes of key material",
            hint="check the material: it must be 1 byte or more",
        )
    try:
        return keywrap.aes_key_wrap_with_padding(kek, material)
    except ValueError as ex:
        # The library message names lengths only; it never carries key bytes.
        raise WrapError(f"KWP wrap failed: {ex}", hint="report this as a bug") from None


def unwrap(kek: Buffer, wrapped: bytes, label: str = "unwrapped key") -> Secret:
    """Reverse ``wrap``; any integrity or structure failure raises WrapError."""
    _require_kek(kek)
    if len(wrapped) < 16 or len(wrapped) % 8:
        raise WrapError(
            f"a KWP blob is a multiple of 8 bytes and at least 16; this one is {len(wrapped)}",
            hint="the file is truncated or not an RFC 5649 key wrap",
        )
    try:
        plain = keywrap.aes_key_unwrap_with_padding(kek, wrapped)
    except (keywrap.InvalidUnwrap, ValueError):
        raise WrapError(
            "KWP integrity check failed: wrong key, corrupted blob, or an RFC 3394 (KW) blob",
            hint="use the matching AES key and an unaltered RFC 5649 (KWP) blob",
        ) from None
    # pyca returns immutable bytes; we keep our copy in a wipeable Secret.
    return Secret(plain, label)

"""Injectable randomness: the HSM's C_GenerateRandom or a seeded test source replaces the OS."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ceremony.errors import KeyMaterialError

RandomBytes = Callable[[int], bytes]

# Module hook in the style of trezor's shamir_mnemonic: swap it to change every consumer at once.
RANDOM_BYTES: RandomBytes = secrets.token_bytes
RANDOM_SOURCE: str = "operating system CSPRNG (secrets.token_bytes)"

_install_lock = threading.Lock()

# Continuous health test in the spirit of FIPS 140-2 4.9.2: a stuck source must stop the ceremony,
# because an all-zero source turns XOR components and Shamir shares into copies of the key.
_HEALTH_MIN_LENGTH = 16
_previous_draw: bytes | None = None


def random_bytes(length: int) -> bytes:
    """Return ``length`` bytes from the installed source, refusing a short read."""
    global _previous_draw
    out = RANDOM_BYTES(length)
    if len(out) != length:
        raise KeyMaterialError(
            f"random source returned {len(out)} bytes instead of {length}",
            hint="check the HSM connection; the ceremony cannot continue without full entropy",
        )
    if length >= _HEALTH_MIN_LENGTH:
        if not any(out):
            raise KeyMaterialError(
                f"random source ({RANDOM_SOURCE}) returned only zero bytes",
                hint="the random generator is broken; stop and replace the device",
            )
        if out == _previous_draw:
            raise KeyMaterialError(
                f"random source ({RANDOM_SOURCE}) repeated its previous output",
                hint="the random generator is stuck; stop and replace the device",
            )
        _previous_draw = out
    return out


def source_name() -> str:
    """Where randomness comes from now, for the record."""
    return RANDOM_SOURCE


@contextmanager
def installed(source: RandomBytes, name: str) -> Iterator[None]:
    """Use ``source`` as the random source inside the block (one installer at a time)."""
    global RANDOM_BYTES, RANDOM_SOURCE
    with _install_lock:
        previous = (RANDOM_BYTES, RANDOM_SOURCE)
        RANDOM_BYTES, RANDOM_SOURCE = source, name
        try:
            yield
        finally:
            RANDOM_BYTES, RANDOM_SOURCE = previous

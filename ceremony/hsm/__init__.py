"""PKCS#11 backend behind our own interface; SoftHSM2 in the state folder is the default."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ceremony.hsm.base import RandomBytes


@contextmanager
def rehearsal_random_source() -> Iterator[tuple[RandomBytes, str]]:
    """C_GenerateRandom of the configured (by default the rehearsal) token, for rng.installed."""
    # Deferred: importing ceremony.hsm must not load pkcs11 until a token is really used.
    from ceremony.hsm import config
    from ceremony.hsm.pkcs11 import Pkcs11Backend

    with Pkcs11Backend(config.resolve()).public_random() as pair:
        yield pair

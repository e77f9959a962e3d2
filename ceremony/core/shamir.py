"""Shamir k-of-n threshold shares via pycryptodome in ssss mode, recoverable by ``ssss-combine``."""

from __future__ import annotations

import hmac
import itertools
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import cast

from Crypto.Protocol import SecretSharing as _library

from ceremony.core import kcv, parity, rng
from ceremony.core.component import Component, KeyIdentity, Scheme
from ceremony.core.keylengths import require_identity
from ceremony.core.secret import Secret
from ceremony.core.split_checks import is_zero, require_key, require_one_set
from ceremony.errors import KeyMaterialError, RuleViolation, ShareError

BLOCK = 16  # pycryptodome shares one GF(2^128) element at a time
MIN_THRESHOLD = 2
MAX_SHARES = 16  # Luna's M-of-N limit; also keeps the every-subset self-check affordable

Progress = Callable[[int, int], None]

# pycryptodome's split() looks up the module global ``rng`` at call time. Swapping it is
# process-wide, so swap, split and restore happen under one lock: two splits in different threads
# could otherwise restore each other's source out of order and leave the library on the wrong one.
_library_lock = threading.Lock()
_HOOK = "rng"
_PIN_HINT = "the installed pycryptodome differs from the pinned one; reinstall the pinned version"


def share_length(key_length: int) -> int:
    """Bytes in a share of a ``key_length``-byte key: whole 16-byte blocks, the last zero-padded."""
    return BLOCK * math.ceil(key_length / BLOCK)


def subset_count(threshold: int, count: int) -> int:
    """How many ``threshold``-subsets split() recombines before releasing shares."""
    return math.comb(count, threshold)


def split(
    key: Secret,
    identity: KeyIdentity,
    threshold: int,
    count: int,
    *,
    progress: Progress | None = None,
) -> list[Component]:
    """Split ``key`` into ``count`` shares of which any ``threshold`` rebuild it.

    Each 16-byte block of the zero-padded key is split on its own with fresh coefficients from
    ``ceremony.core.rng``; all blocks use x = 1..count, so share i is the concatenation of the
    blocks' y-values at x = i. Before returning, every ``threshold``-subset is recombined and
    compared with the key; ``progress(done, total)`` is called after each one.
    """
    require_identity(identity)
    _require_parameters(threshold, count)
    require_key(key, identity)
    length = len(key)
    size = share_length(length)
    padded = bytearray(size)
    values = [
        Secret(bytes(size), f"{identity.key_label} share {i}/{count}") for i in range(1, count + 1)
    ]
    try:
        padded[:length] = key.reveal()
        _split_blocks(padded, threshold, count, [v.reveal() for v in values])
        _require_strong([v.reveal() for v in values], padded, identity)
        _verify_every_subset(values, padded, threshold, identity, progress)
    except BaseException:
        for v in values:
            v.close()
        raise
    finally:
        _wipe(padded)
    return [
        Component(identity, Scheme.SHAMIR, i, count, threshold, value)
        for i, value in enumerate(values, start=1)
    ]


def combine(
    shares: Sequence[Component],
    *,
    expected: kcv.CheckValue,
    identity: KeyIdentity | None = None,
) -> Secret:
    """Rebuild the key from at least ``threshold`` shares and verify it against ``expected``.

    The lowest ``threshold`` indices are interpolated; every further share must lie on the same
    polynomial (checked by swapping it in for the last of them), else ShareError names it.
    ``identity`` is the key the caller means to rebuild; without it the first share's is taken.
    """
    ref, ordered = require_one_set(
        shares, Scheme.SHAMIR, identity, size=share_length, parameters=_require_parameters
    )
    threshold = ordered[0].threshold
    if len(ordered) < threshold:
        given = ", ".join(f"#{s.index}" for s in ordered)
        raise ShareError(
            f"{threshold} shares are needed, got {len(ordered)} ({given})",
            hint=f"bring {threshold - len(ordered)} more custodian(s) with their shares",
        )
    base = [(s.index, s.value.reveal()) for s in ordered[:threshold]]
    names = ", ".join(f"#{x}" for x, _ in base)
    rebuilt = _interpolate(base)
    result = Secret(bytes(ref.key_length), ref.key_label)
    try:
        if not is_zero(rebuilt[ref.key_length :]):
            # Zero padding of the last block is a free integrity check before the KCV.
            raise ShareError(
                f"shares {names} do not belong together (their padding does not rebuild as zero)",
                hint="a share is mistyped or from another split; check each share's KCV",
            )
        result.reveal()[:] = rebuilt[: ref.key_length]
        if parity.needs_parity(ref.algorithm):
            parity.adjust(result.reveal())
        kcv.require_match(
            expected,
            kcv.check_value(result, expected.method, len(expected.value)),
            f"key {ref.key_label!r} rebuilt from shares {names}",
        )
        for extra in ordered[threshold:]:
            other = _interpolate([*base[:-1], (extra.index, extra.value.reveal())])
            try:
                if not hmac.compare_digest(other, rebuilt):
                    raise ShareError(
                        f"share #{extra.index} does not agree with shares {names}",
                        hint="that share is mistyped or from another split; leave it out or "
                        "re-enter it",
                    )
            finally:
                _wipe(other)
    except BaseException:
        result.close()
        raise
    finally:
        _wipe(rebuilt)
    return result


def _require_parameters(threshold: int, count: int) -> None:
    if not MIN_THRESHOLD <= threshold <= count <= MAX_SHARES:
        raise ShareError(
            f"a Shamir split needs {MIN_THRESHOLD} <= k <= n <= {MAX_SHARES}, got k={threshold} "
            f"n={count}",
            hint="change the threshold or number of custodians in the ceremony file",
        )


@contextmanager
def _library_randomness() -> Iterator[list[int]]:
    """Point pycryptodome's coefficient source at ceremony.core.rng; yields a byte counter."""
    with _library_lock:
        if not callable(getattr(_library, _HOOK, None)):
            raise KeyMaterialError(
                "pycryptodome's Shamir no longer draws randomness through its 'rng' hook",
                hint=_PIN_HINT,
            )
        previous = getattr(_library, _HOOK)
        drawn = [0]

        def source(length: int) -> bytes:
            drawn[0] += length
            return rng.random_bytes(length)

        setattr(_library, _HOOK, source)
        try:
            yield drawn
        finally:
            setattr(_library, _HOOK, previous)


def _split_blocks(padded: bytearray, threshold: int, count: int, out: list[bytearray]) -> None:
    blocks = len(padded) // BLOCK
    with _library_randomness() as drawn:
        for b in range(blocks):
            span = slice(b * BLOCK, (b + 1) * BLOCK)
            block = padded[span]
            try:
                # ssss=True adds the public term x^k that ssss-combine expects; secrecy unchanged.
                points = _library.Shamir.split(threshold, count, cast(bytes, block), ssss=True)
            finally:
                _wipe(block)
            if [x for x, _ in points] != list(range(1, count + 1)):
                raise KeyMaterialError(
                    "pycryptodome returned unexpected share indices", hint=_PIN_HINT
                )
            for x, y in points:
                out[x - 1][span] = y
    # Every coefficient must come from our source (HSM or seeded test), none from the library's own.
    if drawn[0] != blocks * (threshold - 1) * BLOCK:
        raise KeyMaterialError(
            "pycryptodome did not take all its randomness from the ceremony's random source",
            hint=_PIN_HINT,
        )


def _interpolate(points: Sequence[tuple[int, bytearray]]) -> bytearray:
    """Constant term of the polynomial through exactly k points, block by block.

    Exactly k: in ssss mode pycryptodome subtracts x^(number of points), so extra points would give
    a wrong result. The library is typed for bytes but only reads them; our bytearrays (cast) can
    be wiped afterwards, its own ints and bytes cannot.
    """
    size = len(points[0][1])
    out = bytearray(size)
    for start in range(0, size, BLOCK):
        blocks = [(x, y[start : start + BLOCK]) for x, y in points]
        try:
            out[start : start + BLOCK] = _library.Shamir.combine(
                cast(list[tuple[int, bytes]], blocks), ssss=True
            )
        finally:
            for _, y in blocks:
                _wipe(y)
    return out


def _require_strong(values: list[bytearray], padded: bytearray, identity: KeyIdentity) -> None:
    # Only a broken random source gets here (probability 2^-128 otherwise); abort, never resample.
    hint = "the random source looks broken; stop and check it before splitting again"
    for i, v in enumerate(values, start=1):
        if is_zero(v) or hmac.compare_digest(v, padded):
            raise RuleViolation(
                f"share #{i} of {identity.key_label!r} is all zero or equals the key", hint=hint
            )
    for a, b in itertools.combinations(range(len(values)), 2):
        if hmac.compare_digest(values[a], values[b]):
            raise RuleViolation(
                f"shares #{a + 1} and #{b + 1} of {identity.key_label!r} are identical", hint=hint
            )


def _verify_every_subset(
    values: list[Secret],
    padded: bytearray,
    threshold: int,
    identity: KeyIdentity,
    progress: Progress | None,
) -> None:
    total = subset_count(threshold, len(values))
    points = [(i, v.reveal()) for i, v in enumerate(values, start=1)]
    for done, subset in enumerate(itertools.combinations(points, threshold), start=1):
        rebuilt = _interpolate(subset)
        try:
            if not hmac.compare_digest(rebuilt, padded):
                names = ", ".join(f"#{x}" for x, _ in subset)
                raise KeyMaterialError(
                    f"self-check failed: shares {names} do not rebuild key {identity.key_label!r}",
                    hint="do not release any share; the Shamir library or memory is faulty",
                )
        finally:
            _wipe(rebuilt)
        if progress is not None:
            progress(done, total)


def _wipe(buf: bytearray) -> None:
    buf[:] = bytes(len(buf))

"""Checks that XOR and Shamir share: the key to split, and one set of pieces to combine."""

from __future__ import annotations

import hmac
import itertools
from collections.abc import Callable, Sequence

from ceremony.core import parity
from ceremony.core.component import Component, KeyIdentity, Scheme
from ceremony.core.keylengths import require_identity
from ceremony.core.secret import Secret
from ceremony.errors import KeyMaterialError, ShareError

# What a custodian calls one piece of each scheme, and how it is named when it turns up in the
# wrong combine (by the scheme's name as the ceremony file writes it).
_NOUN = {Scheme.XOR: "component", Scheme.SHAMIR: "share"}
_PIECE = {Scheme.XOR: "an XOR component", Scheme.SHAMIR: "a SHAMIR share"}


def require_key(key: Secret, identity: KeyIdentity) -> None:
    """Refuse a key to split that is not the length ``identity`` declares, or is all zero bytes."""
    if len(key) != identity.key_length:
        raise KeyMaterialError(
            f"key {identity.key_label!r} is {len(key)} bytes, the ceremony declares "
            f"{identity.key_length}",
            hint="check the key length in the ceremony file",
        )
    if is_zero(key.reveal()):
        raise KeyMaterialError(
            f"key {identity.key_label!r} is all zero bytes",
            hint="generate a new key; an all-zero key must never be used",
        )
    if parity.needs_parity(identity.algorithm):
        # Combining adjusts parity: a key without it would not come back byte for byte.
        parity.require_odd_parity(key.reveal(), f"key {identity.key_label!r}")


def require_one_set(
    pieces: Sequence[Component],
    scheme: Scheme,
    identity: KeyIdentity | None,
    *,
    size: Callable[[int], int],
    parameters: Callable[[int, int], None],
) -> tuple[KeyIdentity, list[Component]]:
    """Check that ``pieces`` are distinct pieces of one ``scheme`` split of one key.

    ``identity`` is the key the caller means to rebuild; without it the first piece's is taken.
    ``size(key_length)`` is the byte length of every piece, ``parameters(threshold, count)`` the
    scheme's own check of the split's k and n. Whether there are enough pieces is left to the
    scheme. Returns the identity and the pieces ordered by index. Raises ShareError naming the
    offending piece by its index, never by its value.
    """
    noun = _NOUN[scheme]
    if not pieces:
        raise ShareError(f"no {noun}s were given", hint=f"enter the custodians' {noun}s")
    ref = identity if identity is not None else pieces[0].identity
    require_identity(ref)
    for p in pieces:
        if p.scheme is not scheme:
            raise ShareError(
                f"{noun} #{p.index} is {_PIECE[p.scheme]}, not {_PIECE[scheme]}",
                hint=f"this key was split with {scheme.value}; use the {noun}s made for it",
            )
        _require_same_identity(p, ref, noun)
    first = pieces[0]
    threshold, count = first.threshold, first.count
    for p in pieces:
        if (p.threshold, p.count) != (threshold, count):
            raise ShareError(
                f"{noun} #{p.index} says {p.threshold} of {p.count}, {noun} #{first.index} says "
                f"{threshold} of {count}",
                hint=f"all {noun}s must come from the same split",
            )
    parameters(threshold, count)
    seen: set[int] = set()
    for p in pieces:
        if not 1 <= p.index <= count:
            raise ShareError(
                f"{noun} #{p.index} is out of range 1..{count}",
                hint=f"check the {noun} number written on the envelope",
            )
        if p.index in seen:
            raise ShareError(
                f"{noun} #{p.index} was given twice",
                hint=f"each custodian enters their own {noun} once",
            )
        seen.add(p.index)
    expected = size(ref.key_length)
    for p in pieces:
        if len(p.value) != expected:
            raise ShareError(
                f"{noun} #{p.index} is {len(p.value)} bytes, {noun}s of a {ref.key_length}-byte "
                f"key are {expected}",
                hint=f"re-enter that {noun}",
            )
    ordered = sorted(pieces, key=lambda p: p.index)
    for a, b in itertools.combinations(ordered, 2):
        if hmac.compare_digest(a.value.reveal(), b.value.reveal()):
            raise ShareError(
                f"{noun}s #{a.index} and #{b.index} are identical",
                hint=f"one {noun} was probably entered twice; re-enter both",
            )
    return ref, ordered


def is_zero(buf: bytearray) -> bool:
    """Whether ``buf`` is all zero bytes, in constant time: a secret's zeros must not show."""
    return hmac.compare_digest(buf, bytes(len(buf)))


def _require_same_identity(p: Component, ref: KeyIdentity, noun: str) -> None:
    if p.identity != ref:
        got, want = p.identity, ref
        raise ShareError(
            f"{noun} #{p.index} belongs to ceremony {got.ceremony_id!r} key {got.key_label!r} "
            f"({got.algorithm.value}, {got.key_length} bytes), expected ceremony "
            f"{want.ceremony_id!r} key {want.key_label!r} "
            f"({want.algorithm.value}, {want.key_length} bytes)",
            hint=f"a {noun} from another key or ceremony was entered; use the right envelope",
        )

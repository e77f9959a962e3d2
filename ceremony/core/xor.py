"""XOR n-of-n split knowledge: every component is needed and each alone reveals nothing."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from ceremony.core import kcv, parity
from ceremony.core.component import Component, KeyIdentity, Scheme
from ceremony.core.keylengths import require_identity
from ceremony.core.secret import Secret
from ceremony.core.split_checks import is_zero, require_key, require_one_set
from ceremony.errors import KeyMaterialError, RuleViolation, ShareError

MIN_COMPONENTS = 2
MAX_COMPONENTS = 9


def split(key: Secret, identity: KeyIdentity, count: int) -> list[Component]:
    """Split ``key`` into ``count`` full-length XOR components drawn from ``ceremony.core.rng``.

    Raises RuleViolation if an outcome would let one person know the key (a component all zero,
    equal to the key or equal to another component); with a healthy random source this does not
    happen, so it points at a broken source rather than bad luck.
    """
    require_identity(identity)
    _require_count(count)
    require_key(key, identity)
    length = len(key)
    material = key.reveal()
    values = [Secret.generate(length, _label(identity, i, count)) for i in range(1, count)]
    last = Secret(bytes(length), _label(identity, count, count))
    values.append(last)
    # A TDES component is itself a DES key to payment HSMs: each carries odd parity, and the
    # combined key is adjusted again after the XOR (parity bits never key the cipher).
    des = parity.needs_parity(identity.algorithm)
    try:
        acc = last.reveal()
        acc[:] = material
        for value in values[:-1]:
            if des:
                parity.adjust(value.reveal())
            _xor_into(acc, value.reveal())
        if des:
            parity.adjust(acc)
        _require_strong(values, material, identity)
    except BaseException:
        for value in values:
            value.close()
        raise
    return [
        Component(identity, Scheme.XOR, i, count, count, value)
        for i, value in enumerate(values, start=1)
    ]


def combine(
    components: Sequence[Component],
    *,
    expected: kcv.CheckValue,
    identity: KeyIdentity | None = None,
) -> Secret:
    """XOR all ``count`` components back into the key and verify it against ``expected``.

    ``identity`` is the key the caller means to rebuild; without it the first component's identity
    is taken and every other component must match it.
    """
    # A component is as long as the key itself.
    ref, ordered = require_one_set(
        components, Scheme.XOR, identity, size=lambda length: length, parameters=_require_all
    )
    count = ordered[0].count
    if len(ordered) != count:
        given = {c.index for c in ordered}
        missing = ", ".join(f"#{i}" for i in range(1, count + 1) if i not in given)
        raise ShareError(
            f"all {count} components are needed, got {len(ordered)} (missing {missing})",
            hint="XOR split knowledge needs every custodian; no subset can rebuild the key",
        )
    values = [c.value.reveal() for c in ordered]
    for c, v in zip(ordered, values, strict=True):
        if is_zero(v):
            raise RuleViolation(
                f"component #{c.index} is all zero bytes",
                hint="a zero component gives its custodian nothing to hide; re-split the key",
            )
    result = Secret(bytes(ref.key_length), ref.key_label)
    try:
        acc = result.reveal()
        for v in values:
            _xor_into(acc, v)
        if parity.needs_parity(ref.algorithm):
            # Parity bits do not key DES: a key that is zero but for them is a zero key.
            parity.clear(acc)
            zero = is_zero(acc)
            parity.adjust(acc)
        else:
            zero = is_zero(acc)
        if zero:
            raise KeyMaterialError(
                f"the components of key {ref.key_label!r} combine to all zero bytes",
                hint="the components are wrong or the key is unusable; check each component's KCV",
            )
        for c, v in zip(ordered, values, strict=True):
            if hmac.compare_digest(v, acc):
                raise RuleViolation(
                    f"component #{c.index} equals the combined key",
                    hint="its custodian knew the whole key; treat the key as compromised",
                )
        _require_kcv(result, expected, ref)
    except BaseException:
        result.close()
        raise
    return result


def _require_all(threshold: int, count: int) -> None:
    if threshold != count:
        raise ShareError(
            f"the components say {threshold} of {count}, an XOR split needs all {count}",
            hint="these are not XOR components; use the components made for this key",
        )
    _require_count(count)


def _require_count(count: int) -> None:
    if not MIN_COMPONENTS <= count <= MAX_COMPONENTS:
        raise ShareError(
            f"an XOR split needs {MIN_COMPONENTS} to {MAX_COMPONENTS} components, not {count}",
            hint="change the number of custodians in the ceremony file",
        )


def _require_strong(values: Sequence[Secret], key: bytearray, identity: KeyIdentity) -> None:
    bufs = [v.reveal() for v in values]
    hint = "the random source looks broken; stop and check it before splitting again"
    for i, buf in enumerate(bufs, start=1):
        if is_zero(buf):
            raise RuleViolation(f"component #{i} of {identity.key_label!r} is all zero", hint=hint)
        if hmac.compare_digest(buf, key):
            raise RuleViolation(
                f"component #{i} of {identity.key_label!r} equals the key", hint=hint
            )
    for a in range(len(bufs)):
        for b in range(a + 1, len(bufs)):
            if hmac.compare_digest(bufs[a], bufs[b]):
                raise RuleViolation(
                    f"components #{a + 1} and #{b + 1} of {identity.key_label!r} are identical",
                    hint=hint,
                )


def _require_kcv(key: Secret, expected: kcv.CheckValue, identity: KeyIdentity) -> None:
    actual = kcv.check_value(key, expected.method, len(expected.value))
    kcv.require_match(expected, actual, f"key {identity.key_label!r}")


def _label(identity: KeyIdentity, index: int, count: int) -> str:
    return f"{identity.key_label} component {index}/{count}"


def _xor_into(acc: bytearray, other: bytearray) -> None:
    for i, b in enumerate(other):
        acc[i] ^= b

"""XOR n-of-n split knowledge: every component is needed and each alone reveals nothing."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from ceremony.core import kcv
from ceremony.core.component import Component, KeyIdentity, Scheme
from ceremony.core.keylengths import require_identity
from ceremony.core.secret import Secret
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
    length = len(key)
    if length != identity.key_length:
        raise KeyMaterialError(
            f"key {identity.key_label!r} is {length} bytes, the ceremony declares "
            f"{identity.key_length}",
            hint="check the key length in the ceremony file",
        )
    material = key.reveal()
    if _is_zero(material):
        raise KeyMaterialError(
            f"key {identity.key_label!r} is all zero bytes",
            hint="generate a new key; an all-zero key must never be used",
        )
    values = [Secret.generate(length, _label(identity, i, count)) for i in range(1, count)]
    last = Secret(bytes(length), _label(identity, count, count))
    values.append(last)
    try:
        acc = last.reveal()
        acc[:] = material
        for value in values[:-1]:
            _xor_into(acc, value.reveal())
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
    if not components:
        raise ShareError("no components were given", hint="enter every custodian's component")
    ref = identity if identity is not None else components[0].identity
    require_identity(ref)
    for c in components:
        if c.scheme is not Scheme.XOR:
            raise ShareError(
                f"component #{c.index} is a {c.scheme.value} share, not an XOR component",
                hint="this key was split with XOR; use the components made for it",
            )
        _require_same_identity(c, ref)
    count = components[0].count
    for c in components:
        if c.count != count or c.threshold != c.count:
            raise ShareError(
                f"component #{c.index} says {c.threshold} of {c.count}, component "
                f"#{components[0].index} says {components[0].threshold} of {count}",
                hint="all components must come from the same split",
            )
    _require_count(count)
    seen: set[int] = set()
    for c in components:
        if not 1 <= c.index <= count:
            raise ShareError(
                f"component #{c.index} is out of range 1..{count}",
                hint="check the component number written on the envelope",
            )
        if c.index in seen:
            raise ShareError(
                f"component #{c.index} was given twice",
                hint="each custodian enters their own component once",
            )
        seen.add(c.index)
    if len(components) != count:
        missing = ", ".join(f"#{i}" for i in range(1, count + 1) if i not in seen)
        raise ShareError(
            f"all {count} components are needed, got {len(components)} (missing {missing})",
            hint="XOR split knowledge needs every custodian; no subset can rebuild the key",
        )
    for c in components:
        if len(c.value) != ref.key_length:
            raise ShareError(
                f"component #{c.index} is {len(c.value)} bytes, the key is {ref.key_length}",
                hint="re-enter that component; every component has the key's length",
            )
    values = [c.value.reveal() for c in components]
    for a in range(len(components)):
        for b in range(a + 1, len(components)):
            if hmac.compare_digest(values[a], values[b]):
                raise ShareError(
                    f"components #{components[a].index} and #{components[b].index} are identical",
                    hint="one component was probably entered twice; re-enter both",
                )
    for c, v in zip(components, values, strict=True):
        if _is_zero(v):
            raise RuleViolation(
                f"component #{c.index} is all zero bytes",
                hint="a zero component gives its custodian nothing to hide; re-split the key",
            )
    result = Secret(bytes(ref.key_length), ref.key_label)
    try:
        acc = result.reveal()
        for v in values:
            _xor_into(acc, v)
        if _is_zero(acc):
            raise KeyMaterialError(
                f"the components of key {ref.key_label!r} combine to all zero bytes",
                hint="the components are wrong or the key is unusable; check each component's KCV",
            )
        for c, v in zip(components, values, strict=True):
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


def _require_count(count: int) -> None:
    if not MIN_COMPONENTS <= count <= MAX_COMPONENTS:
        raise ShareError(
            f"an XOR split needs {MIN_COMPONENTS} to {MAX_COMPONENTS} components, not {count}",
            hint="change the number of custodians in the ceremony file",
        )


def _require_same_identity(c: Component, ref: KeyIdentity) -> None:
    if c.identity != ref:
        got, want = c.identity, ref
        raise ShareError(
            f"component #{c.index} belongs to ceremony {got.ceremony_id!r} key "
            f"{got.key_label!r} ({got.algorithm.value}, {got.key_length} bytes), expected "
            f"ceremony {want.ceremony_id!r} key {want.key_label!r} "
            f"({want.algorithm.value}, {want.key_length} bytes)",
            hint="a component from another key or ceremony was entered; use the right envelope",
        )


def _require_strong(values: Sequence[Secret], key: bytearray, identity: KeyIdentity) -> None:
    bufs = [v.reveal() for v in values]
    hint = "the random source looks broken; stop and check it before splitting again"
    for i, buf in enumerate(bufs, start=1):
        if _is_zero(buf):
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


def _is_zero(buf: bytearray) -> bool:
    # Constant time: a secret's zero bytes must not show in timing.
    return hmac.compare_digest(buf, bytes(len(buf)))

"""Check values computed inside the token, cross-checked where the token allows."""

from __future__ import annotations

import hmac
from typing import Any

from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass

from ceremony.core import kcv
from ceremony.core.kcv import CheckValue, KcvMethod
from ceremony.errors import CheckValueError, MechanismNotSupportedError
from ceremony.hsm.base import (
    KCV_SOURCE_CMAC,
    KCV_SOURCE_CMAC_FROM_ECB,
    KCV_SOURCE_ECB,
    KCV_SOURCE_HMAC,
    KCV_SOURCE_TDES_ECB,
    Capability,
    TokenCheckValues,
)
from ceremony.hsm.pkcs11.link import Link, get
from ceremony.hsm.pkcs11.mechanisms import cmac_one_block

_ZERO_BLOCK = bytes(16)


def require_kcv_possible(link: Link, family: str, length: int, purpose: str) -> None:
    """Refuse a secret key whose check value the token could not compute, before making it."""
    preflight = link.preflight()
    if family == "AES":
        if not (
            preflight.supports(Capability.KCV_AES_CMAC)
            or preflight.supports(Capability.KCV_AES_ECB)
        ):
            preflight.require(Capability.KCV_AES_CMAC, purpose)
        return
    if family == "TDES":
        preflight.require(Capability.KCV_TDES_ECB, purpose)
        return
    preflight.require(Capability.KCV_HMAC, purpose)
    shortest = preflight.hmac_kcv_min_length or 0
    if length < shortest:
        raise MechanismNotSupportedError(
            f"{purpose}: this token computes HMAC check values only for keys of {shortest} "
            f"bytes or more; not supported by {link.info.describe()} for {length} bytes",
            hint=f"use an HMAC key of at least {shortest} bytes (HMAC-SHA256 or longer)",
        )


def check_values(link: Link, label: str, length: int | None = None) -> TokenCheckValues:
    """AES: CMAC and ECB in the token, chained to CKA_CHECK_VALUE; TDES: ECB; HMAC-SHA256."""
    step = f"computing check values of {label!r}"
    key = link.find(label, (ObjectClass.SECRET_KEY,), step)
    with link.step(step):
        key_type = key[Attribute.KEY_TYPE]
        stored = get(key, Attribute.CHECK_VALUE)
    stored_hex = stored.hex().upper() if stored else None
    if key_type == KeyType.AES:
        return _aes_check_values(link, key, stored, length, step)
    if key_type in (KeyType.DES2, KeyType.DES3):
        return _tdes_check_values(link, key, stored, step)
    if key_type == KeyType.GENERIC_SECRET:
        if not link.has(Mechanism.SHA256_HMAC):
            raise MechanismNotSupportedError(
                f"{step}: the token has no CKM_SHA256_HMAC",
                hint="HMAC check values need CKM_SHA256_HMAC in the token",
            )
        with link.step(step):
            mac = key.sign(_ZERO_BLOCK, mechanism=Mechanism.SHA256_HMAC)
        method = KcvMethod.HMAC_SHA256_ZERO
        value = CheckValue(method, mac[: length or method.default_length])
        # PKCS#11 defines a generic secret's CKA_CHECK_VALUE as SHA-1 of the value: the
        # token alone cannot recompute it for a sensitive key, so it is recorded, not compared.
        return TokenCheckValues((value,), stored_hex, (), ((method, KCV_SOURCE_HMAC),))
    raise MechanismNotSupportedError(
        f"{step}: keys of type {key_type!r} have no check value here",
        hint="check values are computed for AES, TDES and HMAC keys",
    )


def _tdes_check_values(link: Link, key: Any, stored: bytes | None, step: str) -> TokenCheckValues:
    if not (link.has(Mechanism.DES3_ECB) and get(key, Attribute.ENCRYPT)):
        raise MechanismNotSupportedError(
            f"{step}: the token cannot compute TDES-ECB with this key",
            hint="the key needs CKA_ENCRYPT and the token CKM_DES3_ECB; see 'ceremony hsm info'",
        )
    with link.step(step):
        block = bytes(key.encrypt(bytes(8), mechanism=Mechanism.DES3_ECB))
    checks: list[str] = []
    if stored:
        if not hmac.compare_digest(block[: len(stored)], stored):
            raise CheckValueError(
                f"{step}: the token's CKA_CHECK_VALUE does not match its own TDES-ECB "
                "of a zero block",
                hint="stop: the token is not behaving consistently; do not use this key",
            )
        checks.append("TDES-ECB zero block (CKM_DES3_ECB) equals CKA_CHECK_VALUE")
    method = KcvMethod.TDES_ECB_ZERO
    # X9.24-1 and PCI PIN cap an encrypt-zero KCV at 3 bytes, whatever length is asked for.
    return TokenCheckValues(
        (CheckValue(method, block[: method.default_length]),),
        stored.hex().upper() if stored else None,
        tuple(checks),
        ((method, KCV_SOURCE_TDES_ECB),),
    )


def _aes_check_values(
    link: Link, key: Any, stored: bytes | None, length: int | None, step: str
) -> TokenCheckValues:
    values: list[CheckValue] = []
    sources: list[tuple[KcvMethod, str]] = []
    checks: list[str] = []
    ecb_block: bytes | None = None
    with link.step(step):
        can_ecb = link.has(Mechanism.AES_ECB) and bool(get(key, Attribute.ENCRYPT))

        def ecb(block: bytes) -> bytes:
            return bytes(key.encrypt(block, mechanism=Mechanism.AES_ECB))

        if can_ecb:
            ecb_block = ecb(_ZERO_BLOCK)
        cmac_full: bytes | None = None
        if link.has(Mechanism.AES_CMAC) and get(key, Attribute.SIGN):
            cmac_full = bytes(key.sign(_ZERO_BLOCK, mechanism=Mechanism.AES_CMAC))
        # CMAC of one zero block is E_K(dbl(E_K(0))) (RFC 4493): rebuilt through ECB, it
        # cross-checks CKM_AES_CMAC, or stands in for it on a token without CKM_AES_CMAC.
        cmac_via_ecb = cmac_one_block(ecb, _ZERO_BLOCK) if can_ecb else None
    if ecb_block is None and cmac_full is None:
        raise MechanismNotSupportedError(
            f"{step}: the token can compute neither AES-CMAC nor AES-ECB with this key",
            hint="the key needs CKA_SIGN (CMAC) or CKA_ENCRYPT (ECB) and the token the "
            "mechanism; see 'ceremony hsm info'",
        )
    if ecb_block is not None and stored:
        if not hmac.compare_digest(ecb_block[: len(stored)], stored):
            raise CheckValueError(
                f"{step}: the token's CKA_CHECK_VALUE does not match its own AES-ECB "
                "of a zero block",
                hint="stop: the token is not behaving consistently; do not use this key",
            )
        checks.append("AES-ECB zero block (CKM_AES_ECB) equals CKA_CHECK_VALUE")
    if cmac_via_ecb is not None and cmac_full is not None:
        if not hmac.compare_digest(cmac_via_ecb, cmac_full):
            raise CheckValueError(
                f"{step}: CKM_AES_CMAC and the CMAC rebuilt from CKM_AES_ECB differ",
                hint="stop: the token is not behaving consistently; do not use this key",
            )
        checks.append("CKM_AES_CMAC equals E_K(dbl(E_K(0))) computed with CKM_AES_ECB")
    method = KcvMethod.AES_CMAC
    if cmac_full is not None:
        values.append(CheckValue(method, cmac_full[: length or method.default_length]))
        sources.append((method, KCV_SOURCE_CMAC))
    elif cmac_via_ecb is not None:
        values.append(CheckValue(method, cmac_via_ecb[: length or method.default_length]))
        sources.append((method, KCV_SOURCE_CMAC_FROM_ECB))
    if ecb_block is not None:
        values.append(CheckValue(KcvMethod.AES_ECB_ZERO, ecb_block[:3]))
        sources.append((KcvMethod.AES_ECB_ZERO, KCV_SOURCE_ECB))
    return TokenCheckValues(
        tuple(values),
        stored.hex().upper() if stored else None,
        tuple(checks),
        tuple(sources),
    )


def require_expected(link: Link, label: str, expected: CheckValue) -> TokenCheckValues:
    """The token's check values of ``label``; CheckValueError unless they match ``expected``."""
    checks = check_values(link, label, len(expected.value))
    kcv.require_match(expected, checks.of(expected.method), f"key {label!r} in the token")
    return checks

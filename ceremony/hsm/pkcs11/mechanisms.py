"""Mechanism preflight: the mechanism list mapped to capabilities, proved by throw-away probes."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import pkcs11
from cryptography.hazmat.primitives import cmac, hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.keywrap import (
    aes_key_unwrap_with_padding,
    aes_key_wrap_with_padding,
)
from pkcs11 import MGF, Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import PKCS11Error

from ceremony.core import kcv, parity
from ceremony.core.kcv import KcvMethod
from ceremony.hsm.base import (
    Capability,
    CapabilityStatus,
    Preflight,
    TokenInfo,
    TrustedWrapSupport,
)
from ceremony.hsm.pkcs11 import _cryptoki
from ceremony.hsm.pkcs11.errors import error_name
from ceremony.hsm.pkcs11.templates import rsa_public_template

log = logging.getLogger(__name__)

# PKCS#11 3.x names; python-pkcs11 0.10.1 knows the first three, not CKM_RSA_AES_KEY_WRAP.
CKM_AES_KEY_WRAP_KWP = 0x210B
CKM_AES_KEY_WRAP_PAD = 0x210A
CKM_RSA_AES_KEY_WRAP = 0x1054
CKM_AES_KEY_WRAP = 0x2109
NEEDS_LOGIN = "CKR_USER_NOT_LOGGED_IN"

OAEP_PARAMS: dict[str, tuple[Mechanism, MGF]] = {
    "SHA-1": (Mechanism.SHA_1, MGF.SHA1),
    "SHA-256": (Mechanism.SHA256, MGF.SHA256),
    "SHA-512": (Mechanism.SHA512, MGF.SHA512),
}
_SOFTWARE_HASH: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "SHA-1": hashes.SHA1,
    "SHA-256": hashes.SHA256,
    "SHA-512": hashes.SHA512,
}


def mechanism_name(value: int) -> str:
    """``CKM_AES_CMAC`` style name for the record, hex for vendor values."""
    if value == CKM_RSA_AES_KEY_WRAP:
        return "CKM_RSA_AES_KEY_WRAP"
    try:
        return "CKM_" + Mechanism(value).name.lstrip("_")
    except ValueError:
        return f"CKM_0x{value:08X}"


@lru_cache(maxsize=1)
def _probe_rsa_key() -> rsa.RSAPrivateKey:
    # A software key whose private half lets us check the token's OAEP output; never leaves here.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class _Probe:
    """Throw-away session objects on one session, all destroyed when the probe ends."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self._made: list[Any] = []

    def keep(self, obj: Any) -> Any:
        self._made.append(obj)
        return obj

    def label(self) -> str:
        return f"ceremony-probe-{secrets.token_hex(6)}"

    def secret(
        self, key_type: KeyType, value: bytes, **flags: bool
    ) -> Any:  # a known value makes the token's answer checkable in software
        template: dict[Attribute, Any] = {
            Attribute.CLASS: ObjectClass.SECRET_KEY,
            Attribute.KEY_TYPE: key_type,
            Attribute.VALUE: value,
            Attribute.TOKEN: False,
            Attribute.PRIVATE: False,
            Attribute.SENSITIVE: False,
            Attribute.EXTRACTABLE: True,
            Attribute.LABEL: self.label(),
        }
        for name, on in flags.items():
            template[Attribute[name.upper()]] = on
        return self.keep(self.session.create_object(template))

    def rsa_public(self, public: rsa.RSAPublicKey) -> Any:
        return self.keep(
            self.session.create_object(rsa_public_template(public, self.label(), encrypt=True))
        )

    def close(self) -> None:
        for obj in reversed(self._made):
            try:
                obj.destroy()
            except PKCS11Error:
                log.debug("probe object already gone")
        self._made.clear()


@contextmanager
def _probe(session: Any) -> Iterator[_Probe]:
    p = _Probe(session)
    try:
        yield p
    finally:
        p.close()


def _status(
    capability: Capability,
    check: Callable[[], tuple[bool, str]],
    mechanism: str | None,
    listed: bool = True,
) -> CapabilityStatus:
    if not listed:
        return CapabilityStatus(capability, False, mechanism, "not in the token's mechanism list")
    try:
        ok, detail = check()
    except (PKCS11Error, _cryptoki.CryptokiError) as ex:
        name = error_name(ex)
        if name == NEEDS_LOGIN:
            return CapabilityStatus(
                capability,
                False,
                mechanism,
                f"unknown: needs a login to probe ({name})",
                True,
                known=False,
            )
        return CapabilityStatus(
            capability, False, mechanism, f"not supported by this token: probe got {name}", True
        )
    return CapabilityStatus(capability, ok, mechanism, detail, True)


def probe(session: Any, slot: Any, token: TokenInfo, cryptoki: _cryptoki.Cryptoki) -> Preflight:
    """Read the mechanism list and prove each capability with throw-away session objects."""
    listed: set[int] = {int(m) for m in slot.get_mechanisms()}
    statuses: list[CapabilityStatus] = []
    add = statuses.append

    def has(m: int) -> bool:
        return m in listed

    def key_range(m: int) -> tuple[int, int]:
        info = slot.get_mechanism_info(m)
        return int(info.min_key_length), int(info.max_key_length)

    # Randomness.
    def random_ok() -> tuple[bool, str]:
        return len(session.generate_random(128)) == 16, ""

    add(_status(Capability.RANDOM, random_ok, "C_GenerateRandom"))

    # Generation.
    local: list[bool] = []

    def gen_aes() -> tuple[bool, str]:
        low, high = key_range(Mechanism.AES_KEY_GEN)
        with _probe(session) as p:
            key = p.keep(
                session.generate_key(
                    KeyType.AES, 128, label=p.label(), template={Attribute.PRIVATE: False}
                )
            )
            try:
                local.append(bool(key[Attribute.LOCAL]))
            except PKCS11Error:
                log.debug("the token does not report CKA_LOCAL")
        ok = low <= 16 and high >= 32
        note = "" if ok else f"key sizes {low}..{high} bytes"
        if local == [False]:
            note = "; ".join(x for x in (note, "generated keys read back CKA_LOCAL false") if x)
        return ok, note

    add(_status(Capability.GENERATE_AES, gen_aes, "CKM_AES_KEY_GEN", has(Mechanism.AES_KEY_GEN)))

    def gen_hmac() -> tuple[bool, str]:
        with _probe(session) as p:
            p.keep(
                session.generate_key(
                    KeyType.GENERIC_SECRET,
                    256,
                    label=p.label(),
                    template={Attribute.PRIVATE: False, Attribute.SIGN: True},
                )
            )
        return True, ""

    add(
        _status(
            Capability.GENERATE_HMAC,
            gen_hmac,
            "CKM_GENERIC_SECRET_KEY_GEN",
            has(Mechanism.GENERIC_SECRET_KEY_GEN),
        )
    )

    def gen_ec() -> tuple[bool, str]:
        with _probe(session) as p:
            for curve in ("secp256r1", "secp384r1"):
                params = session.create_domain_parameters(
                    KeyType.EC,
                    {Attribute.EC_PARAMS: pkcs11.util.ec.encode_named_curve_parameters(curve)},
                    local=True,
                )
                pub, priv = params.generate_keypair(
                    label=p.label(),
                    store=False,
                    private_template={Attribute.PRIVATE: False},
                )
                p.keep(pub)
                p.keep(priv)
        return True, "P-256 and P-384"

    add(
        _status(
            Capability.GENERATE_EC, gen_ec, "CKM_EC_KEY_PAIR_GEN", has(Mechanism.EC_KEY_PAIR_GEN)
        )
    )

    def gen_rsa() -> tuple[bool, str]:
        # Generating RSA-4096 takes seconds in software tokens: trust the advertised range.
        low, high = key_range(Mechanism.RSA_PKCS_KEY_PAIR_GEN)
        ok = low <= 2048 and high >= 4096
        return ok, f"modulus {low}..{high} bits (from the mechanism info, not generated)"

    status = _status(
        Capability.GENERATE_RSA,
        gen_rsa,
        "CKM_RSA_PKCS_KEY_PAIR_GEN",
        has(Mechanism.RSA_PKCS_KEY_PAIR_GEN),
    )
    add(CapabilityStatus(status.capability, status.supported, status.mechanism, status.detail))

    # Check values.
    zero = bytes(16)
    probe_key = secrets.token_bytes(16)

    def cmac_ok() -> tuple[bool, str]:
        with _probe(session) as p:
            key = p.secret(KeyType.AES, probe_key, sign=True)
            got = key.sign(zero, mechanism=Mechanism.AES_CMAC)
        mac = cmac.CMAC(algorithms.AES(probe_key))
        mac.update(zero)
        ok = hmac.compare_digest(got, mac.finalize())
        return ok, "" if ok else "token's CMAC differs from SP 800-38B"

    cmac_status = _status(Capability.KCV_AES_CMAC, cmac_ok, "CKM_AES_CMAC", has(Mechanism.AES_CMAC))

    def ecb_ok() -> tuple[bool, str]:
        with _probe(session) as p:
            key = p.secret(KeyType.AES, probe_key, encrypt=True)
            got = key.encrypt(zero, mechanism=Mechanism.AES_ECB)
        # ECB of one fixed block is the definition of the legacy KCV.
        encryptor = Cipher(algorithms.AES(probe_key), modes.ECB()).encryptor()  # noqa: S305
        ok = hmac.compare_digest(got, encryptor.update(zero) + encryptor.finalize())
        return ok, "" if ok else "token's AES-ECB differs from software"

    ecb_status = _status(Capability.KCV_AES_ECB, ecb_ok, "CKM_AES_ECB", has(Mechanism.AES_ECB))

    def cmac_from_ecb_ok() -> tuple[bool, str]:
        with _probe(session) as p:
            key = p.secret(KeyType.AES, probe_key, encrypt=True)
            got = cmac_one_block(
                lambda block: bytes(key.encrypt(block, mechanism=Mechanism.AES_ECB)), zero
            )
        mac = cmac.CMAC(algorithms.AES(probe_key))
        mac.update(zero)
        ok = hmac.compare_digest(got, mac.finalize())
        return ok, "computed from AES-ECB" if ok else "CMAC from AES-ECB differs from SP 800-38B"

    check_value_attribute: list[bool] = []

    def check_value_ok() -> tuple[bool, str]:
        # A key given with its CKA_CHECK_VALUE (the ECB value): kept, or the attribute unknown.
        encryptor = Cipher(algorithms.AES(probe_key), modes.ECB()).encryptor()  # noqa: S305
        value = (encryptor.update(zero) + encryptor.finalize())[:3]
        try:
            with _probe(session) as p:
                p.keep(
                    session.create_object(
                        {
                            Attribute.CLASS: ObjectClass.SECRET_KEY,
                            Attribute.KEY_TYPE: KeyType.AES,
                            Attribute.VALUE: probe_key,
                            Attribute.TOKEN: False,
                            Attribute.PRIVATE: False,
                            Attribute.CHECK_VALUE: value,
                            Attribute.LABEL: p.label(),
                        }
                    )
                )
        except PKCS11Error as ex:
            if error_name(ex) != "CKR_ATTRIBUTE_TYPE_INVALID":
                raise
            check_value_attribute.append(False)
            return False, "no CKA_CHECK_VALUE"
        check_value_attribute.append(True)
        return True, ""

    if ecb_status.supported:
        _status(Capability.KCV_AES_ECB, check_value_ok, "CKA_CHECK_VALUE")
        if check_value_attribute == [False]:
            ecb_status = CapabilityStatus(
                ecb_status.capability,
                True,
                ecb_status.mechanism,
                "the token has no CKA_CHECK_VALUE (CKR_ATTRIBUTE_TYPE_INVALID): imports are "
                "checked by the key's check values only",
                True,
            )

    cmac_from_ecb = False
    if not cmac_status.supported and cmac_status.known and ecb_status.supported:
        rebuilt = _status(Capability.KCV_AES_CMAC, cmac_from_ecb_ok, "CKM_AES_ECB")
        if rebuilt.supported:
            cmac_from_ecb = True
            cmac_status = CapabilityStatus(
                Capability.KCV_AES_CMAC,
                True,
                "CKM_AES_ECB",
                f"computed from AES-ECB: the token has no CKM_AES_CMAC "
                f"({cmac_status.detail or 'it failed'}); E_K(dbl(E_K(0))), RFC 4493",
                True,
            )
    add(cmac_status)
    add(ecb_status)

    hmac_min_length: list[int] = []

    def hmac_ok() -> tuple[bool, str]:
        # Shortest HMAC key first: SoftHSM 2.6.1 refuses keys shorter than the digest.
        for length in (20, 28, 32):
            value = secrets.token_bytes(length)
            try:
                with _probe(session) as p:
                    key = p.secret(KeyType.GENERIC_SECRET, value, sign=True)
                    got = key.sign(zero, mechanism=Mechanism.SHA256_HMAC)
            except PKCS11Error as ex:
                if length < 32 and error_name(ex) == "CKR_KEY_SIZE_RANGE":
                    continue
                raise
            ok = hmac.compare_digest(got, hmac.new(value, zero, hashlib.sha256).digest())
            if not ok:
                return False, "token's HMAC differs from software"
            hmac_min_length.append(length)
            if length > 20:
                return True, f"only for HMAC keys of {length} bytes or more (CKR_KEY_SIZE_RANGE)"
            return True, ""
        return False, "no key length accepted"

    add(_status(Capability.KCV_HMAC, hmac_ok, "CKM_SHA256_HMAC", has(Mechanism.SHA256_HMAC)))

    def gen_tdes() -> tuple[bool, str]:
        with _probe(session) as p:
            for key_type in (KeyType.DES2, KeyType.DES3):
                p.keep(
                    session.generate_key(
                        key_type, label=p.label(), template={Attribute.PRIVATE: False}
                    )
                )
        return True, "double and triple length"

    add(
        _status(
            Capability.GENERATE_TDES,
            gen_tdes,
            "CKM_DES2_KEY_GEN, CKM_DES3_KEY_GEN",
            has(Mechanism.DES2_KEY_GEN) and has(Mechanism.DES3_KEY_GEN),
        )
    )

    def tdes_ecb_ok() -> tuple[bool, str]:
        value = bytearray(secrets.token_bytes(24))
        parity.adjust(value)
        with _probe(session) as p:
            key = p.secret(KeyType.DES3, bytes(value), encrypt=True)
            got = bytes(key.encrypt(bytes(8), mechanism=Mechanism.DES3_ECB))
        expected = kcv.check_value(value, KcvMethod.TDES_ECB_ZERO).value
        ok = hmac.compare_digest(got[:3], expected)
        return ok, "" if ok else "token's TDES-ECB differs from software"

    add(_status(Capability.KCV_TDES_ECB, tdes_ecb_ok, "CKM_DES3_ECB", has(Mechanism.DES3_ECB)))

    # RSA-OAEP, one probe per hash: the list cannot say which parameters the token accepts.
    target_value = secrets.token_bytes(32)
    for capability, hash_name in (
        (Capability.OAEP_SHA1, "SHA-1"),
        (Capability.OAEP_SHA256, "SHA-256"),
        (Capability.OAEP_SHA512, "SHA-512"),
    ):

        def oaep_ok(hash_name: str = hash_name) -> tuple[bool, str]:
            private = _probe_rsa_key()
            with _probe(session) as p:
                target = p.secret(KeyType.AES, target_value)
                kek = p.rsa_public(private.public_key())
                blob = kek.wrap_key(
                    target,
                    mechanism=Mechanism.RSA_PKCS_OAEP,
                    mechanism_param=(*OAEP_PARAMS[hash_name], None),
                )
            return _oaep_opens(private, blob, target_value, hash_name)

        add(_status(capability, oaep_ok, "CKM_RSA_PKCS_OAEP", has(Mechanism.RSA_PKCS_OAEP)))

    # AES key wrap with padding: pick the mechanism by behaviour, not by name.
    kwp_mechanism: int | None = None
    kwp_details: list[str] = []
    kwp_probed = False
    kwp_known = True
    aligned_only = False
    for candidate in (CKM_AES_KEY_WRAP_KWP, CKM_AES_KEY_WRAP_PAD):
        if not has(candidate):
            continue
        kwp_probed = True
        try:
            verdict = _kwp_behaviour(session, cryptoki, candidate)
        except (PKCS11Error, _cryptoki.CryptokiError) as ex:
            name = error_name(ex)
            if name == NEEDS_LOGIN:
                kwp_known = False
                kwp_details.append(f"{mechanism_name(candidate)} needs a login to probe ({name})")
            else:
                kwp_details.append(f"{mechanism_name(candidate)} probe got {name}")
            continue
        if verdict is None:
            kwp_details.append(f"{mechanism_name(candidate)} output is not RFC 5649 on this token")
            continue
        kwp_mechanism, aligned_only = candidate, verdict
        kwp_details.append(
            "RFC 5649 only for key material that is a multiple of 8 bytes: the token zero-pads "
            "other lengths first (HMAC-SHA1/224 keys and private keys are affected)"
            if aligned_only
            else "output equals RFC 5649"
        )
        break
    if not kwp_probed:
        kwp_details.append("neither CKM_AES_KEY_WRAP_KWP nor CKM_AES_KEY_WRAP_PAD is listed")
    kwp_detail = "; ".join(kwp_details)
    if kwp_mechanism is None and not kwp_known:
        kwp_detail = f"unknown: {kwp_detail}"
    add(
        CapabilityStatus(
            Capability.AES_KWP,
            kwp_mechanism is not None,
            mechanism_name(kwp_mechanism) if kwp_mechanism is not None else None,
            kwp_detail,
            kwp_probed,
            known=kwp_mechanism is not None or kwp_known,
        )
    )

    # CKM_RSA_AES_KEY_WRAP (0x1054): absent from SoftHSM 2.6.1, added in 2.7.0.
    for capability, hash_name in (
        (Capability.RSA_AES_KEY_WRAP_SHA1, "SHA-1"),
        (Capability.RSA_AES_KEY_WRAP_SHA256, "SHA-256"),
    ):

        def rsa_aes_ok(hash_name: str = hash_name) -> tuple[bool, str]:
            private = _probe_rsa_key()
            hash_mech, mgf = OAEP_PARAMS[hash_name]
            param = _cryptoki.rsa_aes_key_wrap_parameter(256, int(hash_mech), int(mgf))
            with _probe(session) as p:
                target = p.secret(KeyType.AES, target_value)
                kek = p.rsa_public(private.public_key())
                blob = cryptoki.wrap_key(
                    session.handle, CKM_RSA_AES_KEY_WRAP, param, kek.handle, target.handle
                )
            param.release()
            k = private.key_size // 8
            ok, detail = _oaep_opens(private, blob[:k], None, hash_name)
            if not ok:
                return ok, detail
            ephemeral = _oaep_decrypt(private, blob[:k], hash_name)
            opened = aes_key_unwrap_with_padding(ephemeral, blob[k:])
            same = hmac.compare_digest(opened, target_value)
            return same, "" if same else "output is not OAEP || RFC 5649"

        add(
            _status(
                capability,
                rsa_aes_ok,
                "CKM_RSA_AES_KEY_WRAP",
                has(CKM_RSA_AES_KEY_WRAP),
            )
        )

    # In-token XOR of components.
    def xor_ok() -> tuple[bool, str]:
        base_value = secrets.token_bytes(16)
        data = bytearray(secrets.token_bytes(16))
        param = _cryptoki.xor_base_and_data_parameter(data)
        with _probe(session) as p:
            base = p.secret(KeyType.AES, base_value, derive=True)
            derived = p.keep(
                base.derive_key(
                    KeyType.AES,
                    128,
                    label=p.label(),
                    mechanism=Mechanism.XOR_BASE_AND_DATA,
                    mechanism_param=param.packed,
                    template={
                        Attribute.PRIVATE: False,
                        Attribute.SENSITIVE: False,
                        Attribute.EXTRACTABLE: True,
                    },
                )
            )
            got = derived[Attribute.VALUE]
        param.release()
        expected = bytes(a ^ b for a, b in zip(base_value, data, strict=True))
        ok = hmac.compare_digest(got, expected)
        return ok, "" if ok else "derived value is not the XOR"

    add(
        _status(
            Capability.XOR_COMBINE,
            xor_ok,
            "CKM_XOR_BASE_AND_DATA",
            has(Mechanism.XOR_BASE_AND_DATA),
        )
    )

    # CKA_WRAP_WITH_TRUSTED: kept, and enforced against an untrusted wrapping key.
    support, trusted_status = _trusted_wrap(session, cryptoki, kwp_mechanism, has)
    add(trusted_status)

    # Signing (the record's signature key).
    add(
        CapabilityStatus(
            Capability.ECDSA_RAW,
            has(Mechanism.ECDSA),
            "CKM_ECDSA",
            "" if has(Mechanism.ECDSA) else "not in the token's mechanism list",
        )
    )
    add(
        CapabilityStatus(
            Capability.ECDSA_SHA256,
            has(Mechanism.ECDSA_SHA256),
            "CKM_ECDSA_SHA256",
            ""
            if has(Mechanism.ECDSA_SHA256)
            else "not listed; raw CKM_ECDSA over a digest is used",
        )
    )
    return Preflight(
        token=token,
        statuses=tuple(statuses),
        kwp_mechanism=mechanism_name(kwp_mechanism) if kwp_mechanism is not None else None,
        kwp_multiple_of_8_only=aligned_only,
        hmac_kcv_min_length=hmac_min_length[0] if hmac_min_length else None,
        trusted_wrap=support,
        kcv_cmac_from_ecb=cmac_from_ecb,
        generated_keys_local=local[0] if local else None,
        check_value_attribute=check_value_attribute != [False],
    )


def kwp_size(length: int) -> int:
    """The RFC 5649 output length for ``length`` bytes of key material: ceil8(n) + 8."""
    return -(-length // 8) * 8 + 8


def kwp_wrap(
    session: Any,
    cryptoki: _cryptoki.Cryptoki,
    mechanism: int,
    wrapping: Any,
    key: Any,
    length: int | None,
) -> bytes:
    """C_WrapKey with AES key wrap with padding, sized from ``length`` when known."""
    size = kwp_size(length) if length is not None else None
    return cryptoki.wrap_key(session.handle, mechanism, None, wrapping.handle, key.handle, size)


def cmac_one_block(encrypt_block: Callable[[bytes], bytes], block: bytes) -> bytes:
    """AES-CMAC of one complete 16-byte block from raw AES encryptions (RFC 4493 section 2.4).

    L = E_K(0), K1 = dbl(L), T = E_K(M xor K1): for the zero block, two encryptions.
    """
    if len(block) != 16:
        raise ValueError("CMAC from ECB is computed here for one complete block only")
    subkey = dbl(encrypt_block(bytes(16)))
    return encrypt_block(bytes(a ^ b for a, b in zip(block, subkey, strict=True)))


def dbl(block: bytes) -> bytes:
    """SP 800-38B / RFC 4493 subkey doubling in GF(2^128)."""
    n = int.from_bytes(block, "big") << 1
    if n >> 128:
        n = (n & ((1 << 128) - 1)) ^ 0x87
    return n.to_bytes(16, "big")


def _trusted_wrap(
    session: Any,
    cryptoki: _cryptoki.Cryptoki,
    kwp_mechanism: int | None,
    has: Callable[[int], bool],
) -> tuple[TrustedWrapSupport, CapabilityStatus]:
    """Whether the token keeps CKA_WRAP_WITH_TRUSTED, and refuses an untrusted wrapping key.

    A control key without the attribute must wrap under the same untrusted key, so a refusal
    is proved to come from the attribute, not from the mechanism.
    """
    capability, name = Capability.WRAP_WITH_TRUSTED, "CKA_WRAP_WITH_TRUSTED"

    def absent(error: str) -> tuple[TrustedWrapSupport, CapabilityStatus]:
        return TrustedWrapSupport.ABSENT, CapabilityStatus(
            capability, False, name, f"not supported by this token: probe got {error}", True
        )

    def unknown(why: str) -> tuple[TrustedWrapSupport, CapabilityStatus]:
        return TrustedWrapSupport.UNKNOWN, CapabilityStatus(
            capability, False, name, f"unknown: {why}", True, known=False
        )

    symmetric = kwp_mechanism
    if symmetric is None and has(CKM_AES_KEY_WRAP):
        symmetric = CKM_AES_KEY_WRAP
    if symmetric is None and not has(Mechanism.RSA_PKCS_OAEP):
        return unknown("no key wrap mechanism to probe it with")

    def wrap(p: _Probe, target: Any) -> None:
        if symmetric is not None:
            wrapping = p.secret(KeyType.AES, secrets.token_bytes(32), wrap=True)
            size = kwp_size(16) if symmetric != CKM_AES_KEY_WRAP else 24
            cryptoki.wrap_key(session.handle, symmetric, None, wrapping.handle, target.handle, size)
            return
        kek = p.rsa_public(_probe_rsa_key().public_key())
        kek.wrap_key(
            target,
            mechanism=Mechanism.RSA_PKCS_OAEP,
            mechanism_param=(*OAEP_PARAMS["SHA-1"], None),
        )

    try:
        with _probe(session) as p:
            try:
                target = p.secret(KeyType.AES, secrets.token_bytes(16), wrap_with_trusted=True)
                kept = target[Attribute.WRAP_WITH_TRUSTED]
            except (PKCS11Error, _cryptoki.CryptokiError) as ex:
                if error_name(ex) == "CKR_ATTRIBUTE_TYPE_INVALID":
                    return absent(error_name(ex))
                raise
            if kept is not True:
                return TrustedWrapSupport.ABSENT, CapabilityStatus(
                    capability, False, name, "the token does not keep the attribute", True
                )
            wrap(p, p.secret(KeyType.AES, secrets.token_bytes(16)))  # the control
            try:
                wrap(p, target)
            except (PKCS11Error, _cryptoki.CryptokiError) as ex:
                return TrustedWrapSupport.ENFORCED, CapabilityStatus(
                    capability,
                    True,
                    name,
                    f"an untrusted wrapping key is refused ({error_name(ex)})",
                    True,
                )
    except (PKCS11Error, _cryptoki.CryptokiError) as ex:
        error = error_name(ex)
        if error == NEEDS_LOGIN:
            return unknown(f"needs a login to probe ({error})")
        return unknown(f"the probe got {error}")
    return TrustedWrapSupport.IGNORED, CapabilityStatus(
        capability,
        False,
        name,
        "the token wrapped the key under an untrusted key: it accepts the attribute and ignores it",
        True,
    )


def _kwp_behaviour(session: Any, cryptoki: _cryptoki.Cryptoki, mechanism: int) -> bool | None:
    """None: not RFC 5649; False: RFC 5649 for any length; True: only for multiples of 8 bytes."""
    kek_value = secrets.token_bytes(32)
    aligned = secrets.token_bytes(32)
    # 20 bytes is not a multiple of 8, so the padding rule shows in the output.
    odd = secrets.token_bytes(20)
    with _probe(session) as p:
        wrapping = p.secret(KeyType.AES, kek_value, wrap=True)
        blobs = [
            kwp_wrap(
                session,
                cryptoki,
                mechanism,
                wrapping,
                p.secret(KeyType.GENERIC_SECRET, value),
                len(value),
            )
            for value in (aligned, odd)
        ]
    if not hmac.compare_digest(blobs[0], aes_key_wrap_with_padding(kek_value, aligned)):
        return None
    if hmac.compare_digest(blobs[1], aes_key_wrap_with_padding(kek_value, odd)):
        return False
    try:
        opened = aes_key_unwrap_with_padding(kek_value, blobs[1])
    except ValueError:
        return None
    padded = odd + bytes(-len(odd) % 8)
    return True if hmac.compare_digest(opened, padded) else None


def kwp_mechanism_value(preflight: Preflight) -> int | None:
    """The mechanism number the preflight found to behave as RFC 5649."""
    return {
        "CKM_AES_KEY_WRAP_KWP": CKM_AES_KEY_WRAP_KWP,
        "CKM_AES_KEY_WRAP_PAD": CKM_AES_KEY_WRAP_PAD,
    }.get(preflight.kwp_mechanism or "")


def _oaep_decrypt(private: rsa.RSAPrivateKey, blob: bytes, hash_name: str) -> bytes:
    algorithm = _SOFTWARE_HASH[hash_name]()
    return private.decrypt(
        blob,
        padding.OAEP(mgf=padding.MGF1(algorithm=algorithm), algorithm=algorithm, label=None),
    )


def _oaep_opens(
    private: rsa.RSAPrivateKey, blob: bytes, expected: bytes | None, hash_name: str
) -> tuple[bool, str]:
    try:
        opened = _oaep_decrypt(private, blob, hash_name)
    except ValueError:
        # The token returned a blob that does not open with the hash asked for.
        return False, f"the token ignored the {hash_name} parameter"
    if expected is not None and not hmac.compare_digest(opened, expected):
        return False, "the blob opens to a different key"
    return True, ""

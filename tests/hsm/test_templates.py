"""The key-attribute table, pinned: what SoftHSM2 receives for every kind of key and purpose."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pkcs11 import Attribute as A
from pkcs11 import KeyType, ObjectClass

from ceremony.core.ceremony_file.vocabulary import TrustedWrap
from ceremony.hsm.base import TrustedWrapSupport
from ceremony.hsm.pkcs11.templates import (
    TABLE,
    Purpose,
    TemplateKind,
    TokenTraits,
    key_template,
    requested_record,
    rsa_public_template,
)

T, F = True, False


def _protected(x: bool) -> list[tuple[A, Any]]:
    # CKA_WRAP_WITH_TRUSTED only on an extractable key: a key that never leaves needs no rule.
    trusted_wrap = [(A.WRAP_WITH_TRUSTED, T)] if x else []
    return [
        (A.TOKEN, T),
        (A.PRIVATE, T),
        (A.SENSITIVE, T),
        (A.EXTRACTABLE, x),
        *trusted_wrap,
        (A.MODIFIABLE, F),
    ]


def _aes_use() -> list[tuple[A, Any]]:
    return [
        (A.ENCRYPT, T),
        (A.DECRYPT, F),
        (A.SIGN, T),
        (A.VERIFY, F),
        (A.WRAP, F),
        (A.UNWRAP, F),
        (A.DERIVE, F),
    ]


def _hmac_use() -> list[tuple[A, Any]]:
    return [
        (A.ENCRYPT, F),
        (A.DECRYPT, F),
        (A.SIGN, T),
        (A.VERIFY, T),
        (A.WRAP, F),
        (A.UNWRAP, F),
        (A.DERIVE, F),
    ]


_AES = [(A.CLASS, ObjectClass.SECRET_KEY), (A.KEY_TYPE, KeyType.AES)]
_HMAC = [(A.CLASS, ObjectClass.SECRET_KEY), (A.KEY_TYPE, KeyType.GENERIC_SECRET)]


@pytest.mark.parametrize("x", [False, True], ids=["non-extractable", "extractable"])
def test_target_keys_in_order(x: bool) -> None:
    """Order too: the record lists the requested attributes as the template holds them."""

    def items(kind: TemplateKind, purpose: Purpose) -> list[tuple[A, Any]]:
        return list(key_template(kind, purpose, extractable=x).items())

    assert items(TemplateKind.AES, Purpose.GENERATE) == _protected(x) + _aes_use()
    assert items(TemplateKind.AES, Purpose.IMPORT) == _AES + _protected(x) + _aes_use()
    assert items(TemplateKind.AES, Purpose.UNWRAP) == _AES + _protected(x) + _aes_use()
    assert items(TemplateKind.HMAC, Purpose.GENERATE) == _protected(x) + _hmac_use()
    assert items(TemplateKind.HMAC, Purpose.IMPORT) == _HMAC + _protected(x) + _hmac_use()
    assert items(TemplateKind.HMAC, Purpose.UNWRAP) == _HMAC + _protected(x) + _hmac_use()
    signing = [*_protected(x), (A.SIGN, T), (A.DECRYPT, F), (A.UNWRAP, F), (A.DERIVE, F)]
    assert items(TemplateKind.EC_PRIVATE, Purpose.GENERATE) == signing
    assert items(TemplateKind.RSA_PRIVATE, Purpose.GENERATE) == signing


def test_public_and_session_keys() -> None:
    assert key_template(TemplateKind.PUBLIC, Purpose.GENERATE) == {
        A.TOKEN: T,
        A.PRIVATE: F,
        A.VERIFY: T,
        A.ENCRYPT: F,
        A.WRAP: F,
    }
    ephemeral = {
        A.TOKEN: F,
        A.SENSITIVE: T,
        A.EXTRACTABLE: T,
        A.WRAP: T,
        A.ENCRYPT: F,
        A.DECRYPT: F,
        A.SIGN: F,
        A.VERIFY: F,
        A.UNWRAP: F,
        A.DERIVE: F,
    }
    assert key_template(TemplateKind.EPHEMERAL, Purpose.GENERATE) == ephemeral
    trusted = {**ephemeral, A.PRIVATE: F, A.TRUSTED: T}
    assert key_template(TemplateKind.EPHEMERAL, Purpose.GENERATE, trusted=True) == trusted
    transport = {**dict(_AES), A.TOKEN: F, A.WRAP: T, A.SENSITIVE: T, A.EXTRACTABLE: F}
    assert key_template(TemplateKind.TRANSPORT, Purpose.IMPORT) == transport
    assert key_template(TemplateKind.TRANSPORT, Purpose.IMPORT, trusted=True) == {
        **transport,
        A.PRIVATE: F,
        A.TRUSTED: T,
    }


def test_import_key_template() -> None:
    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    numbers = public.public_numbers()
    base = {
        A.CLASS: ObjectClass.PUBLIC_KEY,
        A.KEY_TYPE: KeyType.RSA,
        A.MODULUS: numbers.n.to_bytes(256, "big"),
        A.PUBLIC_EXPONENT: b"\x01\x00\x01",
        A.TOKEN: F,
        A.PRIVATE: F,
        A.LABEL: "kek",
        A.WRAP: T,
        A.ENCRYPT: F,
    }
    assert rsa_public_template(public, "kek") == base
    assert rsa_public_template(public, "kek", trusted=True) == {**base, A.TRUSTED: T}
    assert rsa_public_template(public, "kek", encrypt=True) == {**base, A.ENCRYPT: T}


def test_every_row_is_pinned() -> None:
    assert set(TABLE) == {
        *(
            (k, p)
            for k in (TemplateKind.AES, TemplateKind.HMAC, TemplateKind.TDES)
            for p in Purpose
        ),
        (TemplateKind.EC_PRIVATE, Purpose.GENERATE),
        (TemplateKind.RSA_PRIVATE, Purpose.GENERATE),
        (TemplateKind.PUBLIC, Purpose.GENERATE),
        (TemplateKind.IMPORT_KEY, Purpose.IMPORT),
        (TemplateKind.EPHEMERAL, Purpose.GENERATE),
        (TemplateKind.TRANSPORT, Purpose.IMPORT),
    }
    with pytest.raises(ValueError, match="no template"):
        key_template(TemplateKind.PUBLIC, Purpose.UNWRAP)


def test_a_token_without_wrap_with_trusted_is_never_sent_it() -> None:
    lacking = TokenTraits(wrap_with_trusted=False)
    for kind, purpose in TABLE:
        for x in (False, True):
            assert A.WRAP_WITH_TRUSTED not in key_template(kind, purpose, lacking, extractable=x)


@pytest.mark.parametrize("support", list(TrustedWrapSupport), ids=lambda s: s.name)
@pytest.mark.parametrize("policy", list(TrustedWrap), ids=lambda p: p.name)
def test_the_attribute_goes_only_where_policy_and_token_allow(
    support: TrustedWrapSupport, policy: TrustedWrap
) -> None:
    traits = TokenTraits.of(support, policy)
    wanted = policy is TrustedWrap.REQUIRED and support is TrustedWrapSupport.ENFORCED
    assert traits.wrap_with_trusted is wanted
    extractable = key_template(TemplateKind.AES, Purpose.GENERATE, traits, extractable=True)
    assert (A.WRAP_WITH_TRUSTED in extractable) is wanted
    assert A.WRAP_WITH_TRUSTED not in key_template(TemplateKind.AES, Purpose.GENERATE, traits)


def test_requested_record_names_booleans_only() -> None:
    template = key_template(TemplateKind.AES, Purpose.IMPORT, extractable=True)
    record = requested_record(template)
    assert record["CKA_EXTRACTABLE"] is True and record["CKA_WRAP_WITH_TRUSTED"] is True
    assert "CKA_CLASS" not in record and "CKA_KEY_TYPE" not in record

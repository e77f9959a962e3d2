"""CKR names for every python-pkcs11 failure, and messages that name the token once, fully."""

from __future__ import annotations

import pytest
from pkcs11 import exceptions as p11

from ceremony.errors import HsmError, TokenNotFoundError
from ceremony.hsm.base import HsmConfig
from ceremony.hsm.pkcs11 import Pkcs11Backend, _cryptoki
from ceremony.hsm.pkcs11.errors import error_name, translate
from tests.hsm.conftest import HsmUnderTest

pytestmark = pytest.mark.hsm


@pytest.mark.parametrize(
    ("raised", "name"),
    [
        # python-pkcs11 0.10.1 raises its base class for a second C_WrapKey that is too small.
        (p11.PKCS11Error("Buffer was too small. Should never see this."), "CKR_BUFFER_TOO_SMALL"),
        (p11.PKCS11Error("Unmapped error code 0x150"), "CKR_BUFFER_TOO_SMALL"),
        (p11.PKCS11Error("Unmapped error code 0x80000001"), "CKR_0x80000001"),
        (
            p11.PKCS11Error("Initialisation error (already initialized). Should never see this."),
            "CKR_CRYPTOKI_ALREADY_INITIALIZED",
        ),
        (p11.PKCS11Error("Cryptoki not initialized"), "CKR_CRYPTOKI_NOT_INITIALIZED"),
        (p11.AttributeTypeInvalid(), "CKR_ATTRIBUTE_TYPE_INVALID"),
        (_cryptoki.CryptokiError("C_WrapKey", 0x150), "CKR_BUFFER_TOO_SMALL"),
    ],
)
def test_every_failure_has_a_real_ckr_name(raised: Exception, name: str) -> None:
    assert error_name(raised) == name
    assert "P_K_C_S11" not in error_name(p11.PKCS11Error("something new"))


def test_messages_name_the_token_once_by_model_serial_and_label(hsm: HsmUnderTest) -> None:
    info = hsm.preflight.token
    where = f"the token {info.describe()}"
    message = translate(p11.GeneralError(), "drawing random bytes", where, lambda: True).message
    assert message.count("token") == 1 + info.label.count("token")
    assert info.model in message and info.serial in message and info.label in message
    missing = Pkcs11Backend(HsmConfig(hsm.config.module_path, token_label="no-such-token"))
    with pytest.raises(TokenNotFoundError) as caught:
        missing.find_token()
    assert "the token labelled 'no-such-token' in" in caught.value.message
    assert "token token" not in caught.value.message


def test_a_refused_c_initialize_names_init_reserved_not_the_architecture() -> None:
    from tests.hsm import modules

    reason = modules.missing("nss")
    if reason is not None:
        pytest.skip(reason)
    from ceremony.hsm.pkcs11 import initialize

    initialize.finalize(modules.NSS_MODULE)
    backend = Pkcs11Backend(HsmConfig(modules.NSS_MODULE, token_label=modules.NSS_TOKEN_LABEL))
    with pytest.raises(HsmError) as caught:
        backend.preflight()
    assert "CKR_ARGUMENTS_BAD" in caught.value.message
    assert "init_reserved" in (caught.value.hint or "")
    assert "architecture" not in (caught.value.hint or "")

"""The one place that maps CKR_* return values to CeremonyError subclasses."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pkcs11.exceptions import PKCS11Error

from ceremony.errors import (
    CeremonyError,
    CheckValueError,
    HsmError,
    KeyNotExtractableError,
    MechanismNotSupportedError,
    PinIncorrectError,
    PinLockedError,
    TokenRemovedError,
)
from ceremony.hsm.base import PinRole, PinState
from ceremony.hsm.pkcs11 import _cryptoki

_REMOVED = {
    "CKR_DEVICE_REMOVED",
    "CKR_TOKEN_NOT_PRESENT",
    "CKR_TOKEN_NOT_RECOGNIZED",
    "CKR_SESSION_HANDLE_INVALID",
    "CKR_SESSION_CLOSED",
    "CKR_SLOT_ID_INVALID",
    "CKR_CRYPTOKI_NOT_INITIALIZED",
}
_UNSUPPORTED = {
    "CKR_MECHANISM_INVALID",
    "CKR_MECHANISM_PARAM_INVALID",
    "CKR_FUNCTION_NOT_SUPPORTED",
}
_NOT_EXTRACTABLE = {"CKR_KEY_UNEXTRACTABLE", "CKR_KEY_NOT_WRAPPABLE"}
# Errors a vanished token (SoftHSM: deleted token folder) produces besides the explicit ones.
_MAYBE_REMOVED = {"CKR_GENERAL_ERROR", "CKR_FUNCTION_FAILED", "CKR_DEVICE_ERROR"}
# What a token answers to a CKA_CHECK_VALUE that does not match the key value it was given.
_CHECK_VALUE_REFUSED = {"CKR_ATTRIBUTE_VALUE_INVALID", "CKR_TEMPLATE_INCONSISTENT"}
PIN_INCORRECT = "CKR_PIN_INCORRECT"


def error_name(ex: BaseException) -> str:
    """``CKR_...`` style name of a pkcs11 or ctypes failure, for messages and the record."""
    if isinstance(ex, _cryptoki.CryptokiError):
        return ex.name
    name = type(ex).__name__
    if name == "PKCS11Error":
        return _generic_name(str(ex))
    special = {
        "SlotIDInvalid": "CKR_SLOT_ID_INVALID",
        "TokenNotRecognised": "CKR_TOKEN_NOT_RECOGNIZED",
        "FunctionCancelled": "CKR_FUNCTION_CANCELED",
    }
    if name in special:
        return special[name]
    snake = "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(name)).upper()
    return f"CKR_{snake}"


def _generic_name(message: str) -> str:
    # python-pkcs11 raises its base PKCS11Error for a few return values, named only in the text.
    text = message.lower()
    if "buffer was too small" in text:
        return "CKR_BUFFER_TOO_SMALL"
    if "already initialized" in text:
        return "CKR_CRYPTOKI_ALREADY_INITIALIZED"
    if "not initialized" in text:
        return "CKR_CRYPTOKI_NOT_INITIALIZED"
    found = re.search(r"0x[0-9a-f]+", text)  # "Unmapped error code 0x..."
    if found:
        rv = int(found.group(0), 16)
        return _cryptoki.CKR_NAMES.get(rv, f"CKR_0x{rv:08X}")
    return "CKR_GENERAL_ERROR (python-pkcs11 did not name it)"


def translate(ex: BaseException, step: str, where: str, present: Callable[[], bool]) -> HsmError:
    """The CeremonyError for a failed PKCS#11 call during ``step`` on ``where`` (the token)."""
    name = error_name(ex)
    if name in _REMOVED or (name in _MAYBE_REMOVED and not present()):
        return TokenRemovedError(
            f"{where} went away while {step} ({name})",
            hint="stop: reconnect the token and check it; the journal shows the last completed "
            "step, start again from there with a fresh session",
        )
    if name in _UNSUPPORTED:
        return MechanismNotSupportedError(
            f"{step}: not supported by {where} ({name})",
            hint="run 'ceremony hsm info' to see what this token can do; choose another "
            "algorithm or another token",
        )
    if name in _NOT_EXTRACTABLE:
        return KeyNotExtractableError(
            f"{step}: {where} refuses to let this key out ({name})",
            hint="a non-extractable key can never leave the token; a key marked "
            "CKA_WRAP_WITH_TRUSTED leaves only under a key the security officer trusted",
        )
    if name == "CKR_PIN_LOCKED":
        return PinLockedError(
            f"the PIN of {where} is locked",
            hint="the security officer must unblock it (C_InitPIN) before anyone can log in",
        )
    if name in ("CKR_USER_ALREADY_LOGGED_IN", "CKR_USER_ANOTHER_ALREADY_LOGGED_IN"):
        return HsmError(
            f"{step}: someone is already logged in to {where} from this process",
            hint="close the other session first; one ceremony session per token at a time",
        )
    return HsmError(
        f"{where} refused {step} ({name})",
        hint="note the error name in the journal; check the token and the ceremony settings",
    )


@contextmanager
def translated(step: str, where: str, present: Callable[[], bool]) -> Iterator[None]:
    """Turn every PKCS#11 failure inside the block into a CeremonyError (``raise ... from``)."""
    try:
        yield
    except CeremonyError:
        raise
    except (PKCS11Error, _cryptoki.CryptokiError) as ex:
        raise translate(ex, step, where, present) from ex


def wrong_pin(role: PinRole, who: str, after: PinState | None) -> PinIncorrectError:
    """CKR_PIN_INCORRECT at a login, with the PIN state the token reports afterwards."""
    told = f"; the token now reports: {after.value}" if after else ""
    return PinIncorrectError(
        f"wrong {role.value} PIN for {who}{told}",
        hint="nothing was done; check the PIN and try again. Do not guess: "
        "tokens lock after a few wrong PINs",
        pin_state=after.name if after else None,
    )


def check_value_refused(ex: HsmError, step: str) -> CheckValueError | None:
    """A CheckValueError if the token refused an import for its CKA_CHECK_VALUE, else None."""
    cause = ex.__cause__
    if not isinstance(cause, _cryptoki.CryptokiError) or cause.name not in _CHECK_VALUE_REFUSED:
        return None
    return CheckValueError(
        f"{step}: the token computed another CKA_CHECK_VALUE from the key material ({cause.name})",
        hint="stop: the material changed between our check and the token; "
        "do not use it, start the import again",
    )

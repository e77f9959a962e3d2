"""Thin ctypes calls for the few PKCS#11 functions python-pkcs11 lacks or copies secrets through."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

# Why ctypes at all: python-pkcs11 0.10.1 has no C_InitToken, copies PINs and CKA_VALUE into
# immutable bytes we cannot wipe, and leaks a session when C_Login fails. These calls use the
# module's own function list (the same one python-pkcs11 uses) and point straight into our
# wipeable buffers. Layout is the Unix ABI (natural alignment); Windows packs structs to 1 byte.

CK_ULONG = ctypes.c_ulong
CK_RV = ctypes.c_ulong

CKU_SO = 0
CKU_USER = 1

CKR_NAMES: Mapping[int, str] = {
    0x000: "CKR_OK",
    0x005: "CKR_GENERAL_ERROR",
    0x006: "CKR_FUNCTION_FAILED",
    0x007: "CKR_ARGUMENTS_BAD",
    0x00A: "CKR_CANT_LOCK",
    0x010: "CKR_ATTRIBUTE_READ_ONLY",
    0x012: "CKR_ATTRIBUTE_TYPE_INVALID",
    0x013: "CKR_ATTRIBUTE_VALUE_INVALID",
    0x030: "CKR_DEVICE_ERROR",
    0x031: "CKR_DEVICE_MEMORY",
    0x032: "CKR_DEVICE_REMOVED",
    0x021: "CKR_DATA_LEN_RANGE",
    0x054: "CKR_FUNCTION_NOT_SUPPORTED",
    0x060: "CKR_KEY_HANDLE_INVALID",
    0x062: "CKR_KEY_SIZE_RANGE",
    0x063: "CKR_KEY_TYPE_INCONSISTENT",
    0x068: "CKR_KEY_FUNCTION_NOT_PERMITTED",
    0x069: "CKR_KEY_NOT_WRAPPABLE",
    0x06A: "CKR_KEY_UNEXTRACTABLE",
    0x070: "CKR_MECHANISM_INVALID",
    0x071: "CKR_MECHANISM_PARAM_INVALID",
    0x082: "CKR_OBJECT_HANDLE_INVALID",
    0x0A0: "CKR_PIN_INCORRECT",
    0x0A1: "CKR_PIN_INVALID",
    0x0A2: "CKR_PIN_LEN_RANGE",
    0x0A3: "CKR_PIN_EXPIRED",
    0x0A4: "CKR_PIN_LOCKED",
    0x0B0: "CKR_SESSION_CLOSED",
    0x0B3: "CKR_SESSION_HANDLE_INVALID",
    0x0B5: "CKR_SESSION_READ_ONLY",
    0x0B6: "CKR_SESSION_EXISTS",
    0x0B7: "CKR_SESSION_READ_ONLY_EXISTS",
    0x0B8: "CKR_SESSION_READ_WRITE_SO_EXISTS",
    0x0D0: "CKR_TEMPLATE_INCOMPLETE",
    0x0D1: "CKR_TEMPLATE_INCONSISTENT",
    0x0E0: "CKR_TOKEN_NOT_PRESENT",
    0x0E1: "CKR_TOKEN_NOT_RECOGNIZED",
    0x0E2: "CKR_TOKEN_WRITE_PROTECTED",
    0x100: "CKR_USER_ALREADY_LOGGED_IN",
    0x101: "CKR_USER_NOT_LOGGED_IN",
    0x102: "CKR_USER_PIN_NOT_INITIALIZED",
    0x103: "CKR_USER_TYPE_INVALID",
    0x104: "CKR_USER_ANOTHER_ALREADY_LOGGED_IN",
    0x113: "CKR_WRAPPING_KEY_HANDLE_INVALID",
    0x114: "CKR_WRAPPING_KEY_SIZE_RANGE",
    0x115: "CKR_WRAPPING_KEY_TYPE_INCONSISTENT",
    0x150: "CKR_BUFFER_TOO_SMALL",
    0x190: "CKR_CRYPTOKI_NOT_INITIALIZED",
    0x191: "CKR_CRYPTOKI_ALREADY_INITIALIZED",
}
CKR_BUFFER_TOO_SMALL = 0x150
# Tries at C_WrapKey with a bigger buffer after CKR_BUFFER_TOO_SMALL.
_WRAP_TRIES = 4


class CryptokiError(Exception):
    """A non-OK return value from a ctypes call; translated by the backend like any pkcs11 error."""

    def __init__(self, function: str, rv: int) -> None:
        self.function = function
        self.rv = rv
        self.name = CKR_NAMES.get(rv, f"CKR_0x{rv:08X}")
        super().__init__(f"{function} returned {self.name}")


class _Version(ctypes.Structure):
    _fields_ = (("major", ctypes.c_ubyte), ("minor", ctypes.c_ubyte))


# CK_FUNCTION_LIST up to C_Logout, in the order fixed by every PKCS#11 version since 2.01.
_FUNCTIONS = (
    "C_Initialize",
    "C_Finalize",
    "C_GetInfo",
    "C_GetFunctionList",
    "C_GetSlotList",
    "C_GetSlotInfo",
    "C_GetTokenInfo",
    "C_GetMechanismList",
    "C_GetMechanismInfo",
    "C_InitToken",
    "C_InitPIN",
    "C_SetPIN",
    "C_OpenSession",
    "C_CloseSession",
    "C_CloseAllSessions",
    "C_GetSessionInfo",
    "C_GetOperationState",
    "C_SetOperationState",
    "C_Login",
    "C_Logout",
    "C_CreateObject",
    "C_CopyObject",
    "C_DestroyObject",
    "C_GetObjectSize",
    "C_GetAttributeValue",
    "C_SetAttributeValue",
    "C_FindObjectsInit",
    "C_FindObjects",
    "C_FindObjectsFinal",
    "C_EncryptInit",
    "C_Encrypt",
    "C_EncryptUpdate",
    "C_EncryptFinal",
    "C_DecryptInit",
    "C_Decrypt",
    "C_DecryptUpdate",
    "C_DecryptFinal",
    "C_DigestInit",
    "C_Digest",
    "C_DigestUpdate",
    "C_DigestKey",
    "C_DigestFinal",
    "C_SignInit",
    "C_Sign",
    "C_SignUpdate",
    "C_SignFinal",
    "C_SignRecoverInit",
    "C_SignRecover",
    "C_VerifyInit",
    "C_Verify",
    "C_VerifyUpdate",
    "C_VerifyFinal",
    "C_VerifyRecoverInit",
    "C_VerifyRecover",
    "C_DigestEncryptUpdate",
    "C_DecryptDigestUpdate",
    "C_SignEncryptUpdate",
    "C_DecryptVerifyUpdate",
    "C_GenerateKey",
    "C_GenerateKeyPair",
    "C_WrapKey",
)


class _FunctionList(ctypes.Structure):
    _fields_ = (("version", _Version), *((name, ctypes.c_void_p) for name in _FUNCTIONS))


class _Attribute(ctypes.Structure):
    _fields_ = (("type", CK_ULONG), ("pValue", ctypes.c_void_p), ("ulValueLen", CK_ULONG))


class _Mechanism(ctypes.Structure):
    _fields_ = (
        ("mechanism", CK_ULONG),
        ("pParameter", ctypes.c_void_p),
        ("ulParameterLen", CK_ULONG),
    )


class _OaepParams(ctypes.Structure):
    _fields_ = (
        ("hashAlg", CK_ULONG),
        ("mgf", CK_ULONG),
        ("source", CK_ULONG),
        ("pSourceData", ctypes.c_void_p),
        ("ulSourceDataLen", CK_ULONG),
    )


class _RsaAesKeyWrapParams(ctypes.Structure):
    _fields_ = (("ulAESKeyBits", CK_ULONG), ("pOAEPParams", ctypes.c_void_p))


class _KeyDerivationStringData(ctypes.Structure):
    _fields_ = (("pData", ctypes.c_void_p), ("ulLen", CK_ULONG))


_PROTOTYPES: Mapping[str, Any] = {
    "C_InitToken": ctypes.CFUNCTYPE(CK_RV, CK_ULONG, ctypes.c_void_p, CK_ULONG, ctypes.c_char_p),
    "C_InitPIN": ctypes.CFUNCTYPE(CK_RV, CK_ULONG, ctypes.c_void_p, CK_ULONG),
    "C_Login": ctypes.CFUNCTYPE(CK_RV, CK_ULONG, CK_ULONG, ctypes.c_void_p, CK_ULONG),
    "C_Logout": ctypes.CFUNCTYPE(CK_RV, CK_ULONG),
    "C_CreateObject": ctypes.CFUNCTYPE(
        CK_RV, CK_ULONG, ctypes.POINTER(_Attribute), CK_ULONG, ctypes.POINTER(CK_ULONG)
    ),
    "C_WrapKey": ctypes.CFUNCTYPE(
        CK_RV,
        CK_ULONG,
        ctypes.POINTER(_Mechanism),
        CK_ULONG,
        CK_ULONG,
        ctypes.c_void_p,
        ctypes.POINTER(CK_ULONG),
    ),
}


class Cryptoki:
    """Direct calls into one module's function list; PINs and values are passed by pointer."""

    def __init__(self, module_path: str) -> None:
        # dlopen of the same path returns the handle python-pkcs11 already holds: one library state.
        self._dll = ctypes.CDLL(module_path)
        get_list = self._dll.C_GetFunctionList
        get_list.restype = CK_RV
        get_list.argtypes = (ctypes.POINTER(ctypes.POINTER(_FunctionList)),)
        pointer = ctypes.POINTER(_FunctionList)()
        rv = get_list(ctypes.byref(pointer))
        if rv:
            raise CryptokiError("C_GetFunctionList", rv)
        self._list = pointer.contents
        self._calls = {
            name: prototype(getattr(self._list, name)) for name, prototype in _PROTOTYPES.items()
        }

    def _call(self, name: str, *args: Any) -> None:
        rv = int(self._calls[name](*args))
        if rv:
            raise CryptokiError(name, rv)

    def init_token(self, slot_id: int, so_pin: bytearray, label: str) -> None:
        """C_InitToken: the label is blank-padded to 32 bytes, the SO PIN is read in place."""
        padded = label.encode("utf-8").ljust(32, b" ")
        with _pointer_to(so_pin) as pin:
            self._call("C_InitToken", slot_id, pin, len(so_pin), padded)

    def init_pin(self, session_handle: int, user_pin: bytearray) -> None:
        """C_InitPIN in an SO session."""
        with _pointer_to(user_pin) as pin:
            self._call("C_InitPIN", session_handle, pin, len(user_pin))

    def login(self, session_handle: int, user_type: int, pin: bytearray) -> None:
        with _pointer_to(pin) as pointer:
            self._call("C_Login", session_handle, user_type, pointer, len(pin))

    def logout(self, session_handle: int) -> None:
        self._call("C_Logout", session_handle)

    def create_object(
        self, session_handle: int, template: Mapping[int, bool | int | bytes | bytearray]
    ) -> int:
        """C_CreateObject; a bytearray value (key material) is passed in place, never copied."""
        keep: list[Any] = []
        attributes = (_Attribute * len(template))()
        for slot, (kind, value) in zip(attributes, template.items(), strict=True):
            slot.type = kind
            if isinstance(value, bool):
                buffer: Any = ctypes.c_ubyte(1 if value else 0)
                size = 1
            elif isinstance(value, int):
                buffer = CK_ULONG(value)
                size = ctypes.sizeof(CK_ULONG)
            elif isinstance(value, bytearray):
                buffer = (ctypes.c_ubyte * max(len(value), 1)).from_buffer(value or bytearray(1))
                size = len(value)
            else:
                buffer = ctypes.create_string_buffer(bytes(value), max(len(value), 1))
                size = len(value)
            keep.append(buffer)
            slot.pValue = ctypes.addressof(buffer)
            slot.ulValueLen = size
        handle = CK_ULONG(0)
        try:
            self._call(
                "C_CreateObject",
                session_handle,
                attributes,
                len(template),
                ctypes.byref(handle),
            )
        finally:
            # Drop the views into caller buffers so a Secret can be wiped and freed.
            keep.clear()
        return int(handle.value)

    def wrap_key(
        self,
        session_handle: int,
        mechanism: int,
        parameter: MechanismParameter | None,
        wrapping_handle: int,
        key_handle: int,
        size: int | None = None,
    ) -> bytes:
        """C_WrapKey, for mechanisms python-pkcs11 cannot name or sizes wrongly.

        ``size`` is the output length the caller knows (RFC 5649: ceil8(n) + 8); without it
        the module is asked first. Either way a CKR_BUFFER_TOO_SMALL is retried with a bigger
        buffer: NSS softokn 3.87 reports too small a length for CKM_AES_KEY_WRAP_KWP.
        """
        packed = parameter.packed if parameter is not None else b""
        raw = ctypes.create_string_buffer(packed, max(len(packed), 1))
        mech = _Mechanism(mechanism, ctypes.addressof(raw) if packed else None, len(packed))
        length = CK_ULONG(0)
        args = (session_handle, ctypes.byref(mech), wrapping_handle, key_handle)
        if size is None:
            self._call("C_WrapKey", *args, None, ctypes.byref(length))
            size = int(length.value)
        for _ in range(_WRAP_TRIES):
            out = ctypes.create_string_buffer(max(size, 1))
            length.value = size
            rv = int(self._calls["C_WrapKey"](*args, out, ctypes.byref(length)))
            if rv == 0:
                return out.raw[: int(length.value)]
            if rv != CKR_BUFFER_TOO_SMALL:
                raise CryptokiError("C_WrapKey", rv)
            size = max(int(length.value), 2 * size, 16)
        raise CryptokiError("C_WrapKey", CKR_BUFFER_TOO_SMALL)


@contextmanager
def _pointer_to(buffer: bytearray) -> Iterator[ctypes.c_void_p]:
    """A pointer into ``buffer`` itself (no copy), valid inside the block."""
    view = (ctypes.c_ubyte * max(len(buffer), 1)).from_buffer(buffer or bytearray(1))
    try:
        yield ctypes.cast(view, ctypes.c_void_p)
    finally:
        del view


class MechanismParameter:
    """A packed parameter struct plus every buffer it points into, kept alive together."""

    def __init__(self, packed: bytes, *keep: Any) -> None:
        self.packed = packed
        self._keep = keep

    def release(self) -> None:
        self._keep = ()


def xor_base_and_data_parameter(data: bytearray) -> MechanismParameter:
    """CK_KEY_DERIVATION_STRING_DATA pointing into ``data`` (a component, never copied)."""
    view = (ctypes.c_ubyte * len(data)).from_buffer(data)
    params = _KeyDerivationStringData(ctypes.cast(view, ctypes.c_void_p), len(data))
    return MechanismParameter(bytes(params), view)


def rsa_aes_key_wrap_parameter(aes_bits: int, hash_mechanism: int, mgf: int) -> MechanismParameter:
    """CK_RSA_AES_KEY_WRAP_PARAMS with OAEP(hash, MGF1(hash), empty label)."""
    oaep = _OaepParams(hash_mechanism, mgf, 1, None, 0)  # source 1 = CKZ_DATA_SPECIFIED
    params = _RsaAesKeyWrapParams(aes_bits, ctypes.addressof(oaep))
    return MechanismParameter(bytes(params), oaep)

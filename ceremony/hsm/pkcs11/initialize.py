"""C_Initialize with OS locking and a module's parameter string, under python-pkcs11."""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from typing import Any

import pkcs11
from pkcs11 import _pkcs11

from ceremony.errors import HsmError
from ceremony.hsm.pkcs11 import _cryptoki

# Why: python-pkcs11 0.10.1 always calls C_Initialize(NULL). NULL tells the module that the
# application will not call it from more than one thread (the TUI calls it from a worker
# thread), and NSS softokn refuses NULL outright: it needs its database folder in pReserved.
# python-pkcs11 does not tolerate CKR_CRYPTOKI_ALREADY_INITIALIZED either, so calling
# C_Initialize ourselves before pkcs11.lib() is not enough. Its lib.initialize() is a cpdef
# method, so a Python subclass overrides it, also for the call in lib.__init__; that subclass
# is registered in python-pkcs11's per-path cache, so pkcs11.lib(path) returns it. dlopen of
# the same file returns the one library instance python-pkcs11 holds: one library state.

CKF_OS_LOCKING_OK = 0x2
CKR_CANT_LOCK = 0x0A
CKR_ARGUMENTS_BAD = 0x07
CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191
CKR_CRYPTOKI_NOT_INITIALIZED = 0x190
_NAMES = {
    CKR_CANT_LOCK: "CKR_CANT_LOCK",
    CKR_CRYPTOKI_ALREADY_INITIALIZED: "CKR_CRYPTOKI_ALREADY_INITIALIZED",
}


class _InitializeArgs(ctypes.Structure):
    # CK_C_INITIALIZE_ARGS: no mutex callbacks, so CKF_OS_LOCKING_OK means "use the OS's locks".
    _fields_ = (
        ("CreateMutex", ctypes.c_void_p),
        ("DestroyMutex", ctypes.c_void_p),
        ("LockMutex", ctypes.c_void_p),
        ("UnlockMutex", ctypes.c_void_p),
        ("flags", ctypes.c_ulong),
        ("pReserved", ctypes.c_void_p),
    )


_ENTRY = ctypes.CFUNCTYPE(_cryptoki.CK_RV, ctypes.c_void_p)


@dataclass
class _Entries:
    dll: ctypes.CDLL  # kept: the library stays mapped while we may call into it
    c_initialize: Any
    c_finalize: Any


@dataclass
class _Active:
    reserved: str | None
    args: _InitializeArgs
    keep: Any  # the pReserved buffer, alive as long as the module is initialised


# One lock for every path: C_Initialize and C_Finalize must never race each other (PKCS#11 5.4).
_LOCK = threading.RLock()
_ENTRIES: dict[str, _Entries] = {}
_ACTIVE: dict[str, _Active] = {}
_WANTED: dict[str, str | None] = {}


def _entries(path: str) -> _Entries:
    found = _ENTRIES.get(path)
    if found is None:
        dll = ctypes.CDLL(path)
        get_list = dll.C_GetFunctionList
        get_list.restype = _cryptoki.CK_RV
        get_list.argtypes = (ctypes.POINTER(ctypes.POINTER(_cryptoki._FunctionList)),)
        pointer = ctypes.POINTER(_cryptoki._FunctionList)()
        rv = int(get_list(ctypes.byref(pointer)))
        if rv:
            raise _cryptoki.CryptokiError("C_GetFunctionList", rv)
        functions = pointer.contents
        found = _Entries(dll, _ENTRY(functions.C_Initialize), _ENTRY(functions.C_Finalize))
        _ENTRIES[path] = found
    return found


def _name(rv: int) -> str:
    return _NAMES.get(rv) or _cryptoki.CKR_NAMES.get(rv, f"CKR_0x{rv:08X}")


def _c_initialize(path: str, reserved: str | None) -> None:
    current = _ACTIVE.get(path)
    if current is not None:
        if current.reserved == reserved:
            return
        _c_finalize(path)
    keep = ctypes.create_string_buffer(reserved.encode("utf-8")) if reserved is not None else None
    args = _InitializeArgs(
        None, None, None, None, CKF_OS_LOCKING_OK, ctypes.addressof(keep) if keep else None
    )
    rv = int(_entries(path).c_initialize(ctypes.byref(args)))
    if rv == 0:
        _ACTIVE[path] = _Active(reserved, args, keep)
        return
    raise _refusal(path, reserved, rv)


def _refusal(path: str, reserved: str | None, rv: int) -> HsmError:
    name = _name(rv)
    if rv == CKR_CANT_LOCK:
        hint = (
            "the module cannot lock for several threads; ask its vendor for a thread-safe "
            "build (the TUI calls the HSM from a worker thread)"
        )
    elif rv == CKR_ARGUMENTS_BAD and reserved is None:
        hint = (
            "this module needs its initialisation string: set [hsm] init_reserved in the "
            "ceremony file, or pass 'ceremony hsm info --init-reserved TEXT' (for NSS softokn: "
            "configdir='sql:DIR' certPrefix='' keyPrefix='' secmod='secmod.db' flags='')"
        )
    elif rv == CKR_CRYPTOKI_ALREADY_INITIALIZED:
        hint = "other code in this process initialised the module first; report this as a bug"
    else:
        hint = "check [hsm] init_reserved and the module's own documentation"
    return HsmError(f"the PKCS#11 module {path} refused C_Initialize ({name})", hint=hint)


def _c_finalize(path: str) -> None:
    if _ACTIVE.pop(path, None) is None:
        return
    rv = int(_entries(path).c_finalize(None))
    if rv not in (0, CKR_CRYPTOKI_NOT_INITIALIZED):
        raise HsmError(
            f"the PKCS#11 module {path} refused C_Finalize ({_name(rv)})",
            hint="close every session on the token, then try again",
        )


class _Library(_pkcs11.lib):
    """python-pkcs11's library whose C_Initialize passes our CK_C_INITIALIZE_ARGS."""

    def initialize(self) -> None:
        with _LOCK:
            _c_initialize(self.so, _WANTED.get(self.so))

    def finalize(self) -> None:
        with _LOCK:
            _c_finalize(self.so)

    def reinitialize(self) -> None:
        with _LOCK:
            self.finalize()
            self.initialize()

    @property
    def initialized(self) -> bool:  # type: ignore[override]
        # The C-level flag stays False: python-pkcs11's own C_Finalize(NULL) never runs for us.
        return self.so in _ACTIVE


def load(module_path: str, reserved: str | None = None) -> _pkcs11.lib:
    """The python-pkcs11 library for ``module_path``, initialised with OS locking and ``reserved``.

    Call it before ``pkcs11.lib(module_path)``, which then returns the same object. Calling it
    again with another ``reserved`` (another NSS database folder) finalises and initialises the
    module anew: every session and object handle of the old state is gone. ``reserved`` is the
    module's own parameter string (``CK_C_INITIALIZE_ARGS.pReserved``); it never holds a PIN.
    """
    with _LOCK:
        registry: dict[str, Any] = pkcs11._loaded  # python-pkcs11's per-path cache
        existing = registry.get(module_path)
        _WANTED[module_path] = reserved
        if isinstance(existing, _Library):
            existing.initialize()
            return existing
        if existing is not None:
            # Loaded before us with C_Initialize(NULL): finalise that state, take its place.
            if existing.initialized:
                existing.finalize()
            del registry[module_path]
        try:
            library = _Library(module_path)
        except (pkcs11.PKCS11Error, OSError, _cryptoki.CryptokiError) as ex:
            _c_finalize(module_path)
            raise HsmError(
                f"cannot load the PKCS#11 module {module_path} ({type(ex).__name__})",
                hint="check the module path and that it matches this machine's architecture",
            ) from ex
        registry[module_path] = library
        return library


def finalize(module_path: str) -> None:
    """C_Finalize a module that :func:`load` initialised (every session of it closes)."""
    with _LOCK:
        _c_finalize(module_path)


def nss_reserved(database: str) -> str:
    """NSS softokn's parameter string for one ``sql:`` database folder, read-write."""
    if "'" in database:
        raise HsmError(
            f"the NSS database folder {database!r} contains a quote",
            hint="use a folder whose path has no ' character",
        )
    return f"configdir='sql:{database}' certPrefix='' keyPrefix='' secmod='secmod.db' flags=''"

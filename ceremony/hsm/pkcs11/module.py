"""Loading a PKCS#11 module once per process, and the public facts a token reports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pkcs11 import TokenFlag
from pkcs11.exceptions import PKCS11Error

from ceremony.errors import HsmError
from ceremony.hsm import softhsm
from ceremony.hsm.base import PinRole, PinState, TokenInfo
from ceremony.hsm.pkcs11 import _cryptoki, initialize


@dataclass
class LoadedModule:
    path: str
    lib: Any
    cryptoki: _cryptoki.Cryptoki
    softhsm_conf: str | None
    init_reserved: str | None = None


_MODULES: dict[str, LoadedModule] = {}


def load_module(module_path: str, init_reserved: str | None = None) -> LoadedModule:
    """Load (once per process) and initialise a PKCS#11 module; SoftHSM gets our private conf.

    C_Initialize gets CKF_OS_LOCKING_OK and ``init_reserved`` as pReserved (``initialize``);
    another ``init_reserved`` (another NSS database) initialises the module anew.
    """
    path = str(Path(module_path))
    if Path(path).is_dir():
        raise HsmError(
            f"PKCS#11 module {path} is a folder, not a module file",
            hint="name the module's .so file itself (for SoftHSM2 e.g. "
            "/usr/lib/softhsm/libsofthsm2.so), in [hsm] module or CEREMONY_PKCS11_MODULE",
        )
    if not Path(path).is_file():
        what = "is not a regular file" if Path(path).exists() else "does not exist"
        raise HsmError(
            f"PKCS#11 module {path} {what}",
            hint="install the token vendor's module, or set CEREMONY_PKCS11_MODULE to its path",
        )
    # SoftHSM reads SOFTHSM2_CONF in C_Initialize, so it must point at our store before that.
    conf = str(softhsm.activate()) if softhsm.is_softhsm_module(path) else None
    loaded = _MODULES.get(path)
    try:
        if loaded is not None and loaded.softhsm_conf != conf and loaded.lib.initialized:
            loaded.lib.finalize()
        # Initialises it if needed (again after a finalise), with our C_Initialize arguments.
        lib = initialize.load(path, init_reserved)
        if loaded is None or loaded.lib is not lib:
            loaded = LoadedModule(path, lib, _cryptoki.Cryptoki(path), conf, init_reserved)
            _MODULES[path] = loaded
        loaded.softhsm_conf = conf
        loaded.init_reserved = init_reserved
    except (PKCS11Error, _cryptoki.CryptokiError, OSError) as ex:
        raise HsmError(
            f"cannot load the PKCS#11 module {path} ({type(ex).__name__})",
            hint="check the module path and that it matches this machine's architecture",
        ) from ex
    return loaded


def _version(v: tuple[int, int]) -> str:
    return f"{v[0]}.{v[1]}"


# Per PIN: the flag that says it is set, then its locked, final-try and count-low flags.
_PIN_FLAGS = {
    PinRole.USER: (
        TokenFlag.USER_PIN_INITIALIZED,
        TokenFlag.USER_PIN_LOCKED,
        TokenFlag.USER_PIN_FINAL_TRY,
        TokenFlag.USER_PIN_COUNT_LOW,
    ),
    PinRole.SO: (
        TokenFlag.TOKEN_INITIALIZED,
        TokenFlag.SO_PIN_LOCKED,
        TokenFlag.SO_PIN_FINAL_TRY,
        TokenFlag.SO_PIN_COUNT_LOW,
    ),
}


def _pin_state(flags: int, role: PinRole) -> PinState:
    initialized, locked, final, low = _PIN_FLAGS[role]
    if not flags & initialized:
        return PinState.NOT_INITIALIZED
    if flags & locked:
        return PinState.LOCKED
    if flags & final:
        return PinState.FINAL_TRY
    if flags & low:
        return PinState.COUNT_LOW
    return PinState.OK


def token_info(module: LoadedModule, token: Any) -> TokenInfo:
    """Public facts about a token and its library, for the record and for prompts."""
    lib = module.lib
    flags = int(token.flags)
    return TokenInfo(
        label=token.label,
        serial=token.serial.decode("ascii", "replace").strip(),
        model=token.model,
        manufacturer=token.manufacturer_id,
        hardware_version=_version(token.hardware_version),
        firmware_version=_version(token.firmware_version),
        library_description=lib.library_description,
        library_manufacturer=lib.manufacturer_id,
        library_version=_version(lib.library_version),
        cryptoki_version=_version(lib.cryptoki_version),
        module_path=module.path,
        user_pin=_pin_state(flags, PinRole.USER),
        so_pin=_pin_state(flags, PinRole.SO),
        flags=tuple(f.name for f in TokenFlag if f.name and f.value and flags & f == f),
    )

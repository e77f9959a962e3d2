"""The PKCS#11 backend on python-pkcs11: every pkcs11 failure becomes a CeremonyError here."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pkcs11
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding
from pkcs11 import MGF, Attribute, KeyType, Mechanism, ObjectClass, TokenFlag
from pkcs11.exceptions import (
    AttributeSensitive,
    AttributeTypeInvalid,
    PKCS11Error,
)

from ceremony.core import kcv
from ceremony.core.component import KeyAlgorithm
from ceremony.core.kcv import CheckValue, KcvMethod
from ceremony.core.keylengths import require_key_length
from ceremony.core.secret import Secret
from ceremony.core.wrap import OaepHash
from ceremony.errors import (
    CeremonyError,
    CheckValueError,
    HsmError,
    ImportKeyError,
    KeyMaterialError,
    KeyNotExtractableError,
    KeyNotFoundError,
    LabelExistsError,
    MechanismNotSupportedError,
    PinFinalTryError,
    PinIncorrectError,
    PinLockedError,
    RuleViolation,
    TokenNotFoundError,
    TokenRemovedError,
    WrapError,
)
from ceremony.hsm import _cryptoki, mechanisms
from ceremony.hsm.base import (
    Capability,
    DestroyRecord,
    HsmBackend,
    HsmConfig,
    HsmSession,
    ImportPath,
    ImportResult,
    KeyAttributes,
    KeyKind,
    KeyRecord,
    KeySpec,
    PinState,
    Preflight,
    RandomBytes,
    SignatureFormat,
    TokenCheckValues,
    TokenInfo,
    TrustRequest,
    WrapConstruction,
    WrapResult,
    component_length,
    require_no_component_is_key,
    require_strong_components,
    xor_in_memory,
)
from ceremony.hsm.pin import PinPrompter, PinRequest, PinRole

log = logging.getLogger(__name__)

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

_ZERO_BLOCK = bytes(16)
_OAEP = {
    OaepHash.SHA1: (Mechanism.SHA_1, MGF.SHA1),
    OaepHash.SHA256: (Mechanism.SHA256, MGF.SHA256),
}
_CAP_OAEP = {OaepHash.SHA1: Capability.OAEP_SHA1, OaepHash.SHA256: Capability.OAEP_SHA256}
_CAP_RSA_AES = {
    OaepHash.SHA1: Capability.RSA_AES_KEY_WRAP_SHA1,
    OaepHash.SHA256: Capability.RSA_AES_KEY_WRAP_SHA256,
}
_CLASS_NAMES = {
    ObjectClass.SECRET_KEY: "secret key",
    ObjectClass.PRIVATE_KEY: "private key",
    ObjectClass.PUBLIC_KEY: "public key",
    ObjectClass.CERTIFICATE: "certificate",
    ObjectClass.DATA: "data object",
}


# ---------------------------------------------------------------------------- module loading


@dataclass
class _Module:
    path: str
    lib: Any
    cryptoki: _cryptoki.Cryptoki
    softhsm_conf: str | None


_MODULES: dict[str, _Module] = {}


def load_module(module_path: str) -> _Module:
    """Load (once per process) and initialise a PKCS#11 module; SoftHSM gets our private conf."""
    # Imported here: softhsm's bootstrap is built on this module.
    from ceremony.hsm import softhsm

    path = str(Path(module_path))
    if not Path(path).is_file():
        raise HsmError(
            f"PKCS#11 module {path} does not exist",
            hint="install the token vendor's module, or set CEREMONY_PKCS11_MODULE to its path",
        )
    # SoftHSM reads SOFTHSM2_CONF in C_Initialize, so it must point at our store before that.
    conf = str(softhsm.activate()) if softhsm.is_softhsm_module(path) else None
    loaded = _MODULES.get(path)
    try:
        if loaded is None:
            loaded = _Module(path, pkcs11.lib(path), _cryptoki.Cryptoki(path), conf)
            _MODULES[path] = loaded
        elif not loaded.lib.initialized or loaded.softhsm_conf != conf:
            if loaded.lib.initialized:
                loaded.lib.finalize()
            loaded.lib.initialize()
            loaded.softhsm_conf = conf
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


def token_info(module: _Module, token: Any) -> TokenInfo:
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


# ---------------------------------------------------------------------------- error translation


def _translate(ex: BaseException, step: str, where: str, present: Callable[[], bool]) -> HsmError:
    name = mechanisms.error_name(ex)
    if name in _REMOVED or (name in _MAYBE_REMOVED and not present()):
        return TokenRemovedError(
            f"the token {where} went away while {step} ({name})",
            hint="stop: reconnect the token and check it; the journal shows the last completed "
            "step, start again from there with a fresh session",
        )
    if name in _UNSUPPORTED:
        return MechanismNotSupportedError(
            f"{step}: not supported by the token {where} ({name})",
            hint="run 'ceremony hsm info' to see what this token can do; choose another "
            "algorithm or another token",
        )
    if name in _NOT_EXTRACTABLE:
        return KeyNotExtractableError(
            f"{step}: the token {where} refuses to let this key out ({name})",
            hint="a non-extractable key can never leave the token; a key marked "
            "CKA_WRAP_WITH_TRUSTED leaves only under a key the security officer trusted",
        )
    if name == "CKR_PIN_LOCKED":
        return PinLockedError(
            f"the PIN of the token {where} is locked",
            hint="the security officer must unblock it (C_InitPIN) before anyone can log in",
        )
    if name in ("CKR_USER_ALREADY_LOGGED_IN", "CKR_USER_ANOTHER_ALREADY_LOGGED_IN"):
        return HsmError(
            f"{step}: someone is already logged in to the token {where} from this process",
            hint="close the other session first; one ceremony session per token at a time",
        )
    return HsmError(
        f"the token {where} refused {step} ({name})",
        hint="note the error name in the journal; check the token and the ceremony settings",
    )


@contextmanager
def _translated(step: str, where: str, present: Callable[[], bool]) -> Iterator[None]:
    try:
        yield
    except CeremonyError:
        raise
    except (PKCS11Error, _cryptoki.CryptokiError) as ex:
        raise _translate(ex, step, where, present) from ex


# ---------------------------------------------------------------------------- backend


_OPEN: set[tuple[str, str]] = set()  # (module, serial) with a logged-in ceremony session


class Pkcs11Backend:
    """A token found by label or serial in a PKCS#11 module; slot ids are never used."""

    def __init__(self, config: HsmConfig) -> None:
        self.config = config
        self._preflight: Preflight | None = None

    @property
    def _where(self) -> str:
        return self.config.describe()

    def module(self) -> _Module:
        return load_module(self.config.module_path)

    def token_present(self) -> bool:
        try:
            self._find_token()
        except CeremonyError:
            return False
        return True

    def find_token(self) -> Any:
        """The python-pkcs11 Token, looked up afresh (flags change after every login)."""
        return self._find_token()

    def _find_token(self) -> Any:
        module = self.module()
        serial = self.config.token_serial.encode("ascii") if self.config.token_serial else None
        with _translated("looking for the token", self._where, lambda: True):
            tokens = list(
                module.lib.get_tokens(token_label=self.config.token_label, token_serial=serial)
            )
        if not tokens:
            raise TokenNotFoundError(
                f"no {self._where} is present",
                hint="connect the token; for the rehearsal token run 'ceremony hsm init'; "
                "check CEREMONY_TOKEN_LABEL / CEREMONY_TOKEN_SERIAL",
            )
        if len(tokens) > 1:
            raise HsmError(
                f"{len(tokens)} tokens match {self._where}",
                hint="select the token by its serial number as well",
            )
        return tokens[0]

    def describe(self) -> TokenInfo:
        return token_info(self.module(), self._find_token())

    def preflight(self) -> Preflight:
        """Capabilities from a public session (no PIN); cached for this backend."""
        if self._preflight is None:
            token = self._find_token()
            info = token_info(self.module(), token)
            with (
                _translated("opening a session for the preflight", self._where, self.token_present),
                token.open(rw=True) as session,
            ):
                self._preflight = mechanisms.probe(
                    session, token.slot, info, self.module().cryptoki
                )
        return self._preflight

    @contextmanager
    def public_random(self) -> Iterator[tuple[RandomBytes, str]]:
        """``(source, name)`` from C_GenerateRandom in a public session: no PIN needed."""
        token = self._find_token()
        info = token_info(self.module(), token)
        with _translated("opening a session for randomness", self._where, self.token_present):
            session = token.open()
        try:

            def source(length: int) -> bytes:
                with _translated("drawing random bytes", self._where, self.token_present):
                    return bytes(session.generate_random(length * 8)) if length > 0 else b""

            yield source, f"PKCS#11 C_GenerateRandom on {info.model} serial {info.serial}"
        finally:
            _close_quietly(session)

    def open(
        self,
        prompter: PinPrompter,
        *,
        trust: TrustRequest | None = None,
    ) -> Pkcs11Session:
        """Log in as the user (after the SO, if ``trust`` asks for trusted objects)."""
        module = self.module()
        token = self._find_token()
        info = token_info(module, token)
        key = (module.path, info.serial)
        if key in _OPEN:
            raise HsmError(
                f"a ceremony session on {info.describe()} is already open in this process",
                hint="close it first: PKCS#11 logins are shared by all sessions of a process",
            )
        with _translated("opening a session", self._where, self.token_present):
            session = token.open(rw=True)
        trusted = _Trusted()
        try:
            if trust is not None and not trust.empty:
                self._login(module, token, session, PinRole.SO, prompter)
                try:
                    _make_trusted(module, session, trust, trusted, self._where)
                finally:
                    with _translated("logging the security officer out", self._where, lambda: True):
                        module.cryptoki.logout(session.handle)
            self._login(module, token, session, PinRole.USER, prompter)
        except BaseException:
            trusted.wipe()
            _close_quietly(session)
            raise
        _OPEN.add(key)
        return Pkcs11Session(self, module, token, session, info, trusted, key)

    def _login(
        self, module: _Module, token: Any, session: Any, role: PinRole, prompter: PinPrompter
    ) -> None:
        # Read the flags first: a locked or last-try PIN is refused before anyone types.
        fresh = token_info(module, self._find_token())
        state = fresh.user_pin if role is PinRole.USER else fresh.so_pin
        request = PinRequest(role, fresh.label, module.path, fresh)
        if state is PinState.LOCKED:
            raise PinLockedError(
                f"the {role.value} PIN of {fresh.describe()} is locked",
                hint="the security officer must unblock it; the token will not accept a login",
            )
        if state is PinState.NOT_INITIALIZED and role is PinRole.USER:
            raise HsmError(
                f"the user PIN of {fresh.describe()} was never set",
                hint="the security officer sets it (C_InitPIN); for the rehearsal token run "
                "'ceremony hsm init'",
            )
        if state is PinState.FINAL_TRY and not prompter.confirm_final_try(request):
            raise PinFinalTryError(
                f"the {role.value} PIN of {fresh.describe()} has one try left",
                hint="stop and make sure of the PIN; a wrong one now locks the token. Run the "
                "step again and confirm the last try explicitly",
            )
        user_type = _cryptoki.CKU_USER if role is PinRole.USER else _cryptoki.CKU_SO
        with prompter.pin(request) as pin:
            try:
                module.cryptoki.login(session.handle, user_type, pin.reveal())
            except _cryptoki.CryptokiError as ex:
                if ex.name == "CKR_PIN_INCORRECT":
                    after = self._pin_state_after_failure(role)
                    told = f"; the token now reports: {after.value}" if after else ""
                    raise PinIncorrectError(
                        f"wrong {role.value} PIN for {fresh.describe()}{told}",
                        hint="nothing was done; check the PIN and try again. Do not guess: "
                        "tokens lock after a few wrong PINs",
                        pin_state=after.name if after else None,
                    ) from ex
                raise _translate(
                    ex, f"logging in as {role.value}", self._where, self.token_present
                ) from ex
        log.info("logged in as %s on %s", role.value, fresh.describe())

    def _pin_state_after_failure(self, role: PinRole) -> PinState | None:
        try:
            info = self.describe()
        except CeremonyError:
            return None
        state = info.user_pin if role is PinRole.USER else info.so_pin
        # OK means the token reports no counter at all; absence proves nothing.
        return None if state is PinState.OK else state


def _close_quietly(session: Any) -> None:
    try:
        session.close()
    except PKCS11Error:
        log.warning("the PKCS#11 session could not be closed cleanly")


# ---------------------------------------------------------------------------- trusted objects


@dataclass
class _Trusted:
    """Session objects the SO marked TRUSTED, owned by the ceremony session."""

    import_keys: dict[str, str] = field(default_factory=dict)  # SPKI SHA-256 -> label
    ephemeral: list[str] = field(default_factory=list)  # AES-256 labels for RSA-AES wraps
    transport: list[tuple[str, Secret]] = field(default_factory=list)  # export keys + values

    def wipe(self) -> None:
        for _, value in self.transport:
            value.close()
        self.transport.clear()


def _rsa_import_key(der: bytes) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, TypeError) as ex:
        raise ImportKeyError(
            "the provider's import key is not a DER SubjectPublicKeyInfo",
            hint="download the wrapping public key again in DER form (PEM: convert it first)",
        ) from ex
    if not isinstance(key, rsa.RSAPublicKey):
        raise ImportKeyError(
            "the provider's import key is not an RSA key",
            hint="the clouds' BYOK import keys are RSA; check the file",
        )
    if key.key_size < 2048:
        raise ImportKeyError(
            f"the provider's import key is RSA-{key.key_size}, below 2048 bits",
            hint="ask the provider for an RSA-2048, 3072 or 4096 import key",
        )
    return key


def _spki_sha256(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def _make_trusted(
    module: _Module, session: Any, trust: TrustRequest, out: _Trusted, where: str
) -> None:
    """In the SO login: create the TRUSTED session objects the request names."""
    with _translated("creating the security officer's trusted keys", where, lambda: True):
        for der in trust.import_keys:
            public = _rsa_import_key(der)
            label = f"ceremony-trusted-kek-{secrets.token_hex(6)}"
            session.create_object(mechanisms.rsa_public_template(public, label, trusted=True))
            out.import_keys[_spki_sha256(der)] = label
        for _ in range(trust.rsa_aes_wraps):
            label = f"ceremony-trusted-ephemeral-{secrets.token_hex(6)}"
            session.generate_key(
                KeyType.AES,
                256,
                label=label,
                template={
                    **_ephemeral_wrap_key(),
                    Attribute.PRIVATE: False,
                    Attribute.TRUSTED: True,
                },
            )
            out.ephemeral.append(label)
        for _ in range(trust.exports):
            label = f"ceremony-trusted-transport-{secrets.token_hex(6)}"
            value = Secret(session.generate_random(256), "transport key")
            module.cryptoki.create_object(
                session.handle,
                {
                    Attribute.CLASS: ObjectClass.SECRET_KEY,
                    Attribute.KEY_TYPE: KeyType.AES,
                    Attribute.VALUE: value.reveal(),
                    Attribute.TOKEN: False,
                    Attribute.PRIVATE: False,
                    Attribute.TRUSTED: True,
                    Attribute.WRAP: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.LABEL: label.encode("utf-8"),
                },
            )
            out.transport.append((label, value))
    log.info(
        "security officer trusted %d import key(s), %d ephemeral and %d transport key(s)",
        len(out.import_keys),
        len(out.ephemeral),
        len(out.transport),
    )


# ---------------------------------------------------------------------------- session


def _get(obj: Any, attribute: Attribute) -> Any:
    """An attribute's value, or None if the token does not hold or will not show it."""
    try:
        return obj[attribute]
    except (AttributeTypeInvalid, AttributeSensitive):
        return None


def _secret_capabilities(family: str) -> dict[Any, bool]:
    # Minimal use: what the in-token check values need, nothing that moves other keys.
    return {
        Attribute.ENCRYPT: family == "AES",  # AES-ECB zero-block KCV
        Attribute.DECRYPT: False,
        Attribute.SIGN: True,  # AES-CMAC or HMAC KCV
        Attribute.VERIFY: family == "HMAC",
        Attribute.WRAP: False,
        Attribute.UNWRAP: False,
        Attribute.DERIVE: False,
    }


def _ephemeral_wrap_key() -> dict[Any, bool]:
    """A session AES key for the RSA-AES wrap: it wraps the target key and can do nothing else.

    Extractable because RSA-OAEP then wraps it for the provider.
    """
    return {
        Attribute.TOKEN: False,
        Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: True,
        Attribute.WRAP: True,
        Attribute.ENCRYPT: False,
        Attribute.DECRYPT: False,
        Attribute.SIGN: False,
        Attribute.VERIFY: False,
        Attribute.UNWRAP: False,
        Attribute.DERIVE: False,
    }


def _protection(extractable: bool) -> dict[Any, bool]:
    return {
        Attribute.TOKEN: True,
        Attribute.PRIVATE: True,
        Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: extractable,
        # Only a key the SO trusted may carry an extractable key out.
        Attribute.WRAP_WITH_TRUSTED: extractable,
        Attribute.MODIFIABLE: False,
    }


def _requested_record(template: dict[Any, Any]) -> dict[str, bool]:
    return {f"CKA_{Attribute(k).name}": bool(v) for k, v in template.items() if isinstance(v, bool)}


def _dbl(block: bytes) -> bytes:
    # SP 800-38B subkey doubling in GF(2^128).
    n = int.from_bytes(block, "big") << 1
    if n >> 128:
        n = (n & ((1 << 128) - 1)) ^ 0x87
    return n.to_bytes(16, "big")


def _spki_of(public: Any) -> bytes:
    """DER SubjectPublicKeyInfo of a token public key object (EC or RSA)."""
    key_type = public[Attribute.KEY_TYPE]
    if key_type == KeyType.EC:
        der: bytes = pkcs11.util.ec.encode_ec_public_key(public)
        return der
    if key_type == KeyType.RSA:
        n = int.from_bytes(public[Attribute.MODULUS], "big")
        e = int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big")
        return (
            rsa.RSAPublicNumbers(e, n)
            .public_key()
            .public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    raise MechanismNotSupportedError(
        f"public keys of type {key_type!r} are not handled",
        hint="the backend handles EC and RSA key pairs",
    )


class Pkcs11Session:
    """A logged-in user session; every call translates pkcs11 failures into CeremonyErrors."""

    def __init__(
        self,
        backend: Pkcs11Backend,
        module: _Module,
        token: Any,
        session: Any,
        info: TokenInfo,
        trusted: _Trusted,
        open_key: tuple[str, str],
    ) -> None:
        self._backend = backend
        self._module = module
        self._token = token
        self._session = session
        self._info = info
        self._trusted = trusted
        self._open_key = open_key
        self._closed = False
        self._mechanisms: set[int] | None = None

    # -- plumbing

    @property
    def token(self) -> TokenInfo:
        return self._info

    @property
    def handle(self) -> int:
        """The PKCS#11 session handle (for pyHanko's signer and tests)."""
        return int(self._session.handle)

    @property
    def pkcs11_session(self) -> Any:
        """The underlying python-pkcs11 session, for callers that sign through pyHanko."""
        return self._session

    def _step(self, step: str) -> Any:
        if self._closed:
            raise HsmError(
                f"{step}: the ceremony session was already closed",
                hint="this is a bug in the ceremony flow; open a new session",
            )
        return _translated(step, self._info.describe(), self._backend.token_present)

    def _has(self, mechanism: int) -> bool:
        if self._mechanisms is None:
            with self._step("reading the mechanism list"):
                self._mechanisms = {int(m) for m in self._token.slot.get_mechanisms()}
        return mechanism in self._mechanisms

    def preflight(self) -> Preflight:
        if self._backend._preflight is None:
            with self._step("probing the token's mechanisms"):
                self._backend._preflight = mechanisms.probe(
                    self._session, self._token.slot, self._info, self._module.cryptoki
                )
        return self._backend._preflight

    def _objects(self, label: str, step: str) -> list[Any]:
        with self._step(step):
            return list(self._session.get_objects({Attribute.LABEL: label}))

    def _find(self, label: str, classes: Sequence[ObjectClass], step: str) -> Any:
        for obj in self._objects(label, step):
            with self._step(step):
                cls = obj[Attribute.CLASS]
            if cls in classes:
                return obj
        if not self._backend.token_present():
            raise TokenRemovedError(
                f"the token {self._info.describe()} went away while {step}",
                hint="stop: reconnect the token; start again from the last completed step",
            )
        wanted = " or ".join(_CLASS_NAMES.get(c, str(c)) for c in classes)
        raise KeyNotFoundError(
            f"no {wanted} labelled {label!r} on {self._info.describe()}",
            hint="check the label in the ceremony file against 'pkcs11-tool -O'",
        )

    def _key(self, label: str, step: str) -> Any:
        return self._find(label, (ObjectClass.SECRET_KEY, ObjectClass.PRIVATE_KEY), step)

    def _require_new_label(self, label: str) -> None:
        if not label or len(label.encode("utf-8")) > 64:
            raise KeyMaterialError(
                "a key label must be 1 to 64 bytes",
                hint="choose a short label that names the key and its ceremony",
            )
        if self._objects(label, f"checking label {label!r}"):
            raise LabelExistsError(
                f"a key labelled {label!r} already exists on {self._info.describe()}",
                hint="choose a new label; the tool never replaces or reuses a key",
            )

    def _new_id(self) -> bytes:
        with self._step("drawing a key id"):
            return bytes(self._session.generate_random(128))

    # -- randomness

    def random_bytes(self, length: int) -> bytes:
        if length <= 0:
            return b""
        with self._step("drawing random bytes"):
            out = bytes(self._session.generate_random(length * 8))
        if len(out) != length:
            raise HsmError(
                f"the token returned {len(out)} random bytes instead of {length}",
                hint="stop: the token's random generator is not trustworthy",
            )
        return out

    def random_source(self) -> tuple[RandomBytes, str]:
        return (
            self.random_bytes,
            f"PKCS#11 C_GenerateRandom on {self._info.model} serial {self._info.serial}",
        )

    # -- attributes

    def key_attributes(self, label: str) -> KeyAttributes:
        return self._attributes(self._key(label, f"reading attributes of {label!r}"))

    def _attributes(self, obj: Any) -> KeyAttributes:
        with self._step("reading key attributes"):
            cls = obj[Attribute.CLASS]
            check_value = _get(obj, Attribute.CHECK_VALUE)
            key_type = _get(obj, Attribute.KEY_TYPE)
            return KeyAttributes(
                label=obj[Attribute.LABEL],
                id_hex=(_get(obj, Attribute.ID) or b"").hex(),
                object_class=_CLASS_NAMES.get(cls, str(cls)),
                key_type=key_type.name if key_type is not None else "unknown",
                token=_get(obj, Attribute.TOKEN),
                private=_get(obj, Attribute.PRIVATE),
                local=_get(obj, Attribute.LOCAL),
                sensitive=_get(obj, Attribute.SENSITIVE),
                always_sensitive=_get(obj, Attribute.ALWAYS_SENSITIVE),
                extractable=_get(obj, Attribute.EXTRACTABLE),
                never_extractable=_get(obj, Attribute.NEVER_EXTRACTABLE),
                wrap_with_trusted=_get(obj, Attribute.WRAP_WITH_TRUSTED),
                trusted=_get(obj, Attribute.TRUSTED),
                modifiable=_get(obj, Attribute.MODIFIABLE),
                check_value_hex=check_value.hex().upper() if check_value else None,
            )

    # -- generation

    def generate_key(self, label: str, spec: KeySpec, *, extractable: bool = False) -> KeyRecord:
        self._require_new_label(label)
        if spec.kind is KeyKind.SECRET:
            # A secret key without an in-token check value could not be recorded: refuse first.
            self._require_kcv_possible(spec.family, spec.size, f"generating {spec.value}")
        key_id = self._new_id()
        step = f"generating {spec.value} key {label!r}"
        if spec.kind is KeyKind.SECRET:
            template = {**_protection(extractable), **_secret_capabilities(spec.family)}
            key_type = KeyType.AES if spec.family == "AES" else KeyType.GENERIC_SECRET
            with self._step(step):
                key = self._session.generate_key(
                    key_type, spec.size * 8, id=key_id, label=label, store=True, template=template
                )
            public_der = None
        else:
            template = {**_protection(extractable), Attribute.SIGN: True}
            template.update({Attribute.DECRYPT: False, Attribute.UNWRAP: False})
            template[Attribute.DERIVE] = False
            public_template = {
                Attribute.TOKEN: True,
                Attribute.PRIVATE: False,
                Attribute.VERIFY: True,
                Attribute.ENCRYPT: False,
                Attribute.WRAP: False,
            }
            with self._step(step):
                if spec.family == "EC":
                    curve = spec.curve or ""
                    params = self._session.create_domain_parameters(
                        KeyType.EC,
                        {Attribute.EC_PARAMS: pkcs11.util.ec.encode_named_curve_parameters(curve)},
                        local=True,
                    )
                    public, key = params.generate_keypair(
                        id=key_id,
                        label=label,
                        store=True,
                        public_template=public_template,
                        private_template=template,
                    )
                else:
                    public, key = self._session.generate_keypair(
                        KeyType.RSA,
                        spec.size,
                        id=key_id,
                        label=label,
                        store=True,
                        public_template=public_template,
                        private_template=template,
                    )
                public_der = _spki_of(public)
        attributes = self._attributes(key)
        if extractable and attributes.wrap_with_trusted is not True:
            self._destroy_all(label)
            raise MechanismNotSupportedError(
                f"{step}: the token did not keep CKA_WRAP_WITH_TRUSTED, so any key could wrap "
                "the new key out; it was destroyed",
                hint="generate it non-extractable, or use a token that enforces "
                "CKA_WRAP_WITH_TRUSTED",
            )
        checks = self.check_values(label) if spec.kind is KeyKind.SECRET else None
        log.info(
            "generated %s key %r id %s in %s",
            spec.value,
            label,
            key_id.hex(),
            self._info.describe(),
        )
        return KeyRecord(
            label=label,
            id_hex=key_id.hex(),
            spec=spec,
            requested=_requested_record(template),
            attributes=attributes,
            check_values=checks,
            public_key_der=public_der,
        )

    # -- check values

    def _require_kcv_possible(self, family: str, length: int, purpose: str) -> None:
        preflight = self.preflight()
        if family == "AES":
            if not (
                preflight.supports(Capability.KCV_AES_CMAC)
                or preflight.supports(Capability.KCV_AES_ECB)
            ):
                preflight.require(Capability.KCV_AES_CMAC, purpose)
            return
        preflight.require(Capability.KCV_HMAC, purpose)
        shortest = preflight.hmac_kcv_min_length or 0
        if length < shortest:
            raise MechanismNotSupportedError(
                f"{purpose}: this token computes HMAC check values only for keys of {shortest} "
                f"bytes or more; not supported by {self._info.describe()} for {length} bytes",
                hint=f"use an HMAC key of at least {shortest} bytes (HMAC-SHA256 or longer)",
            )

    def check_values(self, label: str, length: int | None = None) -> TokenCheckValues:
        """AES: CMAC and ECB in the token, chained to CKA_CHECK_VALUE; HMAC: HMAC-SHA256."""
        step = f"computing check values of {label!r}"
        key = self._find(label, (ObjectClass.SECRET_KEY,), step)
        with self._step(step):
            key_type = key[Attribute.KEY_TYPE]
            stored = _get(key, Attribute.CHECK_VALUE)
        stored_hex = stored.hex().upper() if stored else None
        if key_type == KeyType.AES:
            return self._aes_check_values(key, label, stored, length, step)
        if key_type == KeyType.GENERIC_SECRET:
            if not self._has(Mechanism.SHA256_HMAC):
                raise MechanismNotSupportedError(
                    f"{step}: the token has no CKM_SHA256_HMAC",
                    hint="HMAC check values need CKM_SHA256_HMAC in the token",
                )
            with self._step(step):
                mac = key.sign(_ZERO_BLOCK, mechanism=Mechanism.SHA256_HMAC)
            method = KcvMethod.HMAC_SHA256_ZERO
            value = CheckValue(method, mac[: length or method.default_length])
            # PKCS#11 defines a generic secret's CKA_CHECK_VALUE as SHA-1 of the value: the
            # token alone cannot recompute it for a sensitive key, so it is recorded, not compared.
            return TokenCheckValues((value,), stored_hex, ())
        raise MechanismNotSupportedError(
            f"{step}: keys of type {key_type!r} have no check value here",
            hint="check values are computed for AES and HMAC keys",
        )

    def _aes_check_values(
        self, key: Any, label: str, stored: bytes | None, length: int | None, step: str
    ) -> TokenCheckValues:
        values: list[CheckValue] = []
        checks: list[str] = []
        ecb_block: bytes | None = None
        with self._step(step):
            if self._has(Mechanism.AES_ECB) and _get(key, Attribute.ENCRYPT):
                ecb_block = bytes(key.encrypt(_ZERO_BLOCK, mechanism=Mechanism.AES_ECB))
            cmac_full: bytes | None = None
            if self._has(Mechanism.AES_CMAC) and _get(key, Attribute.SIGN):
                cmac_full = bytes(key.sign(_ZERO_BLOCK, mechanism=Mechanism.AES_CMAC))
            cmac_via_ecb: bytes | None = None
            if ecb_block is not None and cmac_full is not None:
                # CMAC of one zero block is E_K(dbl(E_K(0))): recompute it through ECB.
                subkey = _dbl(ecb_block)
                cmac_via_ecb = bytes(key.encrypt(subkey, mechanism=Mechanism.AES_ECB))
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
        if cmac_full is not None:
            method = KcvMethod.AES_CMAC
            values.append(CheckValue(method, cmac_full[: length or method.default_length]))
        if ecb_block is not None:
            values.append(CheckValue(KcvMethod.AES_ECB_ZERO, ecb_block[:3]))
        return TokenCheckValues(
            tuple(values), stored.hex().upper() if stored else None, tuple(checks)
        )

    def _require_expected(self, label: str, expected: CheckValue) -> TokenCheckValues:
        checks = self.check_values(label, len(expected.value))
        kcv.require_match(expected, checks.of(expected.method), f"key {label!r} in the token")
        return checks

    # -- import

    def import_key(
        self,
        label: str,
        algorithm: KeyAlgorithm,
        key: Secret,
        *,
        expected: CheckValue,
        extractable: bool = False,
    ) -> ImportResult:
        """Create a token key from clear material held in process memory (manual clear-text)."""
        spec = self._secret_spec(algorithm, len(key), f"importing key {label!r}")
        self._require_new_label(label)
        # Catch a wrong key before it reaches the token.
        actual = kcv.check_value(key, expected.method, len(expected.value))
        kcv.require_match(expected, actual, f"key {label!r} before import")
        material = key.reveal()
        if spec.family == "AES":
            token_cv = kcv.check_value(key, KcvMethod.AES_ECB_ZERO).value
        else:
            # PKCS#11: a generic secret's CKA_CHECK_VALUE is the first 3 bytes of SHA-1(value).
            token_cv = hashlib.sha1(material, usedforsecurity=False).digest()[:3]
        key_id = self._new_id()
        template: dict[Any, Any] = {
            Attribute.CLASS: ObjectClass.SECRET_KEY,
            Attribute.KEY_TYPE: KeyType.AES if spec.family == "AES" else KeyType.GENERIC_SECRET,
            **_protection(extractable),
            **_secret_capabilities(spec.family),
            Attribute.LABEL: label.encode("utf-8"),
            Attribute.ID: key_id,
            # The token recomputes this from the value and refuses a mismatch.
            Attribute.CHECK_VALUE: token_cv,
            Attribute.VALUE: material,
        }
        step = f"importing key {label!r}"
        try:
            with self._step(step):
                self._module.cryptoki.create_object(self._session.handle, template)
        except HsmError as ex:
            cause = ex.__cause__
            if isinstance(cause, _cryptoki.CryptokiError) and cause.name in (
                "CKR_ATTRIBUTE_VALUE_INVALID",
                "CKR_TEMPLATE_INCONSISTENT",
            ):
                raise CheckValueError(
                    f"{step}: the token computed another CKA_CHECK_VALUE from the key material "
                    f"({cause.name})",
                    hint="stop: the material changed between our check and the token; "
                    "do not use it, start the import again",
                ) from ex
            raise
        return self._finish_import(label, key_id, spec, template, expected, ImportPath.HOST_MEMORY)

    def import_components(
        self,
        label: str,
        algorithm: KeyAlgorithm,
        components: Sequence[Secret],
        *,
        expected: CheckValue,
        extractable: bool = False,
    ) -> ImportResult:
        """Combine XOR components in the token if it can, else in memory; the result says which."""
        length = component_length(components)
        spec = self._secret_spec(algorithm, length, f"importing key {label!r}")
        self._require_new_label(label)
        require_strong_components(components, label)
        if self.preflight().supports(Capability.XOR_COMBINE):
            return self._import_xor_in_token(label, spec, components, expected, extractable)
        with xor_in_memory(components, label) as combined:
            require_no_component_is_key(components, combined, label)
            return self.import_key(
                label, algorithm, combined, expected=expected, extractable=extractable
            )

    def _import_xor_in_token(
        self,
        label: str,
        spec: KeySpec,
        components: Sequence[Secret],
        expected: CheckValue,
        extractable: bool,
    ) -> ImportResult:
        key_type = KeyType.AES if spec.family == "AES" else KeyType.GENERIC_SECRET
        key_id = self._new_id()
        step = f"combining the components of {label!r} in the token"
        final_template: dict[Any, Any] = {
            **_protection(extractable),
            **_secret_capabilities(spec.family),
            Attribute.ID: key_id,
        }
        scratch: list[Any] = []
        try:
            with self._step(step):
                base_label = f"ceremony-xor-{secrets.token_hex(6)}"
                self._module.cryptoki.create_object(
                    self._session.handle,
                    {
                        Attribute.CLASS: ObjectClass.SECRET_KEY,
                        Attribute.KEY_TYPE: key_type,
                        Attribute.TOKEN: False,
                        Attribute.SENSITIVE: True,
                        Attribute.EXTRACTABLE: False,
                        Attribute.DERIVE: True,
                        Attribute.LABEL: base_label.encode("utf-8"),
                        Attribute.VALUE: components[0].reveal(),
                    },
                )
                base = self._find(base_label, (ObjectClass.SECRET_KEY,), step)
                scratch.append(base)
                for index, component in enumerate(components[1:], start=2):
                    last = index == len(components)
                    param = _cryptoki.xor_base_and_data_parameter(component.reveal())
                    template = (
                        final_template
                        if last
                        else {
                            Attribute.TOKEN: False,
                            Attribute.DERIVE: True,
                            Attribute.SENSITIVE: True,
                        }
                    )
                    derived = base.derive_key(
                        key_type,
                        spec.size * 8,
                        # No default capabilities: the template below names every one it wants.
                        capabilities=0,
                        label=label if last else f"ceremony-xor-{secrets.token_hex(6)}",
                        store=last,
                        mechanism=Mechanism.XOR_BASE_AND_DATA,
                        mechanism_param=param.packed,
                        template=template,
                    )
                    param.release()
                    if not last:
                        scratch.append(derived)
                    base = derived
        finally:
            for obj in scratch:
                try:
                    obj.destroy()
                except PKCS11Error:
                    log.warning("a scratch object of the XOR import could not be destroyed")
        result = self._finish_import(
            label, key_id, spec, final_template, expected, ImportPath.IN_TOKEN_XOR
        )
        # The key never left the token: compare the longest KCVs instead of the bytes.
        method = expected.method
        token_kcv = self.check_values(label, method.max_length).of(method)
        for index, component in enumerate(components, start=1):
            own = kcv.check_value(component, method, len(token_kcv.value))
            if hmac.compare_digest(own.value, token_kcv.value):
                self._destroy_all(label)
                raise RuleViolation(
                    f"component #{index} of {label!r} has the combined key's check value",
                    hint="its custodian knew the whole key; treat the key as compromised",
                )
        return result

    def _finish_import(
        self,
        label: str,
        key_id: bytes,
        spec: KeySpec,
        template: dict[Any, Any],
        expected: CheckValue,
        path: ImportPath,
    ) -> ImportResult:
        try:
            checks = self._require_expected(label, expected)
        except CheckValueError:
            self._destroy_all(label)
            raise
        attributes = self.key_attributes(label)
        log.info("imported key %r id %s: %s", label, key_id.hex(), path.value)
        return ImportResult(
            path,
            KeyRecord(
                label=label,
                id_hex=key_id.hex(),
                spec=spec,
                requested=_requested_record(template),
                attributes=attributes,
                check_values=checks,
            ),
        )

    def _secret_spec(self, algorithm: KeyAlgorithm, length: int, purpose: str) -> KeySpec:
        require_key_length(algorithm, length)
        spec = KeySpec.for_secret(algorithm, length)
        self._require_kcv_possible(spec.family, spec.size, purpose)
        return spec

    # -- export and wrap

    def _kwp(self, purpose: str) -> int:
        preflight = self.preflight()
        preflight.require(Capability.AES_KWP, purpose)
        value = mechanisms.kwp_mechanism_value(preflight)
        assert value is not None  # require() passed
        return value

    def _extractable_key(self, label: str, step: str) -> tuple[Any, bool]:
        key = self._key(label, step)
        with self._step(step):
            extractable = _get(key, Attribute.EXTRACTABLE)
            with_trusted = bool(_get(key, Attribute.WRAP_WITH_TRUSTED))
        if not extractable:
            raise KeyNotExtractableError(
                f"key {label!r} was made non-extractable: it can never leave "
                f"{self._info.describe()}, not even wrapped",
                hint="this is by design; a key that must go to a cloud or a backup is generated "
                "with the ceremony's explicit 'extractable' setting",
            )
        return key, with_trusted

    def export_clear(self, label: str) -> Secret:
        """Wrap under a throw-away AES key, unwrap in memory: a manual clear-text operation."""
        step = f"exporting key {label!r} for backup"
        kwp = self._kwp(step)
        key, with_trusted = self._extractable_key(label, step)
        if with_trusted:
            if not self._trusted.transport:
                raise KeyNotExtractableError(
                    f"{step}: key {label!r} leaves the token only under a key the security "
                    "officer trusted, and none was prepared",
                    hint="open the session with TrustRequest(exports=1): the SO logs in first "
                    "and marks a transport key TRUSTED",
                )
            transport_label, transport_value = self._trusted.transport.pop(0)
        else:
            transport_label = f"ceremony-transport-{secrets.token_hex(6)}"
            transport_value = Secret(self.random_bytes(32), "transport key")
            with self._step(step):
                self._module.cryptoki.create_object(
                    self._session.handle,
                    {
                        Attribute.CLASS: ObjectClass.SECRET_KEY,
                        Attribute.KEY_TYPE: KeyType.AES,
                        Attribute.VALUE: transport_value.reveal(),
                        Attribute.TOKEN: False,
                        Attribute.WRAP: True,
                        Attribute.SENSITIVE: True,
                        Attribute.EXTRACTABLE: False,
                        Attribute.LABEL: transport_label.encode("utf-8"),
                    },
                )
        try:
            transport = self._find(transport_label, (ObjectClass.SECRET_KEY,), step)
            with self._step(step):
                blob = transport.wrap_key(key, mechanism=Mechanism(kwp))
            try:
                # cryptography returns immutable bytes; the Secret is the copy we can wipe.
                unwrapped = aes_key_unwrap_with_padding(transport_value.reveal(), blob)
            except ValueError as ex:
                raise HsmError(
                    f"{step}: the token's wrapped key does not unwrap as RFC 5649",
                    hint="stop: the token's key wrap is not what the preflight proved",
                ) from ex
            length = self._material_length(key, unwrapped, step)
            clear = Secret(memoryview(unwrapped)[:length], label)
        finally:
            transport_value.close()
            self._destroy_label_quietly(transport_label)
        self._check_export(label, key, clear)
        log.info("exported key %r in clear for backup (manual clear-text operation)", label)
        return clear

    def _material_length(self, key: Any, unwrapped: bytes, step: str) -> int:
        """The true material length, dropping the zero padding a token added before RFC 5649."""
        with self._step(step):
            if key[Attribute.CLASS] == ObjectClass.SECRET_KEY:
                length = int(key[Attribute.VALUE_LEN])
            else:
                length = _der_length(unwrapped)
        padding = unwrapped[length:]
        aligned_only = self.preflight().kwp_multiple_of_8_only
        if length > len(unwrapped) or (padding and not aligned_only) or any(padding):
            raise HsmError(
                f"{step}: the unwrapped material is {len(unwrapped)} bytes, the key {length}",
                hint="stop: the token's key wrap is not what the preflight proved",
            )
        return length

    def _check_export(self, label: str, key: Any, clear: Secret) -> None:
        with self._step("checking the exported key"):
            cls = key[Attribute.CLASS]
            key_type = key[Attribute.KEY_TYPE]
        if cls != ObjectClass.SECRET_KEY:
            return
        method = KcvMethod.AES_CMAC if key_type == KeyType.AES else KcvMethod.HMAC_SHA256_ZERO
        try:
            token_value = self.check_values(label).of(method)
            kcv.require_match(
                token_value, kcv.check_value(clear, method), f"exported key {label!r}"
            )
        except CeremonyError:
            clear.close()
            raise

    def wrap_for_public_key(
        self,
        label: str,
        import_key_der: bytes,
        *,
        method: WrapConstruction,
        oaep_hash: OaepHash,
    ) -> WrapResult:
        """Wrap ``label`` inside the token for a provider's RSA import key; never falls back."""
        step = f"wrapping key {label!r} ({method.value}, {oaep_hash.value})"
        public = _rsa_import_key(import_key_der)
        plan = self._wrap_plan(method, oaep_hash, step)
        key, with_trusted = self._extractable_key(label, step)
        with self._step(step):
            key_id = (_get(key, Attribute.ID) or b"").hex()
            is_private_rsa = (
                key[Attribute.CLASS] == ObjectClass.PRIVATE_KEY
                and key[Attribute.KEY_TYPE] == KeyType.RSA
            )
        if method is WrapConstruction.RSA_OAEP and is_private_rsa:
            raise WrapError(
                f"{step}: an RSA private key is too long for RSA-OAEP alone",
                hint="use an RSA-AES method (AWS RSA_AES_KEY_WRAP_*, GCP *_AES_256, Azure .byok)",
            )
        if plan == "two-step" and self.preflight().kwp_multiple_of_8_only:
            self._refuse_padded_kwp(key, step)
        fingerprint = _spki_sha256(import_key_der)
        made: list[str] = []
        if with_trusted:
            kek_label = self._trusted.import_keys.get(fingerprint)
            if kek_label is None:
                raise KeyNotExtractableError(
                    f"{step}: key {label!r} may only be wrapped under an import key the security "
                    "officer trusted, and this import key was not trusted in this session",
                    hint="open the session with TrustRequest(import_keys=(<the DER key>,)); "
                    f"import key SHA-256 {fingerprint}",
                )
        else:
            kek_label = f"ceremony-kek-{secrets.token_hex(6)}"
            with self._step(step):
                self._session.create_object(mechanisms.rsa_public_template(public, kek_label))
            made.append(kek_label)
        try:
            kek = self._find(kek_label, (ObjectClass.PUBLIC_KEY,), step)
            oaep = (*_OAEP[oaep_hash], None)
            with self._step(step):
                if plan == "oaep":
                    blob = self._oaep_wrap(kek, key, oaep, step)
                    used: tuple[str, ...] = ("CKM_RSA_PKCS_OAEP",)
                elif plan == "rsa-aes":
                    hash_mech, mgf = _OAEP[oaep_hash]
                    param = _cryptoki.rsa_aes_key_wrap_parameter(256, int(hash_mech), int(mgf))
                    blob = self._module.cryptoki.wrap_key(
                        self._session.handle,
                        mechanisms.CKM_RSA_AES_KEY_WRAP,
                        param,
                        kek.handle,
                        key.handle,
                    )
                    param.release()
                    used = ("CKM_RSA_AES_KEY_WRAP",)
                else:
                    blob, used = self._two_step(key, kek, oaep, with_trusted, made, step)
        finally:
            for obj_label in made:
                self._destroy_label_quietly(obj_label)
        log.info(
            "wrapped key %r for import key %s with %s", label, fingerprint[:16], ", ".join(used)
        )
        return WrapResult(
            blob=blob,
            method=method,
            oaep_hash=oaep_hash,
            mechanisms=used,
            import_key_sha256=fingerprint,
            trusted_import_key=with_trusted,
            target_label=label,
            target_id_hex=key_id,
        )

    def _refuse_padded_kwp(self, key: Any, step: str) -> None:
        with self._step(step):
            is_secret = key[Attribute.CLASS] == ObjectClass.SECRET_KEY
            length = int(key[Attribute.VALUE_LEN]) if is_secret else None
        if length is not None and length % 8 == 0:
            return
        what = f"a {length}-byte key" if length is not None else "a private key (PKCS#8)"
        raise MechanismNotSupportedError(
            f"{step}: this token's AES key wrap with padding zero-pads key material to a "
            f"multiple of 8 bytes before RFC 5649, so {what} would reach the provider with "
            "extra zero bytes; not supported by this token",
            hint="choose explicitly: (1) a software wrap after a dual-controlled export of the "
            "key (a manual clear-text operation), or (2) a token whose RFC 5649 wrap is exact "
            "('ceremony hsm info' shows it). Nothing was wrapped",
        )

    def _wrap_plan(self, method: WrapConstruction, oaep_hash: OaepHash, step: str) -> str:
        """Decide the mechanism before any work; refuse with explicit alternatives."""
        preflight = self.preflight()
        other = OaepHash.SHA1 if oaep_hash is OaepHash.SHA256 else OaepHash.SHA256
        alternatives = (
            f"choose explicitly: (1) ask the provider for the {other.value} variant if this token "
            f"can do it (AWS RSAES_OAEP_SHA_1 / RSA_AES_KEY_WRAP_SHA_1, GCP "
            f"RSA_OAEP_*_SHA1_AES_256; Azure .byok uses SHA-1), or (2) a software wrap after a "
            f"dual-controlled export of the key (a manual clear-text operation), or (3) a token "
            f"that supports {oaep_hash.value}. Nothing was wrapped"
        )
        if method is WrapConstruction.RSA_OAEP:
            preflight.require(_CAP_OAEP[oaep_hash], step, alternatives)
            return "oaep"
        if preflight.supports(_CAP_RSA_AES[oaep_hash]):
            return "rsa-aes"
        preflight.require(_CAP_OAEP[oaep_hash], step, alternatives)
        preflight.require(Capability.AES_KWP, step, alternatives)
        return "two-step"

    def _oaep_wrap(self, kek: Any, key: Any, oaep: tuple[Any, ...], step: str) -> bytes:
        try:
            with self._step(step):
                return bytes(
                    kek.wrap_key(key, mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=oaep)
                )
        except KeyNotExtractableError as ex:
            with self._step(step):
                private = key[Attribute.CLASS] == ObjectClass.PRIVATE_KEY
            if not private:
                raise
            # The key is extractable and the import key allowed: the token refuses the mechanism.
            raise MechanismNotSupportedError(
                f"{step}: this token does not wrap private keys with RSA-OAEP",
                hint="use an RSA-AES method (AWS RSA_AES_KEY_WRAP_*, GCP *_AES_256, Azure .byok)",
            ) from ex

    def _two_step(
        self,
        key: Any,
        kek: Any,
        oaep: tuple[Any, ...],
        with_trusted: bool,
        made: list[str],
        step: str,
    ) -> tuple[bytes, tuple[str, ...]]:
        kwp = self._kwp(step)
        if with_trusted:
            if not self._trusted.ephemeral:
                raise KeyNotExtractableError(
                    f"{step}: the RSA-AES wrap needs an ephemeral AES key the security officer "
                    "trusted, and none is left",
                    hint="open the session with TrustRequest(rsa_aes_wraps=1)",
                )
            ephemeral_label = self._trusted.ephemeral.pop(0)
        else:
            ephemeral_label = f"ceremony-ephemeral-{secrets.token_hex(6)}"
            self._session.generate_key(
                KeyType.AES,
                256,
                label=ephemeral_label,
                template=_ephemeral_wrap_key(),
            )
        # Destroyed in every case once the blob exists (or the step fails).
        made.append(ephemeral_label)
        ephemeral = self._find(ephemeral_label, (ObjectClass.SECRET_KEY,), step)
        wrapped_target = ephemeral.wrap_key(key, mechanism=Mechanism(kwp))
        wrapped_ephemeral = kek.wrap_key(
            ephemeral, mechanism=Mechanism.RSA_PKCS_OAEP, mechanism_param=oaep
        )
        return wrapped_ephemeral + wrapped_target, (
            "CKM_AES_KEY_GEN (ephemeral AES-256)",
            mechanisms.mechanism_name(kwp),
            "CKM_RSA_PKCS_OAEP",
        )

    # -- signing, public keys, certificates

    def public_key(self, label: str) -> bytes:
        public = self._find(label, (ObjectClass.PUBLIC_KEY,), f"reading public key {label!r}")
        with self._step(f"reading public key {label!r}"):
            return _spki_of(public)

    def sign_digest(
        self, label: str, digest: bytes, fmt: SignatureFormat = SignatureFormat.DER
    ) -> bytes:
        """Raw CKM_ECDSA over a digest the caller computed (SoftHSM 2.6.1 lacks ECDSA_SHA256)."""
        if len(digest) not in (20, 28, 32, 48, 64):
            raise KeyMaterialError(
                f"a digest to sign is {len(digest)} bytes, not a SHA-1/SHA-2 length",
                hint="pass the digest itself, not the message",
            )
        step = f"signing with key {label!r}"
        key = self._find(label, (ObjectClass.PRIVATE_KEY,), step)
        with self._step(step):
            if key[Attribute.KEY_TYPE] != KeyType.EC:
                raise MechanismNotSupportedError(
                    f"{step}: only EC keys sign digests here",
                    hint="the ceremony signing key is EC P-256",
                )
            raw = bytes(key.sign(digest, mechanism=Mechanism.ECDSA))
        if fmt is SignatureFormat.RAW:
            return raw
        half = len(raw) // 2
        return encode_dss_signature(
            int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        )

    def certificate(self, label: str) -> bytes | None:
        step = f"reading certificate {label!r}"
        for obj in self._objects(label, step):
            with self._step(step):
                if obj[Attribute.CLASS] == ObjectClass.CERTIFICATE:
                    return bytes(obj[Attribute.VALUE])
        return None

    def store_certificate(self, label: str, der: bytes) -> None:
        """Store an X.509 certificate next to key pair ``label`` (same CKA_ID)."""
        from cryptography import x509

        step = f"storing certificate {label!r}"
        if self.certificate(label) is not None:
            raise LabelExistsError(
                f"a certificate labelled {label!r} already exists",
                hint="the tool never replaces a certificate",
            )
        key = self._find(label, (ObjectClass.PRIVATE_KEY,), step)
        cert = x509.load_der_x509_certificate(der)
        public = self.public_key(label)
        spki = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if spki != public:
            raise HsmError(
                f"{step}: the certificate is for another key",
                hint="this is a bug in the ceremony flow",
            )
        with self._step(step):
            self._session.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: pkcs11.CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: False,
                    Attribute.LABEL: label,
                    Attribute.ID: key[Attribute.ID],
                    Attribute.SUBJECT: cert.subject.public_bytes(),
                    Attribute.ISSUER: cert.issuer.public_bytes(),
                    Attribute.SERIAL_NUMBER: _der_integer(cert.serial_number),
                    Attribute.VALUE: der,
                }
            )

    # -- destroy

    def destroy(self, label: str) -> DestroyRecord:
        step = f"destroying key {label!r}"
        key = self._key(label, step)
        with self._step(step):
            cls = key[Attribute.CLASS]
            key_id = (_get(key, Attribute.ID) or b"").hex()
        values: tuple[CheckValue, ...] = ()
        public_sha: str | None = None
        if cls == ObjectClass.SECRET_KEY:
            values = self.check_values(label).values
        else:
            try:
                public_sha = hashlib.sha256(self.public_key(label)).hexdigest()
            except KeyNotFoundError:
                public_sha = None
        destroyed = self._destroy_all(label)
        log.info("destroyed %s labelled %r id %s", ", ".join(destroyed), label, key_id)
        return DestroyRecord(label, key_id, tuple(destroyed), values, public_sha)

    def _destroy_all(self, label: str) -> list[str]:
        destroyed: list[str] = []
        step = f"destroying the objects labelled {label!r}"
        for obj in self._objects(label, step):
            with self._step(step):
                cls = obj[Attribute.CLASS]
                obj.destroy()
            destroyed.append(_CLASS_NAMES.get(cls, str(cls)))
        return destroyed

    def _destroy_label_quietly(self, label: str) -> None:
        try:
            self._destroy_all(label)
        except CeremonyError:
            log.warning(
                "a throw-away session object could not be destroyed; it dies with the session"
            )

    # -- lifetime

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        _OPEN.discard(self._open_key)
        self._trusted.wipe()
        try:
            self._module.cryptoki.logout(self._session.handle)
        except _cryptoki.CryptokiError as ex:
            log.warning("logout failed (%s); the session is closed anyway", ex.name)
        _close_quietly(self._session)

    def __enter__(self) -> Pkcs11Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Pkcs11Session {self._info.describe()} {state}>"


def _der_length(der: bytes) -> int:
    """Total length of the DER element at the start of ``der`` (PKCS#8 of a private key)."""
    if len(der) < 2:
        return len(der) + 1  # too short: the caller reports the mismatch
    first = der[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    return 2 + count + int.from_bytes(der[2 : 2 + count], "big")


def _der_integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return bytes([0x02, len(body)]) + body


if TYPE_CHECKING:
    # mypy proves the backend keeps to the interface.
    def _conforms(backend: Pkcs11Backend, session: Pkcs11Session) -> tuple[HsmBackend, HsmSession]:
        return backend, session

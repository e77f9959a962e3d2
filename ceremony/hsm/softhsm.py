"""The embedded default: a private SoftHSM2 store in the state folder and the rehearsal token."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pkcs11 import Attribute, ObjectClass, TokenFlag

from ceremony.core.secret import Secret
from ceremony.errors import CeremonyError, ConfigError, HsmError, LabelExistsError
from ceremony.hsm import _cryptoki, config, pkcs11_backend
from ceremony.hsm.base import HsmConfig, TokenInfo
from ceremony.hsm.pin import PinPrompter, PinRequest, PinRole
from ceremony.hsm.signing import SIGNING_LABEL, SigningIdentity, ensure_signing_identity

log = logging.getLogger(__name__)

CONF_NAME = "softhsm2.conf"
_HEADER = "# ceremony: private SoftHSM2 store for rehearsal tokens (never /etc/softhsm or /var/lib)"


def is_softhsm_module(module_path: str) -> bool:
    return Path(module_path).name.startswith("libsofthsm2")


def store_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``<state>/softhsm``: the conf file and the ``tokens`` folder."""
    return config.state_dir(environ) / "softhsm"


def _conf_text(tokens: Path) -> str:
    return "\n".join(
        (
            _HEADER,
            f"directories.tokendir = {tokens}",
            "objectstore.backend = file",
            "log.level = ERROR",
            "slots.removable = false",
            "slots.mechanisms = ALL",
            "library.reset_on_fork = false",
            "",
        )
    )


def activate(environ: Mapping[str, str] | None = None) -> Path:
    """Create the store if needed and point SOFTHSM2_CONF at it, before the library loads."""
    store = store_dir(environ)
    tokens = store / "tokens"
    try:
        tokens.mkdir(parents=True, exist_ok=True, mode=0o700)
        store.chmod(0o700)
        conf = store / CONF_NAME
        text = _conf_text(tokens)
        if conf.exists():
            current = conf.read_text(encoding="utf-8")
            if not current.startswith(_HEADER):
                raise ConfigError(
                    f"{conf} exists and was not written by ceremony",
                    hint="move it away or point CEREMONY_STATE_DIR at another folder",
                )
            if current == text:
                os.environ["SOFTHSM2_CONF"] = str(conf)
                return conf
        # The tokendir is absolute: rewrite it when the checkout moved.
        scratch = conf.with_suffix(".tmp")
        scratch.write_text(text, encoding="utf-8")
        scratch.chmod(0o600)
        scratch.replace(conf)
    except OSError as ex:
        raise ConfigError(
            f"cannot prepare the SoftHSM store in {store}: {ex.strerror}",
            hint="check the permissions of the state folder, or set CEREMONY_STATE_DIR",
        ) from ex
    os.environ["SOFTHSM2_CONF"] = str(conf)
    return conf


def is_rehearsal_store(module_path: str) -> bool:
    """True only for SoftHSM using the project's own store (PINs from the environment allowed)."""
    if not is_softhsm_module(module_path):
        return False
    active = os.environ.get("SOFTHSM2_CONF")
    conf = store_dir() / CONF_NAME
    if not active or Path(active).resolve() != conf.resolve() or not conf.is_file():
        return False
    return conf.read_text(encoding="utf-8").startswith(_HEADER)


@dataclass(frozen=True)
class BootstrapResult:
    token: TokenInfo
    created_token: bool
    created_signing_key: bool
    signing: SigningIdentity | None
    store: Path


class _Remembered:
    """Hands the user PIN just chosen to the first login, so nobody types it a third time."""

    def __init__(self, pin: Secret) -> None:
        self._pin = pin

    def pin(self, request: PinRequest) -> Secret:
        return Secret(self._pin.reveal(), self._pin.label)

    def confirm_final_try(self, request: PinRequest) -> bool:
        return False


def init_rehearsal_token(
    hsm_config: HsmConfig, prompter: PinPrompter, *, if_missing: bool = False
) -> BootstrapResult:
    """Create the SoftHSM rehearsal token (PINs via PKCS#11, never argv) and its signing key."""
    if not is_softhsm_module(hsm_config.module_path):
        raise ConfigError(
            f"'ceremony hsm init' creates the SoftHSM2 rehearsal token only, not a token in "
            f"{hsm_config.module_path}",
            hint="a vendor HSM is initialised with the vendor's own tools under its SO's control",
        )
    label = hsm_config.token_label
    if not label:
        raise ConfigError(
            "the rehearsal token needs a label (SoftHSM chooses the serial)",
            hint="unset CEREMONY_TOKEN_SERIAL or set CEREMONY_TOKEN_LABEL",
        )
    backend = pkcs11_backend.Pkcs11Backend(hsm_config)
    backend.module()
    store = store_dir()
    exists = backend.token_present()
    if exists and not if_missing:
        raise LabelExistsError(
            f"a token labelled {label!r} already exists in {store}",
            hint="use 'ceremony hsm init --if-missing' to check it, or another "
            "CEREMONY_TOKEN_LABEL",
        )
    user_pin: Secret | None = None
    try:
        if not exists:
            user_pin = _create_token(backend, label, prompter)
        elif _has_certificate(backend, SIGNING_LABEL):
            return BootstrapResult(backend.describe(), False, False, None, store)
        login: PinPrompter = _Remembered(user_pin) if user_pin is not None else prompter
        with backend.open(login) as session:
            identity, made = ensure_signing_identity(session, SIGNING_LABEL)
    finally:
        if user_pin is not None:
            user_pin.close()
    log.info("rehearsal token %r ready in %s", label, store)
    return BootstrapResult(backend.describe(), not exists, made, identity, store)


def _create_token(
    backend: pkcs11_backend.Pkcs11Backend, label: str, prompter: PinPrompter
) -> Secret:
    """C_InitToken on a free slot, then C_InitPIN in an SO session; returns the user PIN."""
    module = backend.module()
    where = f"the new token {label!r}"
    with pkcs11_backend._translated("looking for a free slot", where, lambda: True):
        free = [
            slot
            for slot in module.lib.get_slots(token_present=True)
            if not slot.get_token().flags & TokenFlag.TOKEN_INITIALIZED
        ]
    if not free:
        raise HsmError(
            f"SoftHSM offers no free slot for {where}",
            hint="check the SoftHSM store in the state folder",
        )
    so_pin = prompter.pin(PinRequest(PinRole.SO, label, module.path, None, new=True))
    user_pin: Secret | None = None
    try:
        user_pin = prompter.pin(PinRequest(PinRole.USER, label, module.path, None, new=True))
        with pkcs11_backend._translated("initialising the token", where, lambda: True):
            module.cryptoki.init_token(free[0].slot_id, so_pin.reveal(), label)
        token = backend.find_token()
        with pkcs11_backend._translated("setting the user PIN", where, lambda: True):
            session = token.open(rw=True)
            try:
                module.cryptoki.login(session.handle, _cryptoki.CKU_SO, so_pin.reveal())
                module.cryptoki.init_pin(session.handle, user_pin.reveal())
                module.cryptoki.logout(session.handle)
            finally:
                session.close()
    except BaseException:
        if user_pin is not None:
            user_pin.close()
        raise
    finally:
        so_pin.close()
    log.info("initialised SoftHSM token %r", label)
    return user_pin


def _has_certificate(backend: pkcs11_backend.Pkcs11Backend, label: str) -> bool:
    # The certificate is a public object: visible without a PIN, so --if-missing asks for none.
    token = backend.find_token()
    try:
        with (
            pkcs11_backend._translated("looking for the certificate", label, lambda: True),
            token.open() as session,
        ):
            found = list(
                session.get_objects(
                    {Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: label}
                )
            )
    except CeremonyError:
        return False
    return bool(found)

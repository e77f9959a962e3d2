"""The rehearsal token: created in the private SoftHSM2 store with its signing identity."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ceremony.core.ceremony_file import SIGNING_LABEL
from ceremony.core.secret import Secret
from ceremony.errors import ConfigError, LabelExistsError
from ceremony.hsm import softhsm
from ceremony.hsm.base import HsmConfig, PinPrompter, PinRequest, TokenInfo
from ceremony.hsm.pkcs11 import Pkcs11Backend
from ceremony.hsm.signing import SigningIdentity, ensure_signing_identity

log = logging.getLogger(__name__)


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
    if not softhsm.is_softhsm_module(hsm_config.module_path):
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
    backend = Pkcs11Backend(hsm_config)
    backend.module()
    store = softhsm.store_dir()
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
            user_pin = backend.init_token(label, prompter)
        elif backend.has_certificate(SIGNING_LABEL):
            return BootstrapResult(backend.describe(), False, False, None, store)
        login: PinPrompter = _Remembered(user_pin) if user_pin is not None else prompter
        with backend.open(login) as session:
            identity, made = ensure_signing_identity(session, SIGNING_LABEL)
    finally:
        if user_pin is not None:
            user_pin.close()
    log.info("rehearsal token %r ready in %s", label, store)
    return BootstrapResult(backend.describe(), not exists, made, identity, store)

"""Logging in: PIN flags read first, the PIN passed by pointer, the SO's trusted objects."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from pkcs11 import Attribute, KeyType

from ceremony.core.secret import Secret
from ceremony.errors import CeremonyError, HsmError, PinFinalTryError, PinLockedError
from ceremony.hsm.base import PinPrompter, PinRequest, PinRole, PinState, TokenInfo, TrustRequest
from ceremony.hsm.pkcs11 import _cryptoki
from ceremony.hsm.pkcs11.errors import PIN_INCORRECT, translate, translated, wrong_pin
from ceremony.hsm.pkcs11.link import Trusted
from ceremony.hsm.pkcs11.module import LoadedModule
from ceremony.hsm.pkcs11.templates import (
    Purpose,
    TemplateKind,
    TokenTraits,
    key_template,
    rsa_public_template,
)
from ceremony.hsm.pkcs11.wrapping import rsa_import_key, spki_sha256

log = logging.getLogger(__name__)

# (module, serial) with a logged-in ceremony session: PKCS#11 logins are per process.
OPEN: set[tuple[str, str]] = set()


def login(
    module: LoadedModule,
    session: Any,
    role: PinRole,
    prompter: PinPrompter,
    describe: Callable[[], TokenInfo],
    where: str,
    present: Callable[[], bool],
) -> None:
    """C_Login as ``role``; ``describe`` reads the token's flags afresh."""
    # Read the flags first: a locked or last-try PIN is refused before anyone types.
    fresh = describe()
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
            if ex.name == PIN_INCORRECT:
                after = _pin_state_after_failure(describe, role)
                raise wrong_pin(role, fresh.describe(), after) from ex
            raise translate(ex, f"logging in as {role.value}", where, present) from ex
    log.info("logged in as %s on %s", role.value, fresh.describe())


def _pin_state_after_failure(describe: Callable[[], TokenInfo], role: PinRole) -> PinState | None:
    try:
        info = describe()
    except CeremonyError:
        return None
    state = info.user_pin if role is PinRole.USER else info.so_pin
    # OK means the token reports no counter at all; absence proves nothing.
    return None if state is PinState.OK else state


def make_trusted(
    module: LoadedModule,
    session: Any,
    trust: TrustRequest,
    out: Trusted,
    where: str,
    traits: TokenTraits,
) -> None:
    """In the SO login: create the TRUSTED session objects the request names."""
    with translated("creating the security officer's trusted keys", where, lambda: True):
        for der in trust.import_keys:
            public = rsa_import_key(der)
            label = f"ceremony-trusted-kek-{secrets.token_hex(6)}"
            session.create_object(rsa_public_template(public, label, trusted=True))
            out.import_keys[spki_sha256(der)] = label
        for _ in range(trust.rsa_aes_wraps):
            label = f"ceremony-trusted-ephemeral-{secrets.token_hex(6)}"
            session.generate_key(
                KeyType.AES,
                256,
                label=label,
                template=key_template(
                    TemplateKind.EPHEMERAL, Purpose.GENERATE, traits, trusted=True
                ),
            )
            out.ephemeral.append(label)
        for _ in range(trust.exports):
            label = f"ceremony-trusted-transport-{secrets.token_hex(6)}"
            value = Secret(session.generate_random(256), "transport key")
            template: dict[Any, Any] = key_template(
                TemplateKind.TRANSPORT, Purpose.IMPORT, traits, trusted=True
            )
            template[Attribute.VALUE] = value.reveal()
            template[Attribute.LABEL] = label.encode("utf-8")
            module.cryptoki.create_object(session.handle, template)
            out.transport.append((label, value))
    log.info(
        "security officer trusted %d import key(s), %d ephemeral and %d transport key(s)",
        len(out.import_keys),
        len(out.ephemeral),
        len(out.transport),
    )

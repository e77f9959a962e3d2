"""The token found by label or serial in a PKCS#11 module, and opening ceremony sessions on it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pkcs11 import Attribute, ObjectClass, TokenFlag
from pkcs11.exceptions import PKCS11Error

from ceremony.core.ceremony_file.vocabulary import TrustedWrap
from ceremony.core.secret import Secret
from ceremony.errors import CeremonyError, HsmError, TokenNotFoundError
from ceremony.hsm.base import (
    HsmBackend,
    HsmConfig,
    LoginSteps,
    PinPrompter,
    PinRequest,
    PinRole,
    Preflight,
    RandomBytes,
    TokenInfo,
    TrustRequest,
)
from ceremony.hsm.pkcs11 import _cryptoki, mechanisms
from ceremony.hsm.pkcs11.errors import translated
from ceremony.hsm.pkcs11.link import Link, PreflightCache, Trusted, close_quietly
from ceremony.hsm.pkcs11.login import OPEN, login, make_trusted
from ceremony.hsm.pkcs11.module import LoadedModule, load_module, token_info
from ceremony.hsm.pkcs11.session import Pkcs11Session
from ceremony.hsm.pkcs11.templates import TokenTraits

log = logging.getLogger(__name__)


def _named(info: TokenInfo) -> str:
    """The token for a message: model, serial and label."""
    return f"the token {info.describe()}"


class Pkcs11Backend:
    """A token found by label or serial in a PKCS#11 module; slot ids are never used."""

    def __init__(self, config: HsmConfig, traits: TokenTraits | None = None) -> None:
        self.config = config
        # None: from the preflight and the ceremony's [hsm] trusted_wrap (TokenTraits.of).
        self._traits = traits
        self._cache = PreflightCache()

    @property
    def _where(self) -> str:
        return self.config.describe()

    @property
    def traits(self) -> TokenTraits:
        """What this token's templates carry: the preflight's findings under the policy."""
        if self._traits is None:
            preflight = self.preflight()
            self._traits = TokenTraits.of(
                preflight.trusted_wrap,
                self.config.trusted_wrap,
                check_value=preflight.check_value_attribute,
            )
        return self._traits

    def module(self) -> LoadedModule:
        return load_module(self.config.module_path, self.config.init_reserved)

    def token_present(self) -> bool:
        try:
            self.find_token()
        except CeremonyError:
            return False
        return True

    def find_token(self) -> Any:
        """The python-pkcs11 Token, looked up afresh (flags change after every login)."""
        module = self.module()
        serial = self.config.token_serial.encode("ascii") if self.config.token_serial else None
        with translated("looking for the token", self._where, lambda: True):
            tokens = list(
                module.lib.get_tokens(token_label=self.config.token_label, token_serial=serial)
            )
        if not tokens:
            raise self._not_found(module)
        if len(tokens) > 1:
            raise HsmError(
                f"{len(tokens)} tokens match {self._where}",
                hint="select the token by its serial number as well",
            )
        return tokens[0]

    def _not_found(self, module: LoadedModule) -> CeremonyError:
        """What is there instead: a token with the label but another serial is not "absent"."""
        label, serial = self.config.token_label, self.config.token_serial
        hint = (
            "connect the token; for the rehearsal token run 'ceremony hsm init'; "
            "check CEREMONY_TOKEN_LABEL / CEREMONY_TOKEN_SERIAL"
        )
        if label and serial:
            with contextlib.suppress(PKCS11Error):
                others = sorted(
                    t.serial.decode("ascii", "replace").strip()
                    for t in module.lib.get_tokens(token_label=label)
                )
                if others:
                    return TokenNotFoundError(
                        f"the token labelled {label!r} in {self.config.module_path} has serial "
                        f"{', '.join(others)}, not {serial}, the serial the ceremony file names",
                        hint="this is another token with the same label: connect the token with "
                        f"serial {serial}, or correct token_serial in the file and have it "
                        "reviewed again",
                    )
            with contextlib.suppress(PKCS11Error):
                named = [
                    str(t.label).strip()
                    for t in module.lib.get_tokens(token_serial=serial.encode("ascii"))
                ]
                if named:
                    return TokenNotFoundError(
                        f"the token with serial {serial} in {self.config.module_path} is labelled "
                        f"{named[0]!r}, not {label!r} as the ceremony file names it",
                        hint="correct token_label in the file (and have it reviewed again), or "
                        "connect the token the file names",
                    )
            where = (
                f"the token labelled {label!r} with serial {serial} in {self.config.module_path}"
            )
            return TokenNotFoundError(f"{where} is not present", hint=hint)
        return TokenNotFoundError(f"{self._where} is not present", hint=hint)

    def describe(self) -> TokenInfo:
        return token_info(self.module(), self.find_token())

    def preflight(self) -> Preflight:
        """Capabilities from a public session (no PIN); cached for this backend."""
        if self._cache.value is None:
            token = self.find_token()
            info = token_info(self.module(), token)
            with (
                translated("opening a session for the preflight", _named(info), self.token_present),
                token.open(rw=True) as session,
            ):
                self._cache.value = mechanisms.probe(
                    session, token.slot, info, self.module().cryptoki
                )
        return self._cache.value

    @contextmanager
    def public_random(self) -> Iterator[tuple[RandomBytes, str]]:
        """``(source, name)`` from C_GenerateRandom in a public session: no PIN needed."""
        token = self.find_token()
        info = token_info(self.module(), token)
        where = _named(info)
        with translated("opening a session for randomness", where, self.token_present):
            session = token.open()
        try:

            def source(length: int) -> bytes:
                with translated("drawing random bytes", where, self.token_present):
                    return bytes(session.generate_random(length * 8)) if length > 0 else b""

            yield source, f"PKCS#11 C_GenerateRandom on {info.model} serial {info.serial}"
        finally:
            close_quietly(session)

    def open(
        self,
        prompter: PinPrompter,
        *,
        trust: TrustRequest | None = None,
    ) -> Pkcs11Session:
        """Log in as the user (after the SO, if ``trust`` asks for trusted objects).

        Under ``[hsm] trusted_wrap = "not-enforced-by-token"`` nothing is trusted: no SO login,
        no CKA_TRUSTED objects; extractable keys then carry no CKA_WRAP_WITH_TRUSTED and wrap
        under untrusted session keys.
        """
        steps = self.begin_login(trust)
        try:
            if steps.needs_security_officer:
                steps.security_officer(prompter)
            return steps.user(prompter)
        finally:
            steps.close()  # nothing to do once user() returned the session

    def begin_login(self, trust: TrustRequest | None = None) -> Pkcs11LoginSteps:
        """A read-write session to log in on, one role at a time (``LoginSteps``)."""
        return Pkcs11LoginSteps(self, trust)

    def _login(
        self, module: LoadedModule, session: Any, role: PinRole, prompter: PinPrompter
    ) -> None:
        def describe() -> TokenInfo:
            return token_info(module, self.find_token())

        login(module, session, role, prompter, describe, self._where, self.token_present)

    # -- the rehearsal token's birth (ceremony hsm init)

    def init_token(self, label: str, prompter: PinPrompter) -> Secret:
        """C_InitToken on a free slot, then C_InitPIN in an SO session; returns the user PIN."""
        module = self.module()
        where = f"the new token {label!r} in {module.path}"
        with translated("looking for a free slot", where, lambda: True):
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
            with translated("initialising the token", where, lambda: True):
                module.cryptoki.init_token(free[0].slot_id, so_pin.reveal(), label)
            token = self.find_token()
            with translated("setting the user PIN", where, lambda: True):
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

    def has_certificate(self, label: str) -> bool:
        """Whether a certificate ``label`` is visible in a public session (no PIN asked)."""
        try:
            return self.public_certificate(label) is not None
        except CeremonyError:
            return False

    def public_certificate(self, label: str) -> bytes | None:
        """The DER of certificate ``label`` as a public session sees it (no PIN asked): what an
        auditor exports once to pin with ``ceremony verify --trust-anchor``."""
        token = self.find_token()
        with (
            translated("looking for the certificate", self._where, lambda: True),
            token.open() as session,
        ):
            for obj in session.get_objects(
                {Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: label}
            ):
                return bytes(obj[Attribute.VALUE])
        return None


class Pkcs11LoginSteps:
    """``LoginSteps`` on one read-write session: the SO's login and trusted objects, the user's."""

    def __init__(self, backend: Pkcs11Backend, trust: TrustRequest | None) -> None:
        self._backend = backend
        self._module = module = backend.module()
        self._token = backend.find_token()
        self._info = info = token_info(module, self._token)
        self._where = _named(info)
        if trust is not None and not trust.empty and not backend.traits.wrap_with_trusted:
            if backend.config.trusted_wrap is TrustedWrap.REQUIRED:
                backend.preflight().require_trusted_wrap(
                    backend.config.trusted_wrap, "preparing the security officer's trusted keys"
                )
            policy = backend.config.trusted_wrap.value
            log.info("trusted_wrap %s: no SO login, no trusted objects", policy)
            trust = None
        self._trust = trust or TrustRequest()
        self._key = (module.path, info.serial)
        if self._key in OPEN:
            raise HsmError(
                f"a ceremony session on {info.describe()} is already open in this process",
                hint="close it first: PKCS#11 logins are shared by all sessions of a process",
            )
        with translated("opening a session", self._where, backend.token_present):
            self._session = self._token.open(rw=True)
        OPEN.add(self._key)
        self._trusted = Trusted()
        self.needs_security_officer = not self._trust.empty
        self._handed_over = False
        self._closed = False

    def security_officer(self, prompter: PinPrompter) -> None:
        if not self.needs_security_officer:
            raise HsmError(
                "no security officer login is needed now", hint="this is a bug in the caller"
            )
        backend, module, session = self._backend, self._module, self._session
        backend._login(module, session, PinRole.SO, prompter)
        where = self._where
        try:
            make_trusted(module, session, self._trust, self._trusted, where, backend.traits)
        finally:
            with translated("logging the security officer out", where, lambda: True):
                module.cryptoki.logout(session.handle)
        self.needs_security_officer = False

    def user(self, prompter: PinPrompter) -> Pkcs11Session:
        if self.needs_security_officer:
            raise HsmError(
                "the security officer logs in before the user", hint="this is a bug in the caller"
            )
        backend = self._backend
        backend._login(self._module, self._session, PinRole.USER, prompter)
        link = Link(
            self._module,
            self._token,
            self._session,
            self._info,
            self._trusted,
            backend.token_present,
            backend._cache,
            backend.traits,
            backend.config.trusted_wrap,
        )
        self._handed_over = True
        return Pkcs11Session(link, self._key)

    def close(self) -> None:
        if self._handed_over or self._closed:
            return
        self._closed = True
        self._trusted.wipe()
        close_quietly(self._session)
        OPEN.discard(self._key)


if TYPE_CHECKING:
    # mypy proves the backend keeps to the interface.
    def _conforms(backend: Pkcs11Backend) -> HsmBackend:
        return backend

    def _conforms_steps(steps: Pkcs11LoginSteps) -> LoginSteps:
        return steps

"""One logged-in python-pkcs11 session on one token, with what every operation on it shares."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from pkcs11 import Attribute, ObjectClass
from pkcs11.exceptions import AttributeSensitive, AttributeTypeInvalid, PKCS11Error

from ceremony.core.ceremony_file.vocabulary import TrustedWrap
from ceremony.core.secret import Secret
from ceremony.errors import (
    CeremonyError,
    HsmError,
    KeyMaterialError,
    KeyNotFoundError,
    LabelExistsError,
    TokenRemovedError,
)
from ceremony.hsm.base import KeyAttributes, Preflight, TokenInfo, TrustedWrapSupport
from ceremony.hsm.pkcs11 import mechanisms
from ceremony.hsm.pkcs11.errors import translated
from ceremony.hsm.pkcs11.module import LoadedModule
from ceremony.hsm.pkcs11.templates import TokenTraits

log = logging.getLogger(__name__)

CLASS_NAMES = {
    ObjectClass.SECRET_KEY: "secret key",
    ObjectClass.PRIVATE_KEY: "private key",
    ObjectClass.PUBLIC_KEY: "public key",
    ObjectClass.CERTIFICATE: "certificate",
    ObjectClass.DATA: "data object",
}


def get(obj: Any, attribute: Attribute) -> Any:
    """An attribute's value, or None if the token does not hold or will not show it."""
    try:
        return obj[attribute]
    except (AttributeTypeInvalid, AttributeSensitive):
        return None


def close_quietly(session: Any) -> None:
    try:
        session.close()
    except PKCS11Error:
        log.warning("the PKCS#11 session could not be closed cleanly")


@dataclass
class Trusted:
    """Session objects the SO marked TRUSTED, owned by the ceremony session."""

    import_keys: dict[str, str] = field(default_factory=dict)  # SPKI SHA-256 -> label
    ephemeral: list[str] = field(default_factory=list)  # AES-256 labels for RSA-AES wraps
    transport: list[tuple[str, Secret]] = field(default_factory=list)  # export keys + values

    def wipe(self) -> None:
        for _, value in self.transport:
            value.close()
        self.transport.clear()


@dataclass
class PreflightCache:
    """The backend's preflight, probed once and shared with its sessions."""

    value: Preflight | None = None


@dataclass
class Link:
    """The python-pkcs11 session and token of a ceremony session; every call is translated."""

    module: LoadedModule
    token: Any
    session: Any
    info: TokenInfo
    trusted: Trusted
    present: Callable[[], bool]
    cache: PreflightCache
    traits: TokenTraits
    policy: TrustedWrap = TrustedWrap.REQUIRED  # the ceremony's [hsm] trusted_wrap
    closed: bool = False
    _mechanisms: set[int] | None = None

    def step(self, step: str) -> AbstractContextManager[None]:
        if self.closed:
            raise HsmError(
                f"{step}: the ceremony session was already closed",
                hint="this is a bug in the ceremony flow; open a new session",
            )
        return translated(step, self.where, self.present)

    @property
    def where(self) -> str:
        """The token for a message: model, serial and label."""
        return f"the token {self.info.describe()}"

    def has(self, mechanism: int) -> bool:
        if self._mechanisms is None:
            with self.step("reading the mechanism list"):
                self._mechanisms = {int(m) for m in self.token.slot.get_mechanisms()}
        return mechanism in self._mechanisms

    def preflight(self) -> Preflight:
        if self.cache.value is None:
            with self.step("probing the token's mechanisms"):
                self.cache.value = mechanisms.probe(
                    self.session, self.token.slot, self.info, self.module.cryptoki
                )
        return self.cache.value

    def objects(self, label: str, step: str) -> list[Any]:
        with self.step(step):
            return list(self.session.get_objects({Attribute.LABEL: label}))

    def find(self, label: str, classes: Sequence[ObjectClass], step: str) -> Any:
        for obj in self.objects(label, step):
            with self.step(step):
                cls = obj[Attribute.CLASS]
            if cls in classes:
                return obj
        if not self.present():
            raise TokenRemovedError(
                f"{self.where} went away while {step}",
                hint="stop: reconnect the token; start again from the last completed step",
            )
        wanted = " or ".join(CLASS_NAMES.get(c, str(c)) for c in classes)
        raise KeyNotFoundError(
            f"no {wanted} labelled {label!r} on {self.info.describe()}",
            hint="check the label in the ceremony file against 'pkcs11-tool -O'",
        )

    def key(self, label: str, step: str) -> Any:
        return self.find(label, (ObjectClass.SECRET_KEY, ObjectClass.PRIVATE_KEY), step)

    def require_new_label(self, label: str) -> None:
        if not label or len(label.encode("utf-8")) > 64:
            raise KeyMaterialError(
                "a key label must be 1 to 64 bytes",
                hint="choose a short label that names the key and its ceremony",
            )
        if self.objects(label, f"checking label {label!r}"):
            raise LabelExistsError(
                f"a key labelled {label!r} already exists on {self.info.describe()}",
                hint="choose a new label; the tool never replaces or reuses a key",
            )

    def new_id(self) -> bytes:
        with self.step("drawing a key id"):
            return bytes(self.session.generate_random(128))

    def random_bytes(self, length: int) -> bytes:
        if length <= 0:
            return b""
        with self.step("drawing random bytes"):
            out = bytes(self.session.generate_random(length * 8))
        if len(out) != length:
            raise HsmError(
                f"the token returned {len(out)} random bytes instead of {length}",
                hint="stop: the token's random generator is not trustworthy",
            )
        return out

    def require_trusted_wrap(self, purpose: str) -> None:
        """Refuse an extractable key's making or leaving where the policy cannot hold here."""
        self.preflight().require_trusted_wrap(self.policy, purpose)

    def attributes(self, obj: Any) -> KeyAttributes:
        enforced = self.preflight().trusted_wrap is TrustedWrapSupport.ENFORCED
        with self.step("reading key attributes"):
            cls = obj[Attribute.CLASS]
            check_value = get(obj, Attribute.CHECK_VALUE)
            key_type = get(obj, Attribute.KEY_TYPE)
            return KeyAttributes(
                label=obj[Attribute.LABEL],
                id_hex=(get(obj, Attribute.ID) or b"").hex(),
                object_class=CLASS_NAMES.get(cls, str(cls)),
                key_type=key_type.name if key_type is not None else "unknown",
                token=get(obj, Attribute.TOKEN),
                private=get(obj, Attribute.PRIVATE),
                local=get(obj, Attribute.LOCAL),
                sensitive=get(obj, Attribute.SENSITIVE),
                always_sensitive=get(obj, Attribute.ALWAYS_SENSITIVE),
                extractable=get(obj, Attribute.EXTRACTABLE),
                never_extractable=get(obj, Attribute.NEVER_EXTRACTABLE),
                wrap_with_trusted=(with_trusted := get(obj, Attribute.WRAP_WITH_TRUSTED)),
                wrap_with_trusted_enforced=enforced if with_trusted is True else None,
                trusted=get(obj, Attribute.TRUSTED),
                modifiable=get(obj, Attribute.MODIFIABLE),
                check_value_hex=check_value.hex().upper() if check_value else None,
            )

    def destroy_all(self, label: str) -> list[str]:
        destroyed: list[str] = []
        step = f"destroying the objects labelled {label!r}"
        for obj in self.objects(label, step):
            with self.step(step):
                cls = obj[Attribute.CLASS]
                obj.destroy()
            destroyed.append(CLASS_NAMES.get(cls, str(cls)))
        return destroyed

    def destroy_label_quietly(self, label: str) -> None:
        try:
            self.destroy_all(label)
        except CeremonyError:
            log.warning(
                "a throw-away session object could not be destroyed; it dies with the session"
            )

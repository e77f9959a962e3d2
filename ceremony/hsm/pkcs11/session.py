"""A logged-in ceremony session: the HsmSession interface over the pkcs11 operations."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import TYPE_CHECKING

from ceremony.core.component import KeyAlgorithm
from ceremony.core.kcv import CheckValue
from ceremony.core.secret import Secret
from ceremony.core.wrap import OaepHash
from ceremony.hsm.base import (
    DestroyRecord,
    HsmSession,
    ImportResult,
    KeyAttributes,
    KeyRecord,
    KeySpec,
    Preflight,
    RandomBytes,
    SignatureFormat,
    TokenCheckValues,
    TokenInfo,
    WrapConstruction,
    WrapResult,
)
from ceremony.hsm.pkcs11 import _cryptoki, checkvalues, keys, wrapping
from ceremony.hsm.pkcs11.link import Link, close_quietly
from ceremony.hsm.pkcs11.login import OPEN

log = logging.getLogger(__name__)


class Pkcs11Session:
    """A logged-in user session; every call translates pkcs11 failures into CeremonyErrors."""

    def __init__(self, link: Link, open_key: tuple[str, str]) -> None:
        self._link = link
        self._open_key = open_key

    @property
    def token(self) -> TokenInfo:
        return self._link.info

    def pkcs11_session(self) -> object:
        """The python-pkcs11 ``Session`` under this login, for pyHanko's PKCS#11 signer."""
        return self._link.session

    def preflight(self) -> Preflight:
        return self._link.preflight()

    def random_bytes(self, length: int) -> bytes:
        return self._link.random_bytes(length)

    def random_source(self) -> tuple[RandomBytes, str]:
        info = self._link.info
        return self.random_bytes, f"PKCS#11 C_GenerateRandom on {info.model} serial {info.serial}"

    def key_attributes(self, label: str) -> KeyAttributes:
        return self._link.attributes(self._link.key(label, f"reading attributes of {label!r}"))

    def require_new_label(self, label: str) -> None:
        self._link.require_new_label(label)

    def generate_key(self, label: str, spec: KeySpec, *, extractable: bool = False) -> KeyRecord:
        return keys.generate_key(self._link, label, spec, extractable=extractable)

    def check_values(self, label: str, length: int | None = None) -> TokenCheckValues:
        return checkvalues.check_values(self._link, label, length)

    def import_key(
        self,
        label: str,
        algorithm: KeyAlgorithm,
        key: Secret,
        *,
        expected: CheckValue,
        extractable: bool = False,
    ) -> ImportResult:
        return keys.import_key(
            self._link, label, algorithm, key, expected=expected, extractable=extractable
        )

    def export_clear(self, label: str) -> Secret:
        return wrapping.export_clear(self._link, label)

    def wrap_for_public_key(
        self,
        label: str,
        import_key_der: bytes,
        *,
        method: WrapConstruction,
        oaep_hash: OaepHash,
    ) -> WrapResult:
        return wrapping.wrap_for_public_key(
            self._link, label, import_key_der, method=method, oaep_hash=oaep_hash
        )

    def public_key(self, label: str) -> bytes:
        return keys.public_key(self._link, label)

    def sign_digest(
        self, label: str, digest: bytes, fmt: SignatureFormat = SignatureFormat.DER
    ) -> bytes:
        return keys.sign_digest(self._link, label, digest, fmt)

    def certificate(self, label: str) -> bytes | None:
        return keys.certificate(self._link, label)

    def store_certificate(self, label: str, der: bytes) -> None:
        keys.store_certificate(self._link, label, der)

    def destroy(self, label: str) -> DestroyRecord:
        return keys.destroy(self._link, label)

    def close(self) -> None:
        link = self._link
        if link.closed:
            return
        link.closed = True
        OPEN.discard(self._open_key)
        link.trusted.wipe()
        try:
            link.module.cryptoki.logout(link.session.handle)
        except _cryptoki.CryptokiError as ex:
            log.warning("logout failed (%s); the session is closed anyway", ex.name)
        close_quietly(link.session)

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
        state = "closed" if self._link.closed else "open"
        return f"<Pkcs11Session {self._link.info.describe()} {state}>"


if TYPE_CHECKING:
    # mypy proves the session keeps to the interface.
    def _conforms(session: Pkcs11Session) -> HsmSession:
        return session

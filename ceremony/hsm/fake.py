"""An in-memory fake of the HSM interface for fast tests of the layers above; never a real token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from ceremony.core import kcv, parity
from ceremony.core.ceremony_file.vocabulary import TrustedWrap
from ceremony.core.component import KeyAlgorithm
from ceremony.core.kcv import CheckValue, KcvMethod
from ceremony.core.keylengths import require_key_length
from ceremony.core.secret import Secret
from ceremony.core.wrap import OaepHash
from ceremony.errors import (
    HsmError,
    ImportKeyError,
    KeyNotExtractableError,
    KeyNotFoundError,
    LabelExistsError,
    PinFinalTryError,
    PinIncorrectError,
    PinLockedError,
    TokenRemovedError,
    WrapError,
)
from ceremony.hsm.base import (
    Capability,
    CapabilityStatus,
    DestroyRecord,
    HsmBackend,
    HsmSession,
    ImportPath,
    ImportResult,
    KeyAttributes,
    KeyKind,
    KeyRecord,
    KeySpec,
    LoginSteps,
    PinPrompter,
    PinRequest,
    PinRole,
    PinState,
    Preflight,
    RandomBytes,
    SignatureFormat,
    TokenCheckValues,
    TokenInfo,
    TrustedWrapSupport,
    TrustRequest,
    WrapConstruction,
    WrapResult,
)

# What SoftHSM 2.6.1 can do, so upper layers meet the same refusals as on the rehearsal token.
SOFTHSM_2_6_1: Mapping[Capability, bool] = {
    **{c: True for c in Capability},
    Capability.OAEP_SHA256: False,
    Capability.OAEP_SHA512: False,
    Capability.RSA_AES_KEY_WRAP_SHA1: False,
    Capability.RSA_AES_KEY_WRAP_SHA256: False,
    Capability.XOR_COMBINE: False,
    Capability.ECDSA_SHA256: False,
}
EVERYTHING: Mapping[Capability, bool] = {c: True for c in Capability}

_DIGESTS: Mapping[int, type[hashes.HashAlgorithm]] = {
    20: hashes.SHA1,
    28: hashes.SHA224,
    32: hashes.SHA256,
    48: hashes.SHA384,
}


@dataclass
class _Key:
    label: str
    key_id: bytes
    spec: KeySpec
    extractable: bool
    local: bool
    value: Secret | None = None
    private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None
    certificate: bytes | None = None
    # CKA_WRAP_WITH_TRUSTED: an extractable key leaves only under a trusted key, unless the
    # ceremony file said the token does not enforce it.
    protected: bool = True

    def attributes(self) -> KeyAttributes:
        secret = self.spec.kind is KeyKind.SECRET
        return KeyAttributes(
            label=self.label,
            id_hex=self.key_id.hex(),
            object_class="secret key" if secret else "private key",
            key_type={"AES": "AES", "TDES": f"DES{self.spec.size // 8}"}.get(
                self.spec.family, "GENERIC_SECRET"
            )
            if secret
            else self.spec.family,
            token=True,
            private=True,
            local=self.local,
            sensitive=True,
            always_sensitive=self.local,
            extractable=self.extractable,
            never_extractable=self.local and not self.extractable,
            wrap_with_trusted=self.extractable and self.protected,
            trusted=False,
            modifiable=False,
        )


@dataclass
class FakeToken:
    """The fake's state; shared by its backend and sessions so tests can look inside."""

    label: str = "fake-token"
    serial: str = "FAKE000000000001"
    user_pin: bytes = b"1234"
    so_pin: bytes = b"5678"
    capabilities: Mapping[Capability, bool] = field(default_factory=lambda: dict(SOFTHSM_2_6_1))
    user_pin_state: PinState = PinState.OK
    so_pin_state: PinState = PinState.OK
    present: bool = True
    keys: dict[str, _Key] = field(default_factory=dict)
    certificates: dict[str, bytes] = field(default_factory=dict)
    trusted_wrap: TrustedWrap = TrustedWrap.REQUIRED  # the policy the file states
    logged_in: bool = False


class FakeBackend:
    """Implements HsmBackend in memory with software crypto: fast, and proves nothing about HSMs."""

    def __init__(self, token: FakeToken | None = None) -> None:
        self.state = token or FakeToken()

    def describe(self) -> TokenInfo:
        t = self.state
        if not t.present:
            raise TokenRemovedError(f"the fake token {t.label!r} was removed", hint="reconnect it")
        return TokenInfo(
            label=t.label,
            serial=t.serial,
            model="ceremony fake (software, no security)",
            manufacturer="ceremony",
            hardware_version="0.0",
            firmware_version="0.0",
            library_description="in-memory fake",
            library_manufacturer="ceremony",
            library_version="0.0",
            cryptoki_version="0.0",
            module_path="<fake>",
            user_pin=t.user_pin_state,
            so_pin=t.so_pin_state,
        )

    def preflight(self) -> Preflight:
        statuses = tuple(
            CapabilityStatus(c, self.state.capabilities.get(c, False), detail="fake")
            for c in Capability
        )
        enforced = self.state.capabilities.get(Capability.WRAP_WITH_TRUSTED, False)
        return Preflight(
            self.describe(),
            statuses,
            kwp_mechanism="CKM_AES_KEY_WRAP_PAD",
            hmac_kcv_min_length=32,
            trusted_wrap=TrustedWrapSupport.ENFORCED if enforced else TrustedWrapSupport.ABSENT,
            generated_keys_local=True,
        )

    def open(self, prompter: PinPrompter, *, trust: TrustRequest | None = None) -> FakeSession:
        steps = self.begin_login(trust)
        try:
            if steps.needs_security_officer:
                steps.security_officer(prompter)
            return steps.user(prompter)
        finally:
            steps.close()

    def begin_login(self, trust: TrustRequest | None = None) -> FakeLoginSteps:
        return FakeLoginSteps(self, trust or TrustRequest())

    def _login(self, prompter: PinPrompter, role: PinRole, info: TokenInfo) -> None:
        request = PinRequest(role, info.label, info.module_path, info)
        state = self.state.user_pin_state if role is PinRole.USER else self.state.so_pin_state
        if state is PinState.LOCKED:
            raise PinLockedError(f"the fake {role.value} PIN is locked", hint="unblock it")
        if state is PinState.FINAL_TRY and not prompter.confirm_final_try(request):
            raise PinFinalTryError(f"the fake {role.value} PIN has one try left", hint="confirm")
        expected = self.state.user_pin if role is PinRole.USER else self.state.so_pin
        with prompter.pin(request) as pin:
            if not hmac.compare_digest(pin.reveal(), expected):
                after = PinState.COUNT_LOW if state is PinState.OK else state  # as flags do
                self._set_pin_state(role, after)
                raise PinIncorrectError(
                    f"wrong {role.value} PIN for the fake token",
                    hint="check the PIN",
                    pin_state=after.name,
                )
        if state is PinState.COUNT_LOW:
            self._set_pin_state(role, PinState.OK)  # a good login clears the flag

    def _set_pin_state(self, role: PinRole, state: PinState) -> None:
        if role is PinRole.USER:
            self.state.user_pin_state = state
        else:
            self.state.so_pin_state = state


class FakeLoginSteps:
    """LoginSteps on the fake: the SO's login, then the user's, each checked when typed."""

    def __init__(self, backend: FakeBackend, trust: TrustRequest) -> None:
        self._backend = backend
        self._info = backend.describe()
        if backend.state.logged_in:
            raise HsmError("a ceremony session on the fake token is already open", hint="close it")
        self._trust = trust
        self._trusted: set[str] = set()
        self.needs_security_officer = not trust.empty

    def security_officer(self, prompter: PinPrompter) -> None:
        if not self.needs_security_officer:
            raise HsmError("no security officer login is needed now", hint="a bug")
        self._backend._login(prompter, PinRole.SO, self._info)
        self._trusted = {hashlib.sha256(der).hexdigest() for der in self._trust.import_keys}
        self.needs_security_officer = False

    def user(self, prompter: PinPrompter) -> FakeSession:
        if self.needs_security_officer:
            raise HsmError("the security officer logs in before the user", hint="a bug")
        if self._backend.state.logged_in:
            raise HsmError("a ceremony session on the fake token is already open", hint="close it")
        self._backend._login(prompter, PinRole.USER, self._info)
        self._backend.state.logged_in = True
        return FakeSession(self._backend, self._info, self._trusted, self._trust)

    def close(self) -> None:
        pass  # the fake holds nothing until user() returns a session


class FakeSession:
    """A logged-in fake session; same refusals as the real backend where it matters."""

    def __init__(
        self, backend: FakeBackend, info: TokenInfo, trusted: set[str], trust: TrustRequest
    ) -> None:
        self._backend = backend
        self._info = info
        self._trusted = trusted
        self._ephemeral = trust.rsa_aes_wraps
        self._exports = trust.exports
        self._closed = False

    @property
    def _state(self) -> FakeToken:
        if self._closed:
            raise HsmError("the fake session was closed", hint="open a new one")
        if not self._backend.state.present:
            raise TokenRemovedError("the fake token went away", hint="reconnect it")
        return self._backend.state

    @property
    def token(self) -> TokenInfo:
        return self._info

    def preflight(self) -> Preflight:
        return self._backend.preflight()

    def random_bytes(self, length: int) -> bytes:
        _ = self._state
        return secrets.token_bytes(length)

    def random_source(self) -> tuple[RandomBytes, str]:
        return self.random_bytes, "fake token randomness (operating system CSPRNG)"

    def _key(self, label: str) -> _Key:
        key = self._state.keys.get(label)
        if key is None:
            raise KeyNotFoundError(f"no key labelled {label!r} on the fake token", hint="check")
        return key

    def _new(self, label: str) -> None:
        if label in self._state.keys:
            raise LabelExistsError(f"a key labelled {label!r} already exists", hint="new label")

    def key_attributes(self, label: str) -> KeyAttributes:
        return self._key(label).attributes()

    def require_new_label(self, label: str) -> None:
        self._new(label)

    def generate_key(self, label: str, spec: KeySpec, *, extractable: bool = False) -> KeyRecord:
        self._new(label)
        key = _Key(label, secrets.token_bytes(16), spec, extractable, local=True)
        key.protected = self._state.trusted_wrap is TrustedWrap.REQUIRED
        public_der = None
        if spec.kind is KeyKind.SECRET:
            key.value = Secret(secrets.token_bytes(spec.size), label)
            if spec.family == "TDES":
                parity.adjust(key.value.reveal())
        elif spec.family == "EC":
            curve = ec.SECP256R1() if spec.size == 256 else ec.SECP384R1()
            key.private = ec.generate_private_key(curve)
        else:
            key.private = rsa.generate_private_key(public_exponent=65537, key_size=spec.size)
        self._state.keys[label] = key
        if key.private is not None:
            public_der = self.public_key(label)
        return KeyRecord(
            label,
            key.key_id.hex(),
            spec,
            {"CKA_EXTRACTABLE": extractable, "CKA_WRAP_WITH_TRUSTED": extractable},
            key.attributes(),
            self.check_values(label) if key.value is not None else None,
            public_der,
        )

    def check_values(self, label: str, length: int | None = None) -> TokenCheckValues:
        key = self._key(label)
        if key.value is None:
            raise HsmError(f"{label!r} is not a secret key", hint="check values are for secrets")
        values: tuple[CheckValue, ...]
        if key.spec.family == "AES":
            values = (
                kcv.check_value(key.value, KcvMethod.AES_CMAC, length),
                kcv.check_value(key.value, KcvMethod.AES_ECB_ZERO),
            )
        elif key.spec.family == "TDES":
            values = (kcv.check_value(key.value, KcvMethod.TDES_ECB_ZERO),)
        else:
            values = (kcv.check_value(key.value, KcvMethod.HMAC_SHA256_ZERO, length),)
        return TokenCheckValues(values, None, ("fake: computed in software",))

    def import_key(
        self,
        label: str,
        algorithm: KeyAlgorithm,
        key: Secret,
        *,
        expected: CheckValue,
        extractable: bool = False,
    ) -> ImportResult:
        return self._import(label, algorithm, key, expected, extractable, ImportPath.HOST_MEMORY)

    def _import(
        self,
        label: str,
        algorithm: KeyAlgorithm,
        key: Secret,
        expected: CheckValue,
        extractable: bool,
        path: ImportPath,
    ) -> ImportResult:
        require_key_length(algorithm, len(key))
        spec = KeySpec.for_secret(algorithm, len(key))
        if spec.family == "TDES":
            parity.require_odd_parity(key.reveal(), f"key {label!r}")
        self._new(label)
        kcv.require_match(
            expected, kcv.check_value(key, expected.method, len(expected.value)), label
        )
        stored = _Key(label, secrets.token_bytes(16), spec, extractable, local=False)
        stored.protected = self._state.trusted_wrap is TrustedWrap.REQUIRED
        stored.value = Secret(key.reveal(), label)
        self._state.keys[label] = stored
        return ImportResult(
            path,
            KeyRecord(
                label,
                stored.key_id.hex(),
                spec,
                {"CKA_EXTRACTABLE": extractable},
                stored.attributes(),
                self.check_values(label),
            ),
        )

    def _require_extractable(self, key: _Key) -> None:
        if not key.extractable:
            raise KeyNotExtractableError(
                f"key {key.label!r} is not extractable", hint="by design it never leaves"
            )

    def _material(self, key: _Key) -> Secret:
        if key.value is not None:
            return Secret(key.value.reveal(), key.label)
        assert key.private is not None
        return Secret(
            key.private.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            key.label,
        )

    def export_clear(self, label: str) -> Secret:
        key = self._key(label)
        self._require_extractable(key)
        if not key.protected:
            return self._material(key)
        if self._exports <= 0:
            raise KeyNotExtractableError(
                f"key {label!r} needs a transport key the SO trusted",
                hint="open with TrustRequest(exports=1)",
            )
        self._exports -= 1
        return self._material(key)

    def wrap_for_public_key(
        self,
        label: str,
        import_key_der: bytes,
        *,
        method: WrapConstruction,
        oaep_hash: OaepHash,
    ) -> WrapResult:
        public = serialization.load_der_public_key(import_key_der)
        if not isinstance(public, rsa.RSAPublicKey):
            raise ImportKeyError("the import key is not RSA", hint="check the file")
        preflight = self.preflight()
        preflight.require(Capability.for_oaep(oaep_hash), f"wrapping {label!r}")
        key = self._key(label)
        self._require_extractable(key)
        fingerprint = hashlib.sha256(import_key_der).hexdigest()
        if key.protected and fingerprint not in self._trusted:
            raise KeyNotExtractableError(
                f"{label!r} may only be wrapped under an import key the SO trusted",
                hint="open with TrustRequest(import_keys=...)",
            )
        algorithm = oaep_hash.algorithm()
        oaep = padding.OAEP(mgf=padding.MGF1(algorithm=algorithm), algorithm=algorithm, label=None)
        with self._material(key) as material:
            if method is WrapConstruction.RSA_OAEP:
                if key.private is not None:
                    raise WrapError(f"{label!r} is too long for RSA-OAEP", hint="use RSA-AES")
                blob = public.encrypt(bytes(material.reveal()), oaep)
                used: tuple[str, ...] = ("RSA-OAEP (software fake)",)
            else:
                if key.protected and self._ephemeral <= 0:
                    raise KeyNotExtractableError(
                        "no trusted ephemeral key left", hint="TrustRequest(rsa_aes_wraps=1)"
                    )
                self._ephemeral -= 1 if key.protected else 0
                ephemeral = secrets.token_bytes(32)
                blob = public.encrypt(ephemeral, oaep) + aes_key_wrap_with_padding(
                    ephemeral, bytes(material.reveal())
                )
                used = ("RSA-OAEP + AES-KWP (software fake)",)
        return WrapResult(blob, method, oaep_hash, used, fingerprint, True, label, key.key_id.hex())

    def certificate(self, label: str) -> bytes | None:
        return self._state.certificates.get(label)  # none unless a test made one

    def store_certificate(self, label: str, der: bytes) -> None:
        self._state.certificates[label] = der

    def public_key(self, label: str) -> bytes:
        key = self._key(label)
        if key.private is None:
            raise KeyNotFoundError(f"no public key labelled {label!r}", hint="check the label")
        return key.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign_digest(
        self, label: str, digest: bytes, fmt: SignatureFormat = SignatureFormat.DER
    ) -> bytes:
        key = self._key(label)
        if not isinstance(key.private, ec.EllipticCurvePrivateKey) or len(digest) not in _DIGESTS:
            raise HsmError(f"{label!r} cannot sign this digest", hint="EC keys, SHA-1/2 digests")
        der = key.private.sign(digest, ec.ECDSA(Prehashed(_DIGESTS[len(digest)]())))
        if fmt is SignatureFormat.DER:
            return der
        r, s = decode_dss_signature(der)
        size = (key.private.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    def destroy(self, label: str) -> DestroyRecord:
        key = self._key(label)
        values = self.check_values(label).values if key.value is not None else ()
        public_sha = (
            hashlib.sha256(self.public_key(label)).hexdigest() if key.private is not None else None
        )
        del self._state.keys[label]
        if key.value is not None:
            key.value.close()
        kinds = ("secret key",) if key.value is not None else ("private key", "public key")
        return DestroyRecord(label, key.key_id.hex(), kinds, values, public_sha)

    def pkcs11_session(self) -> object:
        raise HsmError(
            "the fake token has no PKCS#11 session to sign with",
            hint="sign records on a real token (SoftHSM2 for rehearsals)",
        )

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._backend.state.logged_in = False

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


if TYPE_CHECKING:
    # mypy proves the fake keeps to the interface.
    def _conforms(backend: FakeBackend, session: FakeSession) -> tuple[HsmBackend, HsmSession]:
        return backend, session

    def _conforms_steps(steps: FakeLoginSteps) -> LoginSteps:
        return steps

"""Shared by the engine tests (fake token) and the SoftHSM2 ceremony tests: ceremony files from
the templates, throw-away import keys made once per process, a capturing delivery, a driver,
and the secret scan."""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding

from ceremony.core import encoding
from ceremony.core.airgap_rules import AirGapReadings, AirGapVerdict, InterfaceReading, evaluate
from ceremony.core.component import Component
from ceremony.engine.context import Services
from ceremony.engine.machine import Machine, Outcome
from ceremony.engine.printing import FormPrinter
from ceremony.engine.requests import AnswerRefused, ComponentSheet, Request
from ceremony.engine.script import Script
from ceremony.hsm.base import HsmBackend, HsmConfig
from ceremony.rehearsal import AWS_ARN, GCP_METHOD, ThrowawayImportKeys, write_import_keys
from tests.unit.ceremony_files import dumps, template

PASSPHRASE = "passphrase of {} for tests"


@dataclass(frozen=True)
class ImportKeyPairs:
    aws: rsa.RSAPrivateKey
    azure: rsa.RSAPrivateKey
    gcp: rsa.RSAPrivateKey
    aws_payment: rsa.RSAPrivateKey

    @property
    def public(self) -> ThrowawayImportKeys:
        return ThrowawayImportKeys(
            self.aws.public_key(),
            self.azure.public_key(),
            self.gcp.public_key(),
            self.aws_payment.public_key(),
        )

    def open_composite(self, provider: str, blob: bytes) -> bytes:
        """OAEP-SHA1 of an ephemeral AES key, then RFC 5649 of the key (SoftHSM 2.6.1 wraps)."""
        private: rsa.RSAPrivateKey = getattr(self, provider)
        size = private.key_size // 8
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303
        ephemeral = private.decrypt(blob[:size], oaep)
        return aes_key_unwrap_with_padding(ephemeral, blob[size:])

    def open_key_cryptogram(self, key_material: bytes) -> bytes:
        """An AWS Payment Cryptography key-material.json opened with the rehearsal key's
        private half, OAEP and MGF1 with the hash its WrappingSpec names."""
        cryptogram = json.loads(key_material)["KeyCryptogram"]
        algorithm = {"RSA_OAEP_SHA_256": hashes.SHA256, "RSA_OAEP_SHA_512": hashes.SHA512}[
            cryptogram["WrappingSpec"]
        ]()
        oaep = padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)
        return self.aws_payment.decrypt(bytes.fromhex(cryptogram["WrappedKeyCryptogram"]), oaep)


@functools.cache
def import_key_pairs() -> ImportKeyPairs:
    """RSA key pairs made once per test process (RSA generation is the slow part)."""
    return ImportKeyPairs(
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa.generate_private_key(public_exponent=65537, key_size=3072),
        rsa.generate_private_key(public_exponent=65537, key_size=3072),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


def isolated() -> AirGapVerdict:
    return evaluate(AirGapReadings(interfaces=(InterfaceReading("lo", "unknown", None, 772),)))


def networked() -> AirGapVerdict:
    return evaluate(AirGapReadings(interfaces=(InterfaceReading("eth0", "up", True, 1),)))


@dataclass
class Capture:
    """A delivery that keeps what it showed, as a test custodian would copy it down."""

    shown: list[ComponentSheet] = field(default_factory=list)
    hidden: int = 0

    def show(self, sheet: ComponentSheet) -> None:
        self.shown.append(sheet)

    def hide(self, sheet: ComponentSheet) -> None:
        self.hidden += 1

    def texts(self) -> dict[str, str]:
        """``"<key>.<index>"`` -> component text, for a later entry."""
        return {f"{s.key}.{s.index}": "\n".join(s.lines) + "\n" for s in self.shown}

    def components(self) -> list[Component]:
        return [encoding.from_text("\n".join(s.lines)) for s in self.shown]


def services(
    backend: Callable[[HsmConfig], HsmBackend],
    delivery: Capture,
    *,
    airgap: Callable[[], AirGapVerdict] = isolated,
    rehearsal_token: bool = True,
    printer: FormPrinter | None = None,
) -> Services:
    return Services(
        backend=backend,
        airgap=airgap,
        clock=lambda: datetime.now(UTC),
        delivery=delivery,
        resolve=lambda module, label, serial: HsmConfig(module, label, serial),
        rehearsal_token=lambda config: rehearsal_token,
        workstation="test-workstation",
        printer=printer,
    )


def script_for(doc: dict[str, Any], pins: dict[str, str], **extra: Any) -> Script:
    people = [p["id"] for p in doc["participants"]]
    return Script(
        passphrases={p: PASSPHRASE.format(p) for p in people}, pins=pins, environ={}, **extra
    )


def drive(
    machine: Machine,
    script: Script,
    *,
    until: str | None = None,
    on_request: Callable[[Request], None] | None = None,
) -> Request | None:
    """Answer every request with ``script`` (stop before the step ``until`` and return it)."""
    request = machine.start()
    while request is not None:
        if on_request is not None:
            on_request(request)
        if until is not None and request.step.startswith(until):
            return request
        value, by = script.answer(request)
        try:
            request = machine.answer(value, by=by)
        except AnswerRefused as ex:
            raise AssertionError(f"step {request.step} refused: {ex}") from ex
    return None


def write_ceremony(folder: Path, doc: dict[str, Any], name: str = "ceremony.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(dumps(doc), encoding="utf-8")
    return path


def write_imports(folder: Path) -> None:
    if (folder / "imports").exists():
        return
    write_import_keys(folder / "imports", import_key_pairs().public, datetime.now(UTC))


def rehearsal_doc(kind: str, *, module: str, label: str, ceremony_id: str) -> dict[str, Any]:
    """A template made runnable: rehearsal, local output and registry, this token, SHA-1 wraps
    (what SoftHSM 2.6.1 can do), the import keys written by ``write_imports``."""
    doc = template(kind)
    doc["ceremony"].update(
        id=ceremony_id, rehearsal=True, output="out", registry="registry/custodians.json"
    )
    doc["hsm"] = {"module": module, "token_label": label}
    for key in doc["keys"]:
        for target in key.get("targets", []):
            target.pop("fingerprint", None)
            provider = target["provider"]
            target["import_key"] = {
                "aws": "imports/aws-params.json",
                "azure": "imports/azure-kek.pem",
                "gcp": "imports/gcp-job.json",
                "aws-payment-cryptography": "imports/apc-params.json",
            }[provider]
            if provider == "aws-payment-cryptography":
                target.pop("root_ca_fingerprint", None)  # a throw-away root each time
            if provider == "aws":
                target["algorithm"] = "RSA_AES_KEY_WRAP_SHA_1"
                target["key_id"] = AWS_ARN
                target.pop("material_valid_to", None)  # the template's date passes one day
                target["material_never_expires"] = True
            if provider == "gcp":
                target["algorithm"] = GCP_METHOD
                target.pop("import_job", None)
    return doc


def outcome_entries(outcome: Outcome) -> list[dict[str, Any]]:
    assert outcome.journal is not None
    return [json.loads(line) for line in outcome.journal.read_bytes().splitlines()]


# ---- the secret scan ------------------------------------------------------------------------


def forms(secret: bytes) -> list[bytes]:
    """Ways a secret could leak into a file: raw, hex (both cases, grouped), base64."""
    hex_lower = secret.hex()
    grouped = " ".join(hex_lower[i : i + 4] for i in range(0, min(len(hex_lower), 32), 4))
    out = [
        secret,
        hex_lower.encode(),
        hex_lower.upper().encode(),
        grouped.encode(),
        grouped.upper().encode(),
        base64.b64encode(secret),
        base64.urlsafe_b64encode(secret).rstrip(b"="),
    ]
    return [f for f in out if len(f) >= 8]


def scan(roots: Iterable[Path], secrets: Iterable[bytes]) -> list[str]:
    """Every (file, form) where a secret shows up under ``roots``.

    Rehearsal custodian forms (``forms/`` in the bundle) hold their component by design and are
    left out here; tests/record checks their pages decompressed.
    """
    patterns = [(i, f) for i, s in enumerate(secrets) for f in forms(s)]
    hits = []
    for root in roots:
        files = (p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
        for path in sorted(p for p in files if "forms" not in p.relative_to(root).parts):
            data = path.read_bytes()
            for i, pattern in patterns:
                if pattern in data:
                    hits.append(f"{path}: secret {i}")
    return hits


def give_signing_identity(fake: Any, organization: str = "Example Payments Ltd") -> None:
    """A production signing key and certificate on a fake token, as a past ceremony made them."""
    from ceremony.core.ceremony_file import SIGNING_LABEL
    from ceremony.core.secret import Secret
    from ceremony.hsm.signing import ensure_signing_identity

    class _Pin:
        def pin(self, request: Any) -> Secret:
            return Secret(bytearray(fake.state.user_pin), "user PIN")

        def confirm_final_try(self, request: Any) -> bool:
            return False

    with fake.open(_Pin()) as session:
        ensure_signing_identity(session, SIGNING_LABEL, organization=organization)


def fill(folder: Path) -> None:
    """Write ballast until the filesystem of ``folder`` has no byte left."""
    with open(folder / "ballast", "wb") as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * (1 << 20))
            f.flush()
            os.fsync(f.fileno())
    with contextlib.suppress(OSError), open(folder / "ballast-tail", "wb") as f:
        while True:
            f.write(b"\0" * 4096)
            f.flush()


def unfill(folder: Path) -> None:
    """The space is back."""
    for name in ("ballast", "ballast-tail"):
        (folder / name).unlink(missing_ok=True)

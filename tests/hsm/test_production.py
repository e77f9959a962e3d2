"""Production ceremonies on NSS softokn and opencryptoki, driven through the engine.

A production file pins every import key by fingerprint, names its token by label and serial,
states the wrap policy, and signs its record with a production key that the ceremony creates in
the token under two security officers ([signing] create). opencryptoki has no EC, so a second
token (NSS) signs its records. Each chain runs the types the module can do, and ``ceremony
verify`` passes on what each wrote with the signing certificate pinned as the trust anchor.
Nothing here goes through ``--answers``: that stays rehearsal-only.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ceremony.cli import main
from ceremony.core import journal, kcv, xor
from ceremony.core.kcv import CheckValue, KcvMethod
from ceremony.core.providers.import_key import Fingerprint
from ceremony.engine.machine import Machine, Status, default_services
from ceremony.hsm import config
from ceremony.record.verify import verify_evidence
from tests.engine.helpers import (
    Capture,
    drive,
    import_key_pairs,
    isolated,
    outcome_entries,
    rehearsal_doc,
    scan,
    script_for,
    write_ceremony,
    write_imports,
)
from tests.hsm import modules
from tests.hsm.modules import ModuleUnderTest

pytestmark = [pytest.mark.hsm, pytest.mark.usefixtures("cheap_scrypt")]

ORGANIZATION = "Example Payments Ltd"
# What a production run reads from the environment: nothing. The file names the token.
_TOKEN_ENV = (
    config.ENV_MODULE,
    config.ENV_TOKEN_LABEL,
    config.ENV_TOKEN_SERIAL,
    config.ENV_INIT_RESERVED,
)


@contextmanager
def _file_names_the_token() -> Iterator[None]:
    """The fixtures point the environment at their token; a production run refuses that."""
    saved = {k: os.environ.pop(k) for k in _TOKEN_ENV if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _hsm_table(made: ModuleUnderTest) -> dict[str, Any]:
    table: dict[str, Any] = {
        "module": made.module_path,
        "token_label": made.token_label,
        "token_serial": made.token_serial,
        # Neither module enforces CKA_WRAP_WITH_TRUSTED: the file says so, the record shows it.
        "trusted_wrap": "not-enforced-by-token",
    }
    if made.init_reserved is not None:
        table["init_reserved"] = made.init_reserved
    return table


def _signing_table(signer: ModuleUnderTest | None) -> dict[str, Any]:
    table: dict[str, Any] = {"create": True, "organization": ORGANIZATION}
    if signer is not None:
        table.update(
            module=signer.module_path,
            token_label=signer.token_label,
            token_serial=signer.token_serial,
        )
        if signer.init_reserved is not None:
            table["init_reserved"] = signer.init_reserved
    return table


def _pinned(target: dict[str, Any]) -> None:
    pairs = import_key_pairs().public
    public = {"aws": pairs.aws, "azure": pairs.azure, "gcp": pairs.gcp}[target["provider"]]
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    target["fingerprint"] = Fingerprint.of_spki(der).hex


def _production_doc(
    kind: str, made: ModuleUnderTest, signer: ModuleUnderTest | None, ceremony_id: str
) -> dict[str, Any]:
    doc = rehearsal_doc(
        kind, module=made.module_path, label=made.token_label, ceremony_id=ceremony_id
    )
    doc["ceremony"]["rehearsal"] = False
    doc["ceremony"]["output"] = f"out-{ceremony_id}"
    doc.pop("printer", None)  # the components are shown on screen, not printed, in this test
    doc["hsm"] = _hsm_table(made)
    doc["signing"] = _signing_table(signer)
    # Creating the signing key takes two security officers; some templates have one.
    officers = [p for p in doc["participants"] if p["role"] == "security-officer"]
    if len(officers) < 2:
        doc["participants"].append(
            {
                "id": "bokafor",
                "name": "Ben Okafor",
                "role": "security-officer",
                "id_reference": "staff badge 0107",
            }
        )
    for key in doc["keys"]:
        for target in key.get("targets", []):
            if target["provider"] == "aws":  # the template's date passes one day
                target.pop("material_valid_to", None)
                target["material_never_expires"] = True
            _pinned(target)
    return doc


class Chain:
    """One module's production ceremonies, in one folder, with its PINs."""

    def __init__(self, made: ModuleUnderTest, signer: ModuleUnderTest | None, folder: Path) -> None:
        self.made, self.signer, self.folder = made, signer, folder
        write_imports(folder)

    def doc(self, kind: str, ceremony_id: str) -> dict[str, Any]:
        return _production_doc(kind, self.made, self.signer, ceremony_id)

    def run(self, doc: dict[str, Any], **script: Any) -> tuple[Machine, Capture]:
        delivery = Capture()
        services = default_services(delivery=delivery)
        services.airgap = isolated
        path = write_ceremony(self.folder, doc, f"{doc['ceremony']['id']}.toml")
        machine = Machine(path, services=services)
        pins = {"user": self.made.user_pin, "so": self.made.so_pin or ""}
        if self.signer is not None:
            pins["signing-user"] = self.signer.user_pin
        with _file_names_the_token():
            drive(machine, script_for(doc, pins, **script))
        assert machine.status is Status.FINISHED, machine.outcome.reason
        journal.verify(machine.outcome.journal.read_bytes(), require_closed=True)  # type: ignore[union-attr]
        return machine, delivery

    def verified(self, machine: Machine) -> None:
        """``ceremony verify`` passes on the ceremony's output, with the production signing
        certificate pinned as the auditor pins it: exported from the token once."""
        outcome = machine.outcome
        assert outcome.signed_record is not None
        anchor = self.folder / f"anchor-{secrets.token_hex(4)}.pem"
        _signing_certificate(self.signer or self.made, anchor)
        report = verify_evidence(outcome.signed_record.parent, trust_anchor=anchor)
        assert report.ok, report.text()
        assert "trust anchor" in report.text()
        entries = outcome_entries(outcome)
        assert entries[0]["data"]["rehearsal"] is False
        identity = next(e["data"] for e in entries if e["event"] == "signing_identity")
        assert (
            identity["subject"].startswith(f"O={ORGANIZATION}")
            or ORGANIZATION in identity["subject"]
        )


def _signing_certificate(made: ModuleUnderTest, to: Path) -> None:
    """The certificate exported as an auditor exports it: ``ceremony hsm info`` on the token
    (a public session, no PIN), which also shows its SHA-256 and that it is not a rehearsal's."""
    args = [
        "hsm",
        "info",
        "--module",
        made.module_path,
        "--token-label",
        made.token_label,
        "--token-serial",
        made.token_serial,
        "--export-certificate",
        str(to),
    ]
    if made.init_reserved is not None:
        args += ["--init-reserved", made.init_reserved]
    with _file_names_the_token():
        assert main(args) == 0
    cert = x509.load_pem_x509_certificate(to.read_bytes())
    assert ORGANIZATION in cert.subject.rfc4514_string()


def _kcv(entries: list[dict[str, Any]], event: str) -> CheckValue:
    data = next(e["data"] for e in entries if e["event"] == event)
    first = data["kcvs"][0] if "kcvs" in data else data
    return CheckValue(KcvMethod(first["kcv_method"]), bytes.fromhex(first["kcv"]))


@pytest.fixture
def nss_chain(tmp_path: Path) -> Iterator[Chain]:
    reason = modules.missing("nss")
    if reason is not None:
        pytest.skip(reason)
    with modules.nss(tmp_path) as made:
        yield Chain(made, None, tmp_path)


@pytest.fixture
def opencryptoki_chain(tmp_path: Path) -> Iterator[Chain]:
    for name in ("opencryptoki", "nss"):
        reason = modules.missing(name)
        if reason is not None:
            pytest.skip(reason)
    with ExitStack() as stack:
        signer = stack.enter_context(modules.nss(tmp_path))
        made = stack.enter_context(modules.opencryptoki())
        yield Chain(made, signer, tmp_path)


def _openssl_oaep_sha256(private_pem: Path, blob: Path) -> bytes:
    done = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-decrypt",
            "-inkey",
            str(private_pem),
            "-in",
            str(blob),
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-pkeyopt",
            "rsa_oaep_md:sha256",
            "-pkeyopt",
            "rsa_mgf1_md:sha256",
        ],
        capture_output=True,
        check=True,
    )
    return done.stdout


def test_generate_export_in_production_on_nss(nss_chain: Chain, tmp_path: Path) -> None:
    chain = nss_chain
    doc = chain.doc("generate-export", "prod-gen")
    label = f"dek-{secrets.token_hex(3)}"
    key = doc["keys"][0]
    key["label"] = label
    aws = next(t for t in key["targets"] if t["provider"] == "aws")
    aws["algorithm"] = "RSAES_OAEP_SHA_256"
    machine, _ = chain.run(doc)
    entries = outcome_entries(machine.outcome)
    opened = next(e["data"] for e in entries if e["event"] == "hsm_opened")
    assert opened["trusted_wrap"] == "not-enforced-by-token"
    generated = next(e["data"] for e in entries if e["event"] == "key_generated")
    sources = {s["kcv_method"]: s["source"] for s in generated["kcv_sources"]}
    assert sources["AES-CMAC"] == "CKM_AES_CMAC in the token"
    # The AWS blob was wrapped inside NSS with OAEP SHA-256; openssl opens it.
    pem = tmp_path / "aws-private.pem"
    pem.write_bytes(
        import_key_pairs().aws.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    bundle = tmp_path / "out-prod-gen" / "bundle" / label
    material = _openssl_oaep_sha256(pem, bundle / f"{aws['label']}/EncryptedKeyMaterial.bin")
    recorded = _kcv(entries, "key_generated")
    kcv.require_match(recorded, kcv.check_value(material, recorded.method), "the AWS blob")
    chain.verified(machine)
    assert scan([tmp_path / "out-prod-gen"], [material]) == []


def _aws_in_token(label: str) -> dict[str, Any]:
    target = {
        "label": "aws-zmk",
        "provider": "aws",
        "algorithm": "RSAES_OAEP_SHA_256",
        "import_key": "imports/aws-params.json",
        "key_id": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "material_never_expires": True,
    }
    _pinned(target)
    return target


@pytest.fixture(params=["nss", "opencryptoki"])
def chain(request: pytest.FixtureRequest) -> Chain:
    fixture = f"{request.param}_chain"
    made: Chain = request.getfixturevalue(fixture)
    return made


def test_split_backup_reconstitute_destroy_in_production(chain: Chain, tmp_path: Path) -> None:
    label = f"zmk-{secrets.token_hex(3)}"
    # 1. split-backup: the key drawn from the token's randomness, XOR into three components.
    split = chain.doc("split-backup", "prod-split")
    key = split["keys"][0]
    key.update(label=label, store_in_hsm=False)
    key["split"] = {
        "scheme": "xor",
        "components": [
            {"custodian": c, "envelope": f"TE-PROD-{i}"}
            for i, c in enumerate(("ebrown", "fgarcia", "gkim"), start=1)
        ],
    }
    machine, shown = chain.run(split)
    chain.verified(machine)
    entries = outcome_entries(machine.outcome)
    recorded = _kcv(entries, "key_generated")
    with xor.combine(shown.components(), expected=recorded) as rebuilt:
        key_bytes = bytes(rebuilt.reveal())
    known = [key_bytes, *(bytes(c.value.reveal()) for c in shown.components())]
    assert scan([tmp_path], known) == []

    # 2. reconstitute into the token, and wrap it there for AWS with OAEP SHA-256.
    rebuild = chain.doc("reconstitute", "prod-rebuild")
    key = rebuild["keys"][0]
    key.update(label=label, kcv=f"{recorded.method.label} {recorded.hex}", store_in_hsm=True)
    key["split"]["made_in"] = "prod-split"
    for i, component in enumerate(key["split"]["components"]):
        sheet = shown.shown[i]
        component["kcv"] = f"{sheet.kcv.method.label} {sheet.kcv.hex}"
        component["envelope"] = f"TE-PROD-{i + 1}"
    key["targets"] = [_aws_in_token(label)]
    machine, _ = chain.run(rebuild, components=shown.texts())
    chain.verified(machine)
    entries = outcome_entries(machine.outcome)
    assert "key_imported" in [e["event"] for e in entries]
    pem = tmp_path / "aws-private.pem"
    pem.write_bytes(
        import_key_pairs().aws.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    blob = tmp_path / "out-prod-rebuild/bundle" / label / "aws-zmk/EncryptedKeyMaterial.bin"
    assert _openssl_oaep_sha256(pem, blob) == key_bytes
    assert scan([tmp_path], known) == []

    # 3. destroy: the key on the token, confirmed by its recorded KCV, under two approvals.
    gone = chain.doc("destroy", "prod-destroy")
    gone["keys"][0] = {
        "label": label,
        "type": "AES",
        "bits": 256,
        "kcv": f"{recorded.method.label} {recorded.hex}",
    }
    machine, _ = chain.run(gone)
    chain.verified(machine)
    entries = outcome_entries(machine.outcome)
    destroyed = next(e for e in entries if e["event"] == "key_destroyed")
    assert destroyed["data"]["kcvs"][0]["kcv"] == recorded.hex
    assert scan([tmp_path], known) == []


def test_generate_export_in_production_on_opencryptoki(
    opencryptoki_chain: Chain, tmp_path: Path
) -> None:
    chain = opencryptoki_chain
    doc = chain.doc("generate-export", "prod-gen-ock")
    label = f"dek-{secrets.token_hex(3)}"
    key = doc["keys"][0]
    key["label"] = label
    # No AES key wrap with padding on this token: Azure's RSA-AES wrap cannot be done in it,
    # so this file exports to AWS and Google Cloud with OAEP SHA-256 alone.
    key["targets"] = [_aws_in_token(label)]
    machine, _ = chain.run(doc)
    entries = outcome_entries(machine.outcome)
    generated = next(e["data"] for e in entries if e["event"] == "key_generated")
    assert generated["where"] == "hsm"
    # No CKM_AES_CMAC here: the AES-CMAC check value came from two ECB operations, and says so.
    sources = {s["kcv_method"]: s["source"] for s in generated["kcv_sources"]}
    assert "from AES-ECB" in sources["AES-CMAC"]
    pem = tmp_path / "aws-private.pem"
    pem.write_bytes(
        import_key_pairs().aws.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    blob = tmp_path / "out-prod-gen-ock/bundle" / label / "aws-zmk/EncryptedKeyMaterial.bin"
    material = _openssl_oaep_sha256(pem, blob)
    recorded = _kcv(entries, "key_generated")
    kcv.require_match(recorded, kcv.check_value(material, recorded.method), "the AWS blob")
    chain.verified(machine)


def test_check_with_token_asks_the_token_as_the_run_does(
    opencryptoki_chain: Chain, capsys: pytest.CaptureFixture[str]
) -> None:
    chain = opencryptoki_chain
    doc = chain.doc("generate-export", "prod-check")
    key = doc["keys"][0]
    key["targets"] = [_aws_in_token(key["label"])]
    path = write_ceremony(chain.folder, doc, "prod-check.toml")
    with _file_names_the_token():
        assert main(["check", str(path), "--token"]) == 0
    out = capsys.readouterr().out
    assert "Token: " in out and "can do everything this ceremony needs" in out
    assert "can sign the record" in out  # the NSS token named in [signing]
    # Azure's RSA-AES wrap needs AES key wrap with padding, which this token lacks: the check
    # says so before anyone is called, naming the key wrap and what else can be done.
    azure = _production_doc("generate-export", chain.made, chain.signer, "prod-check-2")
    path = write_ceremony(chain.folder, azure, "prod-check-2.toml")
    with _file_names_the_token():
        assert main(["check", str(path), "--token"]) == 1
    err = capsys.readouterr().err
    assert "key wrap" in err.lower() and "SHA-1" not in err, err
    assert "wrap = 'software'" in err, err

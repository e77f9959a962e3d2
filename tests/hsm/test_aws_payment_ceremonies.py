"""A TDES zone master key for AWS Payment Cryptography on SoftHSM2: drawn in a split-backup and
rebuilt in a reconstitute, each time wrapped in software under dual control; the openssl command
line opens the key cryptogram to the key (SHA-256 and SHA-512), `ceremony verify` passes, and a
wrap inside SoftHSM2 2.6.1 (no OAEP SHA-256) is refused before roll call."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from ceremony.core import parity, xor
from ceremony.core.kcv import KcvMethod
from ceremony.engine.machine import Machine, default_services
from ceremony.errors import MechanismNotSupportedError
from ceremony.record.verify import verify_evidence
from tests.engine.helpers import (
    Capture,
    import_key_pairs,
    isolated,
    outcome_entries,
    scan,
    write_ceremony,
    write_imports,
)
from tests.hsm.conftest import HsmUnderTest
from tests.hsm.test_ceremonies import _doc, _kcv, _run, home  # noqa: F401 - home is a fixture

pytestmark = [pytest.mark.hsm, pytest.mark.usefixtures("cheap_scrypt", "home")]

LABEL = "zmk-apc"


def _targets(*specs: str) -> list[dict[str, Any]]:
    return [
        {
            "label": f"apc-{spec[-3:]}",
            "provider": "aws-payment-cryptography",
            "algorithm": spec,
            "import_key": "imports/apc-params.json",
            "wrap": "software",
        }
        for spec in specs
    ]


def _opened_by_openssl(folder: Path, key_material: Path) -> bytes:
    """``openssl pkeyutl -decrypt`` with OAEP and MGF1 of the hash the WrappingSpec names."""
    pem = folder / "apc-wrapping-key.pem"
    if not pem.exists():
        pem.write_bytes(
            import_key_pairs().aws_payment.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    cryptogram = json.loads(key_material.read_text())["KeyCryptogram"]
    md = {"RSA_OAEP_SHA_256": "sha256", "RSA_OAEP_SHA_512": "sha512"}[cryptogram["WrappingSpec"]]
    return subprocess.run(
        [
            "openssl", "pkeyutl", "-decrypt", "-inkey", str(pem),
            "-pkeyopt", "rsa_padding_mode:oaep",
            "-pkeyopt", f"rsa_oaep_md:{md}",
            "-pkeyopt", f"rsa_mgf1_md:{md}",
        ],
        input=bytes.fromhex(cryptogram["WrappedKeyCryptogram"]), capture_output=True, check=True,
    ).stdout  # fmt: skip


def _check_bundle(machine: Machine, folder: Path, key: bytes, kcv_hex: str) -> None:
    bundle = machine.outcome.output_folder / "bundle" / LABEL  # type: ignore[operator]
    for target in ("apc-256", "apc-512"):
        material = bundle / target / "key-material.json"
        assert _opened_by_openssl(folder, material) == key
        manifest = json.loads((bundle / target / "MANIFEST.json").read_text())["target"]
        assert manifest["key_check_value_algorithm"] == "ANSI_X9_24"
        assert manifest["key_check_value"] == kcv_hex
        attributes = json.loads(material.read_text())["KeyCryptogram"]["KeyAttributes"]
        assert attributes["KeyUsage"] == "TR31_K0_KEY_ENCRYPTION_KEY"
        assert attributes["KeyAlgorithm"] == "TDES_2KEY"
    assert machine.outcome.signed_record is not None
    report = verify_evidence(machine.outcome.signed_record.parent)
    assert report.ok, report.text()


def test_a_zmk_split_and_rebuilt_is_wrapped_for_aws_payment_cryptography(
    hsm: HsmUnderTest, tmp_path: Path
) -> None:
    issued = _doc(hsm, "split-backup", "apc-issue")
    key = issued["keys"][0]
    key.update(label=LABEL, type="TDES", bits=128, role="zmk", store_in_hsm=False)
    key["split"] = {
        "scheme": "xor",
        "components": [
            {"custodian": c, "envelope": f"TE-APC-{i}"}
            for i, c in enumerate(("ebrown", "fgarcia", "gkim"), start=1)
        ],
    }
    key["targets"] = _targets("RSA_OAEP_SHA_256", "RSA_OAEP_SHA_512")
    machine, shown = _run(hsm, tmp_path, issued)
    entries = outcome_entries(machine.outcome)
    recorded = _kcv(entries, "key_generated")
    assert recorded.method is KcvMethod.TDES_ECB_ZERO
    with xor.combine(shown.components(), expected=recorded) as rebuilt:
        key_bytes = bytes(rebuilt.reveal())
    assert parity.has_odd_parity(key_bytes)
    _check_bundle(machine, tmp_path, key_bytes, recorded.hex)
    confirmed = [e["data"] for e in entries if e["event"] == "import_key_confirmed"]
    assert [c["fingerprint_of"] for c in confirmed] == ["root-ca-certificate"] * 2
    known = [key_bytes, *(bytes(c.value.reveal()) for c in shown.components())]
    assert scan([tmp_path], known) == []

    # Reconstitute: the custodians type their components; wrapped again in software.
    rebuild = _doc(hsm, "reconstitute", "apc-rebuild")
    key = rebuild["keys"][0]
    key.update(
        label=LABEL,
        type="TDES",
        bits=128,
        role="zmk",
        kcv=f"{recorded.method.label} {recorded.hex}",
        store_in_hsm=False,
    )
    key["split"]["made_in"] = "apc-issue"
    for i, component in enumerate(key["split"]["components"]):
        sheet = shown.shown[i]
        component["kcv"] = f"{sheet.kcv.method.label} {sheet.kcv.hex}"
        component["envelope"] = f"TE-APC-{i + 1}"
    key["targets"] = _targets("RSA_OAEP_SHA_256", "RSA_OAEP_SHA_512")
    machine, _ = _run(hsm, tmp_path, rebuild, components=shown.texts())
    entries = outcome_entries(machine.outcome)
    assert any(e["event"] == "key_combined" for e in entries)
    _check_bundle(machine, tmp_path, key_bytes, recorded.hex)
    assert scan([tmp_path], known) == []


def test_a_wrap_inside_softhsm_is_refused_before_roll_call(
    hsm: HsmUnderTest, tmp_path: Path
) -> None:
    from ceremony.hsm.base import Capability

    if hsm.preflight.supports(Capability.OAEP_SHA256):
        pytest.skip("this token does OAEP with SHA-256")
    doc = _doc(hsm, "generate-export", "apc-in-hsm")
    key = doc["keys"][0]
    key.update(label=LABEL + "-hsm", type="TDES", bits=128, role="zmk")
    key["targets"] = [{**_targets("RSA_OAEP_SHA_256")[0], "wrap": "hsm"}]
    write_imports(tmp_path)
    path = write_ceremony(tmp_path, doc, "apc-in-hsm.toml")
    services = default_services(delivery=Capture())
    services.airgap = isolated
    machine = Machine(path, services=services)
    with pytest.raises(MechanismNotSupportedError, match="RSA-OAEP SHA-256") as raised:
        machine.start()
    assert "never falls back" in (raised.value.hint or "")
    events = [e["event"] for e in outcome_entries(machine.outcome)]
    assert "participant_present" not in events and "key_generated" not in events

"""A payment key wrapped for AWS Payment Cryptography by the ceremony machine on the fake token:
in software under dual control, inside a token that can do OAEP SHA-256, refused on one that
cannot (never a silent fallback), and refused before roll call when the root is not the pinned
one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ceremony.core import journal, kcv, xor
from ceremony.core.kcv import CheckValue, KcvMethod
from ceremony.core.providers import aws_payment
from ceremony.engine.machine import Status
from ceremony.errors import ConfigError, MechanismNotSupportedError
from ceremony.hsm.fake import EVERYTHING, FakeBackend, FakeToken
from tests.engine.helpers import drive, import_key_pairs, outcome_entries, script_for
from tests.engine.test_machine import PINS, doc_for, machine_for

pytestmark = pytest.mark.usefixtures("cheap_scrypt")


def _apc_target(**fields: Any) -> dict[str, Any]:
    return {
        "label": "apc",
        "provider": "aws-payment-cryptography",
        "algorithm": "RSA_OAEP_SHA_256",
        "import_key": "imports/apc-params.json",
        **fields,
    }


def _generate(wrap: str, **fields: Any) -> dict[str, Any]:
    doc = doc_for("generate-export")
    key = doc["keys"][0]
    key.update(label="zmk-apc", type="TDES", bits=128, role="zmk")
    key["targets"] = [_apc_target(wrap=wrap, **fields)]
    return doc


def _kcv(entries: list[dict[str, Any]], event: str) -> CheckValue:
    data = next(e["data"] for e in entries if e["event"] == event)
    first = data["kcvs"][0]
    return CheckValue(KcvMethod(first["kcv_method"]), bytes.fromhex(first["kcv"]))


def _bundle(machine: Any, key: str) -> Path:
    return machine.outcome.output_folder / "bundle" / key / "apc"  # type: ignore[no-any-return]


def test_a_wrap_in_a_token_without_oaep_sha256_is_refused_before_roll_call(
    tmp_path: Path,
) -> None:
    machine, _, _ = machine_for(tmp_path, _generate("hsm"))  # the fake is SoftHSM 2.6.1
    with pytest.raises(MechanismNotSupportedError, match="RSA-OAEP SHA-256") as raised:
        machine.start()
    assert "the tool never falls back on its own" in (raised.value.hint or "")
    events = [e["event"] for e in outcome_entries(machine.outcome)]
    assert "participant_present" not in events and "key_generated" not in events


def test_a_token_that_can_wraps_inside_and_the_cryptogram_opens_to_the_key(
    tmp_path: Path,
) -> None:
    doc = _generate("hsm", algorithm="RSA_OAEP_SHA_512", exportable=True)
    fake = FakeBackend(FakeToken(capabilities=dict(EVERYTHING)))
    machine, _, _ = machine_for(tmp_path, doc, fake)
    assert drive(machine, script_for(doc, PINS)) is None
    assert machine.outcome.status is Status.FINISHED
    entries = outcome_entries(machine.outcome)
    recorded = _kcv(entries, "key_generated")
    bundle = _bundle(machine, "zmk-apc")
    key = import_key_pairs().open_key_cryptogram((bundle / "key-material.json").read_bytes())
    kcv.require_match(recorded, kcv.check_value(key, KcvMethod.TDES_ECB_ZERO), "the cryptogram")
    material = json.loads((bundle / "key-material.json").read_text())["KeyCryptogram"]
    assert material["Exportable"] is True and material["WrappingSpec"] == "RSA_OAEP_SHA_512"
    assert material["KeyAttributes"]["KeyUsage"] == "TR31_K0_KEY_ENCRYPTION_KEY"
    manifest = json.loads((bundle / "MANIFEST.json").read_text())
    assert manifest["target"]["key_check_value"] == recorded.hex
    (wrapped,) = [e["data"] for e in entries if e["event"] == "wrapped"]
    assert wrapped["where"] == "hsm" and wrapped["provider"] == "aws_payment_cryptography"


def test_a_zmk_drawn_for_a_split_backup_is_wrapped_in_software(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    key = doc["keys"][0]
    key.update(label="zmk-apc", type="TDES", bits=128, role="zmk", store_in_hsm=False)
    key["split"] = {
        "scheme": "xor",
        "components": [{"custodian": c} for c in ("ebrown", "fgarcia", "gkim")],
    }
    key["targets"] = [_apc_target(wrap="software")]
    machine, delivery, _ = machine_for(tmp_path, doc)
    assert drive(machine, script_for(doc, PINS)) is None
    outcome = machine.outcome
    assert outcome.status is Status.FINISHED
    journal.verify(outcome.journal.read_bytes(), require_closed=True)  # type: ignore[union-attr]
    entries = outcome_entries(outcome)
    recorded = _kcv(entries, "key_generated")
    with xor.combine(delivery.components(), expected=recorded) as rebuilt:
        key_bytes = bytes(rebuilt.reveal())
    bundle = _bundle(machine, "zmk-apc")
    opened = import_key_pairs().open_key_cryptogram((bundle / "key-material.json").read_bytes())
    assert opened == key_bytes
    (confirmed,) = [e["data"] for e in entries if e["event"] == "import_key_confirmed"]
    params = aws_payment.parse_import_parameters(
        (tmp_path / "imports/apc-params.json").read_bytes()
    )
    assert params.root_fingerprint is not None
    assert confirmed["fingerprint_of"] == "root-ca-certificate"
    assert confirmed["fingerprint"] == params.root_fingerprint.hex
    assert confirmed["wrapping_key_fingerprint"] == params.fingerprint.hex
    (wrapped,) = [e["data"] for e in entries if e["event"] == "wrapped"]
    assert wrapped["where"] == "software" and wrapped["manual_cleartext"] is True
    approvals = [e["data"]["operation"] for e in entries if e["event"] == "approval"]
    assert "software-wrap" in approvals
    md = (bundle / "IMPORT.md").read_text()
    assert md.startswith("> **REHEARSAL") and f"`{recorded.hex}`" in md


def test_a_root_other_than_the_pinned_one_stops_the_run_before_anyone_is_called(
    tmp_path: Path,
) -> None:
    doc = _generate("hsm", root_ca_fingerprint="00" * 32)
    machine, _, _ = machine_for(tmp_path, doc)
    with pytest.raises(ConfigError, match=r"keys\[0\]\.targets\[0\]: target .apc.: .* pins 0000"):
        machine.start()


def test_a_payment_key_is_never_wrapped_in_software_out_of_the_hsm() -> None:
    from ceremony.core.ceremony_file import FileError, parse_ceremony_file
    from tests.unit.ceremony_files import dumps

    with pytest.raises(FileError, match="export the ZMK from the HSM in clear") as caught:
        parse_ceremony_file(dumps(_generate("software")))
    assert caught.value.path == "keys[0].targets[0].wrap"

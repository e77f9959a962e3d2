"""Every ceremony type end to end on the SoftHSM2 token, chained as in real life:
split-backup -> reconstitute (into the HSM, wrapped in the HSM and in software) -> re-split to
new custodians -> destroy; and generate-export for three clouds. After each, every file written
(outputs, journal, registry, temporary folder, home) is scanned for the key and the components.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ceremony.core import journal, kcv, xor
from ceremony.core.kcv import CheckValue, KcvMethod
from ceremony.core.registry import RecordEvent, parse_registry
from ceremony.engine.machine import Machine, Status, default_services
from ceremony.errors import KeyNotFoundError, LabelExistsError, RuleViolation
from ceremony.hsm.base import KeySpec
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
from tests.hsm.conftest import HsmUnderTest

pytestmark = [pytest.mark.hsm, pytest.mark.usefixtures("cheap_scrypt")]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return folder


def _doc(hsm: HsmUnderTest, kind: str, ceremony_id: str) -> dict[str, Any]:
    doc = rehearsal_doc(
        kind,
        module=hsm.config.module_path,
        label=hsm.config.token_label or "",
        ceremony_id=ceremony_id,
    )
    doc["ceremony"]["output"] = f"out-{ceremony_id}"
    return doc


def _run(
    hsm: HsmUnderTest, folder: Path, doc: dict[str, Any], **script: Any
) -> tuple[Machine, Capture]:
    delivery = Capture()
    services = default_services(delivery=delivery)
    services.airgap = isolated
    write_imports(folder)
    path = write_ceremony(folder, doc, f"{doc['ceremony']['id']}.toml")
    machine = Machine(path, services=services)
    pins = {"user": hsm.user_pin, "so": hsm.so_pin}
    drive(machine, script_for(doc, pins, **script))
    assert machine.status is Status.FINISHED
    journal.verify(machine.outcome.journal.read_bytes(), require_closed=True)  # type: ignore[union-attr]
    return machine, delivery


def _kcv(entries: list[dict[str, Any]], event: str) -> CheckValue:
    data = next(e["data"] for e in entries if e["event"] == event)
    first = data["kcvs"][0] if "kcvs" in data else data
    return CheckValue(KcvMethod(first["kcv_method"]), bytes.fromhex(first["kcv"]))


def _people(doc: dict[str, Any], *ids: tuple[str, str, str]) -> None:
    known = {p["id"] for p in doc["participants"]}
    for person_id, role, reference in ids:
        if person_id not in known:
            doc["participants"].append(
                {
                    "id": person_id,
                    "name": f"Person {person_id}",
                    "role": role,
                    "id_reference": reference,
                }
            )


@pytest.fixture
def chain_label() -> Iterator[str]:
    yield f"zmk-{secrets.token_hex(3)}"


def test_split_reconstitute_resplit_destroy(
    hsm: HsmUnderTest, tmp_path: Path, home: Path, chain_label: str
) -> None:
    roots = [tmp_path]
    label = chain_label
    # 1. split-backup: a key drawn from the token's randomness, XOR into three components.
    split = _doc(hsm, "split-backup", "chain-split")
    key = split["keys"][0]
    key.update(label=label, store_in_hsm=False)
    key["split"] = {
        "scheme": "xor",
        "components": [
            {"custodian": c, "envelope": f"TE-CHAIN-{i}"}
            for i, c in enumerate(("ebrown", "fgarcia", "gkim"), start=1)
        ],
    }
    machine, shown = _run(hsm, tmp_path, split)
    entries = outcome_entries(machine.outcome)
    random_source = next(e for e in entries if e["event"] == "random_source")
    assert "C_GenerateRandom" in random_source["data"]["source"]
    recorded = _kcv(entries, "key_generated")
    components = shown.components()
    with xor.combine(components, expected=recorded) as rebuilt:
        key_bytes = bytes(rebuilt.reveal())
    old_parts = [bytes(c.value.reveal()) for c in components]
    secrets_known = [key_bytes, *old_parts]
    assert scan(roots, secrets_known) == []

    # 2. reconstitute: the custodians type their components; the key goes into the HSM and is
    # wrapped for AWS inside the HSM and for GCP in software (dual control).
    rebuild = _doc(hsm, "reconstitute", "chain-rebuild")
    key = rebuild["keys"][0]
    key.update(label=label, kcv=f"{recorded.method.label} {recorded.hex}", store_in_hsm=True)
    key["split"]["made_in"] = "chain-split"
    for i, component in enumerate(key["split"]["components"]):
        sheet = shown.shown[i]
        component["kcv"] = f"{sheet.kcv.method.label} {sheet.kcv.hex}"
        component["envelope"] = f"TE-CHAIN-{i + 1}"
    key["targets"][0].pop("material_valid_to", None)
    key["targets"][0]["material_never_expires"] = True
    key["targets"].append(
        {
            "label": "gcp-zmk",
            "provider": "gcp",
            "algorithm": "RSA_OAEP_3072_SHA1_AES_256",
            "import_key": "imports/gcp-job.json",
            "key": "zmk",
            "wrap": "software",
        }
    )
    machine, _ = _run(hsm, tmp_path, rebuild, components=shown.texts())
    entries = outcome_entries(machine.outcome)
    events = [e["event"] for e in entries]
    assert events.count("envelope_checked") == 3 and events.count("component_entered") == 3
    # Each serial was read off its envelope and matched the one the split's registry recorded.
    checked = [e["data"] for e in entries if e["event"] == "envelope_checked"]
    assert {(d["serial_matches"], d["recorded_in"]) for d in checked} == {(True, "registry")}
    combined = next(e for e in entries if e["event"] == "key_combined")["data"]
    assert combined["matches_recorded"] is True and combined["manual_cleartext"] is True
    assert "key_imported" in events
    pairs = import_key_pairs()
    bundle = machine.outcome.output_folder / "bundle" / label  # type: ignore[operator]
    aws_blob = (bundle / "aws-zmk/EncryptedKeyMaterial.bin").read_bytes()
    gcp_blob = (bundle / "gcp-zmk/wrapped-key.bin").read_bytes()
    assert pairs.open_composite("aws", aws_blob) == key_bytes
    assert pairs.open_composite("gcp", gcp_blob) == key_bytes
    assert scan(roots, secrets_known) == []
    with pytest.raises(LabelExistsError), hsm.backend.open(hsm.prompter) as session:
        session.generate_key(label, KeySpec.AES_256)  # it is on the token now

    # 3. re-split: the old custodians enter their components; new custodians, who never held
    # a component of this key, receive the new set; the old ones are recorded to destroy.
    resplit = _doc(hsm, "re-split", "chain-resplit")
    _people(resplit, ("fgarcia", "key-custodian", "staff badge 0212"))
    key = resplit["keys"][0]
    key.update(label=label, kcv=f"{recorded.method.label} {recorded.hex}")
    key["split"] = {
        "scheme": "xor",
        "made_in": "chain-split",
        "components": [{"custodian": c} for c in ("ebrown", "fgarcia", "gkim")],
    }
    machine, shown_new = _run(hsm, tmp_path, resplit, components=shown.texts())
    entries = outcome_entries(machine.outcome)
    to_destroy = [e["data"] for e in entries if e["event"] == "component_to_destroy"]
    assert [(d["index"], d["custodian"]) for d in to_destroy] == [
        (1, "ebrown"),
        (2, "fgarcia"),
        (3, "gkim"),
    ]
    new_parts = shown_new.components()
    assert {s.custodian for s in shown_new.shown} == {"hsato", "kpatel", "lnovak"}
    with xor.combine(new_parts, expected=recorded) as again:
        assert bytes(again.reveal()) == key_bytes
    secrets_known += [bytes(c.value.reveal()) for c in new_parts]
    assert scan(roots, secrets_known) == []
    registry = parse_registry((tmp_path / "registry/custodians.json").read_bytes())
    events_by_set = {(r.set, r.event) for r in registry.records}
    assert ("chain-split", RecordEvent.TO_DESTROY) in events_by_set
    assert ("chain-resplit", RecordEvent.ISSUED) in events_by_set
    kept = sorted(p.name for p in (tmp_path / "registry").iterdir())
    assert kept == [
        "custodians.json",
        "custodians.json.before-chain-rebuild-run1",
        "custodians.json.before-chain-resplit-run1",
    ]

    # 4. destroy: the key on the token, confirmed by its recorded KCV.
    gone = _doc(hsm, "destroy", "chain-destroy")
    gone["keys"][0] = {
        "label": label,
        "type": "AES",
        "bits": 256,
        "kcv": f"{recorded.method.label} {recorded.hex}",
    }
    machine, _ = _run(hsm, tmp_path, gone)
    entries = outcome_entries(machine.outcome)
    destroyed = next(e for e in entries if e["event"] == "key_destroyed")
    assert destroyed["data"]["kcvs"][0]["kcv"] == recorded.hex
    asked, approval = (entries[destroyed["seq"] - n]["data"] for n in (1, 2))
    assert asked["call"] == "destroy-key" and asked["kcvs"][0]["kcv"] == recorded.hex
    assert approval["operation"] == "destroy" and "amartin" in approval["approvers"]
    with hsm.backend.open(hsm.prompter) as session, pytest.raises(KeyNotFoundError):
        session.key_attributes(label)
    assert scan(roots, secrets_known) == []


def test_generate_export_for_three_clouds_inside_the_hsm(
    hsm: HsmUnderTest, tmp_path: Path, home: Path
) -> None:
    doc = _doc(hsm, "generate-export", "gen-export")
    label = f"dek-{secrets.token_hex(3)}"
    doc["keys"][0]["label"] = label
    machine, _ = _run(hsm, tmp_path, doc)
    entries = outcome_entries(machine.outcome)
    generated = next(e for e in entries if e["event"] == "key_generated")["data"]
    assert generated["where"] == "hsm"
    assert generated["attributes"]["wrap_with_trusted"] is True
    assert all(
        e["data"]["where"] == "hsm" and e["data"]["manual_cleartext"] is False
        for e in entries
        if e["event"] == "wrapped"
    )
    assert not any(e["event"] == "approval" for e in entries)  # no clear-text operation
    confirmed = [e["data"] for e in entries if e["event"] == "import_key_confirmed"]
    assert [c["provider"] for c in confirmed] == ["aws", "azure", "gcp"]
    bundle = tmp_path / "out-gen-export/bundle" / label
    key = import_key_pairs().open_composite(
        "aws", (bundle / "aws-payments/EncryptedKeyMaterial.bin").read_bytes()
    )
    recorded = _kcv(entries, "key_generated")
    kcv.require_match(recorded, kcv.check_value(key, recorded.method), "the AWS blob")
    assert scan([tmp_path], [key]) == []
    with hsm.backend.open(hsm.prompter) as session:
        session.destroy(label)


def test_a_key_made_by_generate_export_is_re_wrapped_for_a_new_target(
    hsm: HsmUnderTest, tmp_path: Path, home: Path
) -> None:
    """Re-wrap: the key chosen by label and KCV, checked on the token, wrapped inside the HSM;
    the new AWS blob opens to the same key; a wrong KCV wraps nothing."""
    made = _doc(hsm, "generate-export", "gen-for-rewrap")
    label = f"dek-{secrets.token_hex(3)}"
    made["keys"][0]["label"] = label
    first, _ = _run(hsm, tmp_path / "made", made)
    recorded = _kcv(outcome_entries(first.outcome), "key_generated")
    doc = _doc(hsm, "re-wrap", "rewrap-1")
    doc["keys"][0]["label"] = label
    doc["keys"][0]["kcv"] = f"{recorded.method.label} {recorded.hex}"
    try:
        machine, _ = _run(hsm, tmp_path / "rewrap", doc)
        entries = outcome_entries(machine.outcome)
        checked = next(e for e in entries if e["event"] == "key_checked")["data"]
        assert checked["kcvs"][0]["kcv"] == recorded.hex
        assert not any(e["event"] in ("key_generated", "key_imported") for e in entries)
        wrapped = [e["data"] for e in entries if e["event"] == "wrapped"]
        assert wrapped and all(w["where"] == "hsm" for w in wrapped)
        assert not any(e["event"] == "approval" for e in entries)  # nothing in clear
        target = doc["keys"][0]["targets"][0]["label"]
        blob = tmp_path / "rewrap/out-rewrap-1/bundle" / label / target / "EncryptedKeyMaterial.bin"
        key = import_key_pairs().open_composite("aws", blob.read_bytes())
        kcv.require_match(recorded, kcv.check_value(key, recorded.method), "the re-wrapped blob")
        assert _opened_by_openssl(tmp_path, blob.read_bytes()) == key
        from ceremony.record.verify import verify_evidence

        assert machine.outcome.signed_record is not None
        report = verify_evidence(machine.outcome.signed_record.parent)
        assert report.ok, report.text()
        lines = {line.check: line for line in report.lines}
        assert any(c.startswith("key check value") and label in c for c in lines), lines
        # Another key's KCV: refused before anything is wrapped.
        wrong = _doc(hsm, "re-wrap", "rewrap-wrong")
        wrong["keys"][0]["label"] = label
        wrong["keys"][0]["kcv"] = f"{recorded.method.label} {'00' * len(recorded.value)}"
        path = write_ceremony(tmp_path / "wrong", wrong, "wrong.toml")
        write_imports(tmp_path / "wrong")
        services = default_services(delivery=Capture())
        services.airgap = isolated
        refused = Machine(path, services=services)
        pins = {"user": hsm.user_pin, "so": hsm.so_pin}
        with pytest.raises(RuleViolation, match="is not the key the ceremony file names"):
            drive(refused, script_for(wrong, pins))
        assert not (tmp_path / "wrong/out-rewrap-wrong/bundle").exists()
    finally:
        with hsm.backend.open(hsm.prompter) as session:
            session.destroy(label)


def _opened_by_openssl(tmp_path: Path, blob: bytes) -> bytes:
    """The AWS import key's private half opens the blob with the openssl CLI alone."""
    import subprocess

    from cryptography.hazmat.primitives import serialization

    from tests.unit.test_wrap_formats import openssl_kwp_unwrap, openssl_oaep_decrypt

    private = import_key_pairs().aws
    pem = tmp_path / "aws-import-key.pem"
    pem.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    size = private.key_size // 8
    ephemeral = openssl_oaep_decrypt(pem, blob[:size], "sha1")
    assert ephemeral is not None, subprocess.run(["openssl", "version"], capture_output=True)
    opened = openssl_kwp_unwrap(ephemeral, blob[size:])
    assert opened is not None
    return opened

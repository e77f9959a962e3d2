"""A TDES zone master key through the ceremonies on SoftHSM2: issued, loaded, destroyed."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import psec.tr31
import pytest

from ceremony.core import kcv, parity, xor
from ceremony.core.kcv import CheckValue, KcvMethod
from ceremony.errors import KeyNotFoundError
from tests.engine.helpers import Capture, outcome_entries, scan
from tests.hsm.conftest import HsmUnderTest
from tests.hsm.test_ceremonies import _doc, _kcv, _run, home  # noqa: F401 - home is a fixture
from tests.payment import received_block, tdes_key

pytestmark = [pytest.mark.hsm, pytest.mark.usefixtures("cheap_scrypt", "home")]


def load_doc(
    hsm: HsmUnderTest, zmk: str, recorded: CheckValue, shown: Capture, pek_kcv: CheckValue
) -> tuple[dict[str, Any], str]:
    """templates/zmk-load.toml for the ZMK ``issue-<zmk>`` issued, and the PEK label it loads."""
    load = _doc(hsm, "zmk-load", f"load-{zmk}")
    key, pek_key = load["keys"]
    key.update(label=zmk, kcv=f"{recorded.method.label} {recorded.hex}")
    key["split"]["made_in"] = f"issue-{zmk}"
    for i, component in enumerate(key["split"]["components"]):
        component["kcv"] = f"{shown.shown[i].kcv.method.label} {shown.shown[i].kcv.hex}"
    pek_label = f"pek-{secrets.token_hex(3)}"
    pek_key.update(label=pek_label, kcv=f"{pek_kcv.method.label} {pek_kcv.hex}")
    pek_key["key_block"]["kbpk"] = zmk
    return load, pek_label


def _destroy(
    hsm: HsmUnderTest, folder: Path, label: str, recorded: CheckValue, cid: str, bits: int = 128
) -> None:
    gone = _doc(hsm, "destroy", cid)
    gone["keys"][0] = {
        "label": label,
        "type": "TDES",
        "bits": bits,
        "kcv": f"{recorded.method.label} {recorded.hex}",
    }
    machine, _ = _run(hsm, folder, gone)
    destroyed = next(e for e in outcome_entries(machine.outcome) if e["event"] == "key_destroyed")
    assert destroyed["data"]["kcvs"][0]["kcv"] == recorded.hex
    with hsm.backend.open(hsm.prompter) as session, pytest.raises(KeyNotFoundError):
        session.key_attributes(label)


def test_a_zmk_generated_inside_the_hsm_is_split_into_parity_adjusted_components(
    hsm: HsmUnderTest, tmp_path: Path
) -> None:
    label = f"zmk-{secrets.token_hex(3)}"
    issued = _doc(hsm, "split-backup", "tdes-generate")
    key = issued["keys"][0]
    key.update(label=label, type="TDES", bits=192, source="hsm", store_in_hsm=False)
    key.pop("targets", None)
    key["split"] = {
        "scheme": "xor",
        "components": [
            {"custodian": c, "envelope": f"TE-GEN-{i}"}
            for i, c in enumerate(("ebrown", "fgarcia"), start=1)
        ],
    }
    machine, shown = _run(hsm, tmp_path, issued)
    entries = outcome_entries(machine.outcome)
    recorded = _kcv(entries, "key_generated")
    components = shown.components()
    assert all(parity.has_odd_parity(c.value.reveal()) for c in components)
    with xor.combine(components, expected=recorded) as rebuilt:
        assert len(rebuilt) == 24
    with hsm.backend.open(hsm.prompter) as session:
        assert session.check_values(label).of(KcvMethod.TDES_ECB_ZERO) == recorded
    _destroy(hsm, tmp_path, label, recorded, "tdes-destroy-generated", bits=192)


def test_the_payment_templates_issue_a_zmk_then_load_it_with_a_pek_in_a_tr31_block(
    hsm: HsmUnderTest, tmp_path: Path
) -> None:
    """templates/zmk-issue.toml, then templates/zmk-load.toml, headless on the engine."""
    zmk = f"zmk-{secrets.token_hex(3)}"
    issued = _doc(hsm, "zmk-issue", f"issue-{zmk}")
    issued["keys"][0]["label"] = zmk
    machine, shown = _run(hsm, tmp_path, issued)
    entries = outcome_entries(machine.outcome)
    recorded = _kcv(entries, "key_generated")
    components = shown.components()
    assert all(parity.has_odd_parity(c.value.reveal()) for c in components)
    with xor.combine(components, expected=recorded) as rebuilt:
        zmk_bytes = bytes(rebuilt.reveal())
    # The partner's working key, as their HSM sends it: a TR-31 block built by psec.
    pek, pek_kcv = tdes_key()
    received_block(tmp_path, zmk_bytes, pek)
    # One token here: the issuer's copy goes first, as if the load were at the partner's HSM.
    _destroy(hsm, tmp_path, zmk, recorded, f"destroy-{zmk}")

    load, pek_label = load_doc(hsm, zmk, recorded, shown, pek_kcv)
    machine, _ = _run(hsm, tmp_path, load, components=shown.texts())
    entries = outcome_entries(machine.outcome)
    opened = next(e for e in entries if e["event"] == "key_block_opened")["data"]
    assert (opened["key_usage"], opened["version"], opened["kbpk"]) == ("P0", "B", zmk)
    assert opened["kcv"] == pek_kcv.hex and opened["manual_cleartext"] is True
    approval = entries[next(e["seq"] for e in entries if e["event"] == "key_block_opened") - 1]
    assert approval["data"]["operation"] == "open-key-block"
    with hsm.backend.open(hsm.prompter) as session:
        assert session.check_values(pek_label).of(KcvMethod.TDES_ECB_ZERO) == pek_kcv
        assert session.check_values(zmk).of(KcvMethod.TDES_ECB_ZERO) == recorded
    assert scan([tmp_path], [zmk_bytes, bytes(pek)]) == []
    for label, value in ((pek_label, pek_kcv), (zmk, recorded)):
        _destroy(hsm, tmp_path, label, value, f"destroy-{label}-loaded")


def test_a_pek_is_sent_under_a_zmk_as_a_tr31_block_that_psec_opens(
    hsm: HsmUnderTest, tmp_path: Path
) -> None:
    zmk, pek = f"zmk-{secrets.token_hex(3)}", f"pek-{secrets.token_hex(3)}"
    doc = _doc(hsm, "zmk-issue", f"send-{zmk}")
    first = doc["keys"][0]
    first.update(label=zmk, source="hsm-random")
    second = {
        "label": pek,
        "type": "TDES",
        "bits": 128,
        "role": "pek",
        "source": "hsm-random",
        "split": {
            "scheme": "xor",
            "components": [{"custodian": c, "envelope": f"TE-PEK-{c}"} for c in ("ebrown", "gkim")],
        },
        "tr31": [{"label": "to-acquirer", "kbpk": zmk, "exportability": "E"}],
    }
    doc["keys"].append(second)
    machine, shown = _run(hsm, tmp_path, doc)
    entries = outcome_entries(machine.outcome)
    written = next(e for e in entries if e["event"] == "key_block_written")
    data = written["data"]
    assert (data["version"], data["key_usage"], data["mode_of_use"]) == ("B", "P0", "B")
    assert data["exportability"] == "E" and data["kbpk"] == zmk
    approval = entries[written["seq"] - 2]  # approval, output_written, key_block_written
    assert approval["data"]["operation"] == "wrap-key-block"
    by_key: dict[str, list[Any]] = {}
    for c in shown.components():
        by_key.setdefault(c.identity.key_label, []).append(c)
    generated = {e["data"]["key"]: e for e in entries if e["event"] == "key_generated"}
    with (
        xor.combine(by_key[zmk], expected=_kcv([generated[zmk]], "key_generated")) as z,
        xor.combine(by_key[pek], expected=_kcv([generated[pek]], "key_generated")) as p,
    ):
        zmk_bytes, pek_bytes = bytes(z.reveal()), bytes(p.reveal())
    block_file = machine.outcome.output_folder / data["name"]  # type: ignore[operator]
    header, opened = psec.tr31.unwrap(zmk_bytes, block_file.read_text("ascii").strip())
    assert opened == pek_bytes
    assert (header.key_usage, header.exportability) == ("P0", "E")
    assert scan([tmp_path], [zmk_bytes, pek_bytes]) == []


def test_a_zmk_from_a_key_letter_of_plain_hex_components_opens_its_pek_block(
    hsm: HsmUnderTest, tmp_path: Path
) -> None:
    """Components another system issued: bare hex digits and a KCV each, as a key letter has."""
    zmk = f"zmk-{secrets.token_hex(3)}"
    parts = [tdes_key()[0] for _ in range(3)]
    combined = bytearray(a ^ b ^ c for a, b, c in zip(*parts, strict=True))
    parity.adjust(combined)
    zmk_kcv = kcv.check_value(combined, KcvMethod.TDES_ECB_ZERO)
    pek, pek_kcv = tdes_key()
    received_block(tmp_path, combined, pek)
    load = _doc(hsm, "zmk-load", f"letter-{zmk}")
    key, pek_key = load["keys"]
    key.update(label=zmk, kcv=f"TDES-ECB {zmk_kcv.hex}")
    key["split"].update(format="plain", made_in="acquirer-key-letter-0426")
    texts = {}
    for i, (component, part) in enumerate(zip(key["split"]["components"], parts, strict=True)):
        component["kcv"] = f"TDES-ECB {kcv.check_value(part, KcvMethod.TDES_ECB_ZERO).hex}"
        digits = part.hex().upper()
        texts[f"{zmk}.{i + 1}"] = " ".join(digits[j : j + 4] for j in range(0, 32, 4))
    pek_label = f"pek-{secrets.token_hex(3)}"
    pek_key.update(label=pek_label, kcv=f"TDES-ECB {pek_kcv.hex}")
    pek_key["key_block"]["kbpk"] = zmk
    machine, _ = _run(hsm, tmp_path, load, components=texts)
    entries = outcome_entries(machine.outcome)
    assert [e["event"] for e in entries].count("component_entered") == 3
    with hsm.backend.open(hsm.prompter) as session:
        assert session.check_values(zmk).of(KcvMethod.TDES_ECB_ZERO) == zmk_kcv
        assert session.check_values(pek_label).of(KcvMethod.TDES_ECB_ZERO) == pek_kcv
    assert scan([tmp_path], [bytes(combined), bytes(pek), *map(bytes, parts)]) == []
    for label, value in ((pek_label, pek_kcv), (zmk, zmk_kcv)):
        _destroy(hsm, tmp_path, label, value, f"destroy-{label}-letter")

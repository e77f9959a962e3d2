"""The two payment templates through the TUI on SoftHSM2: a ZMK issued, then loaded with a PEK."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from ceremony.core import encoding, parity, xor
from ceremony.core.kcv import CheckValue, KcvMethod
from ceremony.hsm import config
from ceremony.hsm.pkcs11 import Pkcs11Backend
from tests.hsm.conftest import FixedPinPrompter
from tests.payment import received_block, tdes_key
from tests.tui.conftest import TOKEN_LABEL
from tests.tui.test_ceremony_run import Room, _finished_and_verified, copy_forms
from tests.unit.ceremony_files import TEMPLATES

pytestmark = [pytest.mark.usefixtures("cheap_scrypt"), pytest.mark.hsm, pytest.mark.slow]


def rehearsal_copy(name: str, folder: Path, label: str, **replace: str) -> Path:
    """A template as a rehearsal on the TUI tests' token, its keys renamed to be new there."""
    text = (TEMPLATES / f"{name}.toml").read_text("utf-8")
    text = text.replace('token_label = "payments-prod"', f'token_label = "{TOKEN_LABEL}"')
    text = text.replace("[[participants]]", "rehearsal = true\n\n[[participants]]", 1)
    text = text.replace('"zmk-acquirer"', f'"{label}"').replace('"pek-acquirer"', f'"p{label}"')
    for old, new in replace.items():
        text = text.replace(old, new)
    path = folder / f"{name}.toml"
    path.write_text(text, "utf-8")
    return path


async def test_a_zmk_is_issued_then_loaded_with_a_pek_in_a_tr31_block(
    token: FixedPinPrompter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = copy_forms(monkeypatch)
    label = f"zmk-{secrets.token_hex(3)}"
    # 1. zmk-issue: the ZMK generated in the HSM, issued as three sealed components.
    sealer = Room(token)
    issued = await _finished_and_verified(
        rehearsal_copy("zmk-issue", tmp_path, label), token, (80, 24), sealer
    )
    generated = next(e for e in issued if e.event == "key_generated").data
    kcvs = generated["kcvs"]
    assert isinstance(kcvs, list) and isinstance(kcvs[0], dict)
    zmk_kcv = CheckValue(KcvMethod(str(kcvs[0]["kcv_method"])), bytes.fromhex(str(kcvs[0]["kcv"])))
    assert zmk_kcv.method is KcvMethod.TDES_ECB_ZERO and generated["where"] == "hsm"
    assert "TR-31 K0" in str(generated["role"])
    assert [e.event for e in issued].count("component_issued") == 3
    components = [encoding.from_text(texts[i]) for i in (1, 2, 3)]
    assert all(parity.has_odd_parity(c.value.reveal()) for c in components)
    with xor.combine(components, expected=zmk_kcv) as zmk:
        zmk_bytes = bytes(zmk.reveal())

    # The partner's PIN key, sent as a TR-31 block under the ZMK (built by psec, not by us).
    pek, pek_kcv = tdes_key()
    received_block(tmp_path, zmk_bytes, pek)

    # 2. zmk-load: the components typed or scanned, the ZMK loaded, the block opened under it.
    # One token here: the issuer's copy goes first, as if the load were at the partner's HSM.
    load = rehearsal_copy(
        "zmk-load",
        tmp_path,
        label,
        **{
            'kcv = "TDES-ECB 0A1B2C"': f'kcv = "TDES-ECB {zmk_kcv.hex}"',
            'kcv = "TDES-ECB C6D7E8"': f'kcv = "TDES-ECB {pek_kcv.hex}"',
            **{
                f'kcv = "TDES-ECB {v}"': f'kcv = "TDES-ECB {encoding.component_kcv(c).hex}"'
                for v, c in zip(("3D4E5F", "607182", "93A4B5"), components, strict=True)
            },
        },
    )
    with Pkcs11Backend(config.resolve()).open(token) as session:
        session.destroy(label)  # test set-up: the destroy ceremony has its own tests
    room = Room(token)
    room.component_texts = texts
    room.envelopes = dict(sealer.envelopes)  # the custodians bring their envelopes back
    loaded = await _finished_and_verified(load, token, (80, 24), room)
    events = [e.event for e in loaded]
    assert events.count("component_entered") == 3 and events.count("key_imported") == 2
    opened = next(e for e in loaded if e.event == "key_block_opened").data
    assert (opened["key_usage"], opened["version"], opened["kcv"]) == ("P0", "B", pek_kcv.hex)
    approval = loaded[next(e.seq for e in loaded if e.event == "key_block_opened") - 1]
    assert approval.data["operation"] == "open-key-block"

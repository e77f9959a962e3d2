"""The ZMK load with its TR-31 block, killed with kill -9 inside it, then run again on SoftHSM2."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from ceremony.core import journal, xor
from ceremony.core.kcv import KcvMethod
from ceremony.errors import KeyNotFoundError
from ceremony.record.verify import verify_evidence
from tests.engine.helpers import PASSPHRASE, outcome_entries, scan, write_ceremony
from tests.hsm.conftest import HsmUnderTest
from tests.hsm.test_ceremonies import _doc, _kcv, _run
from tests.hsm.test_recovery_cli import _ceremony, _env, _secrets
from tests.hsm.test_tdes_ceremonies import load_doc
from tests.payment import received_block, tdes_key
from tests.unit.ceremony_files import dumps

pytestmark = [pytest.mark.hsm, pytest.mark.usefixtures("cheap_scrypt", "home")]
from tests.hsm.test_ceremonies import home  # noqa: E402, F401 - the fixture


# Right after the block is opened: the ZMK is on the token, the PEK only in memory.
@pytest.mark.parametrize("when", ["key_block_opened"])
def test_a_kill_inside_the_load_then_a_rerun_recovers_and_verifies(
    hsm: HsmUnderTest, tmp_path: Path, when: str
) -> None:
    zmk = f"zmk-{secrets.token_hex(3)}"
    issued = _doc(hsm, "zmk-issue", f"issue-{zmk}")
    issued["keys"][0].update(label=zmk, source="hsm-random")
    machine, shown = _run(hsm, tmp_path / "issue", issued)
    recorded = _kcv(outcome_entries(machine.outcome), "key_generated")
    with xor.combine(shown.components(), expected=recorded) as rebuilt:
        zmk_bytes = bytes(rebuilt.reveal())
    pek, pek_kcv = tdes_key()

    folder = tmp_path / "load"
    load, pek_label = load_doc(hsm, zmk, recorded, shown, pek_kcv)
    load["ceremony"].update(registry="registry/custodians.json", output="out")
    path = write_ceremony(folder, load)
    (folder / "registry").mkdir()
    (folder / "registry/custodians.json").write_bytes(
        (tmp_path / "issue/registry/custodians.json").read_bytes()
    )
    received_block(folder, zmk_bytes, pek)
    papers = {}
    for name, text in shown.texts().items():
        (tmp_path / f"{name}.txt").write_text(text)
        papers[name] = str(tmp_path / f"{name}.txt")
    answers = tmp_path / "answers.toml"  # holds the PINs: outside the scanned folder
    answers.write_text(
        dumps(
            {
                "passphrases": {p["id"]: PASSPHRASE.format(p["id"]) for p in load["participants"]},
                "pins": {"user": hsm.user_pin, "so": hsm.so_pin},
                "components": papers,
            }
        )
    )
    held = tmp_path / "held.hex"
    env = {**_env(folder), "CEREMONY_TEST_SECRETS": str(held)}
    args = ["run", str(path), "--rehearsal", "--answers", str(answers)]
    stopped = _ceremony(when, args, env)
    assert stopped.returncode == -9, stopped.stderr[-2000:]
    again = _ceremony("0", args, env)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr
    ceremony_id = load["ceremony"]["id"]
    new = journal.verify(
        (folder / "out" / f"{ceremony_id}.r2.journal.jsonl").read_bytes(), require_closed=True
    )
    assert new.finished
    assert [e.event for e in new.entries].count("key_block_opened") == 1
    report = verify_evidence(folder / "out")
    assert report.ok, report.text()
    with hsm.backend.open(hsm.prompter) as session:
        assert session.check_values(pek_label).of(KcvMethod.TDES_ECB_ZERO) == pek_kcv
        assert session.check_values(zmk).of(KcvMethod.TDES_ECB_ZERO) == recorded
        for label in (pek_label, zmk):
            session.destroy(label)
        with pytest.raises(KeyNotFoundError):
            session.key_attributes(zmk)
    assert scan([folder], [zmk_bytes, bytes(pek), *_secrets(held)]) == []

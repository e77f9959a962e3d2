"""Issue 14 on the fake token: every failed attempt journaled (who, which step, tries left), the
tool's own try limits, the SO PIN checked when typed, and failures filed under their step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ceremony.core import journal
from ceremony.engine.machine import CeremonyStopped, Status
from ceremony.engine.requests import REFUSE, AnswerRefused
from ceremony.errors import HsmError, RuleViolation
from ceremony.hsm.base import PinState
from ceremony.hsm.fake import FakeBackend, FakeSession, FakeToken
from ceremony.record import attempts as record_attempts
from ceremony.record import model
from tests.engine.helpers import PASSPHRASE, drive, outcome_entries, scan, script_for
from tests.engine.test_envelopes import KEY, _machine, _rebuild_doc
from tests.engine.test_machine import PINS, doc_for, drive_on, machine_for

pytestmark = pytest.mark.usefixtures("cheap_scrypt")

# Typed values nobody else uses, so the secret scan can look for them everywhere.
WRONG_SO = "so-pin-never-right-4471"
WRONG_USER = "user-pin-never-right-8813"
WRONG_PASSPHRASE = "a passphrase that is not mine 5520"
OTHER_PASSPHRASE = "typed differently the second time 9931"


def attempts(machine: Any) -> list[dict[str, Any]]:
    return [e for e in outcome_entries(machine.outcome) if e["event"] == "attempt_failed"]


def events_of(machine: Any) -> list[str]:
    return [e["event"] for e in outcome_entries(machine.outcome)]


# ---- PINs -------------------------------------------------------------------------------------


def test_a_wrong_so_pin_is_refused_before_anyone_types_the_user_pin(tmp_path: Path) -> None:
    doc = doc_for("generate-export")  # wraps in the HSM: the SO logs in first
    machine, _, fake = machine_for(tmp_path, doc)
    script = script_for(doc, PINS)
    request = drive(machine, script, until="hsm/so-pin")
    assert request is not None and request.tries == "3 of 3"
    with pytest.raises(AnswerRefused, match=r"wrong security officer PIN .*2 of 3 tries left"):
        machine.answer(WRONG_SO, by="bokafor")
    again = machine.current
    assert again is not None and again.step == "hsm/so-pin"  # not the user PIN, not later
    assert again.tries == "2 of 3"
    assert again.pin_tries is not None and again.pin_tries.startswith("the token reports fewer")
    (wrong,) = attempts(machine)
    assert wrong["actors"] == ["bokafor"]
    assert wrong["data"] == {
        "kind": "pin",
        "step": "hsm/so-pin",
        "participants": ["bokafor"],
        "counter": "so PIN",
        "attempt": 1,
        "limit": 3,
        "tries_left": 2,
        "role": "so",
        "token_reports": PinState.COUNT_LOW.value,
    }
    assert fake.state.so_pin_state is PinState.COUNT_LOW
    request = drive_on(machine, script, until="hsm/user-pin")
    assert request is not None and request.tries == "3 of 3"  # each role has its own count
    drive_on(machine, script)
    assert machine.status is Status.FINISHED
    assert scan([tmp_path], [WRONG_SO.encode()]) == []


def test_three_wrong_pins_stop_whatever_the_token_reports(tmp_path: Path) -> None:
    # The fake never locks a PIN (as NSS softokn): the tool's own limit stops the ceremony.
    doc = doc_for("split-backup")
    machine, _, fake = machine_for(tmp_path, doc)
    drive(machine, script_for(doc, PINS), until="hsm/user-pin")
    for left in (2, 1):
        with pytest.raises(AnswerRefused, match=f"{left} of 3 tries left"):
            machine.answer(WRONG_USER, by="amartin")
        assert machine.current is not None and machine.current.step == "hsm/user-pin"
    assert machine.current.tries == "1 of 3: one more failure stops the ceremony"
    with pytest.raises(HsmError, match=r"3 wrong user PINs .*the ceremony stops"):
        machine.answer(WRONG_USER, by="amartin")
    assert machine.status is Status.ABORTED
    assert fake.state.user_pin_state is not PinState.LOCKED
    tries = attempts(machine)
    assert [(a["data"]["attempt"], a["data"]["tries_left"]) for a in tries] == [
        (1, 2),
        (2, 1),
        (3, 0),
    ]
    assert [a["data"]["participants"] for a in tries] == [["amartin"]] * 3
    entries = outcome_entries(machine.outcome)
    assert [e["event"] for e in entries[-3:]] == ["attempt_failed", "step_failed", "aborted"]
    assert entries[-2]["data"]["step"] == "hsm/user-pin"
    assert scan([tmp_path], [WRONG_USER.encode()]) == []


def test_a_split_pin_attempt_names_both_officers(tmp_path: Path) -> None:
    doc = doc_for("generate-export")
    doc["hsm"]["login"] = "split-pin"
    machine, _, _ = machine_for(tmp_path, doc)
    drive(machine, script_for(doc, PINS), until="hsm/user-pin/half-1")
    machine.answer("12", by="bokafor")
    with pytest.raises(AnswerRefused, match="wrong user PIN"):
        machine.answer("35", by="amartin")
    (wrong,) = attempts(machine)
    assert wrong["data"]["participants"] == ["bokafor", "amartin"]
    assert wrong["data"]["step"] == "hsm/user-pin"
    machine.abort("test over")


# ---- passphrases --------------------------------------------------------------------------------


def test_passphrases_that_differ_at_roll_call_are_journaled_and_limited(tmp_path: Path) -> None:
    doc = doc_for("destroy")
    machine, _, _ = machine_for(tmp_path, doc)
    request = drive(machine, script_for(doc, PINS), until="roll-call/amartin/passphrase-again")
    assert request is not None and request.tries == "3 of 3"
    for left in (2, 1):
        with pytest.raises(AnswerRefused, match=f"the two passphrases differ .{left} of 3"):
            machine.answer(OTHER_PASSPHRASE)
        assert machine.current is not None
        assert machine.current.step == "roll-call/amartin/passphrase"
        machine.answer(PASSPHRASE.format("amartin"))
    with pytest.raises(RuleViolation, match="differed 3 times"):
        machine.answer(OTHER_PASSPHRASE)
    tries = attempts(machine)
    assert [a["data"]["kind"] for a in tries] == ["passphrase-mismatch"] * 3
    assert {a["data"]["step"] for a in tries} == {"roll-call/amartin/passphrase-again"}
    assert {tuple(a["actors"]) for a in tries} == {("amartin",)}
    assert scan([tmp_path], [OTHER_PASSPHRASE.encode()]) == []


def test_wrong_approval_passphrases_are_journaled_with_the_approver_claimed(
    tmp_path: Path,
) -> None:
    doc = doc_for("split-backup")
    machine, _, _ = machine_for(tmp_path, doc)
    script = script_for(doc, PINS)
    request = drive(machine, script, until="approve/show-component/zmk-prod/1/1")
    assert request is not None and request.tries == "3 of 3 for each approver"
    with pytest.raises(AnswerRefused, match="2 of 3 tries left for Alice Martin"):
        machine.answer(WRONG_PASSPHRASE, by="amartin")
    again = machine.current
    assert again is not None and again.step == request.step
    assert again.tries is not None and "amartin 2 of 3" in again.tries  # refreshed
    (wrong,) = attempts(machine)
    assert wrong["data"]["kind"] == "passphrase"
    assert wrong["data"]["participants"] == ["amartin"]
    assert wrong["data"]["step"] == "approve/show-component/zmk-prod/1/1"
    assert wrong["data"]["counter"] == "passphrase of amartin"
    drive_on(machine, script)
    assert machine.status is Status.FINISHED
    assert scan([tmp_path], [WRONG_PASSPHRASE.encode()]) == []


def test_a_third_wrong_passphrase_stops_under_its_approval_step(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    machine, _, _ = machine_for(tmp_path, doc)
    drive(machine, script_for(doc, PINS), until="approve/generate-outside-hsm/zmk-prod/1")
    for _ in range(2):
        with pytest.raises(AnswerRefused):
            machine.answer(WRONG_PASSPHRASE, by="cwright")
    with pytest.raises(RuleViolation, match="3 wrong approval passphrases"):
        machine.answer(WRONG_PASSPHRASE, by="cwright")
    entries = outcome_entries(machine.outcome)
    assert [e["event"] for e in entries[-3:]] == ["attempt_failed", "step_failed", "aborted"]
    assert entries[-3]["data"]["tries_left"] == 0
    assert entries[-2]["data"]["step"] == "approve/generate-outside-hsm/zmk-prod/1"
    # The error names nothing typed, so it is journaled as it is.
    assert "3 wrong approval passphrases" in entries[-2]["data"]["error"]


# ---- KCVs, envelopes, fingerprints --------------------------------------------------------------


def test_a_kcv_typed_back_wrong_is_counted_a_slip_is_not(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    machine, _, _ = machine_for(tmp_path, doc)
    script = script_for(doc, PINS)
    request = drive(machine, script, until="component/zmk-prod/1/kcv")
    assert request is not None and request.display is not None and request.tries == "3 of 3"
    wrong = "000000" if request.display.kcv.hex != "000000" else "111111"
    with pytest.raises(AnswerRefused, match="not this component's KCV"):
        machine.answer("nope")  # not a KCV at all: asked again, not counted
    assert attempts(machine) == []
    with pytest.raises(AnswerRefused, match="2 of 3 tries left; or type again"):
        machine.answer(wrong)
    assert machine.current is not None and machine.current.tries == "2 of 3"
    (kcv,) = attempts(machine)
    assert kcv["data"]["kind"] == "kcv" and kcv["data"]["participants"] == ["ebrown"]
    assert kcv["data"]["step"] == "component/zmk-prod/1/kcv"
    drive_on(machine, script)
    assert machine.status is Status.FINISHED


def test_three_wrong_kcvs_typed_back_stop(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    machine, _, _ = machine_for(tmp_path, doc)
    request = drive(machine, script_for(doc, PINS), until="component/zmk-prod/2/kcv")
    assert request is not None and request.display is not None
    wrong = "000000" if request.display.kcv.hex != "000000" else "111111"
    for _ in range(2):
        with pytest.raises(AnswerRefused):
            machine.answer(wrong)
    with pytest.raises(RuleViolation, match="3 KCVs typed back for component 2"):
        machine.answer(wrong)
    assert events_of(machine)[-3:] == ["attempt_failed", "step_failed", "aborted"]


def test_an_envelope_serial_misread_at_sealing_is_journaled(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    machine, _, _ = machine_for(tmp_path, doc)
    script = script_for(doc, PINS)
    request = drive(machine, script, until="component/zmk-prod/1/envelope")
    assert request is not None and request.envelope is not None
    with pytest.raises(AnswerRefused, match="2 of 3 tries left"):
        machine.answer(request.envelope + "9")
    (misread,) = attempts(machine)
    assert misread["data"]["kind"] == "envelope-serial"
    assert misread["data"]["participants"] == ["ebrown"]
    assert request.envelope + "9" not in str(misread)  # never the value typed
    drive_on(machine, script)
    assert machine.status is Status.FINISHED


def test_an_entry_that_does_not_check_against_its_kcv_is_counted(tmp_path: Path) -> None:
    from tests.engine.test_envelopes import _split

    fake = FakeBackend(FakeToken())
    texts, recorded = _split(tmp_path, fake)
    doc = _rebuild_doc(recorded, ["TE-1", "TE-2", "TE-3"])
    machine, _ = _machine(tmp_path, doc, fake)
    script = script_for(doc, PINS, components=texts)
    request = drive(machine, script, until=f"entry/{KEY}/1/kcv")
    assert request is not None and request.tries == "3 of 3"
    other = next(ln for ln in texts[f"{KEY}.2"].splitlines() if ln.startswith("KCV:"))
    request = machine.answer(other)  # component 2's KCV with component 1's lines
    with pytest.raises(AnswerRefused, match=r"does not check.*2 of 3 tries left"):
        drive_on(machine, script, until=f"entry/{KEY}/1/kcv")
    assert machine.current is not None and machine.current.step == f"entry/{KEY}/1/kcv"
    assert machine.current.tries == "2 of 3"
    (kcv,) = attempts(machine)
    assert kcv["data"]["kind"] == "kcv" and kcv["data"]["participants"] == ["ebrown"]
    drive_on(machine, script)
    assert machine.status is Status.FINISHED


def test_a_refused_fingerprint_is_a_failed_attempt_and_the_run_stops(tmp_path: Path) -> None:
    from tests.engine.test_machine import _production

    doc = _production(tmp_path)
    machine, _, _ = machine_for(tmp_path, doc)
    drive(machine, script_for(doc, PINS), until="approve/confirm-import-key/payments-dek/")
    machine.answer(PASSPHRASE.format("amartin"), by="amartin")
    with pytest.raises(CeremonyStopped):
        machine.answer(REFUSE, by="bokafor")
    entries = outcome_entries(machine.outcome)
    assert [e["event"] for e in entries[-2:]] == ["attempt_failed", "aborted"]
    data = entries[-2]["data"]
    assert data["kind"] == "fingerprint" and data["participants"] == ["bokafor"]
    assert data["limit"] == 1 and data["tries_left"] == 0
    assert data["step"].startswith("approve/confirm-import-key/payments-dek/")


# ---- the record and verify ----------------------------------------------------------------------


def test_the_record_lists_the_attempts_and_passes_the_limits(tmp_path: Path) -> None:
    doc = doc_for("generate-export")
    machine, _, _ = machine_for(tmp_path, doc)
    script = script_for(doc, PINS)
    drive(machine, script, until="hsm/so-pin")
    with pytest.raises(AnswerRefused):
        machine.answer(WRONG_SO, by="amartin")
    drive_on(machine, script, until="hsm/user-pin")
    with pytest.raises(AnswerRefused):
        machine.answer(WRONG_USER, by="bokafor")
    drive_on(machine, script)
    assert machine.outcome.journal is not None
    verified = journal.verify(machine.outcome.journal.read_bytes(), require_closed=True)
    record = model.build(verified)
    assert [(a.what, a.step, a.left) for a in record.attempts] == [
        ("wrong PIN (so)", "hsm/so-pin", "2 of 3"),
        ("wrong PIN (user)", "hsm/user-pin", "2 of 3"),
    ]
    limits = [f for f in record.findings if f.rule == record_attempts.RULE]
    assert [f.subject for f in limits] == ["so PIN", "user PIN"] and all(f.ok for f in limits)
    assert record.failures == []
    from ceremony.record.pdf import render_record
    from tests.record.pdftools import page_texts

    text = "\n".join(page_texts(render_record(machine.outcome.journal.read_bytes())))
    assert "Failed attempts" in text and "wrong PIN (so)" in text


# ---- failures filed under their step, messages screened by value --------------------------------


class _Refusing(FakeSession):
    def generate_key(self, label: str, spec: Any, *, extractable: bool = False) -> Any:
        raise HsmError(
            f"token serial {self._info.serial} (CKA_ID 00112233445566778899aabbccddeeff) "
            "refused to generate the key",
            hint="check the token",
        )


def test_a_key_generation_refusal_is_filed_under_its_step_with_its_serial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ceremony.hsm import fake as fake_module

    monkeypatch.setattr(fake_module, "FakeSession", _Refusing)
    doc = doc_for("generate-export")
    machine, _, fake = machine_for(tmp_path, doc, FakeBackend(FakeToken(serial="9E1C0A2B3F41D5E7")))
    with pytest.raises(HsmError, match="refused to generate"):
        drive(machine, script_for(doc, PINS))
    entries = outcome_entries(machine.outcome)
    failed = next(e for e in entries if e["event"] == "step_failed")
    assert failed["data"]["step"] == "key/payments-dek"  # not hsm/preflight, the last question
    assert "9E1C0A2B3F41D5E7" in failed["data"]["error"]  # an honest error, kept whole
    assert "withheld" not in failed["data"]["error"]
    assert entries[-1]["data"]["reason"] == "the step key/payments-dek failed"
    assert fake.state.serial == "9E1C0A2B3F41D5E7"


def test_a_message_that_holds_a_held_secret_is_withheld(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    machine, delivery, _ = machine_for(tmp_path, doc)
    drive(machine, script_for(doc, PINS), until="component/zmk-prod/1/kcv")
    ctx = machine._ctx  # type: ignore[attr-defined]
    component = delivery.components()[0]
    leak = bytes(component.value.reveal())[:6].hex().upper()  # a 6-byte prefix, upper case

    def leaking(*_: Any) -> None:
        raise HsmError(f"the token said {leak} while serial FAKE000000000001", hint="x")

    ctx.services.delivery.hide = leaking  # the next step's first call fails with the prefix
    with pytest.raises(HsmError):
        machine.answer(component_kcv(delivery))
    failed = next(e for e in outcome_entries(machine.outcome) if e["event"] == "step_failed")
    assert failed["data"]["error"] == journal.WITHHELD
    assert leak not in machine.outcome.journal.read_text()  # type: ignore[union-attr]


def component_kcv(delivery: Any) -> str:
    return str(delivery.shown[-1].kcv.hex)


def test_an_empty_so_pin_is_a_failed_attempt_never_sent(tmp_path: Path) -> None:
    doc = doc_for("generate-export")  # the SO logs in first
    machine, _, _ = machine_for(tmp_path, doc)
    script = script_for(doc, PINS)
    assert drive(machine, script, until="hsm/so-pin") is not None
    with pytest.raises(AnswerRefused, match=r"no PIN was typed \(2 of 3 tries left"):
        machine.answer("", by="bokafor")
    again = machine.current
    assert again is not None and again.step == "hsm/so-pin" and again.tries == "2 of 3"
    (empty,) = attempts(machine)
    assert empty["data"]["kind"] == "pin" and empty["data"]["participants"] == ["bokafor"]
    assert "never sent to the token" in empty["data"]["token_reports"]
    drive_on(machine, script)
    assert machine.status is Status.FINISHED

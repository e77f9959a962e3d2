"""Issue #7 on the fake token: PIN tries the token reports, showing a component again under dual
control, and import-key fingerprints confirmed or refused by each officer."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from ceremony.cli import run as runner
from ceremony.core import journal, rules
from ceremony.engine.machine import CeremonyStopped, Status
from ceremony.engine.requests import AGAIN, REFUSE, AnswerRefused, RequestKind
from ceremony.errors import RuleViolation
from ceremony.hsm.base import PinState
from ceremony.hsm.fake import FakeBackend, FakeToken
from ceremony.record import model
from tests.engine.helpers import PASSPHRASE, drive, outcome_entries, scan, script_for
from tests.engine.test_machine import PINS, _production, doc_for, drive_on, machine_for

pytestmark = pytest.mark.usefixtures("cheap_scrypt")


# ---- tries left -----------------------------------------------------------------------------


def test_pin_requests_say_what_the_token_reports_and_read_it_again_after_a_wrong_pin(
    tmp_path: Path,
) -> None:
    doc = doc_for("generate-export")
    machine, _, fake = machine_for(tmp_path, doc)
    script = script_for(doc, PINS)
    request = drive(machine, script, until="hsm/user-pin")
    assert request is not None and request.kind is RequestKind.SECRET
    assert request.pin_tries == "the token does not report tries left (it flags no failed try)"
    with pytest.raises(AnswerRefused, match="wrong user PIN"):
        machine.answer("9999", by="amartin")
    assert fake.state.user_pin_state is PinState.COUNT_LOW
    request = drive_on(machine, script, until="hsm/user-pin")
    assert request.pin_tries is not None
    assert request.pin_tries.startswith("the token reports fewer tries left than its maximum")
    drive_on(machine, script)
    assert machine.status is Status.FINISHED


def test_one_try_left_is_confirmed_and_shown_with_the_pin(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    fake = FakeBackend(FakeToken(user_pin_state=PinState.FINAL_TRY))
    machine, _, _ = machine_for(tmp_path, doc, fake)
    script = script_for(doc, PINS)
    request = drive(machine, script, until="hsm/user-pin")
    assert request is not None and request.step == "hsm/user-pin/last-try"
    request = machine.answer("yes", by="amartin")
    assert request is not None and request.step == "hsm/user-pin"
    assert request.pin_tries == "ONE try left: a wrong PIN locks the token"
    machine.abort("test over")


def test_the_headless_runner_prints_the_tries(tmp_path: Path) -> None:
    doc = doc_for("destroy")
    fake = FakeBackend(FakeToken(user_pin_state=PinState.COUNT_LOW))
    from ceremony.hsm.base import KeySpec as TokenSpec
    from tests.engine.test_machine import _Pins

    with fake.open(_Pins()) as session:
        session.generate_key("zmk-2019", TokenSpec.AES_128)
    fake.state.user_pin_state = PinState.COUNT_LOW
    doc["keys"][0] = {"label": "zmk-2019", "type": "AES", "bits": 128}
    machine, _, _ = machine_for(tmp_path, doc, fake)
    script = script_for(doc, PINS)
    out = io.StringIO()
    outcome = runner.drive(machine, runner._scripted(script, out), out, scripted=True)
    assert outcome.status is Status.FINISHED
    printed = out.getvalue()
    assert "  The token reports: the token reports fewer tries left than its maximum" in printed
    assert "  Tries left: 3 of 3\n" in printed


# ---- showing a component again ----------------------------------------------------------------


def test_again_needs_two_approvals_is_journaled_and_shows_it_once_more(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    machine, delivery, fake = machine_for(tmp_path, doc)
    script = script_for(doc, PINS)
    request = drive(machine, script, until="component/zmk-prod/1/kcv")
    assert request is not None and request.display is not None and AGAIN in request.prompt
    assert len(delivery.shown) == 1 and delivery.hidden == 0
    request = machine.answer(AGAIN)
    assert request is not None and request.step == "approve/show-component-again/zmk-prod/1/1"
    assert delivery.hidden == 1  # off the screen while the approvers come to the keyboard
    # The custodian and their backup hold it: they never approve showing it again.
    assert "ebrown" not in request.who.candidates and "jlee" not in request.who.candidates
    with pytest.raises(AnswerRefused, match="holds this component"):
        machine.answer(PASSPHRASE.format("ebrown"), by="ebrown")
    machine.answer(PASSPHRASE.format("amartin"), by="amartin")
    with pytest.raises(AnswerRefused, match="already approved"):
        machine.answer(PASSPHRASE.format("amartin"), by="amartin")
    request = machine.answer(PASSPHRASE.format("cwright"), by="cwright")
    assert request is not None and request.step == "component/zmk-prod/1/privacy-again-1"
    assert request.kind is RequestKind.CONFIRMATION and len(delivery.shown) == 1
    entries = outcome_entries(machine.outcome)
    assert entries[-1]["event"] == "approval"
    assert entries[-1]["data"]["operation"] == "show-component-again"
    assert entries[-1]["data"]["approvers"] == ["amartin", "cwright"]
    request = machine.answer("yes")
    assert request is not None and request.step == "component/zmk-prod/1/kcv/again-1"
    assert request.display is not None and len(delivery.shown) == 2
    assert delivery.shown[1] is delivery.shown[0]
    again = outcome_entries(machine.outcome)[-1]
    assert again["event"] == "component_shown_again"
    assert again["actors"] == ["amartin", "cwright", "ebrown"]
    assert again["data"] == {
        "key": "zmk-prod",
        "split_set": "c-test",
        "index": 1,
        "custodian": "ebrown",
        "backup": "jlee",
        "approvers": ["amartin", "cwright"],
        "shown": 2,
        "manual_cleartext": True,
    }
    drive_on(machine, script)
    assert machine.status is Status.FINISHED
    verified = journal.verify(machine.outcome.journal.read_bytes(), require_closed=True)  # type: ignore[union-attr]
    record = model.build(verified)
    assert record.failures == []
    shown_again = [c for c in record.clear_operations if c.event == "component_shown_again"]
    assert len(shown_again) == 1 and shown_again[0].ok
    stored = fake.state.keys["zmk-prod"].value
    assert stored is not None
    parts = [bytes(c.value.reveal()) for c in delivery.components()]
    assert scan([tmp_path], [bytes(stored.reveal()), *parts]) == []


def test_again_is_refused_when_nobody_could_approve_it(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    machine, _, _ = machine_for(tmp_path, doc)
    drive(machine, script_for(doc, PINS), until="component/zmk-prod/1/kcv")
    ctx = machine._ctx  # type: ignore[attr-defined]
    assert ctx is not None
    ctx.roster = rules.Roster(p for p in ctx.roster if p.role is not rules.Role.SECURITY_OFFICER)
    with pytest.raises(AnswerRefused, match="needs a security officer"):
        machine.answer(AGAIN)
    assert machine.current is not None and machine.current.step == "component/zmk-prod/1/kcv"
    machine.abort("test over")


# ---- import-key fingerprints ----------------------------------------------------------------


def test_import_key_approvals_carry_the_fingerprint_and_a_refusal_stops(tmp_path: Path) -> None:
    doc = _production(tmp_path)
    machine, _, _ = machine_for(tmp_path, doc)
    script = script_for(doc, PINS)
    request = drive(machine, script, until="approve/confirm-import-key/payments-dek/")
    assert request is not None and request.kind is RequestKind.APPROVAL
    check = request.fingerprint
    assert check is not None and not check.mismatch and check.pinned is not None
    assert check.provider == "AWS KMS" and request.step.endswith(f"/{check.target}/1")
    assert any(check.fingerprint.groups() in line for line in request.lines)
    assert REFUSE in request.prompt
    machine.answer(PASSPHRASE.format("amartin"), by="amartin")
    with pytest.raises(AnswerRefused, match="already approved"):
        machine.answer(REFUSE, by="amartin")  # the first officer cannot refuse for the second
    with pytest.raises(AnswerRefused, match="auditor"):
        machine.answer(REFUSE, by="dnguyen")
    with pytest.raises(CeremonyStopped, match="bokafor"):
        machine.answer(REFUSE, by="bokafor")
    assert machine.status is Status.ABORTED
    last = outcome_entries(machine.outcome)[-1]
    assert last["event"] == "aborted" and last["actors"] == ["bokafor"]
    assert f"refused the import key of target {check.target!r}" in last["data"]["reason"]
    assert "import_key_confirmed" not in [e["event"] for e in outcome_entries(machine.outcome)]


def test_a_pinned_mismatch_shows_both_and_can_only_be_stopped(tmp_path: Path) -> None:
    doc: dict[str, Any] = _production(tmp_path)
    doc["keys"][0]["targets"][1]["fingerprint"] = "ab" * 32
    machine, _, _ = machine_for(tmp_path, doc)
    request = drive(machine, script_for(doc, PINS), until="import-key/")
    assert request is not None and request.kind is RequestKind.CHOICE
    assert request.choices == ("stop",)
    check = request.fingerprint
    assert check is not None and check.mismatch and check.pinned is not None
    assert check.provider.startswith("Azure")
    assert any(check.pinned.groups() in line for line in request.lines)
    assert any(check.fingerprint.groups() in line for line in request.lines)
    with pytest.raises(AnswerRefused, match="can only be refused"):
        machine.answer("go on", by="amartin")
    with pytest.raises(RuleViolation, match="not the one the ceremony file pins"):
        machine.answer("stop", by="amartin")
    events = [e["event"] for e in outcome_entries(machine.outcome)]
    assert events[-2:] == ["step_failed", "aborted"]
    assert events.count("import_key_confirmed") == 1  # the first target, which matched

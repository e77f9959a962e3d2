"""Issue 14 and 12.7 on the SoftHSM2 token: the SO PIN is checked at the token when it is typed,
each wrong PIN is journaled, and the tool stops at 3 wrong PINs although SoftHSM never locks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ceremony.core import journal
from ceremony.engine.machine import Machine, Status, default_services
from ceremony.engine.requests import AnswerRefused
from ceremony.errors import HsmError
from ceremony.hsm.base import PinState
from ceremony.record import attempts
from ceremony.record.verify import verify_evidence
from tests.engine.helpers import (
    Capture,
    drive,
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

WRONG_SO = "wrong-so-pin-30917"
WRONG_USER = "wrong-user-pin-66205"


def _machine(hsm: HsmUnderTest, folder: Path, ceremony_id: str) -> tuple[Machine, Any]:
    doc = rehearsal_doc(
        "generate-export",  # wraps inside the token: the SO logs in first
        module=hsm.config.module_path,
        label=hsm.config.token_label or "",
        ceremony_id=ceremony_id,
    )
    services = default_services(delivery=Capture())
    services.airgap = isolated
    write_imports(folder)
    path = write_ceremony(folder, doc, f"{ceremony_id}.toml")
    machine = Machine(path, services=services)
    return machine, script_for(doc, {"user": hsm.user_pin, "so": hsm.so_pin})


def _on(machine: Machine, script: Any, until: str | None = None) -> Any:
    request = machine.current
    while request is not None and not (until and request.step.startswith(until)):
        value, by = script.answer(request)
        request = machine.answer(value, by=by)
    return request


def _attempts(machine: Machine) -> list[dict[str, Any]]:
    return [e["data"] for e in outcome_entries(machine.outcome) if e["event"] == "attempt_failed"]


def test_a_wrong_so_pin_is_caught_at_once_and_verify_lists_it(
    hsm: HsmUnderTest, tmp_path: Path
) -> None:
    machine, script = _machine(hsm, tmp_path, "att-so")
    request = drive(machine, script, until="hsm/so-pin")
    assert request is not None and request.tries == "3 of 3"
    with pytest.raises(AnswerRefused, match=r"wrong security officer PIN .*2 of 3 tries left"):
        machine.answer(WRONG_SO, by="amartin")
    again = machine.current
    assert again is not None and again.step == "hsm/so-pin" and again.tries == "2 of 3"
    assert hsm.backend.describe().so_pin in (PinState.OK, PinState.COUNT_LOW)
    (wrong,) = _attempts(machine)
    assert wrong["step"] == "hsm/so-pin" and wrong["role"] == "so"
    assert wrong["participants"] == ["amartin"] and wrong["tries_left"] == 2
    assert "token_reports" in wrong
    assert _on(machine, script, until="hsm/user-pin") is not None
    _on(machine, script)
    outcome = machine.outcome
    assert outcome.status is Status.FINISHED and outcome.output_folder is not None
    assert scan([tmp_path], [WRONG_SO.encode()]) == []
    assert outcome.signed_record is not None  # the rehearsal token holds its signing key
    report = verify_evidence(outcome.signed_record.parent)
    assert report.ok, report.text()
    lines = {line.check: line for line in report.lines}
    listed = [c for c in lines if c.startswith("failed attempt, entry")]
    assert len(listed) == 1 and lines[listed[0]].ok
    assert "wrong PIN (so) at hsm/so-pin by amartin: 2 of 3" in lines[listed[0]].reason
    assert lines[f"{attempts.RULE}, so PIN"].ok


def test_three_wrong_user_pins_stop_though_softhsm_never_locks(
    hsm: HsmUnderTest, tmp_path: Path
) -> None:
    machine, script = _machine(hsm, tmp_path, "att-user")
    assert drive(machine, script, until="hsm/user-pin") is not None
    for _ in range(2):
        with pytest.raises(AnswerRefused, match="wrong user PIN"):
            machine.answer(WRONG_USER, by="bokafor")
    with pytest.raises(HsmError, match=r"3 wrong user PINs .*the ceremony stops"):
        machine.answer(WRONG_USER, by="bokafor")
    assert machine.status is Status.ABORTED
    assert hsm.backend.describe().user_pin is not PinState.LOCKED  # the token did not stop it
    tries = _attempts(machine)
    assert [(t["attempt"], t["tries_left"], t["role"]) for t in tries] == [
        (1, 2, "user"),
        (2, 1, "user"),
        (3, 0, "user"),
    ]
    entries = outcome_entries(machine.outcome)
    assert [e["event"] for e in entries[-2:]] == ["step_failed", "aborted"]
    assert entries[-2]["data"]["step"] == "hsm/user-pin"
    assert machine.outcome.journal is not None
    verified = journal.verify(machine.outcome.journal.read_bytes(), require_closed=True)
    (check,) = attempts.check(verified.entries)
    assert check.ok and check.detail.endswith("the run stopped at the limit")
    assert scan([tmp_path], [WRONG_USER.encode()]) == []
    # Nothing was left logged in and the right PIN still works.
    with hsm.backend.open(hsm.prompter) as session:
        assert session.random_bytes(4)

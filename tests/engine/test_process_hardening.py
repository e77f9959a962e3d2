"""The process hardening is journaled at start (``process_hardened``) and read in the record; a
production file that requires locked memory stops before roll call when it is not locked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ceremony import hardening
from ceremony.core import journal
from ceremony.errors import RuleViolation
from ceremony.hardening import HardeningReport, Step
from ceremony.record.describe import DESCRIPTIONS
from tests.engine.helpers import drive, outcome_entries, script_for
from tests.engine.test_machine import PINS, _production, doc_for, machine_for

pytestmark = pytest.mark.usefixtures("cheap_scrypt")

NOT_LOCKED = "memory not locked: the memlock limit is 8192 KiB (hard 8192 KiB), below 4194304 KiB"


def report(locked: bool) -> HardeningReport:
    return HardeningReport(
        core_dumps_off=Step("core_dumps_off", True, "core dumps are off (core file size limit 0)"),
        not_dumpable=Step("not_dumpable", True, "the process is not dumpable"),
        memory_locked=Step(
            "memory_locked",
            locked,
            "memory is locked: secrets are not swapped" if locked else NOT_LOCKED,
        ),
        memlock_limit=(None, None) if locked else (8 << 20, 8 << 20),
    )


@pytest.fixture
def hardened(monkeypatch: pytest.MonkeyPatch) -> Any:
    def set_report(locked: bool) -> None:
        monkeypatch.setattr(hardening, "_report", report(locked))

    return set_report


def test_the_hardening_is_the_first_entry_after_genesis_and_the_record_reads_it(
    tmp_path: Path, hardened: Any
) -> None:
    hardened(False)
    doc = doc_for("split-backup")
    machine, _, _ = machine_for(tmp_path, doc)
    notices: list[str] = []
    assert (
        drive(machine, script_for(doc, PINS), on_request=lambda r: notices.extend(r.notices))
        is None
    )
    entries = outcome_entries(machine.outcome)
    assert entries[1]["event"] == "process_hardened"
    data = entries[1]["data"]
    assert data["core_dumps_off"] is True and data["not_dumpable"] is True
    assert data["memory_locked"] is False and data["memlock_soft"] == 8 << 20
    assert data["notes"] == [NOT_LOCKED] and data["memory_lock_required"] is False
    assert any(NOT_LOCKED in n for n in notices)
    assert machine.outcome.journal is not None
    entry = journal.verify(machine.outcome.journal.read_bytes(), require_closed=True).entries[1]
    line = DESCRIPTIONS["process_hardened"](entry)
    assert line.startswith(
        "process hardened: core dumps off yes, not dumpable yes, memory locked NO"
    )


def test_production_requiring_locked_memory_stops_before_roll_call(
    tmp_path: Path, hardened: Any
) -> None:
    hardened(False)
    doc = _production(tmp_path)
    doc["ceremony"]["require_memory_lock"] = True
    machine, _, _ = machine_for(tmp_path, doc)
    with pytest.raises(RuleViolation, match=r"requires locked memory .*memlock limit is 8192 KiB"):
        machine.start()
    events = [e["event"] for e in outcome_entries(machine.outcome)]
    assert events == ["genesis", "process_hardened", "step_failed", "aborted"]
    assert outcome_entries(machine.outcome)[1]["data"]["memory_lock_required"] is True


def test_production_requiring_locked_memory_goes_on_when_it_is_locked(
    tmp_path: Path, hardened: Any
) -> None:
    hardened(True)
    doc = _production(tmp_path)
    doc["ceremony"]["require_memory_lock"] = True
    machine, _, _ = machine_for(tmp_path, doc)
    request = machine.start()
    assert request is not None and request.step.startswith("roll-call/")
    data = outcome_entries(machine.outcome)[1]["data"]
    assert data["memory_locked"] is True and data["memory_lock_required"] is True
    machine.close()


def test_a_rehearsal_never_requires_it(tmp_path: Path, hardened: Any) -> None:
    hardened(False)
    doc = doc_for("destroy")
    doc["ceremony"]["require_memory_lock"] = True
    machine, _, _ = machine_for(tmp_path, doc)
    assert machine.start() is not None
    assert outcome_entries(machine.outcome)[1]["data"]["memory_lock_required"] is False
    machine.close()


def test_without_a_hardened_process_a_required_lock_is_refused(tmp_path: Path) -> None:
    assert hardening.last_report() is None  # this test process never hardens itself
    doc = _production(tmp_path)
    doc["ceremony"]["require_memory_lock"] = True
    machine, _, _ = machine_for(tmp_path, doc)
    with pytest.raises(RuleViolation, match="this process was not hardened"):
        machine.start()


def test_the_file_key_is_parsed_strictly() -> None:
    from ceremony.core.ceremony_file import parse_ceremony_file
    from ceremony.core.ceremony_file.vocabulary import FileError
    from tests.unit.ceremony_files import dumps

    doc = doc_for("destroy")
    doc["ceremony"]["require_memory_lock"] = "yes"
    with pytest.raises(FileError, match=r"ceremony\.require_memory_lock"):
        parse_ceremony_file(dumps(doc).encode())
    doc["ceremony"]["require_memory_lok"] = True
    del doc["ceremony"]["require_memory_lock"]
    with pytest.raises(FileError, match="did you mean require_memory_lock"):
        parse_ceremony_file(dumps(doc).encode())

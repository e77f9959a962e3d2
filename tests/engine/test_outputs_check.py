"""Every output is checked before any key exists: an existing bundle folder or record, a name
that cannot be a folder, too little free space, all refused before roll call."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceremony.engine.machine import Status
from ceremony.engine.steps import outputs_check
from ceremony.errors import LabelExistsError, OutputError, OutputExistsError
from tests.engine.helpers import drive, outcome_entries, script_for
from tests.engine.test_machine import PINS, doc_for, machine_for

pytestmark = pytest.mark.usefixtures("cheap_scrypt")

BEFORE_ROLL_CALL = ["genesis", "airgap_checked", "step_failed", "aborted"]


def _refused_before_anything(machine: object) -> dict[str, object]:
    entries = outcome_entries(machine.outcome)  # type: ignore[attr-defined]
    assert [e["event"] for e in entries] == BEFORE_ROLL_CALL  # nobody called, no key made
    failed = entries[-2]["data"]
    assert failed["step"] == "outputs-check"
    return failed


@pytest.mark.parametrize("kind", ["split-backup", "generate-export"])
def test_an_existing_bundle_folder_is_refused_before_any_key(tmp_path: Path, kind: str) -> None:
    doc = doc_for(kind)
    machine, delivery, fake = machine_for(tmp_path, doc)
    (tmp_path / "out" / "bundle").mkdir(parents=True)
    with pytest.raises(OutputExistsError, match=r"out/bundle already exists"):
        machine.start()
    _refused_before_anything(machine)
    assert machine.status is Status.ABORTED
    assert delivery.shown == []
    assert doc["keys"][0]["label"] not in fake.state.keys


@pytest.mark.parametrize("name", ["record.pdf", "journal.sig"])
def test_an_existing_record_is_refused_before_any_key(tmp_path: Path, name: str) -> None:
    doc = doc_for("generate-export")
    machine, _, _ = machine_for(tmp_path, doc)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / name).write_bytes(b"another ceremony's record")
    with pytest.raises(OutputExistsError, match=name):
        machine.start()
    _refused_before_anything(machine)
    assert (tmp_path / "out" / name).read_bytes() == b"another ceremony's record"


def test_too_little_free_space_is_refused_before_any_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outputs_check, "free_bytes", lambda path: 3 << 20)
    doc = doc_for("split-backup")
    machine, _, _ = machine_for(tmp_path, doc)
    with pytest.raises(OutputError, match=r"has 3\.0 MiB free; the bundle and the record need"):
        machine.start()
    _refused_before_anything(machine)


def test_the_free_space_is_read_from_the_output_folder(tmp_path: Path) -> None:
    import os

    stat = os.statvfs(tmp_path)
    assert outputs_check.free_bytes(tmp_path) == stat.f_bavail * stat.f_frsize


def test_a_kept_registry_name_of_this_run_is_refused(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    machine, _, _ = machine_for(tmp_path, doc)
    registry = tmp_path / "registry"
    registry.mkdir()
    (registry / "custodians.json.before-c-test-run1").write_bytes(b"{}")
    with pytest.raises(OutputExistsError, match=r"custodians\.json\.before-c-test-run1"):
        machine.start()
    _refused_before_anything(machine)


def test_a_clean_run_passes_the_check_and_says_so(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    machine, _, _ = machine_for(tmp_path, doc)
    notices: list[str] = []
    assert (
        drive(machine, script_for(doc, PINS), on_request=lambda r: notices.extend(r.notices))
        is None
    )
    assert machine.outcome.status is Status.FINISHED
    assert any(n.startswith(f"Outputs: {tmp_path / 'out'} is writable") for n in notices)


def test_files_a_kill_left_beside_their_names_are_removed_on_the_rerun(tmp_path: Path) -> None:
    doc = doc_for("split-backup")
    machine, _, _ = machine_for(tmp_path, doc)
    (tmp_path / "out" / "bundle-run-1").mkdir(parents=True)
    (tmp_path / "registry").mkdir()
    left = [
        tmp_path / "out" / ".record.pdf.0123abcd.partial",
        tmp_path / "out" / "bundle-run-1" / ".REHEARSAL.txt.89abcdef.partial",
        tmp_path / "registry" / ".custodians.json.00ff00ff.partial",
    ]
    for path in left:
        path.write_bytes(b"half")
    notices: list[str] = []
    assert (
        drive(machine, script_for(doc, PINS), on_request=lambda r: notices.extend(r.notices))
        is None
    )
    assert machine.outcome.status is Status.FINISHED
    assert not any(p.exists() for p in left)
    assert any(n.startswith("Removed 3 unfinished file(s)") for n in notices), notices


@pytest.mark.parametrize("kind", ["split-backup", "generate-export"])
def test_a_label_already_on_the_token_is_refused_before_any_key_or_component(
    tmp_path: Path, kind: str
) -> None:
    doc = doc_for(kind)
    first, _, fake = machine_for(tmp_path / "first", doc)
    assert drive(first, script_for(doc, PINS)) is None  # the key is now on the token
    label = doc["keys"][0]["label"]
    before = fake.state.keys[label]
    machine, delivery, _ = machine_for(tmp_path / "second", doc, fake)
    with pytest.raises(LabelExistsError, match=f"key '{label}' is already on the token"):
        drive(machine, script_for(doc, PINS))
    events = [e["event"] for e in outcome_entries(machine.outcome)]
    assert "key_generated" not in events and "component_issued" not in events
    assert delivery.shown == []
    assert fake.state.keys[label] is before  # the old key is untouched

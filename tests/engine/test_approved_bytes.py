"""The bytes the witnesses approve are the bytes that run: the ceremony file and the registry are
read once, and a change on disk between the check and the start stops the start, naming both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ceremony.core import journal
from ceremony.core.registry import Registry, serialise_registry
from ceremony.engine import machine as machine_module
from ceremony.engine.ceremony_source import CheckedFile, load_ceremony_file
from ceremony.engine.machine import Machine, Status
from ceremony.errors import ConfigError, OutputError
from ceremony.hsm.fake import FakeBackend, FakeToken
from tests.engine.helpers import (
    Capture,
    drive,
    rehearsal_doc,
    script_for,
    services,
    write_ceremony,
    write_imports,
)

PINS = {"user": "1234", "so": "5678"}
REGISTRY = "registry/custodians.json"


pytestmark = pytest.mark.usefixtures("cheap_scrypt")


def _doc() -> dict[str, Any]:
    return rehearsal_doc("split-backup", module="<fake>", label="fake-token", ceremony_id="c-ok")


def _checked(folder: Path, doc: dict[str, Any] | None = None) -> CheckedFile:
    write_imports(folder)
    return load_ceremony_file(write_ceremony(folder, doc or _doc()))


def _machine(checked: CheckedFile) -> Machine:
    return Machine(checked, services=services(lambda c: FakeBackend(FakeToken()), Capture()))


def _groups(data: bytes) -> str:
    return journal.hash_groups(journal.FileDigest.of(data).hex)


def _edited(path: Path) -> bytes:
    """A reviewed file edited afterwards: still valid, one word of the purpose changed."""
    text = path.read_text("utf-8")
    assert "purpose = " in text
    changed = text.replace("purpose = ", "purpose = 'edited after the review' #", 1)
    path.write_text(changed, "utf-8")
    return path.read_bytes()


def test_the_machine_runs_the_loaded_bytes_and_journals_their_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = _checked(tmp_path)
    assert checked.sha256 == journal.FileDigest.of((tmp_path / "ceremony.toml").read_bytes())

    def no_second_read(path: Path) -> CheckedFile:
        raise AssertionError(f"the machine read {path} again")

    monkeypatch.setattr(machine_module, "load_ceremony_file", no_second_read)
    machine = _machine(checked)
    assert drive(machine, script_for(_doc(), PINS)) is None
    assert machine.checked is checked and machine.ceremony is checked.ceremony
    assert machine.outcome.status is Status.FINISHED
    assert machine.outcome.journal is not None
    verified = journal.verify(machine.outcome.journal.read_bytes(), require_closed=True)
    assert verified.ceremony_file_sha256 == checked.sha256.hex


def test_a_ceremony_file_changed_on_disk_after_the_check_refuses_the_start(
    tmp_path: Path,
) -> None:
    checked = _checked(tmp_path)
    approved = checked.data
    now = _edited(checked.path)
    machine = _machine(checked)
    with pytest.raises(ConfigError) as caught:
        machine.start()
    message = caught.value.message
    assert "changed on disk after it was checked" in message
    assert f"approved SHA-256 {_groups(approved)}" in message
    assert f"on disk now SHA-256 {_groups(now)}" in message
    assert "check the file again" in (caught.value.hint or "")
    assert machine.status is Status.READY and machine.outcome.journal is None
    assert not (tmp_path / "out").exists()  # nothing started, nothing written


def test_a_ceremony_file_gone_from_disk_after_the_check_refuses_the_start(
    tmp_path: Path,
) -> None:
    checked = _checked(tmp_path)
    checked.path.unlink()
    with pytest.raises(
        ConfigError, match=r"the ceremony file .* does not exist, so it cannot be compared again"
    ):
        _machine(checked).start()
    assert not (tmp_path / "out").exists()


def test_a_registry_changed_on_disk_after_the_check_refuses_the_start(tmp_path: Path) -> None:
    registry = tmp_path / REGISTRY
    registry.parent.mkdir()
    before = serialise_registry(Registry())
    registry.write_bytes(before)
    checked = _checked(tmp_path)
    assert checked.registry is not None and checked.registry.data == before
    after = before + b"\n"
    registry.write_bytes(after)
    with pytest.raises(ConfigError) as caught:
        _machine(checked).start()
    message = caught.value.message
    assert f"the custodian registry {registry} changed on disk" in message
    assert f"checked SHA-256 {_groups(before)}, on disk now SHA-256 {_groups(after)}" in message
    assert not (tmp_path / "out").exists()


def test_a_registry_made_after_the_check_refuses_the_start(tmp_path: Path) -> None:
    checked = _checked(tmp_path)
    assert checked.registry is not None and checked.registry.data is None
    registry = tmp_path / REGISTRY
    registry.parent.mkdir()
    registry.write_bytes(serialise_registry(Registry()))
    with pytest.raises(ConfigError, match=r"checked \(no file\), on disk now SHA-256 "):
        _machine(checked).start()


def test_a_registry_changed_during_the_ceremony_is_refused_against_the_snapshot(
    tmp_path: Path,
) -> None:
    checked = _checked(tmp_path)
    registry = tmp_path / REGISTRY
    machine = _machine(checked)

    def another_ceremony_writes_it(request: Any) -> None:
        if not registry.exists():
            registry.parent.mkdir(exist_ok=True)
            registry.write_bytes(serialise_registry(Registry()))

    with pytest.raises(OutputError, match="changed during the ceremony"):
        drive(machine, script_for(_doc(), PINS), on_request=another_ceremony_writes_it)
    assert machine.status is Status.ABORTED
    assert registry.read_bytes() == serialise_registry(Registry())  # not overwritten


def test_a_machine_given_a_path_reads_it_once_at_start(tmp_path: Path) -> None:
    checked = _checked(tmp_path)
    machine = Machine(
        checked.path, services=services(lambda c: FakeBackend(FakeToken()), Capture())
    )
    assert machine.checked is None
    machine.start()
    assert machine.checked is not None and machine.checked.data == checked.data
    machine.abort("test over")

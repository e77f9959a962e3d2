"""``ceremony run`` reads the ceremony file once, prints the SHA-256 it runs, and refuses to start
when the file on disk changed after that read (both digests named); ``check`` prints the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceremony.cli import main
from ceremony.cli import run as run_command
from ceremony.core import journal
from ceremony.engine.ceremony_source import CheckedFile, load_ceremony_file
from tests.engine.helpers import rehearsal_doc, write_ceremony


def _file(folder: Path) -> Path:
    doc = rehearsal_doc("destroy", module="<fake>", label="fake-token", ceremony_id="c-run")
    return write_ceremony(folder, doc)


def _groups(data: bytes) -> str:
    return journal.hash_groups(journal.FileDigest.of(data).hex)


def test_run_refuses_a_file_changed_after_it_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path)
    approved = path.read_bytes()
    assert main(["check", str(path)]) == 0
    checked_out = capsys.readouterr().out
    assert f"Ceremony file SHA-256: {_groups(approved)}" in checked_out

    def read_then_edited(file: Path) -> CheckedFile:
        loaded = load_ceremony_file(file)
        file.write_bytes(file.read_bytes() + b"# edited after the review\n")
        return loaded

    monkeypatch.setattr(run_command, "load_ceremony_file", read_then_edited)
    assert main(["run", str(path), "--rehearsal"]) == 1
    captured = capsys.readouterr()
    # What it printed to compare with the printout is what ``check`` printed: the bytes read.
    assert f"Ceremony file SHA-256: {_groups(approved)}" in captured.out
    assert "changed on disk after it was checked" in captured.err
    assert f"approved SHA-256 {_groups(approved)}" in captured.err
    assert f"on disk now SHA-256 {_groups(path.read_bytes())}" in captured.err
    assert not (tmp_path / "out").exists()  # no journal: nothing started


def test_a_refused_scripted_answer_is_what_the_journal_says(
    tmp_path: Path, cheap_scrypt: None
) -> None:
    """Not "the front end closed": the abort names the step and why its answer was refused."""
    import io

    from ceremony.engine.machine import Machine
    from ceremony.errors import ConfigError
    from ceremony.hsm.fake import FakeBackend, FakeToken
    from tests.engine.helpers import Capture, services

    fake = FakeBackend(FakeToken())
    machine = Machine(_file(tmp_path), services=services(lambda c: fake, Capture()))
    with pytest.raises(ConfigError, match="was refused"):
        run_command.drive(
            machine, lambda request: ("not an answer", None), io.StringIO(), scripted=True
        )
    outcome = machine.outcome
    assert outcome.journal is not None
    last = journal.verify(outcome.journal.read_bytes(), require_closed=True).last
    assert last.event == journal.ABORTED
    reason = str(last.data["reason"])
    assert (
        reason.startswith("the run stopped: the scripted answer to step ") and "refused" in reason
    )

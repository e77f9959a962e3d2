"""The signed record at the end: a Ctrl-C or SIGTERM while it is written waits for it (a journal
that says finished always has its record), and a full disk while writing it is never a success
(the outcome says why, ``ceremony run`` exits 4, the TUI's finish screen says it)."""

from __future__ import annotations

import argparse
import errno
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from ceremony import output
from ceremony.cli import run as run_command
from ceremony.core import journal
from ceremony.core.providers import BundleFile
from ceremony.engine.machine import Machine, Outcome, Status
from ceremony.hardening import stop_signals_as_interrupt
from ceremony.hsm.fake import FakeBackend, FakeToken
from ceremony.record import sign
from ceremony.tui.screens.finish import FinishView
from tests.engine.helpers import (
    Capture,
    drive,
    fill,
    give_signing_identity,
    script_for,
    services,
    write_ceremony,
    write_imports,
)
from tests.engine.test_machine import PINS, doc_for

pytestmark = pytest.mark.usefixtures("cheap_scrypt")


class Record:
    """What ``build_signed_record`` returns, as the writer sees it: record.pdf and journal.sig.

    The fake token cannot make a PAdES signature (SoftHSM2 runs that in tests/hsm); here what is
    under test is the writing, so the two files are stand-ins of a record's size.
    """

    def files(self) -> list[BundleFile]:
        return [
            BundleFile(sign.RECORD_NAME, b"%PDF-1.7 stand-in\n" + b"\0" * (256 << 10)),
            BundleFile(sign.SIGNATURE_NAME, b"stand-in signature"),
        ]


@pytest.fixture(autouse=True)
def _stand_in_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sign, "HsmSigner", lambda session, label: None)
    monkeypatch.setattr(sign, "build_signed_record", lambda data, signer, **kw: Record())


def signed_machine(folder: Path, kind: str = "generate-export") -> tuple[Machine, dict[str, Any]]:
    fake = FakeBackend(FakeToken())
    give_signing_identity(fake)  # the rehearsal record is signed in the token
    doc = doc_for(kind)
    write_imports(folder)
    path = write_ceremony(folder, doc)
    return Machine(path, services=services(lambda c: fake, Capture())), doc


def _events(machine: Machine) -> list[str]:
    assert machine.outcome.journal is not None
    data = machine.outcome.journal.read_bytes()
    return [e.event for e in journal.verify(data, require_closed=True).entries]


def _leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".partial")]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_a_stop_while_the_record_is_signed_waits_for_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: signal.Signals
) -> None:
    build = sign.build_signed_record

    def interrupted(data: bytes, signer: Any, **kw: Any) -> Any:
        signal.raise_signal(signum)  # to this (main) thread: handled before the next line
        return build(data, signer, **kw)

    monkeypatch.setattr(sign, "build_signed_record", interrupted)
    machine, doc = signed_machine(tmp_path)
    notices: list[str] = []
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # the console script's
    try:
        with stop_signals_as_interrupt():
            assert drive(machine, script_for(doc, PINS)) is None
            notices += machine.take_notices()
    finally:
        signal.signal(signal.SIGINT, before)
    outcome = machine.outcome
    assert outcome.status is Status.FINISHED and outcome.record_error is None
    assert outcome.signed_record is not None and outcome.signed_record.is_file()
    assert (outcome.signed_record.parent / sign.SIGNATURE_NAME).is_file()
    assert _events(machine)[-1] == "finished"
    assert any("the record was completed first" in n for n in notices), notices
    assert _leftovers(tmp_path) == []


def test_a_full_disk_while_writing_the_record_is_not_a_success(
    small_tmpfs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = sign.write_signed_record

    def on_a_full_disk(folder: Path | str, record: Any) -> list[Path]:
        fill(small_tmpfs)  # the medium fills up after the check, just before the record
        return write(folder, record)

    monkeypatch.setattr(sign, "write_signed_record", on_a_full_disk)
    machine, doc = signed_machine(small_tmpfs)
    assert drive(machine, script_for(doc, PINS)) is None
    outcome = machine.outcome
    assert outcome.status is Status.FINISHED  # the journal is closed: the ceremony happened
    assert outcome.signed_record is None
    assert outcome.record_error is not None and "No space left" in outcome.record_error
    assert _events(machine)[-1] == "finished"
    out = small_tmpfs / "out"
    assert not (out / sign.RECORD_NAME).exists() and not (out / sign.SIGNATURE_NAME).exists()
    assert _leftovers(small_tmpfs) == []  # no half-written record under any name


def test_a_failing_writer_is_not_a_success(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Where no tmpfs can be mounted: the record's writes fail as on a full disk (fault injected
    # into output._create_at's os.write, for the record's files only).
    real = os.write
    create = output._create_at

    def create_full(dir_fd: int, name: str, data: bytes, mode: int) -> None:
        if sign.RECORD_NAME not in name and sign.SIGNATURE_NAME not in name:
            return create(dir_fd, name, data, mode)

        def no_space(fd: int, chunk: Any) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(output.os, "write", no_space)
        try:
            return create(dir_fd, name, data, mode)
        finally:
            monkeypatch.setattr(output.os, "write", real)

    monkeypatch.setattr(output, "_create_at", create_full)
    machine, doc = signed_machine(tmp_path)
    assert drive(machine, script_for(doc, PINS)) is None
    outcome = machine.outcome
    assert outcome.status is Status.FINISHED and outcome.signed_record is None
    assert outcome.record_error is not None and "No space left" in outcome.record_error
    assert not (tmp_path / "out" / sign.RECORD_NAME).exists()
    assert _leftovers(tmp_path) == []


def _outcome(record_error: str | None, status: Status = Status.FINISHED) -> Outcome:
    return Outcome(
        status=status,
        journal=Path("/media/out/c.journal.jsonl"),
        final_hash="00" * 32,
        run=1,
        outputs=(),
        output_folder=Path("/media/out"),
        recovery=None,
        record_error=record_error,
    )


def test_ceremony_run_exits_4_when_the_record_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = doc_for("destroy")
    path = write_ceremony(tmp_path, doc)
    for error, code in ((None, 0), ("No space left on device", 4)):
        outcome = _outcome(error)

        def finished(*args: Any, outcome: Outcome = outcome, **kw: Any) -> Outcome:
            run_command.print_outcome(outcome, args[2])
            return outcome

        monkeypatch.setattr(run_command, "drive", finished)
        args = argparse.Namespace(file=path, rehearsal=True, answers=None)
        assert run_command.run(args) == code
    printed = capsys.readouterr().out
    assert "The signed record was NOT written (No space left on device)" in printed
    assert "run 'ceremony record /media/out'" in printed


def test_the_finish_screen_exit_code_says_the_record_is_missing() -> None:
    def view(finished: bool, error: str | None) -> FinishView:
        return FinishView(finished, None, "00" * 32, None, None, (), record_error=error)

    assert view(True, None).exit_code == 0
    assert view(True, "No space left on device").exit_code == 4
    assert view(False, None).exit_code == 1

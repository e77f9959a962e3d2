"""Production component forms printed through a fake CUPS on PATH: stdin only, local printers only.

The fake ``lp`` records what it read on standard input into a folder the test names
(``FAKE_LP_RECORD``), outside the ceremony's folder: that recording is the test's own proof
that the form went through stdin. The ceremony's folder must hold no form.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from ceremony.core import journal
from ceremony.core.rules import DUAL_CONTROL
from ceremony.engine.machine import CeremonyStopped, Machine, Status
from ceremony.engine.printing import CupsPrinter
from ceremony.engine.requests import AnswerRefused, Request
from ceremony.errors import PrintError
from ceremony.hsm.fake import FakeBackend, FakeToken
from ceremony.record import model
from ceremony.record.pdf import render_record
from tests.engine.helpers import (
    PASSPHRASE,
    Capture,
    give_signing_identity,
    outcome_entries,
    rehearsal_doc,
    script_for,
    services,
    write_ceremony,
)
from tests.record.pdftools import all_text

pytestmark = pytest.mark.usefixtures("cheap_scrypt")

PINS = {"user": "1234", "so": "5678"}
QUEUE = "ceremony-usb"
USB = "usb://Brother/HL-L5100DN?serial=E7X123"

FAKE_LP = """#!/usr/bin/env python3
import json, os, sys
data = sys.stdin.buffer.read()
folder = os.environ["FAKE_LP_RECORD"]
n = len([f for f in os.listdir(folder) if f.endswith(".pdf")]) + 1
with open(os.path.join(folder, "job-%d.pdf" % n), "wb") as out:
    out.write(data)
with open(os.path.join(folder, "job-%d.json" % n), "w") as out:
    json.dump({"argv": sys.argv[1:]}, out)
print("request id is %s-%d (0 file(s))" % (sys.argv[sys.argv.index("-d") + 1], n))
"""
FAKE_LPSTAT = """#!/bin/sh
[ "$1" = "-v" ] || exit 1
[ "$2" = "$FAKE_PRINTER" ] || { echo "lpstat: no such printer" >&2; exit 1; }
echo "device for $2: $FAKE_DEVICE_URI"
"""


@pytest.fixture
def printed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake CUPS first on PATH; returns the folder where the fake lp records its stdin."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("lp", FAKE_LP), ("lpstat", FAKE_LPSTAT)):
        path = bin_dir / name
        path.write_text(body)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    record = tmp_path / "printed"
    record.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LP_RECORD", str(record))
    monkeypatch.setenv("FAKE_PRINTER", QUEUE)
    monkeypatch.setenv("FAKE_DEVICE_URI", USB)
    return record


def _jobs(record: Path) -> list[bytes]:
    return [record.joinpath(f"job-{n}.pdf").read_bytes() for n in range(1, _count(record) + 1)]


def _count(record: Path) -> int:
    return len(list(record.glob("job-*.pdf")))


def production_doc(*, second_officer: bool = True) -> dict[str, Any]:
    """The split-backup template in production with a [printer] (and two security officers)."""
    doc = rehearsal_doc("split-backup", module="<fake>", label="fake-token", ceremony_id="c-print")
    doc["ceremony"]["rehearsal"] = False
    doc["printer"] = {"queue": QUEUE}
    if second_officer:
        doc["participants"].insert(
            1,
            {
                "id": "bokafor",
                "name": "Ben Okafor",
                "role": "security-officer",
                "id_reference": "staff badge 0043",
            },
        )
    return doc


def machine_for(folder: Path, doc: dict[str, Any]) -> tuple[Machine, Capture]:
    fake = FakeBackend(FakeToken())
    give_signing_identity(fake)
    delivery = Capture()
    path = write_ceremony(folder, doc)
    machine = Machine(path, services=services(lambda c: fake, delivery, printer=CupsPrinter()))
    return machine, delivery


def _kcv_on_form(pdf: bytes) -> str:
    """The KCV as the custodian reads it on the printed form (the officer's copy, page 2)."""
    text = PdfReader(io.BytesIO(pdf)).pages[1].extract_text() or ""
    found = re.search(r"AES-CMAC\s*([0-9A-F]{6,10})", text)
    assert found is not None, text
    return found.group(1)


def run(
    machine: Machine,
    doc: dict[str, Any],
    record: Path,
    *,
    until: str | None = None,
    answers: dict[str, tuple[str, str]] | None = None,
) -> Request | None:
    """Drive the machine; a printed component's KCV is read from the form lp received."""
    script = script_for(doc, PINS)
    request = machine.current if machine.status is Status.RUNNING else machine.start()
    while request is not None:
        if until is not None and request.step.startswith(until):
            return request
        if answers and request.step in answers:
            value, by = answers[request.step]
            request = machine.answer(value, by=by)
            continue
        if re.fullmatch(r"component/[^/]+/\d+/kcv", request.step) and request.display is None:
            value = _kcv_on_form(_jobs(record)[-1])
            request = machine.answer(value, by=request.who.participant)
            continue
        value, by_ = script.answer(request)
        request = machine.answer(value, by=by_)
    return None


def _events(machine: Machine) -> list[dict[str, Any]]:
    return outcome_entries(machine.outcome)


# ---- a local printer -------------------------------------------------------------------------


def test_production_forms_go_to_a_local_printer_through_lp_stdin(
    tmp_path: Path, printed: Path
) -> None:
    doc = production_doc()
    folder = tmp_path / "c"
    machine, delivery = machine_for(folder, doc)
    assert run(machine, doc, printed) is None
    assert machine.status is Status.FINISHED
    entries = _events(machine)
    names = [e["event"] for e in entries]

    checked = entries[names.index("printer_checked")]
    assert checked["data"] == {
        "printer": QUEUE,
        "device_uri": USB,
        "scheme": "usb",
        "kind": "local",
    }
    # Checked before the HSM login: a refused printer stops before any PIN is typed.
    assert names.index("printer_checked") < names.index("hsm_opened")
    assert "printer_override" not in names

    jobs = _jobs(printed)
    assert len(jobs) == 5 and all(job.startswith(b"%PDF") for job in jobs)
    for n in range(1, 6):
        argv = json.loads(printed.joinpath(f"job-{n}.json").read_text())["argv"]
        assert argv == ["-d", QUEUE, "-t", "ceremony component form", "-n", "1"]  # no file
    printed_entries = [e for e in entries if e["event"] == "component_printed"]
    assert [(e["data"]["index"], e["data"]["job"]) for e in printed_entries] == [
        (n, f"{QUEUE}-{n}") for n in range(1, 6)
    ]
    issued = [e for e in entries if e["event"] == "component_issued"]
    assert all(e["data"]["delivery"] == "printed" and e["data"]["confirmed"] for e in issued)
    # Each form's KCV is the one journaled for its component, and the forms differ.
    assert [_kcv_on_form(job) for job in jobs] == [e["data"]["kcv"] for e in issued]
    assert len(set(jobs)) == 5
    for e in printed_entries:
        before = [x for x in entries[: e["seq"]] if x["event"] == "approval"][-1]
        assert before["data"]["operation"] == "print-component"
        assert before["data"]["index"] == e["data"]["index"]
    # Never on screen, never in the ceremony's folder.
    assert delivery.shown == []
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert not any(p.read_bytes().startswith(b"%PDF") for p in files if p.name != "record.pdf")
    assert not any("forms" in p.parts for p in files)
    for p in files:
        data = p.read_bytes()
        assert all(job not in data for job in jobs)
    assert not any(e["data"].get("kind") == "component-form" for e in entries)

    verified = journal.verify(machine.outcome.journal.read_bytes(), require_closed=True)  # type: ignore[union-attr]
    built = model.build(verified)
    assert all(f.ok for f in built.findings), [f.detail for f in built.findings if not f.ok]
    steps = [s.summary for s in built.steps]
    assert any(t.startswith(f"printer {QUEUE} checked: local") for t in steps)
    assert any("printed for ebrown on ceremony-usb (job ceremony-usb-1)" in t for t in steps)


def test_the_record_shows_the_printer_and_the_printed_forms(tmp_path: Path, printed: Path) -> None:
    doc = production_doc()
    machine, _ = machine_for(tmp_path / "c", doc)
    run(machine, doc, printed)
    data = machine.outcome.journal.read_bytes()  # type: ignore[union-attr]
    text = " ".join(all_text(render_record(data)).split())
    assert "Printer" in text and USB in text
    assert "printed for ebrown" in text


# ---- network and disk printers ---------------------------------------------------------------


def test_a_network_printer_is_refused_and_the_ceremony_stops(
    tmp_path: Path, printed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DEVICE_URI", "ipp://10.0.0.9/ipp/print")
    doc = production_doc()
    machine, _ = machine_for(tmp_path / "c", doc)
    request = run(machine, doc, printed, until="printer/choice")
    assert request is not None and request.choices == ("recheck", "override", "stop")
    assert request.who.candidates == ("amartin", "bokafor")
    with pytest.raises(AnswerRefused, match="not one of"):
        machine.answer("print anyway", by="amartin")
    with pytest.raises(CeremonyStopped):
        machine.answer("stop", by="amartin")
    names = [e["event"] for e in _events(machine)]
    assert names[-2:] == ["printer_checked", "aborted"]
    assert _events(machine)[-2]["data"]["kind"] == "network"
    assert "hsm_opened" not in names and "component_printed" not in names
    assert _count(printed) == 0


def test_without_two_security_officers_no_override_is_offered(
    tmp_path: Path, printed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DEVICE_URI", "socket://10.0.0.9:9100")
    doc = production_doc(second_officer=False)
    machine, _ = machine_for(tmp_path / "c", doc)
    request = run(machine, doc, printed, until="printer/choice")
    assert request is not None and request.choices == ("recheck", "stop")
    with pytest.raises(AnswerRefused):
        machine.answer("override", by="amartin")
    # The printer was moved to USB: a recheck finds it local and the ceremony goes on.
    monkeypatch.setenv("FAKE_DEVICE_URI", USB)
    run(machine, doc, printed, answers={"printer/choice": ("recheck", "amartin")})
    checks = [e["data"]["kind"] for e in _events(machine) if e["event"] == "printer_checked"]
    assert checks == ["network", "local"]
    assert machine.status is Status.FINISHED and _count(printed) == 5


def test_two_officers_override_a_network_printer_journaled_before_printing(
    tmp_path: Path, printed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = "ipp://10.0.0.9/ipp/print"
    monkeypatch.setenv("FAKE_DEVICE_URI", uri)
    doc = production_doc()
    machine, _ = machine_for(tmp_path / "c", doc)
    run(machine, doc, printed, until="printer/choice")
    request = machine.answer("override", by="amartin")
    assert request is not None and request.step == "approve/printer-override/c-print/1"
    assert request.who.candidates == ("amartin", "bokafor")
    assert any(uri in line for line in request.lines)
    request = machine.answer(PASSPHRASE.format("amartin"), by="amartin")
    assert request is not None and request.who.candidates == ("bokafor",)
    # One officer never approves twice; a witness is not an officer.
    with pytest.raises(AnswerRefused, match="already approved"):
        machine.answer(PASSPHRASE.format("amartin"), by="amartin")
    with pytest.raises(AnswerRefused, match="witness and may not approve"):
        machine.answer(PASSPHRASE.format("cwright"), by="cwright")
    machine.answer(PASSPHRASE.format("bokafor"), by="bokafor")
    run(machine, doc, printed)
    assert machine.status is Status.FINISHED
    entries = _events(machine)
    names = [e["event"] for e in entries]
    override = entries[names.index("printer_override")]
    assert override["data"] == {
        "printer": QUEUE,
        "device_uri": uri,
        "approvers": ["amartin", "bokafor"],
    }
    assert override["actors"] == ["amartin", "bokafor"]
    assert names.index("printer_override") < names.index("component_printed")
    assert _count(printed) == 5
    built = model.build(journal.verify(machine.outcome.journal.read_bytes()))  # type: ignore[union-attr]
    overrides = [f for f in built.findings if "network printer override" in f.detail]
    assert len(overrides) == 1 and overrides[0].ok and overrides[0].rule == DUAL_CONTROL
    assert "Ben Okafor" in overrides[0].detail


@pytest.mark.parametrize("uri", ["file:///tmp/forms.pdf", "cups-pdf:/"])
def test_a_printer_that_writes_to_disk_is_refused(
    tmp_path: Path, printed: Path, monkeypatch: pytest.MonkeyPatch, uri: str
) -> None:
    monkeypatch.setenv("FAKE_DEVICE_URI", uri)
    doc = production_doc()
    machine, _ = machine_for(tmp_path / "c", doc)
    with pytest.raises(PrintError, match="writes jobs to a file"):
        run(machine, doc, printed)
    assert machine.status is Status.ABORTED
    entries = _events(machine)
    assert [e["event"] for e in entries[-3:]] == ["printer_checked", "step_failed", "aborted"]
    assert entries[-3]["data"]["kind"] == "disk"
    assert _count(printed) == 0


def test_a_printer_moved_to_the_network_mid_ceremony_stops_the_next_form(
    tmp_path: Path, printed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = production_doc()
    machine, _ = machine_for(tmp_path / "c", doc)
    run(machine, doc, printed, until="component/zmk-prod/2/privacy")
    monkeypatch.setenv("FAKE_DEVICE_URI", "ipp://10.0.0.9/ipp/print")
    with pytest.raises(PrintError, match="network printer"):
        machine.answer("yes", by="fgarcia")
    assert machine.status is Status.ABORTED and _count(printed) == 1
    names = [e["event"] for e in _events(machine)]
    assert names.count("component_printed") == 1 and names[-2:] == ["step_failed", "aborted"]


def test_lp_failing_stops_the_ceremony_without_falling_back_to_the_screen(
    tmp_path: Path, printed: Path
) -> None:
    (tmp_path / "bin/lp").write_text("#!/bin/sh\ncat >/dev/null\nexit 2\n")
    doc = production_doc()
    machine, delivery = machine_for(tmp_path / "c", doc)
    with pytest.raises(PrintError, match="exit 2"):
        run(machine, doc, printed)
    assert delivery.shown == [] and machine.status is Status.ABORTED
    names = [e["event"] for e in _events(machine)]
    assert "component_issued" not in names and "component_printed" not in names


# ---- rehearsal ---------------------------------------------------------------------------------


def test_a_rehearsal_never_prints(tmp_path: Path, printed: Path) -> None:
    doc = production_doc()
    doc["ceremony"]["rehearsal"] = True
    machine, delivery = machine_for(tmp_path / "c", doc)
    run(machine, doc, printed)
    assert machine.status is Status.FINISHED
    names = [e["event"] for e in _events(machine)]
    assert "printer_checked" not in names and "component_printed" not in names
    assert _count(printed) == 0 and len(delivery.shown) == 5
    forms = [e for e in _events(machine) if e["data"].get("kind") == "component-form"]
    assert len(forms) == 5

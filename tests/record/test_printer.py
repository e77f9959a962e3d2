"""Printing from memory through a fake CUPS on PATH: stdin only, local printers only."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from ceremony.errors import PrintError
from ceremony.record import forms, printer
from ceremony.record.printer import PrinterKind, PrinterOverride, classify
from tests.record import journals

# The fake lp keeps only the SHA-256 and length of what it read, so the test itself never puts
# the component on a disk either; lpstat answers from FAKE_DEVICE_URI.
FAKE_LP = """#!/usr/bin/env python3
import hashlib, json, os, sys
data = sys.stdin.buffer.read()
with open(os.environ["FAKE_LP_LOG"], "a") as log:
    log.write(json.dumps({"argv": sys.argv[1:], "sha256": hashlib.sha256(data).hexdigest(),
                          "length": len(data), "cwd_files": sorted(os.listdir("."))}) + "\\n")
print("request id is %s-17 (0 file(s))" % sys.argv[sys.argv.index("-d") + 1])
"""
FAKE_LPSTAT = """#!/bin/sh
[ "$1" = "-v" ] || exit 1
[ "$2" = "$FAKE_PRINTER" ] || { echo "lpstat: no such printer" >&2; exit 1; }
echo "device for $2: $FAKE_DEVICE_URI"
"""


@pytest.fixture
def cups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("lp", FAKE_LP), ("lpstat", FAKE_LPSTAT)):
        path = bin_dir / name
        path.write_text(body)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "lp.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LP_LOG", str(log))
    monkeypatch.setenv("FAKE_PRINTER", "ceremony-usb")
    monkeypatch.setenv("FAKE_DEVICE_URI", "usb://Brother/HL-L5100DN?serial=E7X123")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return log


def _jobs(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture(scope="module")
def form() -> bytes:
    component = journals.split_backup().components[1]
    return forms.component_form_pdf(component, "Erin Novak", "TE-40112", False)


def test_form_goes_to_lp_on_stdin(cups: Path, form: bytes, tmp_path: Path) -> None:
    before = {p for p in tmp_path.rglob("*")}
    job = printer.print_pdf(form, "ceremony-usb", title="component form")
    assert job == "ceremony-usb-17"
    (entry,) = _jobs(cups)
    assert entry["sha256"] == hashlib.sha256(form).hexdigest()
    assert entry["length"] == len(form)
    assert entry["argv"] == ["-d", "ceremony-usb", "-t", "component form", "-n", "1"]
    assert entry["cwd_files"] == []
    # no file argument, and nothing new on disk but the fake's own log
    assert {p for p in tmp_path.rglob("*")} - before == {cups}


@pytest.mark.parametrize(
    "uri",
    [
        "ipp://printer.example/ipp/print",
        "ipps://printer.example:631/ipp/print",
        "http://10.0.0.9:631/printers/x",
        "https://10.0.0.9/printers/x",
        "socket://10.0.0.9:9100",
        "lpd://10.0.0.9/queue",
        "smb://server/printer",
        "dnssd://Brother%20HL._ipp._tcp.local/",
        "implicitclass://shared",
        "hp:/net/HP_LaserJet?ip=10.0.0.9",
        "somethingnew://x",
    ],
)
def test_network_printer_refused(
    cups: Path, form: bytes, uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DEVICE_URI", uri)
    with pytest.raises(PrintError, match="network printer"):
        printer.print_pdf(form, "ceremony-usb")
    assert not cups.exists()


def test_two_officers_can_override_a_network_printer(
    cups: Path, form: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = "ipp://10.0.0.9/ipp/print"
    monkeypatch.setenv("FAKE_DEVICE_URI", uri)
    override = PrinterOverride("ceremony-usb", uri, ("so-alice", "so-bob"))
    assert printer.print_pdf(form, "ceremony-usb", override=override) == "ceremony-usb-17"
    other = PrinterOverride("ceremony-usb", "ipp://10.0.0.10/ipp/print", ("so-alice", "so-bob"))
    with pytest.raises(PrintError, match="another printer"):
        printer.print_pdf(form, "ceremony-usb", override=other)
    with pytest.raises(PrintError, match="two different approvers"):
        PrinterOverride("ceremony-usb", uri, ("so-alice", "so-alice"))


@pytest.mark.parametrize("uri", ["file:///tmp/out.pdf", "cups-pdf:/"])
def test_printer_to_disk_refused_even_with_override(
    cups: Path, form: bytes, uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DEVICE_URI", uri)
    override = PrinterOverride("ceremony-usb", uri, ("so-alice", "so-bob"))
    with pytest.raises(PrintError, match="writes jobs to a file"):
        printer.print_pdf(form, "ceremony-usb", override=override)


def test_unknown_printer_and_bad_names(cups: Path, form: bytes) -> None:
    with pytest.raises(PrintError, match="no printer named"):
        printer.print_pdf(form, "elsewhere")
    with pytest.raises(PrintError, match="queue name"):
        printer.print_pdf(form, "-oops")
    with pytest.raises(PrintError, match="title"):
        printer.print_pdf(form, "ceremony-usb", title="component 0123456789ABCDEF/../x")


def test_lp_failure_is_reported(cups: Path, form: bytes, tmp_path: Path) -> None:
    broken = tmp_path / "bin" / "lp"
    broken.write_text("#!/bin/sh\ncat >/dev/null\nexit 3\n")
    with pytest.raises(PrintError, match="exit 3"):
        printer.print_pdf(form, "ceremony-usb")


def test_classification() -> None:
    assert classify("usb://HP/LaserJet") is PrinterKind.LOCAL
    assert classify("parallel:/dev/lp0") is PrinterKind.LOCAL
    assert classify("ippusb://HP_Printer/ipp/print") is PrinterKind.LOCAL
    assert classify("hp:/usb/HP_LaserJet?serial=1") is PrinterKind.LOCAL
    assert classify("IPP://x") is PrinterKind.NETWORK
    assert classify("no-scheme") is PrinterKind.NETWORK
    assert classify("file:/dev/null") is PrinterKind.DISK

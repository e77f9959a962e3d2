"""Printing a form from memory through CUPS ``lp``, to a local printer only.

The PDF goes to ``lp`` on its standard input, never through a file of ours. Before that, the
printer's device URI (``lpstat -v``) is read and classified:

- local: ``usb``, ``parallel``, ``serial``, ``ippusb`` (IPP over USB) and HPLIP's ``hp:/usb``
  and ``hp:/par``: allowed;
- disk: ``file`` and ``cups-pdf`` write the job to a file: always refused, a component never
  lands on a disk;
- anything else (``ipp``, ``ipps``, ``http``, ``https``, ``socket``, ``lpd``, ``smb``,
  ``dnssd``, ``implicitclass``, ``hp:/net`` and backends this module does not know) is treated
  as a network printer: refused unless a ``PrinterOverride`` carrying two officers' approvals
  is passed, which the engine builds only after checking their passphrases and journaling
  ``printer_override`` (PCI PIN 6-3).

CUPS itself spools the job under ``/var/spool/cups`` until it is printed: the workstation's
CUPS keeps ``PreserveJobFiles No`` and its spool on tmpfs (docs/evidence.md).
"""

from __future__ import annotations

import enum
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ceremony.errors import PrintError

_LOCAL_SCHEMES = frozenset({"usb", "parallel", "serial", "ippusb"})
_DISK_SCHEMES = frozenset({"file", "cups-pdf"})
_PRINTER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")
_JOB = re.compile(r"request id is (\S+)")
TIMEOUT = 120  # seconds for lp or lpstat

Runner = Callable[..., "subprocess.CompletedProcess[bytes]"]


class PrinterKind(enum.Enum):
    LOCAL = "local"
    NETWORK = "network"
    DISK = "disk"


def classify(device_uri: str) -> PrinterKind:
    """Local, network or disk, from a CUPS device URI; an unknown backend counts as network."""
    scheme, sep, rest = device_uri.partition(":")
    scheme = scheme.strip().lower()
    if not sep:
        return PrinterKind.NETWORK
    if scheme in _DISK_SCHEMES:
        return PrinterKind.DISK
    if scheme in _LOCAL_SCHEMES:
        return PrinterKind.LOCAL
    if scheme in ("hp", "hpfax"):
        path = rest.lstrip("/").lower()
        return PrinterKind.LOCAL if path.startswith(("usb", "par")) else PrinterKind.NETWORK
    return PrinterKind.NETWORK


@dataclass(frozen=True)
class PrinterOverride:
    """Two officers allowed this network printer; the engine journaled ``printer_override``."""

    printer: str
    device_uri: str
    approvers: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.approvers) != 2 or len(set(self.approvers)) != 2 or not all(self.approvers):
            raise PrintError(
                "a network-printer override needs exactly two different approvers",
                hint="two security officers approve with their own passphrases",
            )


@dataclass(frozen=True)
class PrinterCheck:
    printer: str
    device_uri: str
    kind: PrinterKind
    overridden: bool


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["LC_ALL"] = "C"  # lpstat's "device for" line is localised otherwise
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PrintError(
            f"the CUPS command {name!r} is not installed",
            hint="install cups-client (Debian) and set up the local printer",
        )
    return path


def _require_name(printer: str) -> str:
    if not _PRINTER_NAME.fullmatch(printer):
        raise PrintError(
            "the printer name must be a CUPS queue name (letters, digits, '.', '_', '-', '@')",
            hint="see 'lpstat -v' for the queue names",
        )
    return printer


def device_uri(printer: str, *, run: Runner = subprocess.run) -> str:
    """The device URI CUPS has for ``printer`` (``lpstat -v PRINTER``)."""
    _require_name(printer)
    try:
        result = run(
            [_tool("lpstat"), "-v", printer],
            capture_output=True,
            timeout=TIMEOUT,
            env=_environment(),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as ex:
        raise PrintError(
            f"lpstat did not answer for printer {printer!r} ({type(ex).__name__})",
            hint="check that CUPS is running",
        ) from ex
    prefix = f"device for {printer}: "
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    raise PrintError(
        f"CUPS has no printer named {printer!r}",
        hint="pick a queue from 'lpstat -v'; the ceremony printer is attached by USB",
    )


def check_printer(
    printer: str, override: PrinterOverride | None = None, *, run: Runner = subprocess.run
) -> PrinterCheck:
    """Raise PrintError unless ``printer`` is local, or network with a matching override."""
    uri = device_uri(printer, run=run)
    kind = classify(uri)
    scheme = uri.partition(":")[0] or uri
    if kind is PrinterKind.DISK:
        raise PrintError(
            f"printer {printer!r} writes jobs to a file ({scheme}:); a component never goes to "
            "a disk",
            hint="print on the local USB printer",
        )
    if kind is PrinterKind.LOCAL:
        return PrinterCheck(printer, uri, kind, False)
    if override is None:
        raise PrintError(
            f"printer {printer!r} is a network printer ({scheme}:); a component never leaves "
            "the workstation over a network",
            hint="attach the ceremony printer by USB, or two security officers approve an "
            "override, which is journaled",
        )
    if override.printer != printer or override.device_uri != uri:
        raise PrintError(
            f"the override was approved for another printer than {printer!r} at {scheme}:",
            hint="the officers approve the exact printer and device shown",
        )
    return PrinterCheck(printer, uri, kind, True)


def print_pdf(
    data: bytes,
    printer: str,
    *,
    override: PrinterOverride | None = None,
    title: str = "ceremony form",
    copies: int = 1,
    options: Sequence[str] = (),
    run: Runner = subprocess.run,
) -> str:
    """Send a PDF held in memory to ``printer`` through ``lp`` (stdin); returns the job id."""
    check = check_printer(printer, override, run=run)
    if not 1 <= copies <= 5:
        raise PrintError("print 1 to 5 copies", hint="one copy per custodian")
    if not re.fullmatch(r"[A-Za-z0-9 ._-]{1,64}", title):
        raise PrintError("a print job title is plain words", hint="it shows in the queue")
    argv = [_tool("lp"), "-d", check.printer, "-t", title, "-n", str(copies)]
    for option in options:
        argv += ["-o", option]
    try:
        result = run(
            argv,
            input=data,
            capture_output=True,
            timeout=TIMEOUT,
            env=_environment(),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as ex:
        raise PrintError(
            f"lp did not take the job for {printer!r} ({type(ex).__name__})",
            hint="check the printer and CUPS, then print again",
        ) from ex
    if result.returncode != 0:
        raise PrintError(
            f"lp refused the job for {printer!r} (exit {result.returncode})",
            hint="check the printer with 'lpstat -p'; nothing was printed",
        )
    match = _JOB.search(result.stdout.decode("utf-8", "replace"))
    return match.group(1) if match else "unknown"

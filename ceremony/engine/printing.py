"""The printer service that production component forms go through, and its CUPS adapter."""

from __future__ import annotations

from typing import Protocol

from ceremony.record import printer
from ceremony.record.printer import PrinterOverride


class FormPrinter(Protocol):
    """What the engine needs from a printer; ``Services.printer``, so tests inject fakes.

    The engine classifies the device URI itself (``printer.classify``) and asks for the
    officers' override; ``print_pdf`` checks the printer again before each job, so a queue
    moved to another device between the check and a form is refused.
    """

    def device_uri(self, queue: str) -> str:
        """The queue's device URI (PrintError when there is no such queue)."""
        ...

    def print_pdf(
        self, data: bytes, queue: str, *, override: PrinterOverride | None, title: str
    ) -> str:
        """Print ``data`` (a PDF held in memory) and return the job id; PrintError if not."""
        ...


class CupsPrinter:
    """``FormPrinter`` over ``lpstat -v`` and ``lp`` reading the PDF on its standard input."""

    def device_uri(self, queue: str) -> str:
        return printer.device_uri(queue)

    def print_pdf(
        self, data: bytes, queue: str, *, override: PrinterOverride | None, title: str
    ) -> str:
        return printer.print_pdf(data, queue, override=override, title=title)

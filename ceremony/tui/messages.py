"""Typed messages between thread workers, widgets and screens; none of them carries a secret."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from ceremony.core.journal import Entry


@dataclass
class JournalAppended(Message):
    """The engine journaled an entry; the side panel shows it with the running final hash."""

    entry: Entry


@dataclass
class WorkStarted(Message):
    """Long work (HSM, PDF, printing) began in a thread worker; ``what`` is shown with a spinner."""

    what: str


@dataclass
class WorkFinished(Message):
    """Long work ended without error."""

    what: str


@dataclass
class ComponentScanned(Message):
    """A barcode scanner (or a paste) delivered a whole component text into the first field.

    ``text`` holds component digits: it is parsed at once and dropped, never stored or logged.
    """

    text: str

    def __repr__(self) -> str:  # the Textual devtools log messages; never show the digits
        return "ComponentScanned(<component text>)"

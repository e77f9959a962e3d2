"""The runbook's DO/CHECK text, shipped with the package so F1 help works on the workstation.

``ceremony/tui/runbook.md`` is a copy of ``docs/ceremony-runbook.md`` (a test keeps them equal);
it is read with importlib.resources, never from a source checkout.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

_HEADING = re.compile(r"^## (?P<number>\d+)\. (?P<title>.+)$")


@dataclass(frozen=True)
class RunbookSection:
    """One numbered step of the runbook: its title and its DO/CHECK lines."""

    number: int
    title: str
    body: str

    @property
    def heading(self) -> str:
        return f"{self.number}. {self.title}"


def text() -> str:
    """The whole runbook as shipped."""
    return resources.files("ceremony.tui").joinpath("runbook.md").read_text(encoding="utf-8")


def parse(markdown: str) -> tuple[RunbookSection, ...]:
    """The numbered sections (``## N. Title``) of a runbook text, in order."""
    sections: list[RunbookSection] = []
    current: tuple[int, str] | None = None
    body: list[str] = []

    def close() -> None:
        if current is not None:
            sections.append(RunbookSection(current[0], current[1], "\n".join(body).strip()))

    for line in markdown.splitlines():
        match = _HEADING.match(line)
        if match:
            close()
            current = (int(match["number"]), match["title"].strip())
            body = []
        elif current is not None:
            body.append(line)
    close()
    return tuple(sections)


@cache
def sections() -> tuple[RunbookSection, ...]:
    return parse(text())


def section(key: int | str | None) -> RunbookSection | None:
    """A section by number, or by title (case-insensitive, the start of it is enough)."""
    if key is None:
        return None
    for candidate in sections():
        if isinstance(key, int) and candidate.number == key:
            return candidate
        if isinstance(key, str) and candidate.title.casefold().startswith(key.casefold()):
            return candidate
    return None

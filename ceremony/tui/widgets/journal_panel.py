"""The side panel: the journal so far (time, event, who) and the running final hash."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from ceremony.core.journal import Entry, hash_groups

GROUPS_PER_LINE = 4


def entry_line(entry: Entry) -> Text:
    """``09:30:01  participant_present  ebrown``: the time of day (UTC), the event, its actors."""
    clock = entry.time[11:19]
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"{clock} ", style="dim")
    line.append(entry.event, style="bold" if entry.terminal else "")
    if entry.actors:
        line.append(" " + ",".join(entry.actors), style="italic")
    return line


def hash_lines(hex_hash: str) -> list[str]:
    """The final hash as four lines of four groups, to read aloud line by line."""
    groups = hash_groups(hex_hash).split()
    return [
        " ".join(groups[i : i + GROUPS_PER_LINE]) for i in range(0, len(groups), GROUPS_PER_LINE)
    ]


class JournalPanel(Vertical):
    """Read-only: never takes focus, so the keyboard stays with the person whose turn it is."""

    can_focus = False

    def __init__(self, entries: Iterable[Entry] = (), *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._entries: list[Entry] = list(entries)

    def compose(self) -> ComposeResult:
        yield Static("Journal", classes="panel-title")
        with VerticalScroll(id="journal-scroll", can_focus=False):
            yield Static(id="journal-entries")
        yield Static("Final hash so far", classes="panel-title")
        yield Static(id="journal-hash")

    def on_mount(self) -> None:
        self._show()

    def on_resize(self) -> None:
        # The panel is hidden while a component is shown: its height was 0 and the scroll went
        # back to the genesis entry. Laid out again, it shows the newest entry.
        self._scroll_to_newest()

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(self._entries)

    def set_entries(self, entries: Iterable[Entry]) -> None:
        self._entries = list(entries)
        self._show()

    def append(self, entry: Entry) -> None:
        # A screen mounting while an entry arrives gets it twice: once in the app's list it
        # copies on mount, once from the signal; the journal's sequence numbers tell.
        if self._entries and entry.seq <= self._entries[-1].seq:
            return
        self._entries.append(entry)
        self._show()

    def _show(self) -> None:
        if not self.is_mounted:
            return
        body = Text("\n").join(entry_line(e) for e in self._entries)
        self.query_one("#journal-entries", Static).update(body or Text("(nothing yet)"))
        final = (
            "\n".join(hash_lines(self._entries[-1].hash))
            if self._entries
            else "(the journal starts\nwith the genesis entry)"
        )
        self.query_one("#journal-hash", Static).update(final)
        self._scroll_to_newest()

    def _scroll_to_newest(self) -> None:
        self.query_one("#journal-scroll", VerticalScroll).scroll_end(animate=False)

"""Who answers, when the engine names several people who may: each chooses their own name."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ceremony.tui.widgets.approval import Approver


class WhoPicker(Widget):
    """An option list of the candidates; ``chosen`` is the highlighted id."""

    def __init__(self, candidates: Sequence[Approver], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.candidates = tuple(candidates)

    def compose(self) -> ComposeResult:
        yield Static("Who answers? Select your own name (up/down).", classes="form-label")
        yield OptionList(
            *[Option(f"{c.name}, {c.role}", id=c.id) for c in self.candidates],
            id="who-list",
        )

    @property
    def chosen(self) -> str | None:
        options = self.query_one(OptionList)
        index = options.highlighted
        return None if index is None else options.get_option_at_index(index).id

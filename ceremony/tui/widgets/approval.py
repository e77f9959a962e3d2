"""Approval: the approver picks their own name and types their passphrase (masked)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option


@dataclass(frozen=True)
class Approver:
    """Someone who may approve: shown by name and role, answered by id."""

    id: str
    name: str
    role: str


class ApprovalForm(Widget):
    """Posts ``Submitted`` with the chosen id and the passphrase; the engine checks both."""

    @dataclass
    class Submitted(Message):
        form: ApprovalForm
        participant: str
        passphrase: str = field(repr=False)

        @property
        def control(self) -> ApprovalForm:
            return self.form

    def __init__(
        self,
        approvers: Sequence[Approver],
        already: Iterable[str] = (),
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.approvers = tuple(approvers)
        self.already = frozenset(already)

    def compose(self) -> ComposeResult:
        yield Static("1. Select your own name (up/down, Enter)", classes="form-label")
        options = [
            Option(
                f"{a.name}, {a.role}" + ("  (has approved)" if a.id in self.already else ""),
                id=a.id,
                disabled=a.id in self.already,
            )
            for a in self.approvers
        ]
        yield OptionList(*options, id="approver-list")
        yield Static("2. Type your approval passphrase, then Enter", classes="form-label")
        yield Input(password=True, id="approval-passphrase", compact=True, disabled=True)
        yield Static("", id="approval-problem")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @property
    def chosen(self) -> str | None:
        option_list = self.query_one(OptionList)
        index = option_list.highlighted
        if index is None:
            return None
        option = option_list.get_option_at_index(index)
        return None if option.disabled else option.id

    @on(OptionList.OptionSelected, "#approver-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        passphrase = self.query_one("#approval-passphrase", Input)
        passphrase.disabled = False
        passphrase.value = ""
        passphrase.focus()
        name = next(a.name for a in self.approvers if a.id == event.option.id)
        self.query_one("#approval-problem", Static).update(f"{name}: type your passphrase.")

    @on(Input.Submitted, "#approval-passphrase")
    def _passphrase(self, event: Input.Submitted) -> None:
        event.stop()
        chosen = self.chosen
        passphrase, event.input.value = event.input.value, ""
        if chosen is None:
            self.query_one(OptionList).focus()
            return
        if not passphrase:
            self.show_problem("The passphrase is empty.")
            return
        self.post_message(self.Submitted(self, chosen, passphrase))

    def show_problem(self, text: str) -> None:
        self.query_one("#approval-problem", Static).update(f"✗ {text}" if text else "")

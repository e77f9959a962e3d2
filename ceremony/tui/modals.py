"""The modals: the one error modal, abort confirmation, a yes/no question, F1 help, a report."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

from ceremony.errors import CeremonyError
from ceremony.tui import runbook
from ceremony.tui.dismiss import DismissOnce


class ErrorModal(ModalScreen[None], DismissOnce[None]):
    """Every error the TUI shows: what happened (``message``) and what to do (``hint``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "dismiss_error", "OK"),
        Binding("escape", "dismiss_error", "OK", show=False),
    ]

    def __init__(
        self, error: CeremonyError, *, during: str | None = None, title: str | None = None
    ) -> None:
        super().__init__(classes="modal")
        self.error = error
        self.during = during
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box", classes="modal-box"):
            title = self.title_text or "Stopped" + (f" while {self.during}" if self.during else "")
            yield Static(title, classes="modal-title")
            yield Static("What happened", classes="modal-label")
            yield Static(self.error.message, id="error-message")
            yield Static("What to do", classes="modal-label")
            hint = self.error.hint or "Read the message aloud to the security officer."
            yield Static(hint, id="error-hint")
            yield Static("Press Enter to go on.", classes="modal-keys")

    def action_dismiss_error(self) -> None:
        self.dismiss(None)


class ConfirmModal(ModalScreen[bool], DismissOnce[bool]):
    """A yes/no question answered with Y or N (Esc is no); never with Enter, which is too easy."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, title: str, text: str, *, yes: str = "yes", no: str = "no") -> None:
        super().__init__(classes="modal")
        self.title_text = title
        self.text = text
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Static(self.title_text, classes="modal-title")
            yield Static(self.text, classes="modal-text")
            yield Static(f"Y: {self.yes}     N or Esc: {self.no}", classes="modal-keys")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class AbortModal(ConfirmModal):
    """Abort, confirmed: the engine then journals an ``aborted`` entry with the reason."""

    def __init__(self, step: str = "") -> None:
        where = f" at {step}" if step else ""
        super().__init__(
            "Abort the ceremony?",
            f"The ceremony stops here{where}. The journal records that it was aborted, and "
            "nothing more happens in this run. Components already issued stay with their "
            "custodians; the security officer decides what happens next.",
            yes="abort the ceremony",
            no="go on with the ceremony",
        )
        self.add_class("abort")


class HelpModal(ModalScreen[None], DismissOnce[None]):
    """F1: the runbook's DO/CHECK text for the current step (or the whole runbook)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("f1", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(self, section: int | str | None = None) -> None:
        super().__init__(classes="modal")
        self.section = runbook.section(section)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="modal-box"):
            if self.section is not None:
                title = f"Runbook, step {self.section.heading}"
                text = self.section.body
            else:
                title = "Runbook"
                text = "\n\n".join(f"## {s.heading}\n\n{s.body}" for s in runbook.sections())
            yield Static(title, classes="modal-title")
            with VerticalScroll(id="help-scroll"):
                yield Markdown(text, id="help-text")
            yield Static("Esc or F1: back to the ceremony", classes="modal-keys")

    def on_mount(self) -> None:
        self.query_one("#help-scroll", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)


class ReportModal(ModalScreen[None], DismissOnce[None]):
    """A long read-only text (the verify report) as it was printed: lines are never re-wrapped,
    the arrow keys scroll it both ways."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("v", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__(classes="modal")
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="report-box", classes="modal-box"):
            yield Static(self.title_text, classes="modal-title")
            with ScrollableContainer(id="report-scroll"):
                yield Static(self.text, id="report-text", markup=False)
            yield Static("Esc or V: back", classes="modal-keys")

    def on_mount(self) -> None:
        self.query_one("#report-scroll", ScrollableContainer).focus()

    def action_close(self) -> None:
        self.dismiss(None)

"""Engine-driven import-key confirmation: one officer's own screen, fingerprint, then approval."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import OptionList, Static

from ceremony.core.providers.common import Fingerprint
from ceremony.engine.requests import REFUSE, FingerprintCheck, Request
from ceremony.tui.modals import ConfirmModal
from ceremony.tui.requests import People, Reply
from ceremony.tui.screens.base import StepScreen
from ceremony.tui.state import AtKeyboard
from ceremony.tui.widgets.approval import ApprovalForm
from ceremony.tui.widgets.who import WhoPicker

GROUPS_PER_LINE = 4


def group_lines(fingerprint: Fingerprint) -> list[str]:
    """Four lines of four hex groups, numbered, to compare line by line."""
    groups = fingerprint.groups().split()
    return [
        f"{i // GROUPS_PER_LINE + 1}  " + " ".join(groups[i : i + GROUPS_PER_LINE])
        for i in range(0, len(groups), GROUPS_PER_LINE)
    ]


def fingerprint_panels(check: FingerprintCheck) -> ComposeResult:
    """The fingerprint in hex groups and words; both fingerprints and the refusal on a mismatch."""
    fingerprint, pinned = check.fingerprint, check.pinned
    if pinned is not None and check.mismatch:
        with Horizontal(id="fingerprint-compare"):
            with Vertical(id="fingerprint-hex"):
                yield Static("this key", classes="panel-title")
                yield Static("\n".join(group_lines(fingerprint)), id="fingerprint-groups")
            with Vertical(id="fingerprint-pinned"):
                yield Static("pinned in the file", classes="panel-title")
                yield Static("\n".join(group_lines(pinned)), id="fingerprint-pinned-groups")
        yield Static(
            "✗ This key is NOT the one pinned in the ceremony file, and it is refused.\n"
            "  What to do: stop; get the right import key from the cloud console. Never "
            "change the pin to fit a key.",
            id="fingerprint-mismatch",
        )
        return
    with Horizontal(id="fingerprint-row"):
        with Vertical(id="fingerprint-hex"):
            yield Static("hex", classes="panel-title")
            yield Static("\n".join(group_lines(fingerprint)), id="fingerprint-groups")
        with Vertical(id="fingerprint-words-box"):
            yield Static("words", classes="panel-title")
            yield Static("\n".join(fingerprint.word_lines()), id="fingerprint-words")
    pin = (
        "It also matches the fingerprint pinned in the file."
        if pinned
        else "Nothing pinned (rehearsal): the console is the only check."
    )
    yield Static(pin, id="fingerprint-pin")


class ImportKeyScreen(StepScreen[Reply | None]):
    """An import-key request with ``Request.fingerprint``: an approval, or a pinned mismatch.

    Approval: the whole fingerprint in hex groups and words first (the approval form stays
    hidden, so at 80x24 nothing pushes the words out of view); Y when it matches what the cloud
    console shows brings the form for the officer's name and passphrase, F6 when it does not
    (the engine stops the ceremony and journals who refused). Mismatch: both fingerprints and
    the refusal; the only answer is stop.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "matches", "It matches: approve"),
        Binding("f6", "refuse", "It does not match"),
    ]
    runbook = "Import keys"

    def __init__(
        self, request: Request, people: People, *, confirmation: tuple[int, int] = (1, 2)
    ) -> None:
        super().__init__()
        assert request.fingerprint is not None
        self.request = request
        self.people = people
        self.check: FingerprintCheck = request.fingerprint
        self.mismatch = self.check.mismatch
        self.confirmation = confirmation
        self.stage = (request.stage, request.stages)
        target = self.check.target
        if self.mismatch:
            self.keyboard = AtKeyboard("a security officer", "selecting their own name")
            self.step_title = f"import key of {target}: NOT the key the file pins"
        else:
            self.keyboard = AtKeyboard("the next officer", "selecting their own name")
            self.step_title = (
                f"import key of {target}: confirmation {confirmation[0]} of {confirmation[1]}"
            )

    def compose_body(self) -> ComposeResult:
        check = self.check
        with VerticalScroll(id="request-scroll"):
            if self.request.notices:
                yield Static(
                    "\n".join(f"• {notice}" for notice in self.request.notices),
                    id="request-notices",
                )
            if self.mismatch:
                yield Static(
                    f"Import key of {check.target!r} ({check.provider}): NOT the key the "
                    "ceremony file pins. A security officer selects their name, Enter: the "
                    "ceremony stops.",
                    id="request-prompt",
                )
            else:
                n, of = self.confirmation
                yield Static(
                    f"Confirmation {n} of {of}, import key of {check.target!r} "
                    f"({check.provider}): compare its SHA-256 with the cloud console. It "
                    "matches: Y, then your name and passphrase. It does not: F6.",
                    id="request-prompt",
                )
            yield from fingerprint_panels(check)
            if check.details:
                yield Static("\n".join(check.details), id="fingerprint-details")
            if self.request.tries is not None:
                yield Static(f"Tries left: {self.request.tries}", id="tries")
        # Outside the scroll: the answer keeps its place and the fingerprint stays in view.
        candidates = self.people.candidates(self.request)
        if self.mismatch:
            yield WhoPicker(candidates, id="who")
        else:
            form = ApprovalForm(candidates, id="approval")
            form.display = False  # until the officer has compared the whole fingerprint
            yield form

    def on_mount(self) -> None:
        super().on_mount()
        if self.mismatch:
            self.query_one("#who-list", OptionList).focus()
        else:
            self.query_one("#request-scroll", VerticalScroll).focus()

    def _show_form(self) -> ApprovalForm:
        form = self.query_one(ApprovalForm)
        if not form.display:
            form.display = True
            form.query_one(OptionList).focus()
        return form

    refusing = False  # F6 was pressed: the form now names who refuses, and never approves

    @on(ApprovalForm.Submitted)
    def _approved(self, event: ApprovalForm.Submitted) -> None:
        if self.refusing:  # F6 came first: this name is who refuses, asked to confirm it
            self._refuse_as(event.participant)
            return
        self.dismiss(Reply(event.passphrase, event.participant))

    @on(OptionList.OptionSelected, "#who-list")
    def _stop(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(Reply("stop", str(event.option.id)))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "refuse":
            return not self.mismatch
        if action == "matches":
            return not self.mismatch and (self.refusing or not self.query_one(ApprovalForm).display)
        return True

    def action_matches(self) -> None:
        self.refusing = False
        self._show_form()
        self.refresh_bindings()

    def action_refuse(self) -> None:
        if self.mismatch:
            return
        form = self.query_one(ApprovalForm)
        officer = form.chosen if form.display else None
        if officer is None:
            self.refusing = True  # an Enter in the form from now on never approves
            self._show_form()
            self.refresh_bindings()
            self.notify("Select your own name, then press F6 again.", severity="warning")
            return
        self._refuse_as(officer)

    def _refuse_as(self, officer: str) -> None:
        name = self.people.approver(officer).name

        def answered(refuse: bool | None) -> None:
            if refuse:
                self.dismiss(Reply(REFUSE, officer))
            elif self.refusing:
                self.refusing = False  # back to the fingerprint: the form approves again
                self.refresh_bindings()

        self.app.push_screen(
            ConfirmModal(
                "The fingerprint does not match",
                f"{name}: the import key of {self.check.target!r} does not match what the cloud "
                "console shows? The ceremony stops, and the journal records that you refused it.",
                yes="it does not match: stop",
                no="back to the fingerprint",
            ),
            answered,
        )

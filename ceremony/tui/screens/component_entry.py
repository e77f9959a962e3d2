"""Component entry: one custodian types (or scans) their component; the others look away."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from ceremony.core import encoding, kcv
from ceremony.core.component import Component
from ceremony.tui.screens.base import StepScreen
from ceremony.tui.state import AtKeyboard
from ceremony.tui.widgets.component_entry import ComponentEntry


@dataclass(frozen=True, repr=False)
class EnteredComponent:
    """The parsed component and the lines as typed (KCV line, value lines, SUM line).

    Both hold the secret: the caller closes ``component`` and drops ``lines`` at once.
    """

    component: Component
    lines: tuple[str, ...]


class ComponentEntryScreen(StepScreen[EnteredComponent | None]):
    """Dismisses with the entered component once the custodian accepts its KCV (F5)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "accept", "Accept component"),
        Binding("f4", "clear", "Clear all lines"),
    ]
    runbook = "Component entry"

    def __init__(
        self,
        custodian: AtKeyboard,
        header: encoding.ComponentHeader,
        check: kcv.CheckValue | None = None,
        *,
        masked: bool = False,
        stage: tuple[int, int] | None = None,
        prompt: str | None = None,
        tries: str | None = None,
    ) -> None:
        super().__init__()
        self.stage = stage
        self.prompt = prompt
        self.tries = tries  # the engine's count of KCV tries left
        self.keyboard = custodian
        self.header = header
        self.what = (
            f"component {header.index} of {header.count} of key {header.identity.key_label!r}"
        )
        self.step_title = f"{custodian.name} enters {self.what}"
        self.check = check
        self.masked = masked
        self.component: Component | None = None

    def compose_body(self) -> ComposeResult:
        name = self.keyboard.name if self.keyboard else "the custodian"
        intro = (
            f"{name}: type {self.what} from your paper, one line at a time with its check "
            "letter, or scan its QR code into the first field. Everyone else looks away."
        )
        yield Static(intro, classes="screen-intro")
        if self.tries is not None:
            yield Static(f"Tries left: {self.tries}", id="tries")
        yield ComponentEntry(self.header, self.check, masked=self.masked, id="entry")
        yield Static("", id="entry-accept")

    @on(ComponentEntry.Completed)
    def _completed(self, event: ComponentEntry.Completed) -> None:
        self._drop()
        self.component = event.component
        self.query_one("#entry-accept", Static).update(
            "F5: accept this component     F4: clear and type it again"
        )

    @on(ComponentEntry.Reset)
    def _reset(self, event: ComponentEntry.Reset) -> None:
        self._drop()
        self.query_one("#entry-accept", Static).update("")

    def _drop(self) -> None:
        if self.component is not None:
            self.component.value.close()
            self.component = None

    def action_accept(self) -> None:
        if self.component is None:
            self.notify("Every line must be accepted first.", severity="warning")
            return
        component, self.component = self.component, None
        lines = tuple(self.query_one(ComponentEntry).typed_lines())
        self.dismiss(EnteredComponent(component, lines))

    def action_clear(self) -> None:
        self._drop()
        self.query_one(ComponentEntry).reset()

    def on_unmount(self) -> None:
        self._drop()

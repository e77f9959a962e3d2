"""Start: pick a ceremony file or copy a template, choose rehearsal or production, read it aloud."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from ceremony.core.ceremony_file import CeremonyFile, summary
from ceremony.engine.ceremony_source import CheckedFile, load_ceremony_file, read_file
from ceremony.errors import CeremonyError, ConfigError, OutputExistsError
from ceremony.tui.screens.base import StepScreen
from ceremony.tui.state import AtKeyboard

ENV_TEMPLATES = "CEREMONY_TEMPLATES"


@dataclass(frozen=True)
class StartChoice:
    """The file as read once (the bytes the witness approved, and the machine runs) and the mode."""

    file: CheckedFile
    rehearsal: bool


@dataclass(frozen=True)
class Loaded:
    """A loaded file and the summary read aloud for it (its SHA-256 last)."""

    file: CheckedFile
    lines: tuple[str, ...]

    @property
    def ceremony(self) -> CeremonyFile:
        return self.file.ceremony


def template_dir() -> Path | None:
    """Where the ceremony file templates are: $CEREMONY_TEMPLATES, ./templates, or the checkout."""
    candidates = [
        os.environ.get(ENV_TEMPLATES),
        "templates",
        str(Path(__file__).resolve().parents[3] / "templates"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir() and any(Path(candidate).glob("*.toml")):
            return Path(candidate)
    return None


def templates() -> list[Path]:
    folder = template_dir()
    return sorted(folder.glob("*.toml")) if folder else []


def load(path: Path) -> Loaded:
    """Parse and validate a ceremony file (with its registry) the way ``ceremony check`` does."""
    checked = load_ceremony_file(path)
    lines = (
        *summary(checked.ceremony),
        *checked.registry_lines(with_path=False),
        "",
        *checked.digest_lines(),
    )
    return Loaded(checked, lines)


def copy_template(template: Path, destination: Path) -> Path:
    """Copy a template to a new file; an existing file is never overwritten."""
    data = read_file(template, "template")
    try:
        with destination.open("xb") as out:
            out.write(data)
    except FileExistsError:
        raise OutputExistsError(
            f"{destination} already exists; it was not overwritten",
            hint="type its path to open it, or choose another template",
        ) from None
    except OSError as ex:
        raise ConfigError(
            f"cannot write {destination}: {ex.strerror or ex}",
            hint="check that the folder exists and is writable",
        ) from None
    return destination


class StartScreen(StepScreen[StartChoice]):
    """F5 starts the ceremony once a valid file is loaded and the mode matches it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "start", "Start the ceremony"),
        Binding("f6", "demo", "Write a demo rehearsal"),
    ]
    runbook = "Starting a ceremony"
    step_title = "choose the ceremony file"

    def __init__(self, path: Path | None = None, *, workdir: Path | None = None) -> None:
        super().__init__()
        self.initial = path
        self.workdir = workdir or Path.cwd()
        self.loaded: Loaded | None = None
        self.keyboard = AtKeyboard("the security officer", "choosing the ceremony file")
        self._templates = templates()

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="start-top"):
            with Vertical(id="start-file"):
                yield Static("Ceremony file (path, then Enter)", classes="form-label")
                yield Input(
                    str(self.initial) if self.initial else "",
                    placeholder="ceremony.toml",
                    id="start-path",
                    compact=True,
                )
                yield Static("Mode", classes="form-label")
                with RadioSet(id="start-mode"):
                    yield RadioButton("Rehearsal", value=True, id="mode-rehearsal")
                    yield RadioButton("Production", id="mode-production")
            with Vertical(id="start-templates"):
                yield Static("Or copy a template (Enter)", classes="form-label")
                yield OptionList(
                    *[Option(t.stem, id=str(t)) for t in self._templates],
                    id="template-list",
                )
        yield Static("Read this aloud for the witness:", classes="form-label")
        with VerticalScroll(id="start-summary-box"):
            yield Static("No ceremony file loaded yet.", id="start-summary")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#start-path", Input).focus()
        if self.initial is not None:
            self.open(self._resolve(str(self.initial)))

    @property
    def rehearsal(self) -> bool:
        return self.query_one("#mode-rehearsal", RadioButton).value

    def open(self, path: Path) -> None:
        """Load ``path`` and show its summary; errors go to the error modal."""
        try:
            self.loaded = load(path)
        except CeremonyError as ex:
            self.loaded = None
            self.query_one("#start-summary", Static).update(
                f"{path} could not be used (see the message)."
            )
            self._error(ex, f"opening {path}")
            return
        self.query_one("#start-summary", Static).update("\n".join(self.loaded.lines))
        info = self.loaded.ceremony.ceremony
        host = self.host
        if host is not None:
            host.shell = replace(
                host.shell,
                ceremony_id=info.id,
                ceremony_type=info.type.value,
                rehearsal=info.rehearsal,
            )
        self.query_one("#mode-rehearsal", RadioButton).value = self.loaded.ceremony.rehearsal
        self.query_one("#mode-production", RadioButton).value = not self.loaded.ceremony.rehearsal

    def _error(self, error: CeremonyError, during: str) -> None:
        host = self.host
        if host is not None:
            host.show_error(error, during=during)

    @on(Input.Submitted, "#start-path")
    def _path(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.open(self._resolve(event.value.strip()))

    def _resolve(self, text: str) -> Path:
        path = Path(text).expanduser()
        return path if path.is_absolute() else self.workdir / path

    @on(OptionList.OptionSelected, "#template-list")
    def _template(self, event: OptionList.OptionSelected) -> None:
        template = Path(str(event.option.id))
        destination = self.workdir / template.name
        try:
            copy_template(template, destination)
        except CeremonyError as ex:
            self._error(ex, f"copying the template {template.stem}")
            return
        self.query_one("#start-path", Input).value = str(destination)
        self.open(destination)
        self.notify(
            f"Copied to {destination}. Put your own names, paths, fingerprints and check "
            "values in it, and have it reviewed before a production ceremony.",
            timeout=10,
        )

    def action_demo(self) -> None:
        """Write a fresh rehearsal folder (ceremony file, throw-away import keys) and open it."""
        self.query_one("#start-summary", Static).update(
            "Writing a demo rehearsal: making throw-away RSA import keys for AWS, Azure and GCP…"
        )
        self._write_demo()

    @work(thread=True, exclusive=True, exit_on_error=False, name="demo")
    def _write_demo(self) -> None:
        from ceremony.engine.demo import write_rehearsal

        now = datetime.now(UTC)
        folder = self.workdir / "out" / f"rehearsal-{now.strftime('%Y%m%d-%H%M%S')}"
        try:
            path, _answers = write_rehearsal(folder, now)
        except CeremonyError as ex:
            self.app.call_from_thread(self._error, ex, "writing the demo rehearsal")
            return
        self.app.call_from_thread(self._demo_written, path)

    def _demo_written(self, path: Path) -> None:
        self.query_one("#start-path", Input).value = str(path)
        self.open(path)

    def action_start(self) -> None:
        if self.loaded is None:
            self._error(
                ConfigError(
                    "no ceremony file is loaded",
                    hint="type the path of the reviewed ceremony file and press Enter",
                ),
                "starting",
            )
            return
        if self.rehearsal != self.loaded.ceremony.rehearsal:
            said = "a rehearsal" if self.loaded.ceremony.rehearsal else "a production ceremony"
            self._error(
                ConfigError(
                    f"the ceremony file describes {said}, and the other mode was chosen",
                    hint="choose the mode the reviewed file says, or have the file changed "
                    "and reviewed again",
                ),
                "starting",
            )
            return
        self.dismiss(StartChoice(self.loaded.file, self.rehearsal))

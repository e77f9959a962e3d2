"""Entry point of the TUI: the start screen, then the ceremony run by the engine."""

from __future__ import annotations

from pathlib import Path

from ceremony.hardening import stop_hook
from ceremony.tui.app import CeremonyApp
from ceremony.tui.screens.start import StartChoice, StartScreen
from ceremony.tui.stop import stop_signal_hook


class MainApp(CeremonyApp):
    """Start screen first; the chosen file then runs through the engine."""

    def __init__(self, path: Path | None = None) -> None:
        super().__init__()
        self.path = path

    def on_mount(self) -> None:
        super().on_mount()
        self.push_screen(StartScreen(self.path), self._started)

    def _started(self, choice: StartChoice | None) -> None:
        if choice is not None:
            self.start_run(choice.file, rehearsal=choice.rehearsal)


def run_tui(path: Path | None = None) -> int:
    app = MainApp(path)
    with stop_hook(stop_signal_hook(app)):  # SIGTERM/SIGHUP: journal the abort, then exit
        app.run()
    return app.return_code or 0

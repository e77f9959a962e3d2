"""Entry point of the TUI: the start screen, then the ceremony run by the engine."""

from __future__ import annotations

from pathlib import Path

from ceremony.tui.app import CeremonyApp
from ceremony.tui.screens.start import StartScreen


def build_app(path: Path | None = None) -> CeremonyApp:
    return CeremonyApp(first_screen=lambda: StartScreen(path))


def run_tui(path: Path | None = None) -> int:
    code = build_app(path).run()
    return 0 if code is None else code

"""``ceremony tui [FILE]``: the guided, keyboard-only ceremony at the offline workstation.

``ceremony`` with no arguments on a terminal opens it too. Textual is imported only here, when
the TUI is asked for, so the other commands (and the core) never load it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "tui",
        help="the guided ceremony on the terminal (also: `ceremony` with no arguments)",
        description=(
            "Open the keyboard-only ceremony screens: choose the ceremony file (or copy a "
            "template), rehearsal or production, then each person is led through their part. "
            "F1 shows the runbook for the current step, F10 aborts (confirmed, journaled)."
        ),
    )
    parser.add_argument("file", type=Path, nargs="?", help="the ceremony file (TOML)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ceremony.tui.main import run_tui  # deferred: Textual loads only for the TUI

    return run_tui(args.file)

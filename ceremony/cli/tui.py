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
    import sys

    from ceremony.errors import ConfigError

    # Without a terminal the TUI could only draw into the void and wait for keys that never come.
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigError(
            "ceremony tui needs a terminal: its input or output is not one",
            hint="run it in a terminal; to script a rehearsal use "
            "'ceremony run FILE --rehearsal --answers ANSWERS'",
        )
    from ceremony.tui.main import run_tui  # deferred: Textual loads only for the TUI

    return run_tui(args.file)

"""Command-line front end: one parser, one place where errors reach the user."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from ceremony import __version__
from ceremony.errors import CeremonyError
from ceremony.hardening import StopSignal, harden_process, stop_signals_as_interrupt

# Each module registers its own subcommands; adding a command never edits another's module.
_COMMAND_MODULES = (
    "ceremony.cli.demo",
    "ceremony.cli.hsm",
    "ceremony.cli.wrap",
    "ceremony.cli.check",
    "ceremony.cli.run",
    "ceremony.cli.rehearse",
    "ceremony.cli.verify",
    "ceremony.cli.record",
    "ceremony.cli.tui",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ceremony",
        description="Offline dual-control, split-knowledge key ceremonies for cloud BYOK.",
    )
    parser.add_argument("--version", action="version", version=f"ceremony {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    import importlib

    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as ex:
            if ex.name != name:
                raise
            continue
        module.register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    harden_process()  # first, before any secret exists; last_report() keeps it for the journal
    with stop_signals_as_interrupt():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    if not words and sys.stdin.isatty() and sys.stdout.isatty():
        words = ["tui"]  # `ceremony` alone at a terminal opens the guided ceremony
    parser = build_parser()
    args = parser.parse_args(words)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        result: int = args.handler(args)
    except CeremonyError as ex:
        # The single place the CLI shows an error; messages are built to hold no secret.
        print(f"ceremony: error: {ex}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # A pager or `head` closed our output; say nothing more on a dead pipe.
        sys.stderr.close()
        return 141
    except StopSignal as ex:
        with contextlib.suppress(OSError):  # after a SIGHUP the terminal may be gone
            print(f"ceremony: {ex}; the journal records the abort", file=sys.stderr)
        return ex.exit_code
    except KeyboardInterrupt:
        print(
            "ceremony: stopped by the operator (Ctrl-C); a ceremony that had started has its "
            "abort in the journal, and running the same file again restarts it",
            file=sys.stderr,
        )
        return 130
    except EOFError:
        # A prompt met the end of its input (stdin from /dev/null or a file, Ctrl-D): the
        # commands say which one themselves; this is the backstop for any other.
        print(
            "ceremony: error: the input ended before the tool had the answer it asked for\n"
            "  What to do: run the command at a terminal, or give every answer it asks",
            file=sys.stderr,
        )
        return 1
    return result

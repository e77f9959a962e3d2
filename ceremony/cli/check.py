"""``ceremony check FILE``: validate a ceremony file and print the summary a witness reads aloud."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ceremony.core.ceremony_file import summary
from ceremony.engine.ceremony_source import load_ceremony_file


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "check",
        help="validate a ceremony file and print its plain-language summary",
        description=(
            "Check a ceremony file strictly (unknown fields, roles, split knowledge, dual "
            "control, and the custodian registry it names) and print what the ceremony will do, "
            "for a witness to read aloud, with the file's SHA-256 to compare with the reviewed "
            "printout. Nothing is written."
        ),
    )
    parser.add_argument("file", type=Path, help="the ceremony file (TOML)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    checked = load_ceremony_file(args.file)
    lines = [
        *summary(checked.ceremony),
        *checked.registry_lines(with_path=True),
        "",
        *checked.digest_lines(),
        "",
        "The ceremony file is valid.",
    ]
    print("\n".join(lines))
    return 0

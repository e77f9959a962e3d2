"""``ceremony check FILE``: validate a ceremony file and print the summary a witness reads aloud."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ceremony.core import journal
from ceremony.core.ceremony_file import parse_ceremony_file, summary
from ceremony.core.registry import Registry, parse_registry
from ceremony.errors import ConfigError


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


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as ex:
        raise ConfigError(
            f"cannot read the {what} {path}: {ex.strerror or ex}",
            hint="check the path and that the medium is mounted",
        ) from None


def run(args: argparse.Namespace) -> int:
    path: Path = args.file
    data = _read(path, "ceremony file")
    ceremony = parse_ceremony_file(data, validate=False)
    registry: Registry | None = None
    notes: list[str] = []
    if ceremony.ceremony.registry is not None:
        registry_path = path.parent / ceremony.ceremony.registry
        if registry_path.exists():
            registry = parse_registry(_read(registry_path, "custodian registry"))
            notes.append(
                f"Custodian registry {registry_path}: {len(registry.records)} record(s) checked."
            )
        else:
            notes.append(
                f"Custodian registry {registry_path} does not exist yet: nothing earlier to check."
            )
    ceremony.validate(registry)
    digest = journal.FileDigest.of(data).hex
    lines = summary(ceremony) + notes
    lines += [
        "",
        f"Ceremony file SHA-256: {journal.hash_groups(digest)}",
        *journal.hash_word_lines(digest),
        "",
        "The ceremony file is valid.",
    ]
    print("\n".join(lines))
    return 0

"""``ceremony check FILE``: validate a ceremony file and print the summary a witness reads aloud."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ceremony.core.ceremony_file import CeremonyFile, summary
from ceremony.engine.ceremony_source import load_ceremony_file
from ceremony.engine.context import LoadedTarget
from ceremony.engine.machine import default_services, load_targets, token_config
from ceremony.engine.steps import outputs_check, process
from ceremony.engine.steps.key_blocks import load_key_blocks


def register(subcommands: Any) -> None:
    parser = subcommands.add_parser(
        "check",
        help="validate a ceremony file and print its plain-language summary",
        description=(
            "Check a ceremony file strictly (unknown fields, roles, split knowledge, dual "
            "control, and the custodian registry it names) and print what the ceremony will do, "
            "for a witness to read aloud, with the file's SHA-256 to compare with the reviewed "
            "printout. Every import-key file is read and checked as the run checks it. Nothing "
            "is written."
        ),
    )
    parser.add_argument("file", type=Path, help="the ceremony file (TOML)")
    parser.add_argument(
        "--token",
        action="store_true",
        help="also ask the token (and a [signing] token) whether it can do everything the file "
        "needs, as the run does before roll call: public sessions only, no PIN",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    checked = load_ceremony_file(args.file)
    # What the run checks before any token is touched, checked the same way here: every
    # import-key file read and judged by its provider's rules (the token part is not checked).
    targets, warnings = load_targets(
        checked.ceremony, checked.base, datetime.now(UTC), rehearsal=checked.ceremony.rehearsal
    )
    blocks = load_key_blocks(checked.ceremony, checked.base)
    count = sum(len(t) for t in targets.values())
    lines = [
        *summary(checked.ceremony),
        *checked.registry_lines(with_path=True),
        *(
            [f"Import keys: {count} read and checked against their providers' rules."]
            if count
            else []
        ),
        *(f"  Warning: {w}." for w in warnings),
        *(
            [f"TR-31 key blocks: {len(blocks)} read; each header fits its key and KBPK."]
            if blocks
            else []
        ),
        *(_tokens(checked.ceremony, targets) if args.token else []),
        outputs_check.check_ahead(checked.base / checked.ceremony.ceremony.output),
        *process.check_lines(
            checked.ceremony.ceremony.require_memory_lock and not checked.ceremony.rehearsal
        ),
        "",
        *checked.digest_lines(),
        "",
        "The ceremony file is valid.",
    ]
    print("\n".join(lines))
    return 0


def _tokens(cf: CeremonyFile, targets: dict[str, list[LoadedTarget]]) -> list[str]:
    """The token part of the run's checks, made the same way (a refusal is raised)."""
    from ceremony.engine.steps.token_check import check_tokens

    services = default_services(delivery=None)
    rehearsal = cf.ceremony.rehearsal
    tokens = check_tokens(cf, targets, token_config(cf, services, rehearsal), services, rehearsal)
    return [f"Token: {line}" for line in tokens.lines()]

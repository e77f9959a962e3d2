"""``ceremony rehearse``: a full scripted rehearsal on the embedded SoftHSM2 token.

Writes a fresh, timestamped folder (ceremony file, answers, throw-away cloud import keys) and
runs it as ``ceremony run --rehearsal --answers``: roll call, an AES-256 key generated in the
HSM, split 3 of 5, wrapped for AWS, Azure and GCP, the bundle, the journal and its final hash.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from ceremony.engine.ceremony_source import load_ceremony_file
from ceremony.engine.machine import Machine, Status, default_services
from ceremony.engine.script import Script


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subcommands.add_parser(
        "rehearse",
        help="a full scripted rehearsal on the rehearsal SoftHSM2 token (what scripts/demo runs)",
        description=(
            "Make a fresh rehearsal folder with a ceremony file, scripted answers and throw-away "
            "cloud import keys, then run it: roll call, an AES-256 key generated in the HSM, "
            "split 3 of 5 for five custodians, wrapped for AWS, Azure and GCP inside the HSM, "
            "the bundle and the journal. PINs come from CEREMONY_REHEARSAL_USER_PIN and "
            "CEREMONY_REHEARSAL_SO_PIN (rehearsal token only)."
        ),
    )
    parser.add_argument(
        "--folder",
        type=Path,
        help="where to write the rehearsal (default: out/rehearsal-<UTC time> in this folder)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ceremony.cli.run import TerminalDelivery, _scripted, drive
    from ceremony.engine.demo import write_rehearsal

    out = sys.stdout
    now = datetime.now(UTC)
    folder = args.folder or _fresh(Path("out") / f"rehearsal-{now.strftime('%Y%m%d-%H%M%S')}")
    print("Making throw-away RSA import keys for the rehearsal (AWS, Azure, GCP)...", file=out)
    ceremony_file, answers = write_rehearsal(folder, now)
    print(f"Rehearsal folder: {folder}", file=out)
    script = Script.load(answers)
    machine = Machine(
        load_ceremony_file(ceremony_file),
        services=default_services(delivery=TerminalDelivery(out, masked=True)),
        rehearsal=True,
    )
    outcome = drive(machine, _scripted(script, out), out, scripted=True)
    return 0 if outcome.status is Status.FINISHED else 1


def _fresh(folder: Path) -> Path:
    """``folder``, or ``folder-2``, ``folder-3``... when two rehearsals start in one second."""
    candidate, n = folder, 1
    while candidate.exists():
        n += 1
        candidate = folder.with_name(f"{folder.name}-{n}")
    return candidate

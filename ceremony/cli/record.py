"""`ceremony record BUNDLE`: sign the record of a finished ceremony with the token's key.

The engine builds and signs the record itself at the end of a ceremony; this command does the
same for an output folder that holds a closed ``<ceremony id>.journal.jsonl`` (after a crash
between the last journal entry and the record, or for the demo).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "record",
        help="build and sign record.pdf and journal.sig for a bundle's closed journal",
        description="Reads the bundle's journal, renders the ceremony record, signs it (PAdES) "
        "and the journal's final hash with the token's ceremony signing key, and writes "
        "record.pdf and journal.sig beside the journal (the output folder's single "
        "<ceremony id>.journal.jsonl); nothing is overwritten. The token comes "
        "from CEREMONY_PKCS11_MODULE, CEREMONY_TOKEN_LABEL and CEREMONY_TOKEN_SERIAL.",
    )
    parser.add_argument("bundle", metavar="BUNDLE", help="the ceremony's bundle folder")
    parser.set_defaults(handler=_record)


def _record(args: argparse.Namespace) -> int:
    from ceremony.cli.hsm import pin_prompter
    from ceremony.core import journal
    from ceremony.errors import RecordError
    from ceremony.hsm import config
    from ceremony.hsm.pkcs11 import Pkcs11Backend
    from ceremony.reading import read_file
    from ceremony.record import half, model, sign
    from ceremony.record.verify import MAX_EVIDENCE_FILE

    folder = Path(args.bundle)
    journal_path = sign.journal_path(folder)
    several = sign.unchained_journals(folder)
    if not journal_path.exists() and len(several) > 1:
        raise RecordError(
            f"{folder} holds {len(several)} journals that are not one ceremony and its restarts: "
            + ", ".join(p.name for p in several),
            hint="give the folder of one ceremony (each ceremony file has its own output folder)",
        )
    journal_data = read_file(
        journal_path,
        "journal",
        cap=MAX_EVIDENCE_FILE,
        error=RecordError,
        hint="give the bundle folder that holds the ceremony's <id>.journal.jsonl",
        follow_symlinks=False,
    )
    # Refused before any PIN is typed: a journal that does not verify, or holds an entry this
    # tool never writes, gets no record.
    model.build(journal.verify(journal_data, require_closed=True))
    # A stop between the two writes left one: only the other is made (each is checked first).
    missing = half.missing_half(folder, journal_data)
    backend = Pkcs11Backend(config.resolve())
    with backend.open(pin_prompter()) as session:
        record = sign.build_signed_record(journal_data, sign.HsmSigner(session))
    if missing is None:
        paths = sign.write_signed_record(folder, record)
    else:
        print(f"{folder} holds half of the signed record; writing the missing {missing}:")
        paths = sign.write_missing_half(folder, record, missing)
    signature = record.journal_signature
    print(f"signed the record of ceremony {signature.ceremony_id}:")
    for path in paths:
        print(f"  {path}")
    print(f"  journal final hash {signature.final_hash}")
    print(f"  signing certificate SHA-256 {signature.certificate_sha256}")
    return 0

"""`ceremony verify EVIDENCE`: the auditor's offline check of what they were handed, PASS/FAIL."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ceremony.record.verdict import Report


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check a ceremony's evidence offline: its folder, out/, out/bundle/ or record.pdf",
        description="Checks the PDF signature, the embedded journal's hash chain and its signed "
        "final hash, that the record shows what the journal holds, dual control over every "
        "manual clear-text operation, split knowledge, every key check value, each output "
        "file's SHA-256 and the ceremony file (when they are there) and that rehearsal and "
        "production are not mixed. Exits 1 if any check fails.",
    )
    parser.add_argument(
        "evidence",
        metavar="EVIDENCE",
        help="the ceremony folder, its output folder (out/), a folder below it (out/bundle/), "
        "or record.pdf (alone, or in its output folder): verify finds what belongs together",
    )
    parser.add_argument(
        "--trust-anchor",
        metavar="CERT",
        help="the ceremony certificate (PEM or DER) from the HSM inventory; without it the "
        "signature is checked against the certificate it carries",
    )
    parser.add_argument(
        "--report", metavar="PDF", help="also write the table as a PDF (never overwritten)"
    )
    parser.set_defaults(handler=_verify)


def _verify(args: argparse.Namespace) -> int:
    from ceremony.record.verify import verify_evidence

    evidence = Path(args.evidence)
    target = _report_target(Path(args.report), evidence) if args.report else None
    report = verify_evidence(evidence, args.trust_anchor)
    print(report.text())
    if target is not None:
        _write_report(target, report)
        print(f"report written to {target}")
    return 0 if report.ok else 1


def _report_target(target: Path, evidence: Path) -> Path:
    """Where ``--report`` may go, refused before any check runs: a new file outside the evidence."""
    from ceremony.errors import VerifyError
    from ceremony.record.locate import locate

    hint = "give a new file name in an existing folder outside the ceremony's evidence"
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise VerifyError(f"the report's folder {folder} does not exist", hint=hint)
    if os.path.lexists(target):
        raise VerifyError(f"the report {target} already exists; it is never overwritten", hint=hint)
    found = locate(evidence)
    for inside in (found.folder, found.ceremony_folder):
        if inside is not None and folder.resolve().is_relative_to(inside.resolve()):
            raise VerifyError(
                f"the report would be written into the evidence it checks ({inside}): the next "
                "verify would find a file the journal never named",
                hint=hint,
            )
    return target


def _write_report(target: Path, report: Report) -> None:
    from ceremony import output
    from ceremony.errors import VerifyError
    from ceremony.record.report import report_pdf

    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    try:
        output.install(target, report_pdf(report, generated), 0o644)
    except OSError as ex:
        raise VerifyError(
            f"the report {target} could not be written: {ex.strerror or ex}",
            hint="check the medium (space, write protection); the verdict above stands",
        ) from ex

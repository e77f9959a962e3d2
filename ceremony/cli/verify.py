"""`ceremony verify EVIDENCE`: the auditor's offline check of what they were handed, PASS/FAIL."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


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
    from ceremony.core.providers.common import BundleFile
    from ceremony.output import write_bundle
    from ceremony.record.verify import verify_evidence

    report = verify_evidence(Path(args.evidence), args.trust_anchor)
    print(report.text())
    if args.report:
        from ceremony.record.report import report_pdf

        target = Path(args.report)
        generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        write_bundle(
            target.parent if str(target.parent) else Path("."),
            [BundleFile(target.name, report_pdf(report, generated))],
            create_root=False,
        )
        print(f"report written to {target}")
    return 0 if report.ok else 1

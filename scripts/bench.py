"""Benchmarks of splitting, check values and wrapping; writes docs/benchmarks.md."""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ceremony import __version__
from ceremony.core import kcv, shamir, xor
from ceremony.core.component import KeyAlgorithm, KeyIdentity
from ceremony.core.secret import Secret

ROOT = Path(__file__).resolve().parent.parent
SUITE = "## The test suite"  # the section below the generated table, written by hand


def measure(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and worst wall time in milliseconds over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def identity(length: int) -> KeyIdentity:
    return KeyIdentity("BENCH-1", "bench-key", KeyAlgorithm.AES, length)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller splits")
    args = parser.parse_args()
    repeat = 3 if args.quick else 10
    rows: list[tuple[str, str, float, float]] = []

    key = Secret(bytes(range(1, 33)))
    rows.append(
        (
            "AES-CMAC KCV",
            "AES-256",
            *measure(lambda: kcv.check_value(key, kcv.KcvMethod.AES_CMAC), repeat * 10),
        )
    )
    ident = identity(32)
    expected = kcv.check_value(key, kcv.KcvMethod.AES_CMAC)
    rows.append(
        ("XOR split", "AES-256, 3 components", *measure(lambda: xor.split(key, ident, 3), repeat))
    )
    parts = xor.split(key, ident, 3)
    rows.append(
        (
            "XOR combine + KCV",
            "AES-256, 3 components",
            *measure(lambda: xor.combine(parts, expected=expected, identity=ident), repeat),
        )
    )

    shapes = [(2, 3), (3, 5), (5, 9)] if args.quick else [(2, 3), (3, 5), (5, 9), (6, 12)]
    for threshold, count in shapes:
        subsets = shamir.subset_count(threshold, count)
        note = f"AES-256, {threshold}-of-{count}, verifies all {subsets} subsets"
        rows.append(
            (
                "Shamir split",
                note,
                *measure(
                    lambda t=threshold, c=count: shamir.split(key, ident, t, c), max(1, repeat // 3)
                ),
            )
        )
        shares = shamir.split(key, ident, threshold, count)
        rows.append(
            (
                "Shamir combine + KCV",
                f"AES-256, {threshold} of {count} shares",
                *measure(
                    lambda s=shares, t=threshold: shamir.combine(
                        s[:t], expected=expected, identity=ident
                    ),
                    repeat,
                ),
            )
        )

    from cryptography.hazmat.primitives.asymmetric import rsa

    from ceremony.core.wrap import OaepHash, rsa_aes_wrap

    for bits in (2048, 3072, 4096):
        public = rsa.generate_private_key(65537, bits).public_key()
        rows.append(
            (
                "RSA-AES wrap (OAEP-SHA256 + KWP)",
                f"AES-256 under RSA-{bits}",
                *measure(lambda p=public: rsa_aes_wrap(p, key, OaepHash.SHA256), repeat),
            )
        )

    lines = [
        "# Benchmarks",
        "",
        f"Written by `scripts/bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC,"
        f" ceremony {__version__}, Python {platform.python_version()} on {platform.machine()}.",
        "Wall time in milliseconds: median and worst of the runs.",
        "Speed is measured here, never in a timed test.",
        "",
        "| operation | case | median ms | worst ms |",
        "|---|---|---:|---:|",
    ]
    lines += [f"| {op} | {case} | {med:.2f} | {worst:.2f} |" for op, case, med, worst in rows]
    lines += [
        "",
        "Shamir split cost grows with C(n, k): before releasing shares it recombines every",
        "k-subset. An 8-of-16 split is 12,870 recombinations per 16-byte block.",
        "",
    ]
    # The suite's own timings are measured by hand (docs/benchmarks.md, SUITE): kept as written.
    out = ROOT / "docs" / "benchmarks.md"
    kept = out.read_text("utf-8").partition(SUITE)[1:] if out.exists() else ("", "")
    out.write_text("\n".join(lines) + ("\n" + "".join(kept) if kept[0] else ""), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Fixtures and options every test package shares."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ceremony.core import rules
from ceremony.engine.steps import people

# How long a wait for a state (a screen, a subprocess) may take before the run counts as stuck.
# Only a cap, never a speed a test needs: a loaded machine (2 cores, other jobs) may take
# minutes for what takes a second alone.
STUCK = 900.0


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--kill-sweep",
        action="store_true",
        default=False,
        help="kill -9 at every journal step of the sweep, not a fixed sample (scripts/kill-sweep)",
    )


@pytest.fixture(autouse=True)
def _unhardened_test_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    """``main()`` called in the test process does not harden pytest itself.

    Hardening is once per process and not undone: RLIMIT_CORE (0, 0) would pass to every later
    child (the core-dump control in tests/hsm/test_hardening_cli.py could never dump), and
    mlockall would lock the whole test runner. Subprocess tests run the real ``main``.
    """
    monkeypatch.setattr("ceremony.cli.harden_process", lambda: None)


@pytest.fixture
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lowest scrypt work factor the rules accept; the engine's own choice is tested in unit."""
    monkeypatch.setattr(
        people, "hash_passphrase", functools.partial(rules.hash_passphrase, n=2**14)
    )


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs (needs root; skipped where it cannot be mounted)."""
    mount = tmp_path / "medium"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)

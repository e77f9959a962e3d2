"""Fixtures for every test package."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _unhardened_test_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    """``main()`` called in the test process does not harden pytest itself.

    Hardening is once per process and not undone: RLIMIT_CORE (0, 0) would pass to every later
    child (the core-dump control in tests/hsm/test_hardening_cli.py could never dump), and
    mlockall would lock the whole test runner. Subprocess tests run the real ``main``.
    """
    monkeypatch.setattr("ceremony.cli.harden_process", lambda: None)

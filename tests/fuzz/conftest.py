"""Fuzz drivers: report slow cases and tolerated known failures; write the survey when asked."""

from __future__ import annotations

import pytest

from tests.fuzz import harness


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    harness.write_survey()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = harness.report_lines()
    if lines:
        terminalreporter.section("fuzz")
        for line in lines:
            terminalreporter.write_line(line)

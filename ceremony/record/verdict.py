"""The verification report: one PASS, FAIL or N/A line per check, and the verdict."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Line:
    check: str
    ok: bool
    reason: str
    # False: the evidence holds nothing to check this against (an older journal); the line
    # reads N/A and does not fail the verdict.
    checkable: bool = True

    @property
    def result(self) -> str:
        if not self.checkable:
            return "N/A"
        return "PASS" if self.ok else "FAIL"


@dataclass
class Report:
    subject: str
    lines: list[Line] = field(default_factory=list)
    ceremony_id: str | None = None
    final_hash: str | None = None
    rehearsal: bool | None = None

    def add(self, check: str, ok: bool, reason: str) -> bool:
        self.lines.append(Line(check, ok, reason))
        return ok

    def not_checkable(self, check: str, reason: str) -> None:
        self.lines.append(Line(check, True, reason, checkable=False))

    def summary(self) -> str:
        """``PASS: 12 passed, 0 failed`` (and how many lines could not be checked)."""
        verdict = "PASS" if self.ok else "FAIL"
        passed = sum(1 for line in self.lines if line.ok and line.checkable)
        failed = sum(1 for line in self.lines if not line.ok)
        unchecked = sum(1 for line in self.lines if not line.checkable)
        more = f", {unchecked} not checkable" if unchecked else ""
        return f"{verdict}: {passed} passed, {failed} failed{more}"

    @property
    def ok(self) -> bool:
        return bool(self.lines) and all(line.ok for line in self.lines)

    @property
    def failures(self) -> list[Line]:
        return [line for line in self.lines if not line.ok]

    def text(self, width: int = 100) -> str:
        """The PASS/FAIL table for a terminal: result, check, reason (wrapped)."""

        check_width = min(36, max((len(line.check) for line in self.lines), default=10))
        indent = " " * (6 + check_width + 2)
        out = [f"ceremony verify: {self.subject}", ""]
        for line in self.lines:
            reason = textwrap.wrap(
                line.reason,
                max(30, width - len(indent)),
                break_long_words=False,
                break_on_hyphens=False,
            ) or [""]
            if len(line.check) > check_width:
                out.append(f"{line.result:<6}{line.check}")
                out.extend(indent + more for more in reason)
                continue
            out.append(f"{line.result:<6}{line.check:<{check_width}}  {reason[0]}")
            out.extend(indent + more for more in reason[1:])
        out.append("")
        out.append(self.summary())
        return "\n".join(out)

"""Failed attempts in a journal: the record's table, and the check that no step passed its limit.

Pure: entries in, rows and verdicts out. Each ``attempt_failed`` is counted per run and per
``counter`` again here, from the entries themselves, so a journal whose own numbers disagree
with what it holds fails instead of being believed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ceremony.core import journal
from ceremony.core.events import TRY_LIMITS, AttemptKind
from ceremony.core.journal import Entry, JsonValue
from ceremony.record.fields import number, text, texts
from ceremony.record.verdict import Report

EVENT = "attempt_failed"
RULE = "try limit"
# What may follow the attempt that reached its limit: the run stops there.
_AFTER_LIMIT = frozenset({"step_failed", journal.ABORTED})
_LIMITS = {kind.value: limit for kind, limit in TRY_LIMITS.items()}
_WHAT = {
    AttemptKind.PIN.value: "wrong PIN",
    AttemptKind.PASSPHRASE.value: "wrong approval passphrase",
    AttemptKind.PASSPHRASE_MISMATCH.value: "passphrases differ at roll call",
    AttemptKind.KCV.value: "KCV does not match",
    AttemptKind.ENVELOPE_SERIAL.value: "envelope serial misread",
    AttemptKind.FINGERPRINT.value: "import-key fingerprint refused",
}


@dataclass(frozen=True)
class Attempt:
    """One ``attempt_failed`` entry as the record shows it; ``?`` where a field is unreadable."""

    seq: int
    time: str
    run: int
    kind: str
    step: str
    participants: tuple[str, ...]
    counter: str
    attempt: int | None
    limit: int | None
    tries_left: int | None
    role: str | None
    token_reports: str | None
    ceremony: str | None = None  # an aborted attempt's, repeated by the restart; None: this one

    @property
    def what(self) -> str:
        base = _WHAT.get(self.kind, f"{self.kind} (a kind this record version does not know)")
        return f"{base} ({self.role})" if self.role else base

    @property
    def left(self) -> str:
        if self.tries_left is None or self.limit is None:
            return "?"
        return f"{self.tries_left} of {self.limit}"


@dataclass(frozen=True)
class LimitCheck:
    """One counter's attempts against the tool's limit: PASS, or FAIL with the reason."""

    ok: bool
    detail: str
    seq: int  # its first failed attempt
    subject: str  # the counter (and run), as the check's name
    seqs: tuple[int, ...]  # every failed attempt it counts


def read(entries: Sequence[Entry]) -> list[Attempt]:
    """Every failed attempt, in journal order, with the run it belongs to."""
    found: list[Attempt] = []
    run = 1
    for entry in entries:
        if entry.event == "run_started":
            run += 1
        if entry.event != EVENT:
            continue
        found.append(_attempt(entry.data, entry.seq, entry.time, run, None))
    return found


def _attempt(
    d: Mapping[str, JsonValue], seq: int, time: str, run: int, ceremony: str | None
) -> Attempt:
    return Attempt(
        seq=seq,
        time=time,
        run=run,
        kind=text(d, "kind"),
        step=text(d, "step"),
        participants=tuple(texts(d, "participants")),
        counter=text(d, "counter"),
        attempt=number(d, "attempt"),
        limit=number(d, "limit"),
        tries_left=number(d, "tries_left"),
        role=text(d, "role") if "role" in d else None,
        token_reports=text(d, "token_reports") if "token_reports" in d else None,
        ceremony=ceremony,
    )


def read_earlier(entries: Sequence[Entry]) -> list[Attempt]:
    """The aborted attempts' failed attempts, as the restart's ``recovery_reviewed`` repeats."""
    found: list[Attempt] = []
    for entry in entries:
        items = entry.data.get("failed_attempts") if entry.event == "recovery_reviewed" else None
        for d in items if isinstance(items, list) else []:
            if isinstance(d, dict):
                found.append(
                    _attempt(d, number(d, "seq") or 0, text(d, "time"), 1, text(d, "ceremony"))
                )
    return found


def check(entries: Sequence[Entry]) -> list[LimitCheck]:
    """Per run and counter: numbered 1, 2, ... within the tool's limit, and nothing after it."""
    attempts = read(entries)
    groups: dict[tuple[int, str, str], list[Attempt]] = {}
    for a in attempts:
        groups.setdefault((a.run, a.kind, a.counter), []).append(a)
    position = {e.seq: i for i, e in enumerate(entries)}
    checks: list[LimitCheck] = []
    for (run, kind, counter), group in groups.items():
        limit = _LIMITS.get(kind)
        problems: list[str] = []
        if limit is None:
            problems.append(f"{kind!r} is not a kind of attempt this tool limits")
            limit = min((a.limit for a in group if a.limit is not None), default=0)
        for n, a in enumerate(group, start=1):
            if a.limit != limit:
                problems.append(f"entry {a.seq} states a limit of {a.limit}, the tool's is {limit}")
            if a.attempt != n or a.tries_left != limit - n:
                problems.append(
                    f"entry {a.seq} counts attempt {a.attempt} with {a.tries_left} left; it is "
                    f"failure {n} of {limit} on this counter"
                )
        if len(group) > limit:
            problems.append(
                f"{len(group)} failures where the tool allows {limit}: the step went on "
                f"after its limit (entry {group[limit].seq})"
            )
        reached = group[min(len(group), limit) - 1] if len(group) >= limit else None
        if reached is not None:
            after = _went_on(entries, position[reached.seq])
            if after is not None:
                problems.append(
                    f"entry {after.seq} ({after.event}) follows entry {reached.seq}, the "
                    "failure that reached the limit: the step went on after its limit"
                )
        where = f" in run {run}" if any(a.run > 1 for a in attempts) else ""
        who = ", ".join(dict.fromkeys(p for a in group for p in a.participants)) or "?"
        summary = (
            f"{counter}{where}: {len(group)} failed attempt(s) of {limit} allowed "
            f"({_WHAT.get(kind, kind)}; by {who})"
        )
        if problems:
            summary += ": " + "; ".join(problems)
        elif reached is not None:
            summary += "; the run stopped at the limit"
        seqs = tuple(a.seq for a in group)
        checks.append(LimitCheck(not problems, summary, group[0].seq, counter + where, seqs))
    return checks


def _went_on(entries: Sequence[Entry], index: int) -> Entry | None:
    """The first entry after ``index`` that is not the run stopping, up to its ``aborted``."""
    for entry in entries[index + 1 :]:
        if entry.event not in _AFTER_LIMIT:
            return entry
        if entry.event == journal.ABORTED:
            return None
    return None


def describe(a: Attempt) -> str:
    """One line for the verify report and the record's step log."""
    by = ", ".join(a.participants) or "?"
    told = f"; the token reports: {a.token_reports}" if a.token_reports else ""
    return f"{a.what} at {a.step} by {by}: {a.left} tries left{told}"


def report(report: Report, entries: Sequence[Entry]) -> None:
    """``ceremony verify``'s list of failed attempts (the limits are among the record's rules)."""
    attempts = read(entries)
    broken = {seq for c in check(entries) if not c.ok for seq in c.seqs}
    for a in attempts:
        report.add(f"failed attempt, entry {a.seq}", a.seq not in broken, describe(a))
    if not attempts:
        report.add(
            "failed attempts",
            True,
            "none journaled: no wrong PIN, passphrase, KCV or envelope serial, no refused "
            "import key",
        )

"""The record's failed attempts and verify's try-limit check, on journals built by hand: one the
tool would write, and hostile ones whose own numbers lie or that go on after a limit."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from ceremony.core import events, journal
from ceremony.core.events import AttemptKind
from ceremony.core.journal import (
    Entry,
    FileDigest,
    JournalValue,
    Label,
    Message,
    SecretScreen,
    Text,
)
from ceremony.record import attempts, model
from ceremony.record.verdict import Report

NOW = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)
SCREEN = SecretScreen()


class Chain:
    def __init__(self) -> None:
        self.entries: list[Entry] = [journal.genesis("c-att", FileDigest.of(b"f"), NOW)]

    def add(self, name: str, data: Mapping[str, JournalValue], actors: list[str] = ()) -> None:
        self.entries.append(journal.next_entry(self.entries[-1], name, NOW, actors, data))

    def event(self, event: events.Event, actors: list[str] = ()) -> None:
        self.add(event.name, event.data, actors)

    def pin(self, n: int, by: str = "amartin", role: str = "user") -> None:
        self.event(
            events.attempt_failed(
                kind=AttemptKind.PIN,
                step=f"hsm/{role}-pin",
                participants=[by],
                counter=f"{role} PIN",
                attempt=n,
                screen=SCREEN,
                role=role,
                token_reports="nothing (it keeps no visible count)",
            ),
            [by],
        )

    def forged(self, attempt: int, limit: int, left: int) -> None:
        self.add(
            "attempt_failed",
            {
                "kind": Label("passphrase"),
                "step": Message("approve/destroy/zmk/1", SCREEN),
                "participants": [Label("cwright")],
                "counter": Message("passphrase of cwright", SCREEN),
                "attempt": attempt,
                "limit": limit,
                "tries_left": left,
            },
        )

    def stop(self) -> None:
        self.event(events.step_failed(step="hsm/user-pin", error="3 wrong PINs", screen=SCREEN))
        self.entries.append(journal.aborted(self.entries[-1], Text("the step failed"), NOW))


def test_attempts_within_their_limit_pass_and_are_listed() -> None:
    chain = Chain()
    chain.pin(1, role="so")
    chain.pin(1)
    chain.pin(2, by="bokafor")
    chain.event(events.finished(outputs=0, summary="done"))
    checks = attempts.check(chain.entries)
    assert [(c.subject, c.ok) for c in checks] == [("so PIN", True), ("user PIN", True)]
    assert "2 failed attempt(s) of 3 allowed (wrong PIN; by amartin, bokafor)" in checks[1].detail
    report = Report("x")
    attempts.report(report, chain.entries)
    assert [line.check for line in report.lines] == [
        "failed attempt, entry 1",
        "failed attempt, entry 2",
        "failed attempt, entry 3",
    ]
    assert report.ok
    assert (
        "wrong PIN (user) at hsm/user-pin by bokafor: 1 of 3 tries left" in report.lines[2].reason
    )


def test_a_run_that_stops_at_the_limit_passes_and_the_next_run_counts_afresh() -> None:
    chain = Chain()
    for n in (1, 2, 3):
        chain.pin(n)
    chain.stop()
    chain.event(
        events.run_started(
            run=2, rehearsal=True, tool_version="0", workstation="ws", system_time=NOW
        )
    )
    chain.pin(1)
    checks = attempts.check(chain.entries)
    assert [(c.subject, c.ok) for c in checks] == [
        ("user PIN in run 1", True),
        ("user PIN in run 2", True),
    ]
    assert checks[0].detail.endswith("the run stopped at the limit")


def test_a_step_that_went_on_after_its_limit_fails() -> None:
    chain = Chain()
    for n in (1, 2, 3):
        chain.pin(n)
    chain.event(events.random_source("PKCS#11 C_GenerateRandom on SoftHSM v2"))
    (check,) = attempts.check(chain.entries)
    assert not check.ok
    assert "entry 4 (random_source) follows entry 3" in check.detail
    built = model.build(journal.Verified(tuple(chain.entries), None, (), 0))
    assert [f.rule for f in built.failures] == [attempts.RULE]
    report = Report("x")
    attempts.report(report, chain.entries)
    assert not report.ok  # each attempt of a broken counter fails its line too


def test_a_journal_whose_numbers_lie_fails() -> None:
    chain = Chain()
    chain.forged(1, 3, 2)
    chain.forged(1, 3, 2)  # a second failure numbered as the first
    chain.forged(3, 10, 7)  # and a limit that is not the tool's
    chain.forged(4, 10, 6)
    (check,) = attempts.check(chain.entries)
    assert not check.ok
    assert "entry 2 counts attempt 1 with 2 left; it is failure 2 of 3" in check.detail
    assert "states a limit of 10, the tool's is 3" in check.detail
    assert "4 failures where the tool allows 3: the step went on after its limit" in check.detail


def test_a_journal_without_attempts_says_so() -> None:
    chain = Chain()
    chain.event(events.finished(outputs=0, summary="done"))
    report = Report("x")
    attempts.report(report, chain.entries)
    assert [(line.check, line.ok) for line in report.lines] == [("failed attempts", True)]
    assert attempts.check(chain.entries) == []

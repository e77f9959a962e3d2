"""The fuzz drivers' contract: a parser returns or raises a CeremonyError, and nothing else.

Knobs (environment; ``scripts/fuzz`` sets them):
  CEREMONY_FUZZ_CASES   cases per driver (default 300, what ``scripts/test`` runs; the fuzz
                        drivers then cost about 15 s of CPU)
  CEREMONY_FUZZ_STRICT  1: every foreign exception fails, also the known ones listed in KNOWN
  CEREMONY_FUZZ_SURVEY  a path: record every foreign exception signature there (JSON) and pass,
                        to list every class of failure at once instead of the first one
  CEREMONY_FUZZ_SEED    unset: derandomized, the suite is reproducible; set (scripts/fuzz passes
                        it on as --hypothesis-seed): random cases, failures kept in .hypothesis/

Speed is reported, never judged: Hypothesis runs with ``deadline=None``; a case slower than
SLOW_REPORT seconds is listed at the end of the run, and a case still running after
HANG_REPORT seconds dumps every thread's stack to stderr once (and goes on).
"""

from __future__ import annotations

import faulthandler
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, settings

import ceremony
from ceremony.errors import CeremonyError

CASES = int(os.environ.get("CEREMONY_FUZZ_CASES", "300"))
STRICT = os.environ.get("CEREMONY_FUZZ_STRICT", "") == "1"
SURVEY = os.environ.get("CEREMONY_FUZZ_SURVEY", "")
SEED = os.environ.get("CEREMONY_FUZZ_SEED", "")
SLOW_REPORT = 2.0  # seconds
HANG_REPORT = 120.0  # seconds

_PACKAGE = str(Path(ceremony.__file__).resolve().parent)


def fuzz_settings(share: float = 1.0) -> settings:
    """Settings for a driver; ``share`` scales the case count for a costly driver."""
    return settings(
        max_examples=max(3, int(CASES * share)),
        deadline=None,
        derandomize=not SEED,
        database=None if not SEED else settings.default.database,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


# Known classes of failure: (exception type, innermost function of the ceremony package, by
# qualname only so that moving a module keeps the entry) ->
# the strict-xfail regression test that pins the exact input (tests/fuzz/test_regressions.py or
# test_bad_inputs.py). Outside strict mode these are recorded, not failed; fix the code, flip the
# regression test, then delete the line here. /work/notes-14-fuzz.md has input, place and fix.
KNOWN: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Signature:
    kind: str
    function: str  # innermost frame in the ceremony package: its qualname (modules move)
    module: str
    where: str  # that frame's file:line, for the report only (lines move)
    origin: str  # the innermost frame of all (the library that raised)

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.function)


def signature(ex: BaseException) -> Signature:
    frames = traceback.extract_tb(ex.__traceback__)
    tb = ex.__traceback__
    codes = []
    while tb is not None:
        codes.append(tb.tb_frame)
        tb = tb.tb_next
    function = where = module = "?"
    for frame, summary in zip(reversed(codes), reversed(frames), strict=True):
        if str(Path(summary.filename).resolve()).startswith(_PACKAGE):
            module = frame.f_globals.get("__name__", "?")
            function = frame.f_code.co_qualname
            where = f"{Path(summary.filename).resolve().relative_to(Path(_PACKAGE).parent)}"
            where += f":{summary.lineno}"
            break
    last = frames[-1] if frames else None
    origin = f"{Path(last.filename).name}:{last.lineno} {last.name}" if last else "?"
    return Signature(type(ex).__name__, function, module, where, origin)


@dataclass
class _Seen:
    count: int = 0
    sample: str = ""
    drivers: set[str] = field(default_factory=set)
    sig: Signature | None = None


SURVEYED: dict[tuple[str, str], _Seen] = {}
SLOW: list[tuple[float, str, str]] = []
TOLERATED: dict[tuple[str, str], int] = {}


def _show(value: object, limit: int = 4000) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


class _Watchdog:
    """One thread for the whole run: dumps every stack once when a case runs past HANG_REPORT.

    (faulthandler.dump_traceback_later per case would start and join a thread per case.)
    """

    def __init__(self) -> None:
        self.started: float | None = None
        self.driver = ""
        self._thread: threading.Thread | None = None

    def begin(self, driver: str) -> None:
        self.driver = driver
        self.started = time.monotonic()
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="fuzz-watchdog", daemon=True)
            self._thread.start()

    def end(self) -> None:
        self.started = None

    def _watch(self) -> None:
        reported: float | None = None
        while True:
            time.sleep(HANG_REPORT / 10)
            started = self.started
            late = started is not None and time.monotonic() - started > HANG_REPORT
            if late and started != reported:
                stderr(f"fuzz: a {self.driver} case runs past {HANG_REPORT:.0f} s; stacks:")
                faulthandler.dump_traceback(all_threads=True)
                reported = started


_WATCHDOG = _Watchdog()


def expect_refusal_or_result(driver: str, call: Callable[[], object], sample: object) -> None:
    """Run ``call``; a CeremonyError or a result passes, any other exception fails the case."""
    start = time.perf_counter()
    _WATCHDOG.begin(driver)
    try:
        call()
    except CeremonyError:
        pass
    except Exception as ex:
        sig = signature(ex)
        if SURVEY:
            seen = SURVEYED.setdefault(sig.key, _Seen(sig=sig))
            seen.count += 1
            seen.drivers.add(driver)
            shown = _show(sample)
            if not seen.sample or len(shown) < len(seen.sample):
                seen.sample = shown
            return
        if not STRICT and sig.key in KNOWN:
            TOLERATED[sig.key] = TOLERATED.get(sig.key, 0) + 1
            return
        ex.add_note(f"fuzz: {sig.kind} escaped at {sig.where} ({sig.function}; from {sig.origin})")
        raise
    finally:
        _WATCHDOG.end()
        elapsed = time.perf_counter() - start
        if elapsed > SLOW_REPORT:
            SLOW.append((elapsed, driver, _show(sample, 200)))


def write_survey() -> None:
    if not SURVEY:
        return
    path = Path(SURVEY)
    old = json.loads(path.read_text()) if path.exists() else []
    merged = {(o["kind"], o["function"]): o for o in old}
    for key, seen in SURVEYED.items():
        assert seen.sig is not None
        entry = merged.setdefault(
            key,
            {
                "kind": seen.sig.kind,
                "function": seen.sig.function,
                "module": seen.sig.module,
                "where": seen.sig.where,
                "origin": seen.sig.origin,
                "count": 0,
                "drivers": [],
                "sample": seen.sample,
            },
        )
        entry["count"] += seen.count
        entry["drivers"] = sorted(set(entry["drivers"]) | seen.drivers)
        if len(seen.sample) < len(entry["sample"]):
            entry["sample"] = seen.sample
    path.write_text(json.dumps(list(merged.values()), indent=2, ensure_ascii=False) + "\n")


def report_lines() -> list[str]:
    lines = []
    for elapsed, driver, sample in sorted(SLOW, reverse=True)[:10]:
        lines.append(f"slow case ({elapsed:.1f} s, reported only) in {driver}: {sample}")
    for (kind, function), count in sorted(TOLERATED.items()):
        lines.append(
            f"known failure tolerated {count}x: {kind} in {function} "
            f"(regression test {KNOWN[(kind, function)]})"
        )
    for key, seen in sorted(SURVEYED.items()):
        lines.append(f"survey: {key[0]} in {key[1]} x{seen.count} ({', '.join(seen.drivers)})")
    return lines


def stderr(text: str) -> None:
    print(text, file=sys.stderr)

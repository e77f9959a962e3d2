"""``ceremony run FILE``: drive any ceremony on a plain terminal (the headless runner).

The runner holds no ceremony rule: it shows what the machine asks, reads the answer (secrets
with no echo), and passes it back. With ``--answers`` (rehearsal only) a script answers.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from ceremony.core import journal
from ceremony.engine.ceremony_source import load_ceremony_file
from ceremony.engine.machine import Machine, Outcome, Status, default_services
from ceremony.engine.requests import AnswerRefused, ComponentSheet, Request, RequestKind
from ceremony.engine.script import Script
from ceremony.errors import CeremonyError, ConfigError
from ceremony.hardening import StopSignal

CLEAR_SCREEN = "\x1b[2J\x1b[3J\x1b[H"  # screen, scrollback, cursor home


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subcommands.add_parser(
        "run",
        help="run a ceremony file on this terminal, step by step",
        description=(
            "Run the ceremony a reviewed file describes: air-gap check, roll call, HSM login and "
            "every step of its type, each journaled. Secrets are typed with no echo. A "
            "component is shown to its custodian only, then the screen and scrollback are "
            "cleared. The final journal hash is printed at the end to read aloud."
        ),
    )
    parser.add_argument("file", type=Path, help="the ceremony file (TOML)")
    parser.add_argument(
        "--rehearsal",
        action="store_true",
        help="mark every output REHEARSAL and refuse any token but the rehearsal SoftHSM2 token",
    )
    parser.add_argument(
        "--answers",
        type=Path,
        metavar="FILE",
        help="scripted answers (TOML) for rehearsals and tests; refused without --rehearsal",
    )
    parser.set_defaults(handler=run)


class TerminalDelivery:
    """Shows a component on this terminal, then clears the screen and scrollback."""

    def __init__(self, out: TextIO, masked: bool = False) -> None:
        self.out = out
        self.masked = masked

    def show(self, sheet: ComponentSheet) -> None:
        who = f"{sheet.custodian}" + (f" (backup {sheet.backup})" if sheet.backup else "")
        banner = "REHEARSAL " if sheet.rehearsal else ""
        print(f"\n{'=' * 72}", file=self.out)
        print(
            f"{banner}COMPONENT {sheet.index} OF {sheet.count} OF KEY {sheet.key} FOR {who}",
            file=self.out,
        )
        print(sheet.instruction, file=self.out)
        print("=" * 72, file=self.out)
        for line in sheet.lines:
            print(f"    {_masked(line) if self.masked else line}", file=self.out)
        if self.masked:
            print("    (scripted rehearsal: the value lines are masked here)", file=self.out)
        print("=" * 72, file=self.out)
        self.out.flush()

    def hide(self, sheet: ComponentSheet) -> None:
        self.out.write(CLEAR_SCREEN)
        self.out.flush()
        print(f"Component {sheet.index} of key {sheet.key} is off the screen.", file=self.out)


def _masked(line: str) -> str:
    head, colon, rest = line.partition(":")
    if colon and (head.strip().isdigit() or head.strip() == "SUM"):
        return f"{head}: " + "".join("#" if ch.strip() else ch for ch in rest.strip()[:-1])
    return line


Ask = Callable[[Request], tuple[str, str | None]]


def _interactive(out: TextIO) -> Ask:
    def read(prompt: str, secret: bool) -> str:
        try:
            return getpass.getpass(prompt) if secret else input(prompt)
        except EOFError:
            raise ConfigError(
                "the input ended before the ceremony did", hint="run it at a terminal"
            ) from None

    def ask(request: Request) -> tuple[str, str | None]:
        by: str | None = None
        if request.who.anyone:
            print(f"  Who answers? One of: {', '.join(request.who.candidates)}", file=out)
            by = read("  your participant id> ", False).strip()
        secret = request.kind in (RequestKind.SECRET, RequestKind.APPROVAL)
        if request.choices:
            print(f"  Choose one of: {', '.join(request.choices)}", file=out)
        return read("  > ", secret), by

    return ask


def _scripted(script: Script, out: TextIO) -> Ask:
    def ask(request: Request) -> tuple[str, str | None]:
        value, by = script.answer(request)
        who = by or request.who.participant or "?"
        shown = "(typed, not shown)" if request.secret else value
        print(f"  [{who}] {shown}", file=out)
        return value, by

    return ask


def _show(request: Request, out: TextIO) -> None:
    for notice in request.notices:
        print(f"  * {notice}", file=out)
    print(f"\n[{request.stage}/{request.stages}] {request.title}", file=out)
    for line in request.lines:
        print(f"  {line}", file=out)
    if request.tries is not None:
        print(f"  Tries left: {request.tries}", file=out)
    if request.pin_tries is not None:
        print(f"  The token reports: {request.pin_tries}", file=out)
    print(f"  For: {request.who.text}", file=out)
    print(f"  {request.prompt}", file=out)


# Finished, but record.pdf could not be written: never 0, never the code of a stopped ceremony.
RECORD_MISSING = 4


def print_outcome(outcome: Outcome, out: TextIO) -> None:
    if outcome.journal is None or outcome.final_hash is None:
        return
    state = {
        Status.FINISHED: "finished",
        Status.ABORTED: "STOPPED (the journal records why)",
    }.get(outcome.status, outcome.status.value)
    print(f"\nCeremony {state}. Run {outcome.run}.", file=out)
    if outcome.outputs:
        print(f"Outputs in {outcome.output_folder}:", file=out)
        for name in outcome.outputs:
            print(f"  {name}", file=out)
    print(f"Journal: {outcome.journal}", file=out)
    if outcome.signed_record is not None:
        print(f"Signed record: {outcome.signed_record}", file=out)
    if outcome.record_error is not None:
        print(
            f"The signed record was NOT written ({outcome.record_error}); the ceremony is "
            f"finished: run 'ceremony record {outcome.journal.parent}' once the medium has room.",
            file=out,
        )
    print("Final journal hash (read it aloud and write it on the signed record):", file=out)
    print(f"  {journal.hash_groups(outcome.final_hash)}", file=out)
    for line in journal.hash_word_lines(outcome.final_hash):
        print(f"  {line}", file=out)


def drive(machine: Machine, ask: Ask, out: TextIO, *, scripted: bool) -> Outcome:
    """Show each request, pass each answer back; a refusal is shown and the request asked again."""
    try:
        request = machine.start()
        while request is not None:
            _show(request, out)
            value, by = ask(request)
            try:
                request = machine.answer(value, by=by)
            except AnswerRefused as ex:
                if scripted:
                    step = machine.current.step if machine.current else "?"
                    raise ConfigError(
                        f"the scripted answer to step {step} was refused: {ex.message}",
                        hint="fix the answers file",
                    ) from None
                print(f"  refused: {ex}", file=out)
                request = machine.current
        for notice in machine.take_notices():
            print(f"  * {notice}", file=out)
    except StopSignal as ex:
        machine.abort(f"{ex} (a stop signal, handled like Ctrl-C)")
        with contextlib.suppress(OSError):  # after a SIGHUP the terminal may be gone
            print_outcome(machine.outcome, out)
        raise
    except KeyboardInterrupt:
        machine.abort("stopped by the operator at the keyboard (Ctrl-C)")
        print_outcome(machine.outcome, out)
        raise
    except CeremonyError as ex:
        # Still running: the error is this front end's (a scripted answer refused); the
        # journal says that, not that the front end closed.
        machine.abort(f"the run stopped: {ex.message}")
        machine.close()
        print_outcome(machine.outcome, out)
        raise
    print_outcome(machine.outcome, out)
    return machine.outcome


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    if args.answers is not None and not args.rehearsal:
        raise ConfigError(
            "--answers is for rehearsals and tests only",
            hint="add --rehearsal; a production ceremony is answered by the people in the room",
        )
    script = Script.load(args.answers) if args.answers is not None else None
    delivery = TerminalDelivery(out, masked=script is not None)
    # Read once: the machine runs these bytes and refuses to start if the file changes under it.
    checked = load_ceremony_file(args.file)
    print(f"Ceremony file {checked.path} (compare with the reviewed printout):", file=out)
    for line in checked.digest_lines():
        print(f"  {line}", file=out)
    machine = Machine(
        checked, services=default_services(delivery=delivery), rehearsal=args.rehearsal
    )
    ask = _scripted(script, out) if script is not None else _interactive(out)
    outcome = drive(machine, ask, out, scripted=script is not None)
    if outcome.status is not Status.FINISHED:
        return 1
    return RECORD_MISSING if outcome.record_error is not None else 0

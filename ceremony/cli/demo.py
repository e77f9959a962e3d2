"""``ceremony demo``: a terminal rehearsal of split, line-checked component entry and combine."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from ceremony.core import encoding, kcv, parity, rng, shamir, xor
from ceremony.core.component import Component, KeyAlgorithm, KeyIdentity, Scheme
from ceremony.errors import ComponentFormatError

REHEARSAL_BANNER = "*** REHEARSAL: demo key material, never use it for a real key ***"
# Given the line the form shows and a prompt, returns what the custodian typed.
Custodian = Callable[[str, str], str]


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subcommands.add_parser(
        "demo",
        help="rehearse split -> component entry -> combine -> KCV check on the terminal",
        description=(
            "Rehearsal on the terminal: a fresh demo key is split into components, each component "
            "is shown and then entered back line by line with its check characters, and the "
            "recombined key's labelled KCV is compared with the one recorded at split. Nothing "
            "is written to disk."
        ),
    )
    parser.add_argument("--scheme", choices=["xor", "shamir"], default="xor")
    parser.add_argument("--count", type=int, default=3, help="components or shares (n)")
    parser.add_argument("--threshold", type=int, default=2, help="Shamir shares needed (k)")
    parser.add_argument(
        "--algorithm", choices=[a.value for a in KeyAlgorithm], default=KeyAlgorithm.AES.value
    )
    parser.add_argument("--length", type=int, default=32, help="key length in bytes")
    parser.add_argument(
        "--random",
        choices=["hsm", "os"],
        default="hsm",
        help="randomness from the rehearsal SoftHSM2 token (default) or the OS CSPRNG",
    )
    parser.add_argument(
        "--interactive",
        action="store_true",
        help="type each component yourself instead of the scripted custodians",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    algorithm = KeyAlgorithm(args.algorithm)
    identity = KeyIdentity("DEMO-REHEARSAL", "demo-key", algorithm, args.length)
    custodian: Custodian = _keyboard if args.interactive else _ScriptedCustodian()
    with _random_source(args.random):
        rehearse(identity, Scheme(args.scheme.upper()), args.count, args.threshold, custodian)
    return 0


@contextmanager
def _random_source(choice: str) -> Iterator[None]:
    if choice == "os":
        yield
        return
    from ceremony.hsm import rehearsal_random_source  # deferred: pkcs11 loads only when asked

    with ExitStack() as stack:
        source, name = stack.enter_context(rehearsal_random_source())
        stack.enter_context(rng.installed(source, name))
        yield


def rehearse(
    identity: KeyIdentity, scheme: Scheme, count: int, threshold: int, custodian: Custodian
) -> None:
    say = _Printer()
    say.banner(REHEARSAL_BANNER)
    say(f"Random source: {rng.source_name()}")
    method = kcv.default_method(identity.algorithm, identity.key_length)
    with parity.generate(identity.algorithm, identity.key_length, identity.key_label) as key:
        recorded = kcv.check_value(key, method)
        say(
            f"Generated {identity.algorithm.value}-{identity.key_length * 8} key "
            f"{identity.key_label!r}; recorded KCV: {recorded}"
        )
        if scheme is Scheme.XOR:
            components = xor.split(key, identity, count)
            say(f"Split into {count} XOR components; every one is needed.")
        else:
            components = shamir.split(key, identity, threshold, count)
            say(
                f"Split into {count} Shamir shares; any {threshold} rebuild the key "
                f"(all {shamir.subset_count(threshold, count)} subsets verified before release)."
            )
    try:
        for component in components:
            _show(say, component)
        needed = components if scheme is Scheme.XOR else components[:threshold]
        entered = [_enter(say, c, custodian) for c in needed]
        try:
            combine = xor.combine if scheme is Scheme.XOR else shamir.combine
            with combine(entered, expected=recorded, identity=identity) as rebuilt:
                rebuilt_kcv = kcv.check_value(rebuilt, method)
        finally:
            for c in entered:
                c.value.close()
    finally:
        for c in components:
            c.value.close()
    say.banner(f"Combined key KCV {rebuilt_kcv} matches the recorded KCV {recorded}")
    say("All components and the key were wiped from memory; nothing was written to disk.")


def _show(say: _Printer, component: Component) -> None:
    who = f"custodian {component.index}"
    say.banner(f"Component {component.index} of {component.count}: everyone but {who} looks away")
    for line in encoding.format_lines(component):
        say(f"    {line}")
    say(f"Component KCV: {encoding.component_kcv(component)}")
    say.clear_hint()


def _enter(say: _Printer, shown: Component, custodian: Custodian) -> Component:
    """Take one component back line by line; a wrong line is refused at once and asked again."""
    header = encoding.ComponentHeader.of(shown)
    say.banner(f"Entry of component {shown.index} of {shown.count} by custodian {shown.index}")
    form = encoding.format_lines(shown)
    header_lines = form[: len(form) - header.line_count - 1]
    typed: list[str] = []
    for number in range(1, header.line_count + 2):
        is_sum = number > header.line_count
        name = "SUM" if is_sum else f"{number:02d}"
        while True:
            text = custodian(form[len(header_lines) + number - 1], f"    {name}> ")
            try:
                if is_sum:
                    encoding.check_sum_line(header, text)
                else:
                    encoding.check_line(header, number, text)
            except ComponentFormatError as ex:
                say(f"    refused: {ex.message}; type line {name} again")
                continue
            say(f"    line {name} accepted")
            has_prefix = re.match(rf"\s*{name}\s*:", text, re.IGNORECASE)
            typed.append(text if has_prefix else f"{name}: {text}")
            break
    entered = encoding.from_text("\n".join(header_lines + typed))
    say(f"Component {shown.index} entered; its KCV {encoding.component_kcv(entered)}")
    return entered


def _keyboard(form_line: str, prompt: str) -> str:
    del form_line  # a real custodian reads their own paper form
    try:
        return input(prompt)
    except EOFError:
        raise ComponentFormatError(
            "the input ended before the component was entered: nothing was combined",
            hint="run ceremony demo --interactive at a terminal and type each line, or leave "
            "out --interactive for the scripted rehearsal",
        ) from None


class _ScriptedCustodian:
    """Types what the form shows, mistyping one digit of the first line once as a demonstration."""

    def __init__(self) -> None:
        self._mistyped = False

    def __call__(self, form_line: str, prompt: str) -> str:
        _, _, body = form_line.partition(":")
        typed = body.strip()
        if not self._mistyped:
            self._mistyped = True
            first = next(i for i, ch in enumerate(typed) if ch in "0123456789ABCDEF")
            wrong = "1" if typed[first] != "1" else "2"
            typed = typed[:first] + wrong + typed[first + 1 :]
        print(f"{prompt}{_masked(typed)}")
        return typed


def _masked(line: str) -> str:
    """What the rehearsal log shows of a typed line: its shape, not its digits."""
    return "".join("#" if ch not in " " else ch for ch in line[:-1]) + line[-1:]


class _Printer:
    def __call__(self, text: str) -> None:
        print(text)

    def banner(self, text: str) -> None:
        print(f"\n== {text}")

    def clear_hint(self) -> None:
        print("(at a real ceremony the screen and scrollback are cleared here)", file=sys.stdout)

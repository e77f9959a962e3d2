"""The same HSM tests on SoftHSM2, NSS softokn and opencryptoki, counted per module.

A test file opts in with ``from tests.hsm.modules_conftest import hsm_on_every_module``: its
``hsm`` fixture (and so ``session`` and everything built on it) is then parametrised over the
three real modules. SoftHSM2 (or the vendor module in CEREMONY_PKCS11_MODULE) is the package's
token of tests/hsm/conftest.py; NSS and opencryptoki give a fresh token per test (a tenth of a
second each). opencryptoki's store is one per machine: its fixture holds a file lock for the
length of one test, so its tests run one at a time on the machine, also under pytest-xdist.
Tests a module cannot run skip by capability (``@requires``), never by module name.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from ceremony.hsm import config, softhsm
from ceremony.hsm.pkcs11 import Pkcs11Backend
from tests.hsm import modules
from tests.hsm.conftest import HsmUnderTest
from tests.hsm.modules import ModuleUnderTest

# The package token: SoftHSM2, or the vendor module a vendor's team points the tests at.
_DEFAULT = (
    "softhsm2"
    if softhsm.is_softhsm_module(os.environ.get(config.ENV_MODULE) or config.DEFAULT_MODULE)
    else "vendor"
)
MODULES = (_DEFAULT, "nss", "opencryptoki")
PROPERTY = "hsm module"


@pytest.fixture(name="hsm", params=MODULES)
def hsm_on_every_module(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HsmUnderTest]:
    """The package token, or a fresh NSS or opencryptoki token for this test."""
    name: str = request.param
    if name == _DEFAULT:
        # The fixture this one overrides: tests/hsm/conftest.py's package token.
        package: HsmUnderTest = request.getfixturevalue("hsm")
        yield package
        return
    reason = modules.missing(name)
    if reason is not None:
        pytest.skip(reason)
    with modules.module(name, tmp_path) as made:
        yield under_test(made)


@pytest.fixture(params=modules.NAMES)
def module_under_test(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ModuleUnderTest]:
    """A fresh token on each real module; skipped where the module is not installed."""
    name: str = request.param
    reason = modules.missing(name)
    if reason is not None:
        pytest.skip(reason)
    with modules.module(name, tmp_path) as made:
        yield made


def under_test(made: ModuleUnderTest) -> HsmUnderTest:
    """The tests' view of a module fixture's token (its environment is set while it lives)."""
    hsm_config = config.resolve()
    backend = Pkcs11Backend(hsm_config)
    return HsmUnderTest(hsm_config, backend, made.prompter(), None, backend.preflight(), made.name)


def tag(items: list[pytest.Item]) -> None:
    """Mark every test parametrised over the modules with its module, for the summary."""
    for item in items:
        params = getattr(item, "callspec", None)
        found = params.params if params is not None else {}
        value = found.get("hsm", found.get("module_under_test"))
        if value in (*MODULES, *modules.NAMES):
            item.user_properties.append((PROPERTY, value))


def summary(reporter: pytest.TerminalReporter) -> None:
    """One line per module: passed, skipped, failed (with pytest-xdist the reports come here)."""
    counts: dict[str, Counter[str]] = {}
    for outcome in ("passed", "skipped", "failed", "error"):
        for report in reporter.stats.get(outcome, ()):
            module = dict(getattr(report, "user_properties", ())).get(PROPERTY)
            when = getattr(report, "when", None)
            if module is None or (outcome == "passed" and when != "call"):
                continue
            counts.setdefault(module, Counter())[outcome] += 1
    if not counts:
        return
    reporter.write_sep("-", "HSM tests per PKCS#11 module")
    for module in dict.fromkeys((*MODULES, *modules.NAMES, *counts)):
        if module not in counts:
            continue
        c = counts[module]
        reporter.write_line(
            f"{module:13} {c['passed']:4} passed {c['skipped']:4} skipped "
            f"{c['failed'] + c['error']:4} failed"
        )

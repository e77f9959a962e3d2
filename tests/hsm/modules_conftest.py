"""``module_under_test``: SoftHSM2, NSS and opencryptoki in turn (for conftest.py to wire in)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hsm import modules
from tests.hsm.modules import ModuleUnderTest


@pytest.fixture(params=modules.NAMES)
def module_under_test(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ModuleUnderTest]:
    """A fresh token on each real module; skipped where the module is not installed."""
    name: str = request.param
    reason = modules.missing(name)
    if reason is not None:
        pytest.skip(reason)
    with modules.module(name, tmp_path) as made:
        yield made

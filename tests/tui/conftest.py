"""TUI test helpers: apps around one screen, a steady cursor for snapshots, driver output."""

from __future__ import annotations

import asyncio
import inspect
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from ceremony.hsm import config, softhsm
from ceremony.tui.app import CeremonyApp
from tests.hsm.conftest import FixedPinPrompter
from tests.tui import fixtures


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests (Pilot) on a fresh event loop; no asyncio plugin needed."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


_ENV = (config.ENV_STATE_DIR, config.ENV_TOKEN_LABEL, config.ENV_TOKEN_SERIAL, "SOFTHSM2_CONF")
TOKEN_LABEL = "ceremony-tui"


@pytest.fixture(scope="package")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FixedPinPrompter]:
    """A fresh SoftHSM2 rehearsal store and token for the TUI tests (the tests/hsm pattern)."""
    if (
        not softhsm.is_softhsm_module(config.DEFAULT_MODULE)
        or not Path(config.DEFAULT_MODULE).is_file()
    ):
        pytest.skip("SoftHSM2 is not installed")
    saved = {k: os.environ.get(k) for k in _ENV}
    try:
        os.environ[config.ENV_STATE_DIR] = str(tmp_path_factory.mktemp("state"))
        os.environ[config.ENV_TOKEN_LABEL] = TOKEN_LABEL
        os.environ.pop(config.ENV_TOKEN_SERIAL, None)
        prompter = FixedPinPrompter(f"user-{secrets.token_hex(6)}", f"so-{secrets.token_hex(6)}")
        softhsm.init_rehearsal_token(config.resolve(), prompter)
        yield prompter
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(autouse=True)
def _steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The input cursor never blinks in tests, so a screenshot does not depend on timing."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


def app_with(
    make: Callable[[], Screen[Any]],
    *,
    shell: Any = fixtures.SHELL,
    journal: Any = None,
    **kwargs: Any,
) -> CeremonyApp:
    """A CeremonyApp showing one screen, with the fixed shell and journal of the fixtures."""
    return CeremonyApp(
        shell=shell,
        journal=fixtures.entries() if journal is None else journal,
        first_screen=make,
        **kwargs,
    )


class DriverOutput:
    """What the app wrote to its terminal driver (headless in tests)."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def install(self, app: CeremonyApp) -> None:
        driver = app._driver
        assert driver is not None
        original = driver.write

        def write(data: str) -> None:
            self.writes.append(data)
            original(data)

        driver.write = write  # type: ignore[method-assign]

    @property
    def text(self) -> str:
        return "".join(self.writes)


@pytest.fixture
def driver_output() -> Iterator[DriverOutput]:
    yield DriverOutput()


async def burst(pilot: Pilot[Any], text: str) -> None:
    """Send ``text`` as key events all at once, as fast as a barcode scanner types."""
    driver = pilot.app._driver
    assert driver is not None
    for name, char in zip(keys_for(text), text, strict=True):
        event = events.Key(name, "\r" if char == "\n" else char)
        event.set_sender(pilot.app)
        driver.send_message(event)
    await pilot.pause()
    await pilot.pause()


def keys_for(text: str) -> list[str]:
    """Pilot key names that type ``text`` character by character (newline is Enter)."""
    names = {
        " ": "space",
        "\n": "enter",
        ":": "colon",
        "-": "minus",
        "(": "left_parenthesis",
        ")": "right_parenthesis",
        "'": "apostrophe",
        ".": "full_stop",
        "/": "slash",
        "_": "underscore",
    }
    return [names.get(ch, ch) for ch in text]

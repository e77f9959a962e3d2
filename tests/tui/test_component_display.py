"""Component display: privacy first, shown only on the custodian's key, hidden and cleared."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from textual.containers import VerticalScroll
from textual.widgets import Input

from ceremony.core import encoding
from ceremony.tui.app import CLEAR_SCREEN_AND_SCROLLBACK
from ceremony.tui.screens import component_display
from ceremony.tui.screens.component_display import (
    ComponentDisplayScreen,
    ComponentView,
    DisplayResult,
    Phase,
)
from ceremony.tui.widgets.journal_panel import entry_line
from tests.conftest import STUCK
from tests.tui import fixtures
from tests.tui.conftest import DriverOutput, app_with, keys_for
from tests.tui.screen_text import screen_text

WHAT = "component 1 of 3 of key 'zmk-prod'"
CHECK = encoding.component_kcv(fixtures.component())
VALUE_HEX = [line.split(":", 1)[1].split()[0] for line in fixtures.value_lines()]


class Reveal:
    """Counts how often the screen asked for the component."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> ComponentView:
        self.calls += 1
        component = fixtures.component()
        return ComponentView(
            encoding.format_lines(component),
            encoding.component_kcv(component),
            encoding.qr_payload(component),
        )


def screen(reveal: Reveal, timeout: float = STUCK) -> ComponentDisplayScreen:
    return ComponentDisplayScreen(fixtures.EMMA, WHAT, reveal, CHECK, timeout=timeout)


@pytest.fixture
def no_key_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keys hide the component at once (the guard has its own test)."""
    monkeypatch.setattr(ComponentDisplayScreen, "KEY_GUARD", 0.0)
    yield


def shows_component(text: str) -> bool:
    return any(group in text for group in VALUE_HEX) or "CEREMONY-COMPONENT" in text


async def test_the_component_never_appears_before_its_custodian_presses_s() -> None:
    reveal = Reveal()
    app = app_with(lambda: screen(reveal))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        # Keys other than S (Enter from a previous step, a stray letter) show nothing.
        await pilot.press("enter", "x", "space", "tab", "escape")
        await pilot.pause()
        text = screen_text(app)
        assert "Everyone but Emma Brown looks away now." in text
        assert not shows_component(text)
        assert reveal.calls == 0
        assert not app.screen.query("#shown")
        assert app.shell.at_keyboard == fixtures.EMMA
        await pilot.press("s")
        await pilot.pause()
        assert reveal.calls == 1
        text = screen_text(app)
        assert shows_component(text)
        assert str(CHECK) in text
        assert app.screen.query("#component-qr")  # 120x40 has room for the QR code


async def test_hiding_clears_the_screen_and_the_scrollback(
    driver_output: DriverOutput, no_key_guard: None
) -> None:
    reveal = Reveal()
    app = app_with(lambda: screen(reveal))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        driver_output.install(app)
        await pilot.press("s")
        await pilot.pause()
        assert shows_component(screen_text(app))
        await pilot.press("q")  # any key hides it
        await pilot.pause()
        display = app.screen
        assert isinstance(display, ComponentDisplayScreen)
        assert display.phase is Phase.HIDDEN
        assert not display.query("#shown")
        text = screen_text(app)
        assert not shows_component(text)
        assert "is hidden and the screen was cleared" in text
        assert CLEAR_SCREEN_AND_SCROLLBACK in driver_output.text
        assert "\x1b[3J" in driver_output.text
        # It is never shown again by this screen: S does nothing now.
        await pilot.press("s")
        await pilot.pause()
        assert reveal.calls == 1
        assert not shows_component(screen_text(app))


class Clock:
    """A monotonic clock the test moves by hand (the screen reads ``time.monotonic``)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


async def test_the_rest_of_a_typed_word_does_not_hide_the_component(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A custodian typing y-e-s on the privacy confirmation: Y confirms, E and S arrive here.
    clock = Clock()
    monkeypatch.setattr(component_display, "time", clock)
    monkeypatch.setattr(ComponentDisplayScreen, "KEY_GUARD", 0.5)
    reveal = Reveal()
    app = app_with(
        lambda: ComponentDisplayScreen(fixtures.EMMA, WHAT, reveal, CHECK, privacy_confirmed=True)
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        display = app.screen
        assert isinstance(display, ComponentDisplayScreen)
        assert display.phase is Phase.SHOWN and reveal.calls == 1
        clock.now += 0.4
        await pilot.press("e", "s")
        await pilot.pause()
        assert display.phase is Phase.SHOWN
        assert shows_component(screen_text(app))
        assert not display.query("#typeback-input")  # "s" went nowhere
        clock.now += 0.1
        await pilot.press("space")  # after the guard, any key hides it
        await pilot.pause()
        assert display.phase is Phase.HIDDEN
        assert not shows_component(screen_text(app))
        assert display.query_one("#typeback-input", Input).value == ""


async def test_the_component_hides_itself_after_the_timeout() -> None:
    reveal = Reveal()
    hidden_while: list[tuple[Phase, bool]] = []  # (phase, component on screen) as the timer hid it

    def make() -> ComponentDisplayScreen:
        display = screen(reveal, timeout=0.5)
        hide = display.hide

        def timed_hide(clear: bool = True) -> None:
            hidden_while.append((display.phase, bool(display.query("#component-text"))))
            hide(clear)

        display.hide = timed_hide  # type: ignore[method-assign]
        return display

    app = app_with(make)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("s")  # the only key: what hides it is the timer
        await pilot.pause()
        display = app.screen
        assert isinstance(display, ComponentDisplayScreen)
        # A loaded machine may reach the timeout before this line: what the timer hid is kept.
        deadline = time.monotonic() + STUCK  # nobody presses a key: it hides itself
        while display.phase is not Phase.HIDDEN:
            assert time.monotonic() < deadline, "the component never hid itself"
            await pilot.pause(0.1)
        await pilot.pause()
        assert hidden_while == [(Phase.SHOWN, True)]
        assert not shows_component(screen_text(app))


async def test_the_kcv_typed_back_is_checked_without_revealing_it(no_key_guard: None) -> None:
    results: list[DisplayResult | None] = []
    reveal = Reveal()
    app = app_with(lambda: screen(reveal))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.dismiss = lambda result=None: results.append(result)  # type: ignore[method-assign,assignment]
        await pilot.press("s", "x")
        await pilot.pause()
        await pilot.press(*keys_for("ABCDEF\n"))
        await pilot.pause()
        text = screen_text(app)
        assert "This is not the KCV that was shown" in text
        assert CHECK.hex not in text  # the right value is never offered
        assert results == []
        await pilot.press(*keys_for(CHECK.hex.lower() + "\n"))
        await pilot.pause()
        assert len(results) == 1
        result = results[0]
        assert result is not None and result.confirmed and result.typed_kcv == CHECK


async def test_help_or_abort_while_shown_hides_the_component_first() -> None:
    reveal = Reveal()
    app = app_with(lambda: screen(reveal))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        display = app.screen
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(display, ComponentDisplayScreen)
        assert display.phase is Phase.HIDDEN
        assert not display.query("#shown")
        assert not re.search("|".join(VALUE_HEX), screen_text(app))


async def test_the_journal_panel_still_shows_the_newest_entry_after_the_display(
    no_key_guard: None,
) -> None:
    # The panel is hidden while the component is shown (room for the QR code); shown at once
    # after the privacy confirmation, it must not come back at the genesis entry.
    entries = fixtures.entries(30)
    app = app_with(
        lambda: ComponentDisplayScreen(
            fixtures.EMMA, WHAT, Reveal(), CHECK, privacy_confirmed=True
        ),
        journal=entries,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("space")
        await pilot.pause()
        await pilot.pause()
        scroll = app.screen.query_one("#journal-scroll", VerticalScroll)
        assert scroll.max_scroll_y > 0 and scroll.scroll_y == scroll.max_scroll_y
        text = screen_text(app)
        assert entry_line(entries[-1]).plain[:20] in text
        assert entry_line(entries[0]).plain not in text  # the genesis entry is scrolled away

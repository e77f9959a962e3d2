"""The installed ``ceremony`` console script in a real terminal (tmux): a short rehearsal typed
key by key and read back with ``capture-pane``. This catches what Pilot cannot: the entry point,
``ceremony`` with no arguments opening the TUI, the terminal, and the packaged stylesheet.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ceremony.core import journal
from ceremony.hsm import config
from ceremony.tui.screens.component_display import ComponentDisplayScreen
from tests.conftest import STUCK
from tests.hsm.conftest import FixedPinPrompter

pytestmark = [pytest.mark.hsm, pytest.mark.slow]

DATA = Path(__file__).resolve().parent / "data"
SCRIPT = Path(sys.executable).parent / "ceremony"
OFFICER_PASSPHRASE = "passphrase of {}"
# Where each kind of answer is typed: the placeholder of its input, or the label above it.
SECRET = "typed, never shown"
TEXT = "type here, then Enter"
APPROVAL = "2. Type your approval passphrase, then Enter"


def flat(screen: str) -> str:
    """The main column's text as one line: the journal panel cut off, wrapped lines joined."""
    return " ".join(" ".join(line.split("▏")[0].split()) for line in screen.splitlines())


class Terminal:
    """One tmux server of our own (its own socket), one 120x40 window."""

    def __init__(self, socket: str) -> None:
        self.socket = socket
        self.pressed_again = False  # a Y was pressed twice: clear the next field first

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return result.stdout

    def start(self, folder: Path, env: dict[str, str], command: str) -> None:
        exports = [arg for k, v in env.items() for arg in ("-e", f"{k}={v}")]
        self.tmux(
            "new-session", "-d", "-s", "ceremony", "-x", "120", "-y", "40", "-c", str(folder),
            *exports, f"{command}; echo CEREMONY-EXIT=$?; sleep 60",
        )  # fmt: skip

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "ceremony")

    def history(self) -> str:
        return self.tmux("capture-pane", "-p", "-S", "-", "-t", "ceremony")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "ceremony", *keys)

    def choose_first(self) -> None:
        """Enter on a list of names, once the list has the focus, as a person waits for the
        highlighted name: an Enter before that goes to no list and is lost (under load the
        screen is drawn before its list takes the focus). The first one answers."""
        highlighted = re.compile(r"\x1b\[48;5;32m[A-Z]")  # the focused list's highlighted row
        deadline = time.monotonic() + STUCK
        while not highlighted.search(self.styled()):
            if time.monotonic() > deadline:
                raise AssertionError(f"the list of names never had the focus:\n{self.screen()}")
            time.sleep(0.1)
        self.keys("Enter")

    def cursor(self) -> tuple[int, int]:
        x, y = self.tmux("display", "-p", "-t", "ceremony", "#{cursor_x} #{cursor_y}").split()
        return int(x), int(y)

    def wait_for_field(self, placeholder: str | None = None, *, below: str | None = None) -> None:
        """Wait until the field to type into has the focus, as a person waits for the cursor.

        Keys sent before would go to the widget that had it (the list of names, or none). An
        empty field with a ``placeholder`` shows the focus as the blinking cursor cell on its
        first character: a style of its own, then the rest. A field without one (the approval
        passphrase, reached by Enter on a name) has the terminal cursor, which Textual moves to
        the focused input, on the line under its label ``below``; tmux puts it one cell right of
        the field's first character.
        """
        style = r"(?:\x1b\[[0-9;]*m)+"
        cursor_cell = (
            re.compile(style + re.escape(placeholder[0]) + style + re.escape(placeholder[1:]))
            if placeholder is not None
            else None
        )
        deadline = time.monotonic() + STUCK
        while time.monotonic() < deadline:
            if cursor_cell is not None and cursor_cell.search(self.styled()):
                return
            if below is not None:
                screen = self.screen().splitlines()
                x, y = self.cursor()
                if 0 < y < len(screen) and screen[y - 1].find(below) in (x - 1, x):
                    return
            time.sleep(0.1)
        raise AssertionError(
            f"the field {placeholder or below!r} never had the focus:\n{self.screen()}"
        )

    def styled(self) -> str:
        """The screen with its styles (escape sequences), to see where the cursor is drawn."""
        return self.tmux("capture-pane", "-p", "-e", "-t", "ceremony")

    def type(self, text: str, placeholder: str | None = None, *, below: str | None = None) -> None:
        """Type ``text`` and Enter, once the field (``placeholder`` or ``below``) has the focus.

        After a repeated Y (``confirm``), Ctrl-U first clears what it may have left there.
        """
        self.wait_for_field(placeholder, below=below)
        if self.pressed_again:
            self.keys("C-u")
            self.pressed_again = False
        self.tmux("send-keys", "-t", "ceremony", "-l", text)
        self.keys("Enter")

    def confirm(self, asked: str, then: str, *, key: str = "y") -> None:
        """``key`` at the screen that shows ``asked``, again while it does, until ``then`` shows.

        A person presses Y again when a screen does not react (the runbook says so): under load
        a Y can reach the app while the engine replaces the screen, and is then dropped as a key
        typed for the screen before. A Y that lands on the next screen is cleared by ``type``.
        """
        deadline = time.monotonic() + STUCK
        presses = 0
        while True:
            self.keys(key)
            presses += 1
            self.pressed_again = presses > 1
            retry = time.monotonic() + 5.0  # when to press again, not a limit on the ceremony
            while time.monotonic() < retry:
                screen = flat(self.screen())
                if then in screen:
                    return
                if "CEREMONY-EXIT=" in screen:
                    raise AssertionError(f"the program ended:\n{self.screen()}")
                time.sleep(0.2)
            if time.monotonic() > deadline:
                raise AssertionError(f"{then!r} never appeared:\n{self.screen()}")
            if asked not in flat(self.screen()):
                self.wait_for(then)  # another screen is up: the Y was taken, wait on
                return

    def press_until(self, key: str, text: str, again: float = 2.0) -> str:
        """Press ``key`` until ``text`` shows, as a person presses again when nothing happens:
        a key that lands while the screen still settles is dropped on purpose (held keys)."""
        deadline = time.monotonic() + STUCK
        while time.monotonic() < deadline:
            self.keys(key)
            try:
                return self.wait_for(text, timeout=again)
            except AssertionError:
                if "CEREMONY-EXIT=" in self.screen():
                    raise
        raise AssertionError(f"{text!r} never appeared; the screen shows:\n{self.screen()}")

    def wait_for(self, text: str, timeout: float = STUCK) -> str:
        """Wait until ``text`` shows, even wrapped over lines beside the journal panel."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen or text in flat(screen):
                return screen
            if "CEREMONY-EXIT=" in screen:
                break  # the program ended
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen shows:\n{self.screen()}")

    def close(self) -> None:
        found = subprocess.run(
            ["tmux", "-L", self.socket, "display", "-p", "#{socket_path}"],
            capture_output=True,
            text=True,
        )
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
        if found.returncode == 0 and found.stdout.strip():
            Path(found.stdout.strip()).unlink(missing_ok=True)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    if not SCRIPT.is_file():
        pytest.skip(f"the console script {SCRIPT} is not installed")
    term = Terminal(f"ceremony-test-{os.getpid()}")
    try:
        yield term
    finally:
        term.close()


def test_the_console_script_runs_a_rehearsal_in_a_terminal(
    terminal: Terminal, token: FixedPinPrompter, tmp_path: Path
) -> None:
    (tmp_path / "ceremony.toml").write_text((DATA / "rehearsal.toml").read_text("utf-8"))
    env = {
        config.ENV_STATE_DIR: os.environ[config.ENV_STATE_DIR],
        config.ENV_TOKEN_LABEL: os.environ[config.ENV_TOKEN_LABEL],
        "TERM": "xterm-256color",
        # The test runner's own COLUMNS/LINES would override the terminal's size in Textual.
        "COLUMNS": "120",
        "LINES": "40",
    }
    # `ceremony` alone, at a terminal, opens the TUI on its start screen.
    terminal.start(tmp_path, env, str(SCRIPT))
    terminal.wait_for("Ceremony file (path, then Enter)")
    terminal.type("ceremony.toml", "ceremony.toml")
    terminal.wait_for("Ceremony 2025-07-tui-rehearsal: split-backup")
    terminal.keys("F5")
    for person in ("amartin", "bnoor", "cwright", "ebrown", "fgarcia"):
        terminal.wait_for("to confirm you are")
        terminal.confirm("to confirm you are", "choose your approval passphrase")
        terminal.type(OFFICER_PASSPHRASE.format(person), SECRET)
        terminal.wait_for("type your approval passphrase again")
        terminal.type(OFFICER_PASSPHRASE.format(person), SECRET)
    terminal.wait_for("Read an independent clock")
    terminal.choose_first()  # Alice Martin answers
    terminal.type("same", TEXT)
    terminal.wait_for("type the user PIN")
    terminal.choose_first()
    terminal.type(token.user_pin, SECRET)
    approvals = 0
    components: list[str] = []
    answered = ""
    deadline = time.monotonic() + STUCK
    while True:
        assert time.monotonic() < deadline, f"stuck at:\n{terminal.screen()}"
        screen = terminal.wait_for("Now at the keyboard")
        text = flat(screen)
        if "The ceremony is finished." in text:
            break
        # What the screen asks, without what typing changes on the same screen (the masked
        # passphrase, the highlighted name): an answered screen still up under load is not new.
        prompt = " ".join(re.sub("[•▊]", " ", text.split("Now at the keyboard", 1)[1]).split())
        prompt = prompt[:300]
        if prompt == answered:
            time.sleep(0.2)  # still the screen just answered
            continue
        answered = prompt
        if "1. Select your own name" in text:
            approvals += 1
            first = re.search(r"▊ (\w+) \w+, ", screen)
            assert first is not None
            who = {"Alice": "amartin", "Bilal": "bnoor", "Chloe": "cwright"}[first.group(1)]
            terminal.choose_first()
            terminal.type(OFFICER_PASSPHRASE.format(who), below=APPROVAL)
        elif "can and cannot do" in text:  # the preflight, read aloud after login
            terminal.choose_first()
            terminal.keys("y")
        elif "when nobody else can see the screen" in text:
            shown = terminal.press_until("y", "Press any key to hide it")
            kcv = re.search(r"KCV: AES-CMAC ([0-9A-F]{6})", shown)
            value = re.search(r"^ 01: ([0-9A-F ]+ [G-Z])", shown, re.MULTILINE)
            assert kcv is not None and value is not None
            components.append(value.group(1))
            time.sleep(ComponentDisplayScreen.KEY_GUARD + 0.3)  # keys at once are ignored
            terminal.keys("Space")
            hidden = terminal.wait_for("is hidden and the screen was cleared")
            assert value.group(1) not in hidden
            terminal.type(kcv.group(1), "hex digits")
        else:
            answered = ""
            time.sleep(0.2)
    assert approvals == 6 and len(components) == 2
    final = re.search(
        r"Final journal hash \(read it aloud\): ([0-9A-F]{4}(?: [0-9A-F]{4}){3})",
        flat(terminal.screen()),
    )
    assert final is not None
    # Nothing of a component is left in the terminal or its scrollback.
    history = terminal.history()
    assert not any(c in history for c in components)
    terminal.confirm("The ceremony is finished.", "CEREMONY-EXIT=0", key="q")
    # The journal the console script wrote verifies and ends with the hash on screen.
    (path,) = (tmp_path / "out").glob("*.journal.jsonl")
    verified = journal.verify(path.read_bytes(), require_closed=True)
    assert verified.finished
    assert journal.hash_groups(verified.final_hash).startswith(final.group(1))

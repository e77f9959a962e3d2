"""An unhandled error in the app prints its traceback with no local variable (a PIN, a key)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_APP = """
import sys
from {module} import {name} as Base

class Failing(Base):
    def on_mount(self):
        pin = sys.argv[1]  # a frame holding a secret, as a PIN screen's handler would
        raise RuntimeError("the app failed on purpose")

Failing().run(headless=True, size=(100, 30))
"""


def _crash(module: str, name: str, marker: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", _APP.format(module=module, name=name), marker],
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.stdout + result.stderr


def test_the_traceback_holds_no_local_variable() -> None:
    marker = f"pin-{secrets.token_hex(8)}"
    # The control: Textual's own App prints the frame's locals, marker included.
    assert marker in _crash("textual.app", "App", marker)
    printed = _crash("ceremony.tui.app", "CeremonyApp", marker)
    assert "the app failed on purpose" in printed  # the error is still shown, with its code line
    assert marker not in printed
    assert marker.encode().hex() not in printed.lower()

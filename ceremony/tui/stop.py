"""SIGTERM/SIGHUP in the TUI: the worker journals the abort (as F10 does), then the app exits."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import TYPE_CHECKING

from ceremony.hardening import StopHook, StopSignal

if TYPE_CHECKING:
    from ceremony.tui.app import CeremonyApp

POLL_SECONDS = 0.05


def stop_signal_hook(app: CeremonyApp) -> StopHook:
    """A hook for ``hardening.stop_hook``: runs in the main thread, which runs the event loop."""

    def hook(stop: StopSignal) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise stop from None  # the app is not running (yet): the CLI's Ctrl-C path
        loop.call_soon_threadsafe(_stop, app, stop, loop)

    return hook


def _stop(app: CeremonyApp, stop: StopSignal, loop: asyncio.AbstractEventLoop) -> None:
    run = app.ceremony_run
    if run is None or run.outcome is not None:
        _exit(app, stop)
        return
    run.request_abort(f"{stop} (a stop signal, handled like Ctrl-C)")

    # Polled on the asyncio loop, not with a Textual timer: after a hangup Textual's own timers
    # stop firing. The outcome is set once the machine closed (journal closed, token session
    # closed). With a terminal, exit once the finish screen is mounted too: closing sooner ends
    # the app under a screen still mounting.
    def when_journaled() -> None:
        workers = [w for w in app.workers if w.name == "ceremony"]
        if run.outcome is not None and (
            stop.signum == signal.SIGHUP
            or (all(w.is_finished for w in workers) and app.screen.is_mounted)
        ):
            _exit(app, stop)
        else:
            loop.call_later(POLL_SECONDS, when_journaled)

    loop.call_later(POLL_SECONDS, when_journaled)


def _exit(app: CeremonyApp, stop: StopSignal) -> None:
    if stop.signum == signal.SIGHUP:
        # The terminal is gone: Textual's shutdown would block writing to it, and there is
        # nothing on it left to restore.
        os._exit(stop.exit_code)
    app.exit(return_code=stop.exit_code)

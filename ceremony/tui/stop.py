"""SIGTERM/SIGHUP in the TUI: the worker journals the abort (as F10 does), then the app exits."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ceremony.hardening import StopHook, StopSignal

if TYPE_CHECKING:
    from ceremony.tui.app import CeremonyApp


def stop_signal_hook(app: CeremonyApp) -> StopHook:
    """A hook for ``hardening.stop_hook``: runs in the main thread, which runs the event loop."""

    def hook(stop: StopSignal) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise stop from None  # the app is not running (yet): the CLI's Ctrl-C path
        loop.call_soon_threadsafe(_stop, app, stop)

    return hook


def _stop(app: CeremonyApp, stop: StopSignal) -> None:
    run = app.ceremony_run
    if run is None or run.outcome is not None:
        app.exit(return_code=stop.exit_code)
        return
    run.request_abort(f"{stop} (a stop signal, handled like Ctrl-C)")

    # Exit once the worker journaled the abort and put up the finish screen: closing the screens
    # sooner would journal another reason, or end the app under a screen still mounting.
    def when_journaled() -> None:
        workers = [w for w in app.workers if w.name == "ceremony"]
        if run.outcome is not None and all(w.is_finished for w in workers):
            timer.stop()
            app.call_after_refresh(app.exit, return_code=stop.exit_code)

    timer = app.set_interval(0.05, when_journaled)

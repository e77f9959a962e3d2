"""Screens that dismiss once: a second Enter never pops the screen below (the engine's)."""

from __future__ import annotations

from typing import Any, TypeVar, cast

from textual.await_complete import AwaitComplete
from textual.screen import Screen

ResultT = TypeVar("ResultT")


def _nothing() -> AwaitComplete:
    return cast(AwaitComplete, AwaitComplete.nothing())  # type: ignore[no-untyped-call]


class DismissOnce(Screen[ResultT]):
    """``dismiss`` answers once, and only from the top of the stack.

    Textual's ``dismiss`` pops whatever screen is on top: a second call (a doubled Enter, a held
    key, a timer and a key together) would pop the working screen under this one and leave the
    engine's worker with nowhere to show anything. A call while a modal covers this screen (F1
    help) waits until the screen is on top again.
    """

    _dismissed = False
    _pending: tuple[Any, ...] = ()

    @property
    def dismissed(self) -> bool:
        return self._dismissed

    def dismiss(self, result: ResultT | None = None) -> AwaitComplete:
        if self._dismissed or self._pending or not self.is_attached:
            return _nothing()
        if self.app.screen is not self:
            if self in self.app.screen_stack:
                self._pending = (result,)  # covered by a modal: answered once it closes
            return _nothing()
        self._dismissed = True
        return super().dismiss(result)

    def on_screen_resume(self) -> None:
        if self._pending and self.app.screen is self:
            (result,), self._pending = self._pending, ()
            self.dismiss(result)

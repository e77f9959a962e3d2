"""The text on a running app's screen, line by line, as a person would read it."""

from __future__ import annotations

from typing import Any

from textual.app import App


def screen_text(app: App[Any]) -> str:
    strips = app.screen._compositor.render_strips(app.size)
    return "\n".join("".join(segment.text for segment in strip).rstrip() for strip in strips)


def static_text(app: App[Any], selector: str) -> str:
    """The text of one Static on the current screen, unwrapped."""
    from textual.widgets import Static

    content = app.screen.query_one(selector, Static).content
    return content.plain if hasattr(content, "plain") else str(content)

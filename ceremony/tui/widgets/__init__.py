"""Widgets of the ceremony TUI: the shell (header, keyboard line, journal) and the entry forms."""

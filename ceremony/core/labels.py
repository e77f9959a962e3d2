"""The one label rule of the ceremony file, the journal, the registry and the bundle folders."""

from __future__ import annotations

import re
from typing import TypeGuard

LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Said in every message that refuses a label, so the custodian reads the same rule everywhere.
LABEL_RULE = "1-64 letters, digits, '.', '-' or '_', starting with a letter or digit"


def is_label(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a string that follows the label rule (it also names a folder)."""
    return isinstance(value, str) and LABEL.fullmatch(value) is not None


_RESTART = re.compile(r"(?P<base>.+)\.r(?P<attempt>[2-9]|[1-9][0-9]{1,3})")


def restart_id(ceremony_id: str, attempt: int) -> str:
    """The id of attempt ``attempt`` (2, 3, ...) of the ceremony file whose id is ``ceremony_id``.

    A rerun after an interruption is a new ceremony linked to the aborted one; its id is the
    file's id with ``.r<attempt>``, shortened at the end of the file's id to stay a label. The
    dot keeps a digit added to a long mixed-case id from reading as base64 to ``looks_secret``.
    """
    if attempt == 1:
        return ceremony_id
    suffix = f".r{attempt}"
    return ceremony_id[: 64 - len(suffix)] + suffix


def attempt_of(ceremony_id: str, candidate: str) -> int | None:
    """Which attempt of the file whose id is ``ceremony_id`` ``candidate`` is (None: another)."""
    if candidate == ceremony_id:
        return 1
    match = _RESTART.fullmatch(candidate)
    if match is None:
        return None
    attempt = int(match["attempt"])
    return attempt if restart_id(ceremony_id, attempt) == candidate else None

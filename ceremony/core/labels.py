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

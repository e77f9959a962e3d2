"""A fresh scripted rehearsal folder for the rehearsal token this environment names."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path


def write_rehearsal(folder: Path, now: datetime) -> tuple[Path, Path]:
    """Write the demo ceremony file, its answers and throw-away import keys into ``folder``.

    Returns (ceremony file, answers). The RSA import keys are made here, which takes a moment.
    """
    # Deferred: the TUI's start screen loads the HSM layer only when a demo is asked for.
    from ceremony.hsm import config
    from ceremony.rehearsal import ThrowawayImportKeys, write_demo

    hsm = config.resolve()
    return write_demo(
        folder,
        now,
        hsm.token_label or config.DEFAULT_TOKEN_LABEL,
        hsm.module_path,
        ThrowawayImportKeys.generate(),
    )

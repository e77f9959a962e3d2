"""Where the evidence an auditor names lies: its output folder, record and ceremony folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ceremony.errors import VerifyError
from ceremony.record.sign import RECORD_NAME, SIGNATURE_NAME, journal_path


@dataclass(frozen=True)
class Located:
    """What ``ceremony verify`` checks, found from the path the auditor gave.

    ``folder`` is the ceremony's output folder (record.pdf, the journal, journal.sig and the
    bundle/ of outputs), None for a record.pdf on its own; ``ceremony_folder`` is the folder
    of the ceremony file, when the path given was it or it holds the output folder.
    """

    given: Path
    pdf: Path
    folder: Path | None
    ceremony_folder: Path | None = None
    explicit_ceremony_folder: bool = False  # the auditor gave the ceremony folder itself

    @property
    def subject(self) -> str:
        if self.folder is None or self.folder == self.given:
            return str(self.given)
        return f"{self.folder} (the output folder of the ceremony; given: {self.given})"


def _is_output_folder(folder: Path) -> bool:
    """The engine's output folder: it holds the record, its signature or the journal."""
    return any(
        os.path.lexists(folder / name) for name in (RECORD_NAME, SIGNATURE_NAME)
    ) or os.path.lexists(journal_path(folder))


_UP = 4  # out/bundle/<key>/<target>: the deepest folder an auditor may be handed


def locate(path: Path) -> Located:
    """The evidence ``path`` belongs to: the ceremony folder, its out/, out/bundle/ (or any
    folder below it), or record.pdf, alone or in its output folder. VerifyError when none is.
    """
    hint = (
        "give the ceremony folder, its output folder (out/, with record.pdf and the journal), "
        "out/bundle/, or record.pdf"
    )
    if not os.path.lexists(path):
        raise VerifyError(f"{path} does not exist", hint=hint)
    if not path.is_dir():
        # record.pdf in its output folder is checked with the journal and outputs beside it
        parent = path.parent
        beside = os.path.lexists(parent / SIGNATURE_NAME) or os.path.lexists(journal_path(parent))
        if path.name == RECORD_NAME and beside:
            return Located(path, path, parent, _ceremony_folder_above(parent))
        return Located(path, path, None)
    if _is_output_folder(path):
        return Located(path, path / RECORD_NAME, path, _ceremony_folder_above(path))
    for up in list(path.absolute().parents)[:_UP]:
        if _is_output_folder(up):
            return Located(path, up / RECORD_NAME, up, _ceremony_folder_above(up))
    below = [
        folder
        for child in _subfolders(path)
        for folder in [child, *_subfolders(child)]
        if _is_output_folder(folder)
    ]
    if len(below) == 1:
        folder = below[0]
        return Located(path, folder / RECORD_NAME, folder, path, explicit_ceremony_folder=True)
    if below:
        raise VerifyError(
            f"{path} holds the evidence of {len(below)} ceremonies: "
            + ", ".join(str(c) for c in below),
            hint="give one of these folders",
        )
    raise VerifyError(
        f"{path} holds no ceremony evidence: no {RECORD_NAME}, {SIGNATURE_NAME} or "
        "<ceremony id>.journal.jsonl in it, in a folder above it or in one below it",
        hint=hint,
    )


def _subfolders(folder: Path) -> list[Path]:
    try:
        return sorted(c for c in folder.iterdir() if c.is_dir() and not c.is_symlink())
    except OSError:
        return []


def _ceremony_folder_above(folder: Path) -> Path | None:
    """The folder above the output folder, when it holds TOML files (maybe the ceremony file)."""
    parent = folder.absolute().parent
    try:
        return parent if any(p.suffix == ".toml" for p in parent.iterdir()) else None
    except OSError:
        return None

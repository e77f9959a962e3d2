"""Every output checked before any key exists: the folder, each name, free space, the registry."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from ceremony.core.ceremony_file import CeremonyType
from ceremony.core.labels import LABEL_RULE, is_label
from ceremony.engine.context import Context, Flow
from ceremony.engine.step_id import Family, StepId
from ceremony.errors import OutputError, OutputExistsError
from ceremony.output import remove_partials

STAGE = StepId(Family.OUTPUTS_CHECK)

# What a run writes, generously: the journal, record.pdf (the journal attached, one page per
# step) and journal.sig; each target's bundle folder; each rehearsal form (a PDF with a QR).
RECORD_BYTES = 8 << 20
TARGET_BYTES = 256 << 10
FORM_BYTES = 1 << 20
REGISTRY_BYTES = 1 << 20  # and twice its present size: the new one is written beside it


@dataclass
class Plan:
    """What this run will write, known before it starts."""

    folder: Path
    names: list[str] = field(default_factory=list)  # under the output folder, made new
    bytes: int = RECORD_BYTES


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer may still use on the filesystem of ``path``."""
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def plan(ctx: Context) -> Plan:
    """The outputs of this run: the bundle folder (if any), the record, their sizes."""
    cf = ctx.cf
    out = Plan(ctx.output)
    bundle: list[str] = []
    for key in cf.keys:
        seen: set[str] = set()
        for target in key.targets:
            _require_name(key.label, "key label")
            _require_name(target.label, f"target label of key {key.label!r}")
            if target.label in seen:
                raise OutputExistsError(
                    f"key {key.label!r} names target {target.label!r} twice: both would write "
                    f"{ctx.bundle_name}/{key.label}/{target.label}/",
                    hint="give each target of a key its own label; nothing was written",
                )
            seen.add(target.label)
            bundle.append(f"{key.label}/{target.label}/")
            out.bytes += TARGET_BYTES
        if ctx.rehearsal and cf.issues_components:
            split = key.new_split if cf.ceremony.type is CeremonyType.RE_SPLIT else key.split
            if split is not None and split.components:
                _require_name(key.label, "key label")
                bundle.append(f"forms/{key.label}/")
                out.bytes += FORM_BYTES * len(split.components)
    if bundle:
        out.names.append(ctx.bundle_name)
    from ceremony.record import sign  # deferred: reportlab and pyHanko load only to sign

    out.names += [sign.RECORD_NAME, sign.SIGNATURE_NAME]
    return out


def _require_name(text: str, what: str) -> None:
    if not is_label(text) or text.startswith("."):
        raise OutputError(
            f"the {what} {text[:70]!r} cannot name an output folder",
            hint=f"use {LABEL_RULE}; nothing was written",
        )


def outputs_check(ctx: Context) -> Flow[None]:
    """Refuse now what would otherwise stop the ceremony after a key was made or shown."""
    ctx.stage(STAGE)
    out = plan(ctx)
    # A run killed while writing left files beside their final names: never one of its outputs.
    swept = remove_partials(out.folder, recursive=True)
    if ctx.registry is not None:
        swept += remove_partials(ctx.registry.path.parent)
    if swept:
        ctx.notice(
            f"Removed {len(swept)} unfinished file(s) an interrupted run was writing "
            f"({', '.join(p.name for p in swept[:3])}{', ...' if len(swept) > 3 else ''})."
        )
    _require_writable(out.folder, "the output folder")
    for name in out.names:
        path = out.folder / name
        if os.path.lexists(path):
            raise OutputExistsError(
                f"{path} already exists: this run would have to write it",
                hint="move it away or pick a new ceremony.output folder; nothing is "
                "overwritten, and nothing was generated yet",
            )
    _require_room(out.folder, out.bytes, "the bundle and the record")
    if ctx.registry is not None and (ctx.cf.issues_components or ctx.cf.ceremony.type in _ENTERS):
        registry = ctx.registry.path
        # What write_registry makes: the earlier registry kept under this name, then the new one.
        kept = registry.with_name(f"{registry.name}.before-{ctx.ceremony_id}-run{ctx.run}")
        if os.path.lexists(kept):
            raise OutputExistsError(
                f"{kept} already exists: this run would have to write it",
                hint="move it away; nothing is overwritten, and nothing was generated yet",
            )
        folder = _existing(registry.parent)  # a missing folder is made when it is written
        _require_writable(folder, "the registry's folder")
        size = registry.stat().st_size if registry.exists() else 0
        _require_room(folder, REGISTRY_BYTES + 2 * size, "the custodian registry")
    ctx.notice(
        f"Outputs: {out.folder} is writable, has room, and none of {', '.join(out.names)} "
        "exists yet."
    )
    yield from ()  # a step like the others; it asks nothing


_ENTERS = (CeremonyType.RECONSTITUTE, CeremonyType.RE_SPLIT)
NAME_MAX = 255  # bytes of one path component, on every filesystem the workstation mounts


def check_ahead(folder: Path, bundle_name: str = "bundle") -> str:
    """What ``ceremony check`` (which writes nothing) can tell of the output folder now.

    The run's own check (``outputs_check``) proves writability and room with the run's names;
    this one refuses what would stop the run at that check for certain.
    """
    hint = "give ceremony.output a folder that can be made on a mounted, writable medium"
    for part in folder.parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise OutputError(
                f"the output folder {str(folder)[:80]}... has a name of more than {NAME_MAX} bytes",
                hint=hint,
            )
    if os.path.lexists(folder) and not folder.is_dir():
        raise OutputError(f"the output folder {folder} is there and is not a folder", hint=hint)
    existing = _existing(folder)
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(
            f"the output folder {folder} cannot be made or written: {existing} is not a "
            "writable folder",
            hint=hint,
        )
    journals = list(folder.glob("*.journal.jsonl")) if folder.is_dir() else []
    if not journals and os.path.lexists(folder / bundle_name):
        raise OutputExistsError(
            f"{folder / bundle_name} already exists: the run would have to write it",
            hint="move it away or pick a new ceremony.output folder; nothing is overwritten",
        )
    if journals:
        return f"Outputs: {folder} holds the journal(s) of an earlier attempt; a run restarts it."
    return f"Outputs: {folder} can be made and written; nothing in it would be overwritten."


def _existing(folder: Path) -> Path:
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder


def _require_writable(folder: Path, what: str) -> None:
    """A file can be made there, and removed: proved with a probe, not guessed from modes."""
    probe = folder / f".outputs-check.{secrets.token_hex(4)}.partial"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as ex:
        raise OutputError(
            f"{what} {folder} is not writable: {ex.strerror or ex}",
            hint="check the medium (mounted, not write-protected) and ceremony.output; "
            "nothing was generated yet",
        ) from None
    os.close(fd)
    os.unlink(probe)


def _require_room(folder: Path, needed: int, what: str) -> None:
    try:
        free = free_bytes(folder)
    except OSError as ex:
        raise OutputError(
            f"the free space of {folder} cannot be read: {ex.strerror or ex}",
            hint="check the medium; nothing was generated yet",
        ) from None
    if free < needed:
        raise OutputError(
            f"{folder} has {_mib(free)} free; {what} need up to {_mib(needed)}",
            hint="free space on the medium or use a larger one; nothing was generated yet",
        )


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"

"""The custodian registry on disk: read once, then replaced by a superset; the old version kept."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ceremony.core.journal import FileDigest
from ceremony.core.registry import MAX_REGISTRY, Registry, parse_registry, serialise_registry
from ceremony.errors import OutputError, OutputExistsError
from ceremony.output import install
from ceremony.reading import read_file_if_present

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class RegistryFile:
    """The registry as read at the start of a ceremony (``data`` None: it did not exist)."""

    path: Path
    registry: Registry
    data: bytes | None

    @property
    def sha256(self) -> FileDigest | None:
        """The digest of the bytes read (None: there was no file)."""
        return FileDigest.of(self.data) if self.data is not None else None

    @classmethod
    def read(cls, path: Path) -> RegistryFile:
        data = read_file_if_present(
            path,
            "custodian registry",
            cap=MAX_REGISTRY,
            error=OutputError,
            hint="check the path in the ceremony file and that the medium is mounted",
        )
        if data is None:
            return cls(path, Registry(), None)
        return cls(path, parse_registry(data), data)


@dataclass(frozen=True)
class RegistryWrite:
    sha256: FileDigest
    previous_sha256: FileDigest | None
    kept_as: Path | None  # where the version it replaced stays
    records: int


def write_registry(start: RegistryFile, new: Registry, tag: str) -> RegistryWrite:
    """Replace the registry with ``new``, which must extend what was read at the start.

    The version read at the start stays beside it as ``<name>.before-<tag>`` (a hard link made
    with exclusive create), so no record is ever lost; the new version is written to a
    temporary name, fsynced and renamed into place, then the folder is fsynced. A registry that
    changed on disk since the start is refused: two ceremonies never race on it.
    """
    path = start.path
    if new.records[: len(start.registry.records)] != start.registry.records:
        raise OutputError(
            "the new custodian registry does not keep every earlier record",
            hint="this is a bug; nothing was written",
        )
    current = read_file_if_present(
        path,
        "custodian registry",
        cap=MAX_REGISTRY,
        error=OutputError,
        hint="check the medium; nothing was written",
    )
    if current != start.data:
        raise OutputError(
            f"the custodian registry {path} changed during the ceremony",
            hint="another ceremony wrote it; merge by hand under dual control, then record it",
        )
    data = serialise_registry(new)
    medium = (
        "free space on the medium (or make it writable), then run the same file again: the "
        "earlier registry is unchanged"
    )
    kept: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if current is not None:
            kept = path.with_name(f"{path.name}.before-{tag}")
            try:
                os.link(path, kept, follow_symlinks=False)
            except FileExistsError:
                raise OutputExistsError(
                    f"{kept} already exists", hint="this run's registry was already written"
                ) from None
        try:
            # Exclusive when there was none: never over a registry made meanwhile.
            install(path, data, replace=current is not None)
        except FileExistsError:
            raise OutputError(
                f"the custodian registry {path} appeared during the ceremony",
                hint="another ceremony wrote it; merge by hand under dual control, then record it",
            ) from None
    except OSError as ex:
        raise OutputError(
            f"writing the custodian registry {path} failed: {ex.strerror or ex}", hint=medium
        ) from ex
    return RegistryWrite(
        FileDigest.of(data),
        FileDigest.of(current) if current is not None else None,
        kept,
        len(new.records),
    )

"""Write a bundle to disk: exclusive folder, O_EXCL files, fsync; never overwrite, no leftovers."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

from ceremony.core.providers.common import BundleFile
from ceremony.errors import OutputError, OutputExistsError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# Filesystems without hard links (FAT/exFAT USB sticks) answer link() with one of these.
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV, errno.ENOSYS}
_PARTIAL = ".partial"
# What install_at writes beside a final name; a kill may leave one. Nothing else has this form.
_PARTIAL_NAME = re.compile(r"\..+\.[0-9a-f]{8}\.partial")
REHEARSAL_NOTE = b"REHEARSAL output: made for practice, never import it into a production key.\n"


def _create_at(dir_fd: int, name: str, data: bytes, mode: int) -> None:
    """O_EXCL create, write whole, fsync; raises FileExistsError on an existing name.

    A failure after the create removes the file: no name ever keeps partial content.
    """
    fd = os.open(name, _FILE_FLAGS, mode, dir_fd=dir_fd)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=dir_fd)
        raise
    finally:
        os.close(fd)


def install_at(dir_fd: int, name: str, data: bytes, mode: int, *, replace: bool = False) -> None:
    """Put ``data`` under ``name`` so that the name only ever shows complete, fsynced content.

    Written beside (O_EXCL, fsync), then hard-linked into place, which refuses an existing name
    (FileExistsError), or renamed over it when ``replace``. Where the filesystem has no hard
    links (FAT/exFAT), the final name is created with O_EXCL directly. The caller fsyncs the
    folder. The one writer of new files: bundles, the journal's first line and the registry.
    """
    temporary = f".{name}.{secrets.token_hex(4)}{_PARTIAL}"
    _create_at(dir_fd, temporary, data, mode)
    try:
        if replace:
            os.replace(temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        else:
            try:
                os.link(
                    temporary, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False
                )
            except OSError as ex:
                if ex.errno not in _NO_LINKS:
                    raise
                _create_at(dir_fd, name, data, mode)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=dir_fd)


def install(path: Path, data: bytes, mode: int = 0o600, *, replace: bool = False) -> None:
    """``install_at`` by path, then the folder is fsynced (opened without following a link)."""
    dir_fd = os.open(path.parent, _DIR_FLAGS)
    try:
        install_at(dir_fd, path.name, data, mode, replace=replace)
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def is_partial(name: str) -> bool:
    """Whether ``name`` is a file ``install_at`` was writing beside its final name."""
    return _PARTIAL_NAME.fullmatch(name) is not None


def remove_partials(folder: Path, *, recursive: bool = False) -> list[Path]:
    """Remove what an interrupted ``install_at`` left in ``folder``; the paths removed.

    Such a file never held a final name, so nothing refers to it; removing it keeps a rerun or
    a verify from stumbling over it. A missing folder has none.
    """
    removed: list[Path] = []
    try:
        walk = os.walk(folder, followlinks=False) if recursive else [next(os.walk(folder))]
    except StopIteration:
        return removed
    for dirpath, dirnames, filenames in walk:
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if is_partial(name) and not path.is_symlink():
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed.append(path)
    return removed


def rehearsal_marker() -> BundleFile:
    """``REHEARSAL.txt``: the file that marks a rehearsal's bundle (ceremony and wrap alike)."""
    return BundleFile("REHEARSAL.txt", REHEARSAL_NOTE)


def _split(name: str) -> list[str]:
    parts = name.split("/")
    if (
        not name
        or "\\" in name
        or "\0" in name
        or any(p in ("", ".", "..") or p.startswith(".") for p in parts)
    ):
        raise OutputError(
            f"{name[:100]!r} is not a safe relative file name",
            hint="this is a bug in the bundle plan; nothing was written",
        )
    return parts


class _Writer:
    """Keeps track of everything it made so that a failure can remove exactly that."""

    def __init__(self, root: Path, dir_mode: int, file_mode: int) -> None:
        self.root = root
        self.dir_mode = dir_mode
        self.file_mode = file_mode
        self.dir_fds: dict[tuple[str, ...], int] = {}
        self.made_dirs: list[tuple[str, ...]] = []  # in creation order
        self.made_files: list[tuple[tuple[str, ...], str]] = []

    def open_root(self, create: bool) -> None:
        if create:
            try:
                os.mkdir(self.root, self.dir_mode)
            except FileExistsError:
                raise OutputExistsError(
                    f"{self.root} already exists",
                    hint="pick a new output folder; nothing is overwritten",
                ) from None
            self.made_dirs.append(())
        self.dir_fds[()] = os.open(self.root, _DIR_FLAGS)

    def directory(self, parts: tuple[str, ...]) -> int:
        if parts in self.dir_fds:
            return self.dir_fds[parts]
        parent = self.directory(parts[:-1])
        try:
            os.mkdir(parts[-1], self.dir_mode, dir_fd=parent)
            self.made_dirs.append(parts)
        except FileExistsError:
            pass  # an existing folder is fine; its files are still never overwritten
        self.dir_fds[parts] = os.open(parts[-1], _DIR_FLAGS, dir_fd=parent)
        return self.dir_fds[parts]

    def write(self, file: BundleFile) -> None:
        parts = _split(file.name)
        folder, name = tuple(parts[:-1]), parts[-1]
        dfd = self.directory(folder)
        try:
            install_at(dfd, name, file.data, self.file_mode)
        except FileExistsError:
            raise OutputExistsError(
                f"{self._shown(folder, name)} already exists",
                hint="pick a new output folder; nothing is overwritten",
            ) from None
        self.made_files.append((folder, name))

    def sync(self) -> None:
        for fd in self.dir_fds.values():
            os.fsync(fd)
        parent = os.open(self.root.parent, _DIR_FLAGS & ~os.O_NOFOLLOW)
        try:
            os.fsync(parent)
        finally:
            os.close(parent)

    def undo(self) -> None:
        """Remove what this run made, newest first; leave anything that was already there."""
        for folder, name in reversed(self.made_files):
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=self.dir_fds[folder])
        self.made_files.clear()
        for parts in reversed(self.made_dirs):
            with contextlib.suppress(OSError):
                if parts:
                    os.rmdir(parts[-1], dir_fd=self.dir_fds[parts[:-1]])
                else:
                    os.rmdir(self.root)

    def close(self) -> None:
        for fd in self.dir_fds.values():
            os.close(fd)
        self.dir_fds.clear()

    def _shown(self, folder: tuple[str, ...], name: str) -> str:
        return str(self.root.joinpath(*folder, name))


def write_bundle(
    root: Path | str,
    files: Sequence[BundleFile],
    *,
    create_root: bool = True,
    dir_mode: int = 0o700,
    file_mode: int = 0o600,
) -> list[Path]:
    """Write ``files`` under ``root`` and return their paths; all or nothing.

    ``root`` is created and must not exist, unless ``create_root`` is False (then it must exist
    and only new names are added). Every file is created with O_EXCL beside its final name,
    fsynced, and hard-linked into place (or created with O_EXCL directly where links are not
    supported); folders are fsynced. On any failure what this call made is removed.
    """
    root = Path(root)
    names = [file.name for file in files]
    for name in names:
        _split(name)
    if len(set(names)) != len(names):
        raise OutputError(
            "the bundle plan names a file twice", hint="this is a bug; nothing was written"
        )
    writer = _Writer(root, dir_mode, file_mode)
    try:
        writer.open_root(create_root)
        for file in files:
            writer.write(file)
        writer.sync()
    except OutputExistsError:
        writer.undo()
        raise
    except OSError as ex:
        writer.undo()
        raise OutputError(
            f"writing the bundle under {root} failed: {ex.strerror or ex}",
            hint="check the medium (space, write protection) and run the step again; "
            "nothing of this run was left behind",
        ) from ex
    except BaseException:
        writer.undo()
        raise
    finally:
        writer.close()
    return [root / file.name for file in files]

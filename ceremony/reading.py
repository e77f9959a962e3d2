"""Files from outside: a regular file only, at most a size cap; never a FIFO, device or folder."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ceremony.errors import CeremonyError, ConfigError

# O_NONBLOCK: opening a FIFO for reading never waits for a writer (fstat then refuses it).
_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
_CHUNK = 1024 * 1024


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _not_regular(
    what: str, path: Path | str, mode: int, error: type[CeremonyError]
) -> CeremonyError:
    return error(
        f"the {what} {path} is {_kind(mode)}: only regular files are read",
        hint="give the path of the file itself (not a device, a pipe or a folder)",
    )


def size_text(size: int) -> str:
    """A byte count as a person reads it: 64 KiB, 256 KiB, 8 MiB."""
    for unit, scale in (("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


def read_file(
    path: Path | str,
    what: str,
    *,
    cap: int,
    error: type[CeremonyError] = ConfigError,
    hint: str = "check the path and that the medium is mounted",
    follow_symlinks: bool = True,
) -> bytes:
    """The bytes of the regular file ``path``, at most ``cap`` of them.

    Anything else is refused with ``error`` naming ``what`` the file is meant to be: a FIFO
    (which would wait for a writer for ever), a device (``/dev/zero`` never ends), a folder, a
    file over the cap, or, with ``follow_symlinks=False``, a symbolic link. Never blocks.
    """
    data = read_file_if_present(
        path, what, cap=cap, error=error, hint=hint, follow_symlinks=follow_symlinks
    )
    if data is None:
        raise error(f"the {what} {path} does not exist", hint=hint)
    return data


def read_file_if_present(
    path: Path | str,
    what: str,
    *,
    cap: int,
    error: type[CeremonyError] = ConfigError,
    hint: str = "check the path and that the medium is mounted",
    follow_symlinks: bool = True,
) -> bytes | None:
    """As :func:`read_file`, but None when nothing is at ``path``."""
    flags = _FLAGS | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as ex:
        if ex.errno == errno.ELOOP and not follow_symlinks:
            raise error(
                f"the {what} {path} is a symbolic link: only regular files are read",
                hint="give the file itself, not a link to it",
            ) from None
        try:  # a socket cannot be opened at all (ENXIO): say what it is instead
            mode = os.stat(path).st_mode
        except OSError:
            mode = stat.S_IFREG
        if not stat.S_ISREG(mode):
            raise _not_regular(what, path, mode, error) from None
        raise error(f"cannot read the {what} {path}: {ex.strerror or ex}", hint=hint) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(what, path, info.st_mode, error)
        too_large = error(
            f"the {what} {path} is larger than {size_text(cap)}, more than such a file can "
            "hold: it was not read",
            hint="check the path: this is not the file meant",
        )
        if info.st_size > cap:
            raise too_large
        chunks: list[bytes] = []
        total = 0
        while total <= cap:  # the size may grow while it is read: never past the cap
            chunk = os.read(fd, min(_CHUNK, cap + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > cap:
            raise too_large
        return b"".join(chunks)
    except OSError as ex:
        raise error(f"cannot read the {what} {path}: {ex.strerror or ex}", hint=hint) from None
    finally:
        os.close(fd)


def decode_text(data: bytes, what: str, path: Path | str, error: type[CeremonyError]) -> str:
    """``data`` as UTF-8; else ``error`` naming the line (never the bytes: they may be secret)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as ex:
        line = data.count(b"\n", 0, ex.start) + 1
        raise error(
            f"the {what} {path} is not UTF-8 text (line {line})",
            hint="save it as UTF-8 (plain text) and give it again",
        ) from None


def read_text(
    path: Path | str,
    what: str,
    *,
    cap: int,
    error: type[CeremonyError] = ConfigError,
    hint: str = "check the path and that the medium is mounted",
) -> str:
    """A regular file's UTF-8 text (:func:`read_file`, then decoded), else ``error``."""
    data = read_file(path, what, cap=cap, error=error, hint=hint)
    return decode_text(data, what, path, error)

"""ceremony.reading: only regular files are read, never past the cap, and each refusal says why."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest

from ceremony.errors import ConfigError, VerifyError
from ceremony.reading import read_file, read_file_if_present, read_text, size_text


def test_a_regular_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "f.toml"
    path.write_bytes(b"x" * 1000)
    assert read_file(path, "ceremony file", cap=1000) == b"x" * 1000


def test_one_byte_over_the_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.toml"
    path.write_bytes(b"x" * 1025)
    with pytest.raises(ConfigError, match=r"ceremony file .* is larger than 1 KiB"):
        read_file(path, "ceremony file", cap=1024)


def test_the_error_class_and_hint_are_the_callers(tmp_path: Path) -> None:
    with pytest.raises(VerifyError) as caught:
        read_file(tmp_path / "none", "journal", cap=10, error=VerifyError, hint="give the folder")
    assert caught.value.message == f"the journal {tmp_path / 'none'} does not exist"
    assert caught.value.hint == "give the folder"


def test_missing_is_none_when_asked(tmp_path: Path) -> None:
    assert read_file_if_present(tmp_path / "none", "registry", cap=10) is None


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: os.mkfifo(p), "a FIFO (named pipe)"),
        (lambda p: p.mkdir(), "a folder"),
    ],
)
def test_special_files_are_refused(tmp_path: Path, make: object, kind: str) -> None:
    path = tmp_path / "thing"
    make(path)  # type: ignore[operator]
    with pytest.raises(ConfigError, match=re.escape(f"is {kind}: only regular files are read")):
        read_file(path, "ceremony file", cap=1024)


def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(ConfigError, match="is a socket: only regular files are read"):
            read_file(path, "ceremony file", cap=1024)


def test_a_device_is_refused_without_reading_it() -> None:
    with pytest.raises(ConfigError, match="/dev/zero is a character device"):
        read_file("/dev/zero", "import key file", cap=1024)


def test_a_symlink_is_refused_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "real").write_bytes(b"data")
    (tmp_path / "link").symlink_to("real")
    assert read_file(tmp_path / "link", "file", cap=10) == b"data"
    with pytest.raises(ConfigError, match="is a symbolic link: only regular files are read"):
        read_file(tmp_path / "link", "file", cap=10, follow_symlinks=False)


def test_text_that_is_not_utf8_names_the_line_never_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "answers.toml"
    path.write_bytes(b'[passphrases]\namartin = "caf\xe9"\n')
    with pytest.raises(ConfigError) as caught:
        read_text(path, "answers file", cap=1024)
    assert caught.value.message == f"the answers file {path} is not UTF-8 text (line 2)"
    assert "caf" not in str(caught.value)


def test_sizes_read_as_people_say_them() -> None:
    assert [size_text(n) for n in (65536, 256 * 1024, 8 * 1024**2, 1000)] == [
        "64 KiB",
        "256 KiB",
        "8 MiB",
        "1000 bytes",
    ]

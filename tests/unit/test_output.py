"""The bundle writer never overwrites and leaves nothing partial behind."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
from pathlib import Path

import pytest

from ceremony import output
from ceremony.core.providers import BundleFile
from ceremony.errors import CeremonyError, OutputError, OutputExistsError

FILES = [
    BundleFile("key/aws/EncryptedKeyMaterial.bin", bytes(range(256)) * 3),
    BundleFile("key/aws/IMPORT.md", b"# Import\n"),
    BundleFile("key/gcp/wrapped-key.bin", b"\x00" * 536),
    BundleFile("README.txt", b"top level\n"),
]


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_writes_every_file_exactly(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    written = output.write_bundle(root, FILES)
    assert written == [root / f.name for f in FILES]
    for f in FILES:
        assert (root / f.name).read_bytes() == f.data
        assert stat.S_IMODE((root / f.name).stat().st_mode) == 0o600
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert tree(root) == sorted(
        ["README.txt", "key", "key/aws", "key/gcp", *(f.name for f in FILES[:3])]
    )


def test_existing_root_refused_and_untouched(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    root.mkdir()
    (root / "keep.txt").write_bytes(b"mine")
    with pytest.raises(OutputExistsError, match="already exists"):
        output.write_bundle(root, FILES)
    assert tree(root) == ["keep.txt"]
    assert (root / "keep.txt").read_bytes() == b"mine"


def test_symlink_root_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "bundle").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OutputExistsError):
        output.write_bundle(tmp_path / "bundle", FILES)
    assert tree(tmp_path / "elsewhere") == []


def test_pre_existing_file_refused_nothing_partial(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    (root / "key" / "gcp").mkdir(parents=True)
    (root / "key" / "gcp" / "wrapped-key.bin").write_bytes(b"older bundle")
    with pytest.raises(OutputExistsError, match=r"wrapped-key\.bin"):
        output.write_bundle(root, FILES, create_root=False)
    # The files this call wrote before the clash, and the folders it made, are gone again.
    assert tree(root) == ["key", "key/gcp", "key/gcp/wrapped-key.bin"]
    assert (root / "key" / "gcp" / "wrapped-key.bin").read_bytes() == b"older bundle"


def test_adds_to_an_existing_folder_without_overwriting(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    output.write_bundle(root, FILES[:2])
    output.write_bundle(root, FILES[2:], create_root=False)
    assert all((root / f.name).read_bytes() == f.data for f in FILES)


@pytest.mark.parametrize("failing_call", [1, 2, 3, 5, 7])
def test_failure_midway_removes_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_call: int
) -> None:
    real_fsync = os.fsync
    calls = {"n": 0}

    def flaky_fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == failing_call:
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", flaky_fsync)
    root = tmp_path / "bundle"
    with pytest.raises(OutputError, match="Input/output error") as caught:
        output.write_bundle(root, FILES)
    assert caught.value.hint and "nothing" in caught.value.hint
    assert not root.exists()
    assert list(tmp_path.iterdir()) == []


def test_full_disk_while_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    calls = {"n": 0}

    def write(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    with pytest.raises(OutputError, match="No space"):
        output.write_bundle(tmp_path / "bundle", FILES)
    assert list(tmp_path.iterdir()) == []


def test_short_writes_are_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))
    output.write_bundle(tmp_path / "bundle", FILES)
    assert all((tmp_path / "bundle" / f.name).read_bytes() == f.data for f in FILES)


def test_without_hard_links_files_are_created_exclusively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_link(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")  # as on FAT/exFAT

    monkeypatch.setattr(os, "link", no_link)
    root = tmp_path / "bundle"
    output.write_bundle(root, FILES)
    assert all((root / f.name).read_bytes() == f.data for f in FILES)
    assert not [p for p in root.rglob(".*")]


def test_interrupt_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_link = os.link
    calls = {"n": 0}

    def link(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        real_link(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "link", link)
    with pytest.raises(KeyboardInterrupt):
        output.write_bundle(tmp_path / "bundle", FILES)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name",
    ["", "/abs", "../up", "a/../b", "a//b", "a/./b", ".hidden", "a/.partial", "a\\b", "a\0b"],
)
def test_unsafe_names_refused_before_anything_is_written(tmp_path: Path, name: str) -> None:
    with pytest.raises(OutputError):
        output.write_bundle(tmp_path / "bundle", [FILES[0], BundleFile(name, b"x")])
    assert list(tmp_path.iterdir()) == []


def test_duplicate_names_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="twice"):
        output.write_bundle(tmp_path / "bundle", [FILES[0], FILES[0]])
    assert list(tmp_path.iterdir()) == []


def test_missing_parent_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(CeremonyError):
        output.write_bundle(tmp_path / "no" / "such" / "bundle", FILES)


def test_real_bundle_verifies_with_sha256sum(tmp_path: Path) -> None:
    from ceremony.core.providers import AwsTarget, MaterialKind, WrapMethod, build_bundle
    from ceremony.core.providers import parse_import_parameters as parse
    from ceremony.core.secret import Secret
    from tests.unit.cloudkeys import NOW, aws_json, material, rsa_key

    target = AwsTarget("aws", WrapMethod.AWS_RSA_AES_KEY_WRAP_SHA_1, parse(aws_json(rsa_key(2048))))
    with Secret(material(MaterialKind.AES_256)) as secret:
        files = build_bundle(
            [target], secret, MaterialKind.AES_256, key_label="k", kcv=None, now=NOW
        )
    output.write_bundle(tmp_path / "out", files)
    folder = tmp_path / "out" / "k" / "aws"
    done = subprocess.run(
        ["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == 4


# ---- what a kill leaves: files beside their final names -------------------------------------


def test_a_partial_is_known_by_the_name_install_gives_it(tmp_path: Path) -> None:
    seen: list[str] = []
    link = os.link

    def watching(src: str, dst: str, **kw: object) -> None:
        seen.append(src)
        link(src, dst, **kw)  # type: ignore[arg-type]

    import unittest.mock

    with unittest.mock.patch.object(output.os, "link", watching):
        output.install(tmp_path / "record.pdf", b"%PDF")
    (temporary,) = seen
    assert output.is_partial(temporary)
    assert not output.is_partial("record.pdf")
    assert not output.is_partial("notes.partial")  # not of install's form: someone's file
    assert not output.is_partial(".record.pdf.partial")
    assert not output.is_partial(".record.pdf.0123ABCD.partial")


def test_remove_partials_removes_only_install_leftovers(tmp_path: Path) -> None:
    (tmp_path / "bundle" / "k" / "aws").mkdir(parents=True)
    left = [
        tmp_path / ".record.pdf.0123abcd.partial",
        tmp_path / "bundle" / "k" / "aws" / ".IMPORT.md.89abcdef.partial",
    ]
    kept = [tmp_path / "record.pdf", tmp_path / "notes.partial", tmp_path / "bundle" / "x.bin"]
    for p in left + kept:
        p.write_bytes(b"x")
    (tmp_path / ".link.00000000.partial").symlink_to(tmp_path / "record.pdf")
    assert output.remove_partials(tmp_path) == [left[0]]  # this folder only
    assert sorted(output.remove_partials(tmp_path, recursive=True)) == [left[1]]
    assert all(p.exists() for p in kept)
    assert (tmp_path / ".link.00000000.partial").is_symlink()  # never followed or removed
    assert output.remove_partials(tmp_path / "missing") == []

"""The by-hand recipes of docs/evidence.md, taken from the markdown and run word for word.

They run in an output folder laid out as the engine leaves it (``<ceremony id>.journal.jsonl``,
``record.pdf``, ``journal.sig``), with python3, awk, openssl and poppler as the auditor has them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ceremony.core import journal
from ceremony.record import sign
from tests.record import journals
from tests.record.certs import SoftwareSigner

DOC = Path(__file__).resolve().parents[2] / "docs" / "evidence.md"
RECIPES = ("chain", "journal-sig", "record")


def recipe(name: str) -> str:
    text = DOC.read_text()
    match = re.search(rf"<!-- recipe:{name} -->\n```sh\n(.*?)```", text, re.DOTALL)
    assert match, f"recipe {name} not found in {DOC}"
    return match.group(1)


def test_every_recipe_in_the_doc_is_run_here() -> None:
    assert tuple(re.findall(r"<!-- recipe:([\w-]+) -->", DOC.read_text())) == RECIPES


@pytest.fixture(scope="module")
def output_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, journals.Built]:
    folder = tmp_path_factory.mktemp("out")
    built = journals.split_backup()
    (folder / f"{built.ceremony_id}.journal.jsonl").write_bytes(built.data)
    sign.write_signed_record(folder, sign.build_signed_record(built.data, SoftwareSigner()))
    return folder, built


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _run(script: str, folder: Path, scratch: Path) -> subprocess.CompletedProcess[str]:
    # mktemp -d makes the recipes' scratch folder under TMPDIR: the test's own folder.
    return subprocess.run(
        ["bash", "-c", script],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
        check=False,
    )


def test_chain_recipe(output_folder: tuple[Path, journals.Built], tmp_path: Path) -> None:
    folder, built = output_folder
    result = _run(recipe("chain"), folder, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"chain ok, final hash {journal.verify(built.data).final_hash}"


def test_chain_recipe_catches_an_edit(
    output_folder: tuple[Path, journals.Built], tmp_path: Path
) -> None:
    _, built = output_folder
    edited = tmp_path / "out"
    edited.mkdir()
    (edited / f"{built.ceremony_id}.journal.jsonl").write_bytes(
        built.data.replace(b"Bob Lee", b"Rob Lee")
    )
    result = _run(recipe("chain"), edited, tmp_path)
    assert result.returncode != 0 and "entry 4 was altered" in result.stderr


def test_journal_sig_recipe(output_folder: tuple[Path, journals.Built], tmp_path: Path) -> None:
    folder, built = output_folder
    result = _run(recipe("journal-sig"), folder, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Verified OK" in result.stdout
    assert f"final-hash: {journal.verify(built.data).final_hash}" in result.stdout
    assert "sha256 Fingerprint=" in result.stdout


@pytest.mark.skipif(shutil.which("pdfdetach") is None, reason="needs poppler-utils")
def test_record_recipe(output_folder: tuple[Path, journals.Built], tmp_path: Path) -> None:
    folder, _ = output_folder
    result = _run(recipe("record"), folder, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Signature is Valid." in result.stdout
    assert "Total document signed" in result.stdout
    assert result.stdout.strip().endswith("the record embeds this journal")


@pytest.mark.skipif(shutil.which("pdfdetach") is None, reason="needs poppler-utils")
def test_record_recipe_catches_another_journal(
    output_folder: tuple[Path, journals.Built], tmp_path: Path
) -> None:
    folder, built = output_folder
    other = tmp_path / "out"
    shutil.copytree(folder, other)
    (other / f"{built.ceremony_id}.journal.jsonl").write_bytes(journals.destroy().data)
    result = _run(recipe("record"), other, tmp_path)
    assert result.returncode != 0
    assert "the record embeds this journal" not in result.stdout


def test_the_recipes_leave_the_evidence_as_it_was(
    output_folder: tuple[Path, journals.Built], tmp_path: Path
) -> None:
    folder, _ = output_folder
    before = _snapshot(folder)
    for name in RECIPES:
        if name == "record" and shutil.which("pdfdetach") is None:
            continue
        _run(recipe(name), folder, tmp_path)
    assert _snapshot(folder) == before

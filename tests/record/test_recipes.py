"""The by-hand recipes of docs/evidence.md, run word for word with python3, awk and openssl."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from ceremony.core import journal
from ceremony.record import sign
from tests.record import journals
from tests.record.certs import SoftwareSigner

DOC = Path(__file__).resolve().parents[2] / "docs" / "evidence.md"


def recipe(name: str) -> str:
    text = DOC.read_text()
    match = re.search(rf"<!-- recipe:{name} -->\n```sh\n(.*?)```", text, re.DOTALL)
    assert match, f"recipe {name} not found in {DOC}"
    return match.group(1)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, journals.Built]:
    folder = tmp_path_factory.mktemp("bundle")
    built = journals.split_backup()
    (folder / "journal.jsonl").write_bytes(built.data)
    (folder / "journal.sig").write_bytes(sign.sign_journal(built.data, SoftwareSigner()).to_bytes())
    return folder, built


def _run(script: str, folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], cwd=folder, capture_output=True, text=True)


def test_chain_recipe(bundle: tuple[Path, journals.Built]) -> None:
    folder, built = bundle
    result = _run(recipe("chain"), folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"chain ok, final hash {journal.verify(built.data).final_hash}"


def test_chain_recipe_catches_an_edit(bundle: tuple[Path, journals.Built], tmp_path: Path) -> None:
    _, built = bundle
    (tmp_path / "journal.jsonl").write_bytes(built.data.replace(b"Bob Lee", b"Rob Lee"))
    result = _run(recipe("chain"), tmp_path)
    assert result.returncode != 0 and "entry 4 was altered" in result.stderr


def test_journal_sig_recipe(bundle: tuple[Path, journals.Built]) -> None:
    folder, built = bundle
    result = _run(recipe("journal-sig"), folder)
    assert result.returncode == 0, result.stderr
    assert "Verified OK" in result.stdout
    assert f"final-hash: {journal.verify(built.data).final_hash}" in result.stdout
    assert "sha256 Fingerprint=" in result.stdout

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
    assert result.stdout.strip() == (
        f"{built.ceremony_id}.journal.jsonl: chain ok, final hash "
        f"{journal.verify(built.data).final_hash}"
    )


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
    assert result.returncode != 0
    assert f"{built.ceremony_id}.journal.jsonl: entry 4 was altered" in result.stderr


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
    assert result.stdout.strip().endswith(
        f"the record embeds {journals.split_backup().ceremony_id}.journal.jsonl"
    )


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
    assert "the record embeds" not in result.stdout


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


@pytest.fixture(scope="module")
def restart_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """An output folder after a restart, as the engine leaves it: two journals and one record."""
    import functools

    from ceremony.core import rules
    from ceremony.engine.steps import people
    from tests.engine.helpers import drive
    from tests.engine.test_recovery import new_case, power_cut

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(people, "hash_passphrase", functools.partial(rules.hash_passphrase, n=2**14))
        case = new_case("split-backup", tmp_path_factory.mktemp("restart") / "c")
        power_cut(case, patch, "approve/show-component/rk/2")
        restart = case.machine()
        drive(restart, case.script())
    assert restart.outcome.journal is not None
    folder = restart.outcome.journal.parent
    data = restart.outcome.journal.read_bytes()
    sign.write_signed_record(folder, sign.build_signed_record(data, SoftwareSigner()))
    return folder, sorted(folder.glob("*.journal.jsonl"))


def test_the_recipes_run_in_a_folder_after_a_restart(
    restart_folder: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    folder, found = restart_folder
    assert [p.name for p in found] == [
        "crash-split-backup.journal.jsonl",
        "crash-split-backup.r2.journal.jsonl",
    ]
    chain = _run(recipe("chain"), folder, tmp_path)
    assert chain.returncode == 0, chain.stderr
    assert [line.split(":")[0] for line in chain.stdout.splitlines()] == [p.name for p in found]
    sig = _run(recipe("journal-sig"), folder, tmp_path)
    assert sig.returncode == 0 and "Verified OK" in sig.stdout, sig.stderr
    if shutil.which("pdfdetach") is not None:
        record = _run(recipe("record"), folder, tmp_path)
        assert record.returncode == 0, record.stderr
        assert record.stdout.strip().endswith(
            "the record embeds crash-split-backup.r2.journal.jsonl"
        )

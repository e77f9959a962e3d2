"""`ceremony verify` takes what the auditor is handed and finds what belongs together.

The ceremony folder is laid out as ``ceremony rehearse`` leaves it: the ceremony file, and
``out/`` with ``<ceremony id>.journal.jsonl``, ``record.pdf``, ``journal.sig`` and the outputs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ceremony.cli import main
from ceremony.errors import VerifyError
from ceremony.record import sign
from ceremony.record.locate import locate
from ceremony.record.verify import (
    CEREMONY_FILE_CHECK,
    REHEARSAL_ORGANIZATION,
    Report,
    verify_evidence,
)
from tests.fuzz.test_fuzz_journal import rechained
from tests.record import journals
from tests.record.certs import software_identity
from tests.record.test_verify_robust import _OneCertificateSigner


def _ceremony_folder(folder: Path, built: journals.Built, *, record: bool = True) -> Path:
    folder.mkdir(parents=True)
    # The bytes whose SHA-256 tests.record.journals puts in the genesis entry.
    (folder / "ceremony.toml").write_text(f"[ceremony]\nid = '{built.ceremony_id}'\n")
    (folder / "answers.toml").write_text("[passphrases]\n")
    out = folder / "out"
    out.mkdir()
    (out / f"{built.ceremony_id}.journal.jsonl").write_bytes(built.data)
    for name, data in built.outputs.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    if record:
        signer = _OneCertificateSigner(
            software_identity("ceremony signing key", REHEARSAL_ORGANIZATION)
        )
        sign.write_signed_record(out, sign.build_signed_record(built.data, signer))
    return folder


@pytest.fixture(scope="module")
def ceremony(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _ceremony_folder(tmp_path_factory.mktemp("c") / "rehearsal-1", journals.split_backup())


def _lines(report: Report) -> dict[str, tuple[bool, str]]:
    return {line.check: (line.ok, line.reason) for line in report.lines}


@pytest.mark.parametrize(
    "given", [".", "out", "out/forms", "out/record.pdf"], ids=["ceremony", "out", "below", "pdf"]
)
def test_each_way_in_checks_the_whole_ceremony(ceremony: Path, given: str) -> None:
    report = verify_evidence(ceremony / given)
    assert report.ok, report.text()
    lines = _lines(report)
    journal_name = "2025-06-zmk-split.journal.jsonl"
    assert lines[f"journal hash chain ({journal_name})"][0]
    assert lines[f"{journal_name} = record's journal"][0]
    assert lines["journal.sig (signed final hash)"][0]
    assert lines["output forms/zmk-prod-component-1.pdf"][0]
    ok, reason = lines[CEREMONY_FILE_CHECK]
    assert ok and reason.startswith(str(ceremony / "ceremony.toml"))
    found = locate(ceremony / given)
    assert found.folder is not None and found.folder.resolve() == (ceremony / "out").resolve()


def test_the_header_says_what_was_checked_and_what_was_given(ceremony: Path) -> None:
    report = verify_evidence(ceremony)
    assert report.subject == (
        f"{ceremony / 'out'} (the output folder of the ceremony; given: {ceremony})"
    )
    assert verify_evidence(ceremony / "out").subject == str(ceremony / "out")


def test_record_pdf_alone_is_the_record_by_itself(ceremony: Path, tmp_path: Path) -> None:
    shutil.copy(ceremony / "out" / "record.pdf", tmp_path / "record.pdf")
    report = verify_evidence(tmp_path / "record.pdf")
    assert report.ok, report.text()
    lines = _lines(report)
    assert lines["signed final hash"][0]
    assert not any(check.startswith(("output ", "journal hash chain (2025")) for check in lines)
    assert locate(tmp_path / "record.pdf").folder is None


def test_a_ceremony_file_changed_since_is_not_checkable(ceremony: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(ceremony, tmp_path / "c"))
    (copy / "ceremony.toml").write_text("[ceremony]\nid = 'changed'\n")
    report = verify_evidence(copy)
    line = next(line for line in report.lines if line.check == CEREMONY_FILE_CHECK)
    assert line.result == "N/A" and "was changed after the ceremony" in line.reason
    assert report.ok  # N/A does not fail the verdict


def test_several_ceremonies_in_one_folder_are_named(ceremony: Path, tmp_path: Path) -> None:
    shutil.copytree(ceremony, tmp_path / "a")
    shutil.copytree(ceremony, tmp_path / "b")
    with pytest.raises(VerifyError, match=r"holds the evidence of 2 ceremonies: .*a/out, .*b/out"):
        locate(tmp_path)


def test_a_folder_with_no_evidence_says_what_to_give(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    with pytest.raises(VerifyError, match="holds no ceremony evidence") as caught:
        verify_evidence(tmp_path / "x")
    assert caught.value.hint is not None and "out/bundle/" in caught.value.hint
    with pytest.raises(VerifyError, match="does not exist"):
        verify_evidence(tmp_path / "missing")


def test_the_cli_verifies_the_ceremony_folder(
    ceremony: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(ceremony)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"ceremony verify: {ceremony / 'out'} (the output folder")
    assert "PASS  ceremony file" in out


# ---- a positive line for each KCV checked -----------------------------------------------------


def test_a_line_for_each_key_check_value(ceremony: Path) -> None:
    lines = _lines(verify_evidence(ceremony / "out"))
    kcv = {check: value for check, value in lines.items() if check.startswith("key check value,")}
    components = [c for c in kcv if " component " in c]
    assert len(components) == 3, kcv
    assert all(ok for ok, _ in kcv.values()), kcv
    _, reason = kcv["key check value, key zmk-prod component 1"]
    assert "typed back by the custodian" in reason


def _edited(tmp_path: Path, edit: object) -> Path:
    entries = [json.loads(line) for line in journals.split_backup().data.splitlines()]
    edit(entries)  # type: ignore[operator]
    built = journals.Built("2025-06-zmk-split", rechained(entries), True)
    return _ceremony_folder(tmp_path / "c", built, record=False)


def test_a_key_check_value_that_differs_between_entries_fails(tmp_path: Path) -> None:
    def change_import(entries: list[dict[str, object]]) -> None:
        exported = next(e for e in entries if e["event"] == "key_imported")
        data = exported["data"]
        assert isinstance(data, dict)
        data["kcvs"][0]["kcv"] = "000000"

    folder = _edited(tmp_path, change_import)
    lines = _lines(verify_evidence(folder / "out"))
    ok, reason = lines["key check value, key zmk-prod"]
    assert not ok and "differs" in reason and "000000 at entry" in reason


def test_a_component_kcv_not_typed_back_fails(tmp_path: Path) -> None:
    def unconfirm(entries: list[dict[str, object]]) -> None:
        issued = next(e for e in entries if e["event"] == "component_issued")
        data = issued["data"]
        assert isinstance(data, dict)
        data["confirmed"] = False

    folder = _edited(tmp_path, unconfirm)
    ok, reason = _lines(verify_evidence(folder / "out"))[
        "key check value, key zmk-prod component 1"
    ]
    assert not ok and "did not type the KCV back" in reason


# ---- an aborted ceremony that left no record ---------------------------------------------------


def test_an_aborted_bundle_without_a_record_claims_no_record(tmp_path: Path) -> None:
    folder = _ceremony_folder(tmp_path / "c", journals.aborted(), record=False)
    report = verify_evidence(folder / "out")
    lines = _lines(report)
    assert lines["PDF signature"] == (False, f"record.pdf is missing from {folder / 'out'}")
    ok, reason = lines["rehearsal / production"]
    assert ok
    assert "watermarked" not in reason and "signed with" not in reason
    assert "no record or journal signature here" in reason
    assert not report.ok


def test_a_second_journal_beside_the_ceremonys_own_is_no_obstacle(
    ceremony: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two journals that are not one ceremony and its restarts: verify takes the record's one;
    `ceremony record` names both and signs neither."""
    copy = Path(shutil.copytree(ceremony, tmp_path / "c"))
    other = journals.reconstitute()
    (copy / "out" / f"{other.ceremony_id}.journal.jsonl").write_bytes(other.data)
    report = verify_evidence(copy / "out")
    lines = _lines(report)
    assert lines["journal hash chain (2025-06-zmk-split.journal.jsonl)"][0], report.text()
    assert "file 2025-06-zmk-split.journal.jsonl" not in lines  # its own journal is explained
    assert not lines[f"file {other.ceremony_id}.journal.jsonl"][0]  # the other one is not
    (copy / "out" / "record.pdf").unlink()
    lines = _lines(verify_evidence(copy / "out"))
    ok, reason = lines["journal hash chain (<ceremony id>.journal.jsonl)"]
    assert not ok and "holds 2 journals that are not one ceremony and its restarts" in reason
    assert main(["record", str(copy / "out")]) == 1
    err = capsys.readouterr().err
    assert "2025-06-zmk-split.journal.jsonl, 2025-07-zmk-rebuild.journal.jsonl" in err


def test_the_report_goes_to_a_new_file_outside_the_evidence(
    ceremony: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "auditor.pdf"
    assert main(["verify", str(ceremony), "--report", str(report)]) == 0
    assert report.read_bytes().startswith(b"%PDF-")
    assert capsys.readouterr().out.rstrip().endswith(f"report written to {report}")
    refused = {
        str(report): "already exists; it is never overwritten",
        str(tmp_path / "no-such-folder" / "r.pdf"): "no-such-folder does not exist",
        str(ceremony / "out" / "r.pdf"): "would be written into the evidence it checks",
        str(ceremony / "r.pdf"): "would be written into the evidence it checks",
    }
    for target, said in refused.items():
        assert main(["verify", str(ceremony), "--report", target]) == 1
        captured = capsys.readouterr()
        assert said in captured.err and "outside the ceremony's evidence" in captured.err
        assert captured.out == ""  # refused before any check ran
    assert not (ceremony / "out" / "r.pdf").exists() and not (ceremony / "r.pdf").exists()
    assert verify_evidence(ceremony).ok

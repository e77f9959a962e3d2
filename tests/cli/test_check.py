"""``ceremony check FILE``: validates, prints the summary and the file's hash; errors name paths."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

import pytest

from ceremony.cli import main
from ceremony.core import parity, tr31
from ceremony.core.component import KeyAlgorithm
from ceremony.core.registry import (
    Registry,
    serialise_registry,
)
from ceremony.rehearsal import AWS_ARN, GCP_METHOD
from tests.engine.helpers import write_imports
from tests.unit.ceremony_files import PAYMENT, TEMPLATES, TYPES, dumps, template, zmk_issue_record


def _with_import_keys(name: str, folder: Path) -> Path:
    """The template beside throw-away import keys that match it, as a reviewer has it with the
    provider downloads (the run reads and checks them; so does check)."""
    doc = template(name)
    for key in doc["keys"]:
        for target in key.get("targets", []):
            provider = target["provider"]
            target["import_key"] = {
                "aws": "imports/aws-params.json",
                "azure": "imports/azure-kek.pem",
                "gcp": "imports/gcp-job.json",
            }[provider]
            if provider == "aws":
                target["algorithm"] = "RSA_AES_KEY_WRAP_SHA_1"
                target["key_id"] = AWS_ARN
                target.pop("material_valid_to", None)  # the template's date may have passed
                target["material_never_expires"] = True
            if provider == "gcp":
                target["algorithm"] = GCP_METHOD
                target.pop("import_job", None)
    write_imports(folder)
    path = folder / f"{name}.toml"
    path.write_text(dumps(doc))
    return path


@pytest.mark.parametrize("name", TYPES)
def test_check_each_template(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _with_import_keys(name, tmp_path)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Ceremony ")
    assert out.rstrip().endswith("The ceremony file is valid.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest().upper()
    groups = " ".join(digest[i : i + 4] for i in range(0, 64, 4))
    assert f"Ceremony file SHA-256: {groups}" in out
    assert out.count("\n 8  ") == 1  # eight numbered lines of PGP words


def test_a_missing_import_key_file_fails_the_check_as_it_would_fail_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _with_import_keys("generate-export", tmp_path)
    (tmp_path / "imports" / "azure-kek.pem").unlink()
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ceremony: error: keys[0].targets[1].import_key: the import key file ")
    assert "azure-kek.pem does not exist" in err


def test_a_software_import_job_fails_the_check_of_a_production_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _with_import_keys("generate-export", tmp_path)
    job = tmp_path / "imports" / "gcp-job.json"
    job.write_text(job.read_text().replace('"HSM"', '"SOFTWARE"'))
    assert main(["check", str(path)]) == 1
    assert "protection level is SOFTWARE, not HSM" in capsys.readouterr().err
    # The file may say otherwise: then it is a warning read aloud with the summary.
    text = path.read_text().replace(
        'import_key = "imports/gcp-job.json"',
        'import_key = "imports/gcp-job.json"\nprotection_level = "SOFTWARE"',
    )
    path.write_text(text)
    assert main(["check", str(path)]) == 0


def test_an_invalid_file_goes_through_the_error_funnel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (TEMPLATES / "generate-export.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(
        text.replace('algorithm = "RSA_OAEP_3072_SHA256_AES_256"', 'algorithm = "RSA_FOO"')
    )
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ceremony: error: keys[0].targets[2].algorithm is 'RSA_FOO'")
    assert "What to do:" in err


def test_a_pin_in_the_file_is_refused_without_echo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (TEMPLATES / "destroy.toml").read_text()
    bad = tmp_path / "pin.toml"
    bad.write_text(text.replace("[hsm]\n", '[hsm]\nuser_pin = "918273"\n'))
    assert main(["check", str(bad)]) == 1
    captured = capsys.readouterr()
    assert "hsm.user_pin" in captured.err and "918273" not in captured.err + captured.out


def test_an_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "missing.toml")]) == 1
    assert "the ceremony file " in (err := capsys.readouterr().err) and "does not exist" in err


def test_the_registry_named_by_the_file_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _with_import_keys("reconstitute", tmp_path)
    assert main(["check", str(path)]) == 0
    assert "does not exist yet" in capsys.readouterr().out
    (tmp_path / "registry").mkdir()
    registry_path = tmp_path / "registry" / "custodians.json"
    good = Registry(
        (
            zmk_issue_record("ebrown", 1, "staff badge 0211"),
            zmk_issue_record("fgarcia", 2, "staff badge 0212"),
            zmk_issue_record("gkim", 3, "staff badge 0213"),
        )
    )
    registry_path.write_bytes(serialise_registry(good))
    assert main(["check", str(path)]) == 0
    assert "3 record(s) checked" in capsys.readouterr().out
    earlier = good.appended([zmk_issue_record("gkim", 1, "staff badge 0213")])
    registry_path.write_bytes(serialise_registry(earlier))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "keys[0].split.components[2]: split knowledge" in err
    assert "registry shows" in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # check writes nothing


def test_check_states_the_process_hardening_and_refuses_a_required_lock_it_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ceremony import hardening
    from tests.engine.test_process_hardening import NOT_LOCKED, report

    monkeypatch.setattr(hardening, "_report", report(False))
    path = _with_import_keys("split-backup", tmp_path)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Process hardening (as a run started from this shell gets it):" in out
    assert "  yes  core dumps are off" in out and f"  NO   {NOT_LOCKED}" in out
    doc = template("split-backup")
    assert doc["ceremony"].get("rehearsal") is not True  # a production file
    text = path.read_text().replace("[ceremony]\n", "[ceremony]\nrequire_memory_lock = true\n", 1)
    path.write_text(text)
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "requires locked memory" in err and "memory not locked" in err


def test_the_tui_without_a_terminal_is_refused_at_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = _with_import_keys("split-backup", tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "ceremony", "tui", str(path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("ceremony: error: ceremony tui needs a terminal")


def test_check_refuses_an_output_folder_the_run_could_never_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _with_import_keys("split-backup", tmp_path)
    text = path.read_text()
    output = tomllib_output(text)
    assert main(["check", str(path)]) == 0
    assert "can be made and written" in capsys.readouterr().out
    cases = {
        "/dev/null": "is there and is not a folder",
        "x" * 300: "a name of more than 255 bytes",
        str(path) + "/out": "cannot be made or written",  # under a file: never a folder
    }
    for bad, said in cases.items():
        path.write_text(text.replace(f'output = "{output}"', f'output = "{bad}"'))
        assert main(["check", str(path)]) == 1
        assert said in capsys.readouterr().err
    path.write_text(text)
    (tmp_path / output / "bundle").mkdir(parents=True)
    assert main(["check", str(path)]) == 1
    assert "bundle already exists: the run would have to write it" in capsys.readouterr().err


def tomllib_output(text: str) -> str:
    import tomllib

    return str(tomllib.loads(text)["ceremony"]["output"])


@pytest.mark.parametrize("name", sorted(PAYMENT))
def test_check_each_payment_template(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"{name}.toml"
    path.write_text((TEMPLATES / f"{name}.toml").read_text("utf-8"))
    if name == "zmk-load":
        (tmp_path / "received").mkdir()
        kbpk, key = bytearray(secrets.token_bytes(16)), bytearray(secrets.token_bytes(16))
        parity.adjust(kbpk)
        parity.adjust(key)
        block = tr31.wrap(
            kbpk,
            tr31.Header("B", "P0", "T", "E"),
            key,
            secrets.token_bytes,
            kbpk_algorithm=KeyAlgorithm.TDES,
        )
        (tmp_path / "received" / "pek-acquirer.tr31").write_text(block + "\n", "ascii")
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Role: ZMK, zone master key" in out
    assert out.rstrip().endswith("The ceremony file is valid.")
    if name == "zmk-load":
        assert "TR-31 key blocks: 1 read; each header fits its key and KBPK." in out


def test_an_aws_payment_cryptography_target_is_checked_with_its_pinned_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ceremony.core.providers import aws_payment

    write_imports(tmp_path)
    params = aws_payment.parse_import_parameters(
        (tmp_path / "imports/apc-params.json").read_bytes()
    )
    assert params.root_fingerprint is not None
    doc = template("split-backup")
    key = doc["keys"][0]
    key.update(type="TDES", bits=128, role="zmk", store_in_hsm=False)
    key["targets"] = [
        {
            "label": "apc-euw1",
            "provider": "aws-payment-cryptography",
            "algorithm": "RSA_OAEP_SHA_256",
            "import_key": "imports/apc-params.json",
            "root_ca_fingerprint": params.root_fingerprint.hex,
            "region": "eu-west-1",
            "wrap": "software",
        }
    ]
    path = tmp_path / "apc.toml"
    path.write_text(dumps(doc))
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"Pinned root CA fingerprint: {params.root_fingerprint.groups()}." in out
    assert "Import keys: 1 read and checked" in out
    key["targets"][0]["root_ca_fingerprint"] = "ab" * 32
    path.write_text(dumps(doc))
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ceremony: error: keys[0].targets[0]: target 'apc-euw1': the wrapping")
    assert "the ceremony file pins ABAB ABAB" in err

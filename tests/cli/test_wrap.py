"""``ceremony wrap --from-components``: rehearsal bundles that openssl alone opens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ceremony.cli import main
from ceremony.core import encoding, kcv, xor
from ceremony.core.component import KeyAlgorithm, KeyIdentity
from ceremony.core.secret import Secret
from tests.cli.targets import TOKEN, CloudTargets

KEY = bytes.fromhex("7d1e" * 16)
IDENTITY = KeyIdentity("REHEARSAL-WRAP", "zmk-test", KeyAlgorithm.AES, 32)


@pytest.fixture(scope="module")
def clouds(tmp_path_factory: pytest.TempPathFactory) -> CloudTargets:
    return CloudTargets(
        tmp_path_factory.mktemp("clouds"),
        "RSA_AES_KEY_WRAP_SHA_256",
        "RSA_OAEP_3072_SHA256_AES_256",
    )


def component_files(folder: Path) -> list[str]:
    paths = []
    for component in xor.split(Secret(KEY), IDENTITY, 3):
        path = folder / f"component-{component.index}.txt"
        path.write_text(encoding.to_text(component))
        paths.append(str(path))
    return paths


def test_components_to_three_clouds(
    clouds: CloudTargets, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = kcv.check_value(KEY, kcv.KcvMethod.AES_CMAC)
    out = tmp_path / "bundle"
    argv = ["wrap", "--rehearsal", "--from-components", *component_files(tmp_path)]
    assert main([*argv, "--kcv", str(recorded), *clouds.args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"matches the recorded KCV {recorded}" in printed
    assert KEY.hex() not in printed.lower()
    opened = clouds.open_all(out, md="sha256")
    assert opened == {"aws": KEY, "azure": KEY, "gcp": KEY}
    assert (next(out.glob("*/aws-eu")) / "ImportToken.bin").read_bytes() == TOKEN
    assert (out / "REHEARSAL.txt").exists()
    manifests = "".join(p.read_text() for p in out.glob("*/*/MANIFEST.json"))
    assert str(recorded) in manifests


def test_an_existing_bundle_is_never_overwritten(clouds: CloudTargets, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    out.mkdir()
    recorded = str(kcv.check_value(KEY, kcv.KcvMethod.AES_CMAC))
    argv = ["wrap", "--rehearsal", "--from-components", *component_files(tmp_path)]
    assert main([*argv, "--kcv", recorded, *clouds.args, "--out", str(out)]) == 1
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "manual clear-text operations"),
        (["--rehearsal", "--kcv", "AES-CMAC 000000"], "does not match"),
        (["--rehearsal"], "--kcv is required"),
    ],
)
def test_refusals_are_one_clear_error(
    clouds: CloudTargets,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    argv = ["wrap", "--from-components", *component_files(tmp_path), *extra, *clouds.args]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ceremony: error: ")
    assert message in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("provider=ibm,import-key=x", "is not aws, azure, gcp or aws-payment-cryptography"),
        ("provider=aws,method=RSAES_OAEP_SHA_1", "import-key= is missing"),
        ("provider=aws,colour=blue", "does not take colour"),
        (
            "provider=aws,method=RSAES_PKCS1_V1_5,import-key=/nonexistent",
            "import-key file /nonexistent does not exist",
        ),
        ("provideraws", "is not key=value"),
    ],
)
def test_bad_targets_name_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, message: str
) -> None:
    argv = ["wrap", "--rehearsal", "--from-components", "x", "--kcv", "AES-CMAC 000000"]
    assert main([*argv, "--target", target, "--out", str(tmp_path / "o")]) == 1
    assert message in capsys.readouterr().err


def _gcp_target(tmp_path: Path, edit: Any) -> tuple[str, Any, Any]:
    """The GCP --target of a job form changed by ``edit``; the material info and the time."""
    import json
    from datetime import UTC, datetime

    from ceremony.core.providers import MaterialKind
    from ceremony.core.providers.common import MaterialInfo
    from tests.cli.targets import CloudTargets

    clouds = CloudTargets(tmp_path, "RSA_AES_KEY_WRAP_SHA_256", "RSA_OAEP_3072_SHA256_AES_256")
    job = tmp_path / "gcp-job.json"
    data = json.loads(job.read_text())
    edit(data)
    job.write_text(json.dumps(data))
    text = next(t for t in clouds.args if t.startswith("provider=gcp"))
    return text, MaterialInfo(MaterialKind.AES_256, 32, None), datetime.now(UTC)


def test_a_software_gcp_job_is_refused_without_rehearsal_unless_the_target_accepts_it(
    tmp_path: Path,
) -> None:
    from ceremony.cli.wrap import parse_target
    from ceremony.errors import ImportKeyError

    text, info, now = _gcp_target(tmp_path, lambda d: d.update(protectionLevel="SOFTWARE"))
    with pytest.raises(ImportKeyError, match="protection level is SOFTWARE"):
        parse_target(text, production=True).target.check(info, now)
    warned = parse_target(text, production=False).target.check(info, now)
    assert any("refused in production" in w for w in warned)
    accepted = parse_target(text + ",protection-level=software", production=True)
    assert not any("SOFTWARE" in w for w in accepted.target.check(info, now))


def test_a_gcp_job_form_silent_on_its_protection_level_is_refused_without_rehearsal(
    tmp_path: Path,
) -> None:
    from ceremony.cli.wrap import parse_target
    from ceremony.errors import ImportKeyError

    text, info, now = _gcp_target(tmp_path, lambda d: d.pop("protectionLevel"))
    with pytest.raises(ImportKeyError, match="does not say its protection level"):
        parse_target(text, production=True).target.check(info, now)
    warned = parse_target(text, production=False).target.check(info, now)
    assert any("does not say its protection level" in w for w in warned)

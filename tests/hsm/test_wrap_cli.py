"""``ceremony wrap --from-hsm``: wrapped inside the token for three clouds, opened by openssl."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceremony.cli import main
from ceremony.core import kcv
from ceremony.core.kcv import KcvMethod
from ceremony.hsm.base import Capability, KeySpec
from ceremony.hsm.pin import ENV_SO_PIN, ENV_USER_PIN
from tests.cli.targets import CloudTargets
from tests.hsm.conftest import HsmUnderTest, requires

pytestmark = pytest.mark.hsm


@pytest.fixture
def rehearsal_pins(hsm: HsmUnderTest, monkeypatch: pytest.MonkeyPatch) -> None:
    if not hsm.is_softhsm:
        pytest.skip("the CLI takes PINs from the environment only for the rehearsal SoftHSM store")
    monkeypatch.setenv(ENV_USER_PIN, hsm.user_pin)
    monkeypatch.setenv(ENV_SO_PIN, hsm.so_pin)


def _token_key(hsm: HsmUnderTest, label: str) -> str:
    with hsm.backend.open(hsm.prompter) as session:
        record = session.generate_key(label, KeySpec.AES_256, extractable=True)
    assert record.check_values is not None
    return str(record.check_values.of(KcvMethod.AES_CMAC))


@requires(Capability.OAEP_SHA1, Capability.AES_KWP, Capability.WRAP_WITH_TRUSTED)
def test_token_key_wrapped_for_three_clouds(
    hsm: HsmUnderTest,
    rehearsal_pins: None,
    label: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token_kcv = _token_key(hsm, label)
    clouds = CloudTargets(tmp_path, "RSA_AES_KEY_WRAP_SHA_1", "RSA_OAEP_3072_SHA1_AES_256")
    out = tmp_path / "bundle"
    argv = ["wrap", "--from-hsm", label, "--kind", "AES-256", *clouds.args, "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    said = capsys.readouterr().out
    assert f"Token key {label!r}: KCV {token_kcv}" in said
    opened = clouds.open_all(out)
    assert opened["aws"] == opened["azure"] == opened["gcp"]
    own = kcv.check_value(opened["aws"], KcvMethod.AES_ECB_ZERO)  # CKA_CHECK_VALUE
    if "CKA_CHECK_VALUE" in said:
        assert f"the token's own CKA_CHECK_VALUE {own.hex.upper()}" in said
    assert len(opened["aws"]) == 32
    assert str(kcv.check_value(opened["aws"], KcvMethod.AES_CMAC)) == token_kcv
    manifest = next(out.glob("*/aws-eu/MANIFEST.json")).read_text()
    assert token_kcv in manifest
    assert "inside the HSM" in manifest


def test_sha256_on_a_sha1_only_token_is_refused_before_any_work(
    hsm: HsmUnderTest,
    rehearsal_pins: None,
    label: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if hsm.preflight.supports(Capability.OAEP_SHA256):
        pytest.skip("this token can wrap with OAEP SHA-256")
    _token_key(hsm, label)
    clouds = CloudTargets(tmp_path, "RSA_AES_KEY_WRAP_SHA_256", "RSA_OAEP_3072_SHA1_AES_256")
    out = tmp_path / "bundle"
    argv = ["wrap", "--from-hsm", label, "--kind", "AES-256", *clouds.args, "--out", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "not supported by this token" in err or "cannot" in err
    assert "RSA_AES_KEY_WRAP_SHA_1" in err
    assert "Traceback" not in err
    assert not out.exists()


@requires(Capability.OAEP_SHA1, Capability.AES_KWP, Capability.WRAP_WITH_TRUSTED)
def test_many_keys_each_to_its_own_targets(
    hsm: HsmUnderTest,
    rehearsal_pins: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = (f"multi-{n}-{tmp_path.name[-6:]}" for n in (1, 2))
    kcvs = {first: _token_key(hsm, first), second: _token_key(hsm, second)}
    clouds = CloudTargets(tmp_path, "RSA_AES_KEY_WRAP_SHA_1", "RSA_OAEP_3072_SHA1_AES_256")
    aws, azure, gcp = clouds.args[1], clouds.args[3], clouds.args[5]
    targets = [
        *("--target", f"{aws},for={first}"),
        *("--target", f"{azure},for={first}"),
        *("--target", f"{gcp},for={second}"),
    ]
    out = tmp_path / "bundle"
    argv = ["wrap", "--from-hsm", f"{first}=AES-256", f"{second}=AES-256", *targets]
    assert main([*argv, "--out", str(out)]) == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == sorted([first, second])
    assert sorted(p.name for p in (out / first).iterdir()) == ["aws-eu", "azure"]
    assert [p.name for p in (out / second).iterdir()] == ["gcp"]
    for key, target in ((first, "aws-eu"), (first, "azure"), (second, "gcp")):
        assert kcvs[key] in (out / key / target / "MANIFEST.json").read_text()


def test_a_target_without_for_is_refused_when_several_keys_are_wrapped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clouds = CloudTargets(tmp_path, "RSA_AES_KEY_WRAP_SHA_1", "RSA_OAEP_3072_SHA1_AES_256")
    argv = ["wrap", "--from-hsm", "a=AES-256", "b=AES-256", *clouds.args]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 1
    assert "does not say which key it is for" in capsys.readouterr().err


def test_aws_payment_cryptography_on_a_token_without_its_oaep_hash_is_refused(
    hsm: HsmUnderTest,
    rehearsal_pins: None,
    label: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SoftHSM2 2.6.1 has OAEP SHA-1 only: a TDES ZMK on it is refused before any work, with the
    other WrappingSpec and a software wrap named, never wrapped some other way."""
    from tests.cli.targets import PaymentTarget

    if hsm.preflight.supports(Capability.OAEP_SHA512):
        pytest.skip("this token can wrap with OAEP SHA-512")
    with hsm.backend.open(hsm.prompter) as session:
        session.generate_key(label, KeySpec.TDES_128, extractable=True)
    apc = PaymentTarget(tmp_path)
    out = tmp_path / "bundle"
    argv = ["wrap", "--from-hsm", f"{label}=TDES-128", "--target"]
    assert main([*argv, apc.arg(method="RSA_OAEP_SHA_512"), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "cannot wrap with RSA-OAEP SHA-512" in err
    assert "RSA_OAEP_SHA_256" in err and "wrap in software" in err
    assert "Traceback" not in err
    assert not out.exists()

"""``ceremony wrap`` for AWS Payment Cryptography: a TDES ZMK from components wrapped in software
(rehearsal) that openssl opens, the root CA pin and the target's fields refused by name."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ceremony.cli import main
from ceremony.cli.wrap import parse_target
from ceremony.core import encoding, kcv, parity, providers, xor
from ceremony.core.component import KeyAlgorithm, KeyIdentity
from ceremony.core.secret import Secret
from ceremony.errors import ImportKeyError
from tests.cli.targets import PaymentTarget

IDENTITY = KeyIdentity("REHEARSAL-WRAP", "zmk-apc", KeyAlgorithm.TDES, 16)


def _key() -> bytes:
    buf = bytearray(bytes.fromhex("3e5d7a9cb1f20486c7e8192a3b4c5d6e"))
    parity.adjust(buf)
    return bytes(buf)


@pytest.fixture
def apc(tmp_path: Path) -> PaymentTarget:
    return PaymentTarget(tmp_path)


def _components(folder: Path) -> list[str]:
    paths = []
    for component in xor.split(Secret(_key()), IDENTITY, 2):
        path = folder / f"component-{component.index}.txt"
        path.write_text(encoding.to_text(component))
        paths.append(str(path))
    return paths


def _wrap(folder: Path, target: str) -> tuple[int, Path]:
    recorded = kcv.check_value(_key(), kcv.KcvMethod.TDES_ECB_ZERO)
    out = folder / "bundle"
    argv = ["wrap", "--rehearsal", "--from-components", *_components(folder)]
    argv += ["--kcv", str(recorded), "--target", target, "--out", str(out)]
    return main(argv), out


@pytest.mark.parametrize("method", ["RSA_OAEP_SHA_256", "RSA_OAEP_SHA_512"])
def test_components_to_aws_payment_cryptography(
    apc: PaymentTarget, tmp_path: Path, capsys: pytest.CaptureFixture[str], method: str
) -> None:
    done, out = _wrap(tmp_path, apc.arg(method=method))
    assert done == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "certified by the root CA whose certificate's SHA-256 is" in printed
    assert _key().hex() not in printed.lower()
    material = out / "zmk-apc" / "apc" / "key-material.json"
    assert apc.open(material) == _key()
    cryptogram = json.loads(material.read_text())["KeyCryptogram"]
    assert cryptogram["WrappingSpec"] == method
    assert cryptogram["KeyAttributes"]["KeyAlgorithm"] == "TDES_2KEY"
    manifest = json.loads((material.parent / "MANIFEST.json").read_text())
    assert manifest["target"]["key_check_value"] == (
        kcv.check_value(_key(), kcv.KcvMethod.TDES_ECB_ZERO).hex
    )
    assert (out / "REHEARSAL.txt").exists()


def test_a_root_other_than_the_pinned_one_is_refused(
    apc: PaymentTarget, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done, out = _wrap(tmp_path, apc.arg(**{"root-ca-fingerprint": "11" * 32}))
    assert done == 1
    assert "the ceremony file pins 1111 1111" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"fingerprint": "22" * 32}, "takes no fingerprint="),
        ({"role": ""}, "role= is missing"),
        ({"role": "boss"}, "is not a key role"),
        ({"exportable": "maybe"}, "is not true or false"),
        ({"method": "RSAES_OAEP_SHA_256"}, "unknown wrapping method"),
        ({"key-id": "x"}, "does not take key-id"),
    ],
)
def test_target_fields_are_refused_by_name(
    apc: PaymentTarget, extra: dict[str, str], message: str
) -> None:
    with pytest.raises(Exception, match=message):
        parse_target(apc.arg(**extra))


def test_production_needs_the_root_pinned(apc: PaymentTarget) -> None:
    unpinned = parse_target(apc.arg(**{"root-ca-fingerprint": ""}), production=True)
    info = providers.material_for_hsm(providers.MaterialKind.TDES_128, None)
    now = datetime.now(UTC)
    with pytest.raises(ImportKeyError, match="no root CA fingerprint is pinned"):
        providers.preflight([unpinned.target], info, now)
    pinned = parse_target(apc.arg(), production=True)
    assert providers.preflight([pinned.target], info, now) == []

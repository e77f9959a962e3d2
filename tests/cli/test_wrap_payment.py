"""``ceremony wrap`` for AWS Payment Cryptography: a TDES ZMK from components wrapped in software
(rehearsal) that openssl opens, the root CA pin and the target's fields refused by name."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ceremony.cli import main
from ceremony.cli.wrap import parse_target
from ceremony.core import encoding, kcv, parity, providers, xor
from ceremony.core.component import KeyAlgorithm, KeyIdentity
from ceremony.core.secret import Secret
from ceremony.errors import ImportKeyError
from tests.unit.cloudkeys import apc_params, certificate, rsa_key

IDENTITY = KeyIdentity("REHEARSAL-WRAP", "zmk-apc", KeyAlgorithm.TDES, 16)


def _key() -> bytes:
    buf = bytearray(bytes.fromhex("3e5d7a9cb1f20486c7e8192a3b4c5d6e"))
    parity.adjust(buf)
    return bytes(buf)


ROOT_NAME = "Test APC Root"


def _now_root() -> x509.Certificate:
    """The command reads the clock: a root and parameters valid around now."""
    now = datetime.now(UTC)
    span = {"not_before": now - timedelta(days=1), "not_after": now + timedelta(days=30)}
    return certificate(ROOT_NAME, rsa_key(3072), ROOT_NAME, rsa_key(3072), ca=True, **span)


@pytest.fixture
def root() -> x509.Certificate:
    return _now_root()


@pytest.fixture
def params(tmp_path: Path, root: x509.Certificate) -> Path:
    now = datetime.now(UTC)
    span = {"not_before": now - timedelta(days=1), "not_after": now + timedelta(days=30)}
    leaf = certificate("wrapping", rsa_key(2048), ROOT_NAME, rsa_key(3072), ca=False, **span)
    path = tmp_path / "apc-params.json"
    until = int((now + timedelta(days=30)).timestamp())
    path.write_text(apc_params(rsa_key(2048), leaf=leaf, chain=(root,), valid_until=until))
    return path


def _root_hex(root: x509.Certificate) -> str:
    return hashlib.sha256(root.public_bytes(serialization.Encoding.DER)).hexdigest()


def _components(folder: Path) -> list[str]:
    paths = []
    for component in xor.split(Secret(_key()), IDENTITY, 2):
        path = folder / f"component-{component.index}.txt"
        path.write_text(encoding.to_text(component))
        paths.append(str(path))
    return paths


def _target(params: Path, **extra: str) -> str:
    root = json.loads(params.read_text())["WrappingKeyCertificateChain"]
    pem = base64.b64decode(root)
    fields = {
        "provider": "aws-payment-cryptography",
        "label": "apc",
        "method": "RSA_OAEP_SHA_512",
        "import-key": str(params),
        "role": "zmk",
        "root-ca-fingerprint": _root_hex(x509.load_pem_x509_certificate(pem)),
        **extra,
    }
    return ",".join(f"{k}={v}" for k, v in fields.items() if v)


def test_components_to_aws_payment_cryptography(
    params: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = kcv.check_value(_key(), kcv.KcvMethod.TDES_ECB_ZERO)
    out = tmp_path / "bundle"
    argv = ["wrap", "--rehearsal", "--from-components", *_components(tmp_path)]
    argv += ["--kcv", str(recorded), "--target", _target(params), "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "certified by the root CA whose certificate's SHA-256 is" in printed
    assert _key().hex() not in printed.lower()
    material = out / "zmk-apc" / "apc" / "key-material.json"
    cryptogram = json.loads(material.read_text())["KeyCryptogram"]
    assert cryptogram["WrappingSpec"] == "RSA_OAEP_SHA_512"
    assert cryptogram["KeyAttributes"]["KeyAlgorithm"] == "TDES_2KEY"
    pem = tmp_path / "wrapping.pem"
    pem.write_bytes(
        rsa_key(2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    opened = subprocess.run(
        [
            "openssl", "pkeyutl", "-decrypt", "-inkey", str(pem),
            "-pkeyopt", "rsa_padding_mode:oaep",
            "-pkeyopt", "rsa_oaep_md:sha512", "-pkeyopt", "rsa_mgf1_md:sha512",
        ],
        input=bytes.fromhex(cryptogram["WrappedKeyCryptogram"]), capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert opened == _key()
    manifest = json.loads((material.parent / "MANIFEST.json").read_text())
    assert manifest["target"]["key_check_value"] == recorded.hex
    assert (out / "REHEARSAL.txt").exists()


def test_a_root_other_than_the_pinned_one_is_refused(
    params: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = kcv.check_value(_key(), kcv.KcvMethod.TDES_ECB_ZERO)
    out = tmp_path / "bundle"
    argv = ["wrap", "--rehearsal", "--from-components", *_components(tmp_path)]
    target = _target(params, **{"root-ca-fingerprint": "11" * 32})
    assert main([*argv, "--kcv", str(recorded), "--target", target, "--out", str(out)]) == 1
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
    params: Path, extra: dict[str, str], message: str
) -> None:
    with pytest.raises(Exception, match=message):
        parse_target(_target(params, **extra))


def test_production_needs_the_root_pinned(params: Path) -> None:
    unpinned = parse_target(_target(params, **{"root-ca-fingerprint": ""}), production=True)
    info = providers.material_for_hsm(providers.MaterialKind.TDES_128, None)
    now = datetime.now(UTC)
    with pytest.raises(ImportKeyError, match="no root CA fingerprint is pinned"):
        providers.preflight([unpinned.target], info, now)
    pinned = parse_target(_target(params), production=True)
    assert providers.preflight([pinned.target], info, now) == []

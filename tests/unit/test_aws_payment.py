"""AWS Payment Cryptography: get-parameters-for-import read and its certificate chain verified,
the import-key JSON checked against the service model, the KCV AWS reports, and the wrap opened
by pyca and by openssl (SHA-256 and SHA-512)."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.core import parity
from ceremony.core.component import KeyAlgorithm
from ceremony.core.kcv import KcvMethod, check_value
from ceremony.core.key_roles import KeyRole
from ceremony.core.providers import (
    AwsPaymentTarget,
    AwsTarget,
    BundleFile,
    MaterialKind,
    WrapMethod,
    assemble_bundle,
    build_bundle,
    parse_import_parameters,
)
from ceremony.core.providers import aws_payment as apc
from ceremony.core.providers.common import material_for_hsm
from ceremony.core.secret import Secret
from ceremony.errors import ImportKeyError, WrapError
from tests.unit.cloudkeys import (
    APC_TOKEN,
    NOW,
    VECTORS,
    apc_params,
    apc_root,
    apc_root_sha256,
    aws_json,
    certificate,
    rsa_key,
)

SHAPES = json.loads(
    (VECTORS / "cli" / "aws-payment-cryptography" / "service-model-shapes.json").read_text()
)["shapes"]
KINDS = list(apc.KEY_ALGORITHMS)
METHODS = [WrapMethod.APC_RSA_OAEP_SHA_256, WrapMethod.APC_RSA_OAEP_SHA_512]
ROOT = "Test APC Root"


def _target(params: str | None = None, **fields: Any) -> AwsPaymentTarget:
    key = apc.parse_import_parameters(params or apc_params(rsa_key(2048)))
    fields.setdefault("root_ca_fingerprint", apc_root_sha256())
    method = fields.pop("method", WrapMethod.APC_RSA_OAEP_SHA_256)
    return AwsPaymentTarget("apc", method, key, **fields)


def _info(kind: MaterialKind = MaterialKind.TDES_128) -> Any:
    return material_for_hsm(kind, None)


def _tdes_key(length: int = 16) -> bytes:
    buf = bytearray(range(0x11, 0x11 + length))
    parity.adjust(buf)
    return bytes(buf)


def _aes_key(length: int) -> bytes:
    return hashlib.sha256(b"test AES key").digest()[:length]


def _bundle(target: AwsPaymentTarget, key: bytes, kind: MaterialKind) -> list[BundleFile]:
    method = KcvMethod.TDES_ECB_ZERO if kind.name.startswith("TDES") else KcvMethod.AES_CMAC
    with Secret(bytearray(key), "test key") as secret:
        return build_bundle(
            [target], secret, kind, key_label="zmk", kcv=str(check_value(key, method)), now=NOW
        )


def _file(files: list[BundleFile], name: str) -> bytes:
    (data,) = [f.data for f in files if f.name.endswith("/" + name)]
    return data


def _cryptogram(files: list[BundleFile]) -> bytes:
    doc = json.loads(_file(files, apc.KEY_MATERIAL))
    return bytes.fromhex(doc["KeyCryptogram"]["WrappedKeyCryptogram"])


# ---- parsing and the certificate chain -------------------------------------------------------


def test_the_parameters_are_read_with_the_chain_verified() -> None:
    parsed = apc.parse_import_parameters(apc_params(rsa_key(2048)))
    assert parsed.key_bits == 2048 and parsed.reference == APC_TOKEN
    assert parsed.import_token == APC_TOKEN.encode()
    assert parsed.valid_to is not None and parsed.valid_to == NOW + timedelta(days=2)
    assert parsed.root_fingerprint is not None
    assert parsed.root_fingerprint.digest == apc_root_sha256()
    assert len(parsed.certificates) == 2  # the wrapping certificate, then the root


@pytest.mark.parametrize("stamp", [1772528400, 1772528400.5, "1772528400", "2026-03-03T09:00:00Z"])
def test_the_timestamp_in_each_form_the_cli_prints(stamp: object) -> None:
    parsed = apc.parse_import_parameters(apc_params(rsa_key(2048), valid_until=stamp))
    assert parsed.valid_to is not None
    assert abs(parsed.valid_to - (NOW + timedelta(days=2))) < timedelta(seconds=1)


@pytest.mark.parametrize("order", ["root-last", "root-first"])
def test_an_intermediate_ca_between_root_and_wrapping_key(order: str) -> None:
    middle = certificate("Test APC Issuing CA", rsa_key(4096), ROOT, rsa_key(3072), ca=True)
    leaf = certificate("wrapping", rsa_key(2048), "Test APC Issuing CA", rsa_key(4096), ca=False)
    chain = (middle, apc_root()) if order == "root-last" else (apc_root(), middle)
    parsed = apc.parse_import_parameters(apc_params(rsa_key(2048), leaf=leaf, chain=chain))
    assert len(parsed.certificates) == 3
    assert parsed.root_fingerprint is not None
    assert parsed.root_fingerprint.digest == apc_root_sha256()


def _refused(match: str, **kwargs: Any) -> None:
    with pytest.raises(ImportKeyError, match=match) as caught:
        apc.parse_import_parameters(apc_params(kwargs.pop("wrapping", rsa_key(2048)), **kwargs))
    assert caught.value.hint


def test_a_wrapping_certificate_another_ca_signed_is_refused() -> None:
    other_root = certificate(ROOT, rsa_key(4096), ROOT, rsa_key(4096), ca=True)  # same name
    leaf = certificate("wrapping", rsa_key(2048), ROOT, rsa_key(4096), ca=False)
    _refused("does not chain to the root", leaf=leaf)
    # The impostor's own root does verify it; the pin then refuses that root (below).
    parsed = apc.parse_import_parameters(apc_params(rsa_key(2048), leaf=leaf, chain=(other_root,)))
    with pytest.raises(ImportKeyError, match="ceremony file pins") as caught:
        AwsPaymentTarget(
            "apc", WrapMethod.APC_RSA_OAEP_SHA_256, parsed, root_ca_fingerprint=apc_root_sha256()
        ).check(_info(), NOW)
    assert "never change the pin" in (caught.value.hint or "")


def test_a_chain_whose_top_is_not_self_signed_is_refused() -> None:
    middle = certificate("Test APC Issuing CA", rsa_key(4096), ROOT, rsa_key(3072), ca=True)
    leaf = certificate("wrapping", rsa_key(2048), "Test APC Issuing CA", rsa_key(4096), ca=False)
    _refused("'CN=Test APC Issuing CA.*does not chain to the root", leaf=leaf, chain=(middle,))


def test_a_self_signed_wrapping_certificate_is_refused() -> None:
    leaf = certificate("wrapping", rsa_key(2048), "wrapping", rsa_key(2048), ca=False)
    _refused("self-signed", leaf=leaf, chain=(leaf,))


def test_an_issuer_that_is_no_ca_is_refused() -> None:
    middle = certificate("Test APC Issuing CA", rsa_key(4096), ROOT, rsa_key(3072), ca=False)
    leaf = certificate("wrapping", rsa_key(2048), "Test APC Issuing CA", rsa_key(4096), ca=False)
    _refused("not a certificate authority", leaf=leaf, chain=(middle, apc_root()))


def test_a_certificate_off_the_path_is_refused() -> None:
    stray = certificate("Stray", rsa_key(4096), "Stray", rsa_key(4096), ca=True)
    _refused("not on the wrapping key's path", chain=(apc_root(), stray))


def test_a_key_not_of_the_declared_size_is_refused() -> None:
    _refused("holds RSA-2048 key, and the parameters declare RSA_4096", algorithm="RSA_4096")


def test_a_wrapping_certificate_with_an_ec_key_is_refused() -> None:
    builder_key = ec.generate_private_key(ec.SECP256R1())
    from cryptography import x509

    from tests.unit.cloudkeys import _name

    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("ec wrapping"))
        .issuer_name(_name(ROOT))
        .public_key(builder_key.public_key())
        .serial_number(7)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=3))
        .sign(rsa_key(3072), hashes.SHA256())
    )
    _refused("holds a non-RSA key", leaf=leaf)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"WrappingKeyAlgorithm": "TDES_2KEY"}, "RSA_2048, RSA_3072 or RSA_4096"),
        ({"ImportToken": "import-token-short"}, "not an import token"),
        ({"ImportToken": "import-token-" + "a" * 65}, "not an import token"),
        ({"ImportToken": "token-abcdefghij0123456789"}, "not an import token"),
        ({"ParametersValidUntilTimestamp": None}, "no ParametersValidUntilTimestamp"),
        ({"ParametersValidUntilTimestamp": "tomorrow"}, "not a time"),
        ({"WrappingKeyCertificate": "bm90IGEgY2VydA=="}, "neither PEM nor a DER"),
        ({"WrappingKeyCertificateChain": "%%%"}, "not valid base64"),
        ({"WrappingKeyCertificate": None}, "no 'WrappingKeyCertificate'"),
        ({"PublicKey": "AAAA"}, "looks like AWS KMS parameters"),
    ],
)
def test_a_malformed_parameters_file_is_refused_by_name(change: dict[str, Any], match: str) -> None:
    doc = json.loads(apc_params(rsa_key(2048)))
    for field, value in change.items():
        if value is None:
            doc.pop(field)
        else:
            doc[field] = value
    with pytest.raises(ImportKeyError, match=match) as caught:
        apc.parse_import_parameters(json.dumps(doc))
    assert caught.value.hint


def test_pem_that_is_not_a_certificate_or_is_cut_short_is_refused() -> None:
    doc = json.loads(apc_params(rsa_key(2048)))
    public = (
        rsa_key(2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    doc["WrappingKeyCertificate"] = public.decode()
    with pytest.raises(ImportKeyError, match="PEM 'PUBLIC KEY', not a certificate"):
        apc.parse_import_parameters(json.dumps(doc))
    doc = json.loads(apc_params(rsa_key(2048)))
    cut = apc_root().public_bytes(serialization.Encoding.PEM)[:-30]
    doc["WrappingKeyCertificateChain"] = cut.decode()
    with pytest.raises(ImportKeyError, match="truncated PEM block"):
        apc.parse_import_parameters(json.dumps(doc))


def test_aws_kms_parameters_and_other_files_are_refused() -> None:
    with pytest.raises(ImportKeyError, match="AWS KMS parameters"):
        apc.parse_import_parameters(aws_json(rsa_key(2048)))
    with pytest.raises(ImportKeyError, match="is not JSON"):
        apc.parse_import_parameters(apc_root().public_bytes(serialization.Encoding.PEM))


def test_pem_text_and_base64_der_certificates_are_read_too() -> None:
    doc = json.loads(apc_params(rsa_key(2048)))
    root_pem = apc_root().public_bytes(serialization.Encoding.PEM).decode()
    doc["WrappingKeyCertificateChain"] = root_pem
    assert apc.parse_import_parameters(json.dumps(doc)).root_fingerprint is not None
    import base64

    doc["WrappingKeyCertificateChain"] = base64.b64encode(
        apc_root().public_bytes(serialization.Encoding.DER)
    ).decode()
    assert apc.parse_import_parameters(json.dumps(doc)).root_fingerprint is not None


# ---- at the time of the ceremony: the pin, validity, the token ------------------------------


def test_a_root_other_than_the_pinned_one_is_refused_before_any_wrap() -> None:
    target = _target(root_ca_fingerprint=b"\x00" * 32)
    with pytest.raises(ImportKeyError, match="ceremony file pins 0000 0000"):
        target.check(_info(), NOW)
    with pytest.raises(ImportKeyError, match="ceremony file pins"), Secret(_tdes_key()) as key:
        build_bundle([target], key, MaterialKind.TDES_128, key_label="k", kcv=None, now=NOW)


def test_production_needs_a_pinned_root_and_a_rehearsal_does_not() -> None:
    with pytest.raises(ImportKeyError, match="no root CA fingerprint is pinned"):
        _target(root_ca_fingerprint=None, production=True).check(_info(), NOW)
    assert _target(root_ca_fingerprint=None).check(_info(), NOW) == []


@pytest.mark.parametrize(
    ("which", "before", "after", "match"),
    [
        (
            "leaf",
            NOW - timedelta(days=30),
            NOW - timedelta(seconds=1),
            "wrapping key certificate expired",
        ),
        ("leaf", NOW + timedelta(hours=1), NOW + timedelta(days=30), "not valid before"),
        ("root", NOW - timedelta(days=30), NOW - timedelta(hours=1), "CA certificate .* expired"),
        (
            "root",
            NOW + timedelta(minutes=5),
            NOW + timedelta(days=30),
            "CA certificate .* not valid",
        ),
    ],
)
def test_a_certificate_outside_its_validity_is_refused(
    which: str, before: Any, after: Any, match: str
) -> None:
    times = {"not_before": before, "not_after": after}
    if which == "leaf":
        leaf = certificate("wrapping", rsa_key(2048), ROOT, rsa_key(3072), ca=False, **times)
        root = apc_root()
    else:
        root = certificate(ROOT, rsa_key(3072), ROOT, rsa_key(3072), ca=True, **times)
        leaf = certificate("wrapping", rsa_key(2048), ROOT, rsa_key(3072), ca=False)
    target = _target(apc_params(rsa_key(2048), leaf=leaf, chain=(root,)), root_ca_fingerprint=None)
    with pytest.raises(ImportKeyError, match=match):
        target.check(_info(), NOW)


def test_an_import_token_past_its_time_is_refused_and_one_near_it_warned_about() -> None:
    expired = _target(apc_params(rsa_key(2048), valid_until="2026-03-01T08:59:59Z"))
    with pytest.raises(ImportKeyError, match="expired at 2026-03-01T08:59:59Z"):
        expired.check(_info(), NOW)
    soon = _target(apc_params(rsa_key(2048), valid_until="2026-03-01T20:00:00Z"))
    (warning,) = soon.check(_info(), NOW)
    assert "expires at 2026-03-01T20:00:00Z, in 11 h 00 min" in warning


def test_a_weaker_wrapping_key_than_the_key_is_warned_about() -> None:
    assert _target().check(_info(MaterialKind.TDES_192), NOW) == []  # 112 <= 112
    (warning,) = _target().check(_info(MaterialKind.AES_128), NOW)
    assert "RSA-2048 wrapping key (112-bit strength) is weaker" in warning
    assert "request RSA_3072 or RSA_4096" in warning
    strong = _target(apc_params(rsa_key(3072)))
    assert strong.check(_info(MaterialKind.AES_128), NOW) == []
    (warning,) = strong.check(_info(MaterialKind.AES_256), NOW)
    assert "256-bit" in warning and "request RSA" not in warning


@pytest.mark.parametrize(
    "kind",
    [
        MaterialKind.HMAC_SHA256,
        MaterialKind.EC_P256,
        MaterialKind.RSA_2048,
    ],
)
def test_keys_the_service_does_not_take_this_way_are_refused(kind: MaterialKind) -> None:
    with pytest.raises(WrapError, match=f"does not import {kind.value} keys") as caught:
        _target().check_material(_info(kind))
    assert "never single DES, HMAC, EC or RSA" in (caught.value.hint or "")


def test_an_aws_kms_method_or_reader_is_refused_for_this_provider() -> None:
    target = _target(method=WrapMethod.AWS_RSAES_OAEP_SHA_256)
    with pytest.raises(WrapError, match="AWS KMS method, not a AWS Payment Cryptography one"):
        target.check(_info(), NOW)
    kms_key = parse_import_parameters(aws_json(rsa_key(2048)))
    wrong = AwsPaymentTarget("apc", WrapMethod.APC_RSA_OAEP_SHA_256, kms_key)
    with pytest.raises(ImportKeyError, match="read as a AWS KMS key"):
        wrong.check(_info(), NOW)
    # And AWS KMS takes no TDES key.
    kms = AwsTarget("kms", WrapMethod.AWS_RSAES_OAEP_SHA_256, kms_key)
    with pytest.raises(WrapError, match="does not import TDES-128"):
        kms.check_material(_info())


# ---- the import-key JSON, against the service model -----------------------------------------


def _require_shape(value: Any, shape: str) -> None:
    """``value`` has exactly the members the model's ``shape`` allows, every required one, and
    each enum or pattern holds."""
    spec = SHAPES[shape]
    kind = spec["type"]
    if kind == "structure":
        assert isinstance(value, dict), shape
        assert set(value) <= set(spec["members"]), (shape, set(value) - set(spec["members"]))
        assert set(spec.get("required", ())) <= set(value), shape
        for name, member in value.items():
            _require_shape(member, spec["members"][name])
    elif kind == "boolean":
        assert isinstance(value, bool), shape
    elif kind == "string":
        assert isinstance(value, str), shape
        if "enum" in spec:
            assert value in spec["enum"], (shape, value)
        if "pattern" in spec:
            assert re.fullmatch(spec["pattern"], value), (shape, value)
        assert spec.get("min", 0) <= len(value) <= spec.get("max", 10**9), shape


def _shapes() -> None:
    # The model's Boolean and PrimitiveBoolean shapes are not among the copied ones.
    SHAPES.setdefault("Boolean", {"type": "boolean"})
    SHAPES.setdefault("PrimitiveBoolean", {"type": "boolean"})


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
@pytest.mark.parametrize("role", list(KeyRole), ids=lambda r: r.name)
def test_key_material_json_is_an_import_key_material_of_the_model(
    kind: MaterialKind, role: KeyRole
) -> None:
    _shapes()
    algorithm = apc.key_algorithm(kind)
    if not role.allows(algorithm):
        pytest.skip(f"a {role.value} is not a {algorithm.value} key")
    target = _target(role=role)
    key = (
        _tdes_key(kind.raw_length or 16)
        if algorithm is KeyAlgorithm.TDES
        else _aes_key(kind.raw_length or 16)
    )
    doc = json.loads(_file(_bundle(target, key, kind), apc.KEY_MATERIAL))
    _require_shape(doc, "ImportKeyMaterial")
    assert list(doc) == ["KeyCryptogram"]
    cryptogram = doc["KeyCryptogram"]
    assert list(cryptogram) == [
        "KeyAttributes",
        "Exportable",
        "WrappedKeyCryptogram",
        "ImportToken",
        "WrappingSpec",
    ]
    attributes = cryptogram["KeyAttributes"]
    assert attributes["KeyClass"] == "SYMMETRIC_KEY"
    assert attributes["KeyAlgorithm"] == apc.KEY_ALGORITHMS[kind]
    assert attributes["KeyUsage"] == role.aws_usage(algorithm)
    modes = attributes["KeyModesOfUse"]
    assert list(modes) == list(SHAPES["KeyModesOfUse"]["members"])  # all nine, model order
    assert {m for m, on in modes.items() if on} == set(role.facts.aws_modes)
    assert cryptogram["Exportable"] is False
    assert cryptogram["ImportToken"] == APC_TOKEN
    assert cryptogram["WrappingSpec"] == "RSA_OAEP_SHA_256"
    assert cryptogram["WrappedKeyCryptogram"] == cryptogram["WrappedKeyCryptogram"].upper()
    assert len(cryptogram["WrappedKeyCryptogram"]) == 2 * 256


def test_the_role_gives_the_attributes() -> None:
    def attributes(role: KeyRole, kind: MaterialKind) -> dict[str, Any]:
        return _target(role=role).key_attributes(kind)

    zmk = attributes(KeyRole.ZMK, MaterialKind.TDES_128)
    assert zmk["KeyUsage"] == "TR31_K0_KEY_ENCRYPTION_KEY" and zmk["KeyAlgorithm"] == "TDES_2KEY"
    bdk = attributes(KeyRole.BDK, MaterialKind.AES_128)
    assert bdk["KeyUsage"] == "TR31_B0_BASE_DERIVATION_KEY"
    assert [m for m, on in bdk["KeyModesOfUse"].items() if on] == ["DeriveKey"]
    mac = attributes(KeyRole.MAC, MaterialKind.AES_256)
    assert mac["KeyUsage"] == "TR31_M6_ISO_9797_5_CMAC_KEY"
    assert [m for m, on in mac["KeyModesOfUse"].items() if on] == ["Generate", "Verify"]
    assert (
        attributes(KeyRole.MAC, MaterialKind.TDES_192)["KeyUsage"] == "TR31_M3_ISO_9797_3_MAC_KEY"
    )
    assert attributes(KeyRole.PEK, MaterialKind.TDES_192)["KeyAlgorithm"] == "TDES_3KEY"
    assert attributes(KeyRole.KBPK, MaterialKind.AES_192)["KeyAlgorithm"] == "AES_192"


def test_exportable_comes_from_the_file() -> None:
    files = _bundle(_target(exportable=True), _aes_key(16), MaterialKind.AES_128)
    assert json.loads(_file(files, apc.KEY_MATERIAL))["KeyCryptogram"]["Exportable"] is True


# ---- the check value AWS reports -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "algorithm", "method"),
    [
        (MaterialKind.TDES_128, "ANSI_X9_24", KcvMethod.TDES_ECB_ZERO),
        (MaterialKind.TDES_192, "ANSI_X9_24", KcvMethod.TDES_ECB_ZERO),
        (MaterialKind.AES_128, "CMAC", KcvMethod.AES_CMAC),
        (MaterialKind.AES_256, "CMAC", KcvMethod.AES_CMAC),
    ],
)
def test_the_kcv_algorithm_and_value_per_key_type(
    kind: MaterialKind, algorithm: str, method: KcvMethod
) -> None:
    assert kind.raw_length is not None
    key = (
        _tdes_key(kind.raw_length)
        if method is KcvMethod.TDES_ECB_ZERO
        else _aes_key(kind.raw_length)
    )
    files = _bundle(_target(), key, kind)
    manifest = json.loads(_file(files, "MANIFEST.json"))["target"]
    expected = check_value(key, method, 3).hex
    assert manifest["key_check_value_algorithm"] == algorithm
    assert manifest["key_check_value"] == expected
    assert algorithm in SHAPES["KeyCheckValueAlgorithm"]["enum"]
    assert re.fullmatch(SHAPES["KeyCheckValue"]["pattern"], expected)
    md = _file(files, "IMPORT.md").decode()
    assert f"--key-check-value-algorithm {algorithm}" in md
    assert f"`KeyCheckValue`: it must be `{expected}`" in md
    assert "aws payment-cryptography get-key" in md


@pytest.mark.parametrize("length", [16, 24, 32])
def test_the_kcv_is_what_the_model_says_aws_computes(length: int) -> None:
    """The model's KeyCheckValueAlgorithm text, done with pycryptodome: TDES encrypts 8 zero
    bytes, AES takes the CMAC of 16 zero bytes; the 3 highest-order bytes either way."""
    from Crypto.Cipher import AES, DES3
    from Crypto.Hash import CMAC

    aes = bytes(range(7, 7 + length))
    cmac = CMAC.new(aes, ciphermod=AES).update(bytes(16)).digest()[:3]
    assert check_value(aes, KcvMethod.AES_CMAC).value == cmac
    if length in (16, 24):
        tdes = _tdes_key(length)
        ecb = DES3.new(tdes, DES3.MODE_ECB).encrypt(bytes(8))[:3]
        assert check_value(tdes, KcvMethod.TDES_ECB_ZERO).value == ecb


def test_a_kcv_of_another_method_is_refused() -> None:
    key = _aes_key(16)
    with Secret(bytearray(key)) as secret, pytest.raises(WrapError, match="AWS computes CMAC"):
        build_bundle(
            [_target()],
            secret,
            MaterialKind.AES_128,
            key_label="k",
            kcv=str(check_value(key, KcvMethod.AES_ECB_ZERO)),
            now=NOW,
        )


# ---- the wrap: pyca, openssl, and blobs an HSM returned --------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    method=st.sampled_from(METHODS),
    raw=st.binary(min_size=32, max_size=32),
)
def test_a_software_wrap_opens_to_the_key(
    kind: MaterialKind, method: WrapMethod, raw: bytes
) -> None:
    assert kind.raw_length is not None
    # Hashed: raw bytes that read as hex or base64 text are refused as encoded material.
    buf = bytearray(hashlib.sha512(raw).digest()[: kind.raw_length])
    if kind.name.startswith("TDES"):
        parity.adjust(buf)
    key = bytes(buf)
    files = _bundle(_target(method=method), key, kind)
    algorithm = method.oaep_hash.algorithm()
    pad = padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)
    assert rsa_key(2048).decrypt(_cryptogram(files), pad) == key


@pytest.fixture(scope="module")
def private_pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("apc") / "wrapping.pem"
    path.write_bytes(
        rsa_key(2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _openssl(pem: Path, blob: bytes, md: str, mgf1: str) -> bytes | None:
    done = subprocess.run(
        [
            "openssl", "pkeyutl", "-decrypt", "-inkey", str(pem),
            "-pkeyopt", "rsa_padding_mode:oaep",
            "-pkeyopt", f"rsa_oaep_md:{md}",
            "-pkeyopt", f"rsa_mgf1_md:{mgf1}",
        ],
        input=blob, capture_output=True, check=False,
    )  # fmt: skip
    return done.stdout if done.returncode == 0 else None


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.value)
@pytest.mark.parametrize(
    "kind", [MaterialKind.TDES_128, MaterialKind.AES_256], ids=lambda k: k.name
)
def test_openssl_opens_the_cryptogram(
    private_pem: Path, method: WrapMethod, kind: MaterialKind
) -> None:
    assert kind.raw_length is not None
    key = _tdes_key(kind.raw_length) if kind.name.startswith("TDES") else bytes(range(32))
    blob = _cryptogram(_bundle(_target(method=method), key, kind))
    md = method.oaep_hash.openssl_name
    assert _openssl(private_pem, blob, md, md) == key
    other = "sha256" if md == "sha512" else "sha512"
    assert _openssl(private_pem, blob, other, other) is None
    assert _openssl(private_pem, blob, md, other) is None  # MGF1 is the OAEP hash


def test_a_blob_an_hsm_returned_is_laid_out_the_same_way() -> None:
    target = _target(method=WrapMethod.APC_RSA_OAEP_SHA_512)
    key = _tdes_key(24)
    algorithm = hashes.SHA512()
    pad = padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)
    blob = rsa_key(2048).public_key().encrypt(key, pad)
    kcv = str(check_value(key, KcvMethod.TDES_ECB_ZERO))
    files = assemble_bundle(
        target, blob, MaterialKind.TDES_192, key_label="zmk", kcv=kcv, now=NOW,
        wrapped_by="inside the HSM (a test token)",
    )  # fmt: skip
    assert _cryptogram(files) == blob
    manifest = json.loads(_file(files, "MANIFEST.json"))
    assert manifest["wrapped_by"] == "inside the HSM (a test token)"
    assert manifest["target"]["wrapping_spec"] == "RSA_OAEP_SHA_512"
    assert manifest["target"]["root_ca_sha256"] == apc_root_sha256().hex()
    with pytest.raises(WrapError, match="bytes where 256 are due"):
        assemble_bundle(
            target, blob[:-1], MaterialKind.TDES_192, key_label="zmk", kcv=kcv, now=NOW,
            wrapped_by="inside the HSM (a test token)",
        )  # fmt: skip


def test_nothing_secret_reaches_import_md_or_the_manifest() -> None:
    key = _tdes_key(16)
    files = _bundle(_target(), key, MaterialKind.TDES_128)
    for f in files:
        if f.name.endswith(("IMPORT.md", "MANIFEST.json", "SHA256SUMS")):
            assert key.hex().encode() not in f.data.lower()
            assert key not in f.data


def test_import_md_names_the_root_and_the_commands() -> None:
    files = _bundle(_target(region="eu-west-1"), _tdes_key(), MaterialKind.TDES_128)
    md = _file(files, "IMPORT.md").decode()
    root = apc.parse_import_parameters(apc_params(rsa_key(2048))).root_fingerprint
    assert root is not None and root.groups() in md
    assert "pinned in the ceremony file, and it matched" in md
    assert "--key-material-type KEY_CRYPTOGRAM" in md and "--wrapping-key-algorithm RSA_2048" in md
    assert "--key-material file://key-material.json" in md and "--region eu-west-1" in md
    assert "`KeyUsage` `TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY`" in md

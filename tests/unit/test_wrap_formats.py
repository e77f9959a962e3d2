"""The 11 cloud formats against oracles nobody here wrote: OpenSSL pkeyutl/enc and Wycheproof."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ceremony.core import keywrap, rng
from ceremony.core.component import KeyAlgorithm
from ceremony.core.kcv import check_value, default_method
from ceremony.core.providers import (
    AwsPaymentTarget,
    AwsTarget,
    AzureTarget,
    BundleFile,
    GcpTarget,
    MaterialKind,
    Provider,
    Target,
    WrapMethod,
    assemble_bundle,
    aws_payment,
    build_bundle,
    parse_import_job,
    parse_import_parameters,
    parse_kek,
)
from ceremony.core.secret import Secret
from ceremony.core.wrap import (
    OaepHash,
    oaep_encrypt,
    oaep_max_payload,
    oaep_padding,
    rsa_aes_wrap,
)
from ceremony.errors import WrapError
from tests.unit.cloudkeys import (
    MHSM_KID,
    NOW,
    VECTORS,
    apc_params,
    aws_json,
    gcp_json,
    material,
    pem,
    rsa_key,
    wycheproof_key,
)

AWS_KINDS = [
    MaterialKind.AES_256,
    MaterialKind.HMAC_SHA224,
    MaterialKind.HMAC_SHA512,
    MaterialKind.EC_P256,
    MaterialKind.EC_P384,
    MaterialKind.EC_P521,
    MaterialKind.EC_SECP256K1,
    MaterialKind.RSA_2048,
]
AZURE_KINDS = [
    MaterialKind.AES_128,
    MaterialKind.AES_256,
    MaterialKind.EC_P256,
    MaterialKind.EC_P384,
    MaterialKind.EC_P521,
    MaterialKind.EC_SECP256K1,
    MaterialKind.RSA_2048,
]
GCP_KINDS = [
    MaterialKind.AES_256,
    MaterialKind.AES_128,
    MaterialKind.HMAC_SHA256,
    MaterialKind.EC_P256,
    MaterialKind.EC_P384,
    MaterialKind.EC_SECP256K1,
    MaterialKind.RSA_2048,
]
APC_KINDS = [
    MaterialKind.TDES_128,
    MaterialKind.TDES_192,
    MaterialKind.AES_128,
    MaterialKind.AES_192,
    MaterialKind.AES_256,
]
KINDS = {
    Provider.AWS: AWS_KINDS,
    Provider.AZURE: AZURE_KINDS,
    Provider.GCP: GCP_KINDS,
    Provider.AWS_PAYMENT_CRYPTOGRAPHY: APC_KINDS,
}


def _cases() -> list[tuple[WrapMethod, int, MaterialKind]]:
    cases = []
    for method in WrapMethod:
        kinds = KINDS[method.provider]
        for bits in method.spec.key_bits:
            for kind in kinds:
                if not method.composite and kind.is_rsa:
                    continue  # refused by design; see test_providers
                if not method.composite and kind is MaterialKind.EC_P521 and bits == 2048:
                    continue
                cases.append((method, bits, kind))
    return cases


CASES = _cases()


def test_every_format_is_covered() -> None:
    assert len(WrapMethod) == 13
    assert {c[0] for c in CASES} == set(WrapMethod)
    assert len(CASES) > 120


def make_target(method: WrapMethod, key: rsa.RSAPrivateKey, kind: MaterialKind) -> Target:
    if method.provider is Provider.AWS:
        return AwsTarget("t", method, parse_import_parameters(aws_json(key)))
    if method.provider is Provider.AZURE:
        return AzureTarget("t", parse_kek(pem(key), MHSM_KID), "k1")
    if method.provider is Provider.AWS_PAYMENT_CRYPTOGRAPHY:
        return AwsPaymentTarget("t", method, aws_payment.parse_import_parameters(apc_params(key)))
    algorithm = "aes-128-gcm" if kind is MaterialKind.AES_128 else ""
    return GcpTarget("t", method, parse_import_job(gcp_json(key, method.value)), "k1", algorithm)


def kcv_of(kind: MaterialKind, key: bytes) -> str | None:
    if not kind.is_symmetric:
        return None
    algorithm = {"AES": KeyAlgorithm.AES, "TDE": KeyAlgorithm.TDES}.get(
        kind.value[:3], KeyAlgorithm.HMAC
    )
    return str(check_value(key, default_method(algorithm, len(key))))


def wrapped_blob(files: list[BundleFile]) -> bytes:
    """The wrapped key as the cloud receives it, out of whichever file carries it."""
    by_name = {f.name.rsplit("/", 1)[-1]: f.data for f in files}
    if "EncryptedKeyMaterial.bin" in by_name:
        return by_name["EncryptedKeyMaterial.bin"]
    if "wrapped-key.bin" in by_name:
        return by_name["wrapped-key.bin"]
    if aws_payment.KEY_MATERIAL in by_name:
        cryptogram = json.loads(by_name[aws_payment.KEY_MATERIAL])["KeyCryptogram"]
        return bytes.fromhex(cryptogram["WrappedKeyCryptogram"])
    (byok,) = [data for name, data in by_name.items() if name.endswith(".byok")]
    text = json.loads(byok)["ciphertext"]
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def manifest_of(files: list[BundleFile]) -> dict[str, object]:
    (data,) = [f.data for f in files if f.name.endswith("/MANIFEST.json")]
    doc = json.loads(data)
    assert isinstance(doc, dict)
    return doc


# ---- OpenSSL oracles --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("oracle-keys")
    paths = {}
    for bits in (2048, 3072, 4096):
        path = folder / f"kek-{bits}.pem"
        path.write_bytes(
            rsa_key(bits).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        paths[bits] = path
    return paths


def openssl_oaep_decrypt(key: Path, blob: bytes, md: str, mgf1: str | None = None) -> bytes | None:
    args = ["openssl", "pkeyutl", "-decrypt", "-inkey", str(key)]
    args += ["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", f"rsa_oaep_md:{md}"]
    args += ["-pkeyopt", f"rsa_mgf1_md:{mgf1 or md}"]
    done = subprocess.run(args, input=blob, capture_output=True, check=False)
    return done.stdout if done.returncode == 0 else None


def openssl_kwp_unwrap(aes: bytes, blob: bytes) -> bytes | None:
    args = ["openssl", "enc", "-d", "-id-aes256-wrap-pad", "-iv", "A65959A6", "-K", aes.hex()]
    done = subprocess.run(args, input=blob, capture_output=True, check=False)
    return done.stdout if done.returncode == 0 else None


def openssl_kwp_wrap(aes: bytes, data: bytes) -> bytes:
    args = ["openssl", "enc", "-id-aes256-wrap-pad", "-iv", "A65959A6", "-K", aes.hex()]
    return subprocess.run(args, input=data, capture_output=True, check=True).stdout


def test_this_openssl_has_kwp() -> None:
    listing = subprocess.run(["openssl", "enc", "-list"], capture_output=True, check=True).stdout
    assert b"-id-aes256-wrap-pad" in listing


@pytest.mark.parametrize(
    ("method", "bits", "kind"), CASES, ids=[f"{m.name}-{b}-{k.name}" for m, b, k in CASES]
)
def test_format_recovered_by_openssl(
    key_files: dict[int, Path], method: WrapMethod, bits: int, kind: MaterialKind
) -> None:
    plain = material(kind)
    kcv = kcv_of(kind, plain)
    target = make_target(method, rsa_key(bits), kind)
    with Secret(plain, "test key") as secret:
        files = build_bundle([target], secret, kind, key_label="key", kcv=kcv, now=NOW)
    blob = wrapped_blob(files)
    k = bits // 8
    md = method.oaep_hash.openssl_name
    other = "sha256" if md == "sha1" else "sha1"
    key = key_files[bits]
    if method.composite:
        assert len(blob) == k + keywrap.wrapped_length(len(plain))
        head, tail = blob[:k], blob[k:]
        aes = openssl_oaep_decrypt(key, head, md)
        assert aes is not None and len(aes) == 32
        assert openssl_kwp_unwrap(aes, tail) == plain
        assert openssl_oaep_decrypt(key, head, other) is None
    else:
        assert len(blob) == k
        assert openssl_oaep_decrypt(key, blob, md) == plain
        assert openssl_oaep_decrypt(key, blob, other) is None
    manifest = manifest_of(files)
    recorded = manifest["key"]
    assert isinstance(recorded, dict)
    if kind.is_symmetric:
        assert recorded["kcv"] == kcv_of(kind, plain) and kcv is not None
    else:
        loaded = serialization.load_der_private_key(plain, None)
        spki = loaded.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert recorded["public_key_sha256"] == hashlib.sha256(spki).hexdigest()


def test_mgf1_must_equal_the_oaep_hash(key_files: dict[int, Path]) -> None:
    public = rsa_key(2048).public_key()
    blob = oaep_encrypt(public, b"\x5a" * 32, OaepHash.SHA256)
    assert openssl_oaep_decrypt(key_files[2048], blob, "sha256") == b"\x5a" * 32
    assert openssl_oaep_decrypt(key_files[2048], blob, "sha256", "sha1") is None
    assert openssl_oaep_decrypt(key_files[2048], blob, "sha1", "sha256") is None


@pytest.mark.parametrize("length", [1, 7, 8, 9, 16, 20, 32, 33, 48, 64, 138, 241, 1217])
def test_kwp_equals_openssl(length: int) -> None:
    aes = hashlib.sha256(b"kek%d" % length).digest()
    data = hashlib.shake_256(b"data%d" % length).digest(length)
    ours = keywrap.wrap(aes, data)
    assert ours == openssl_kwp_wrap(aes, data)
    assert openssl_kwp_unwrap(aes, ours) == data


# ---- Wycheproof OAEP: our padding has MGF1 = hash and an empty label ----------------------------

OAEP_FILES = [
    "rsa_oaep_2048_sha1_mgf1sha1_test.json",
    "rsa_oaep_2048_sha256_mgf1sha256_test.json",
    "rsa_oaep_3072_sha256_mgf1sha256_test.json",
    "rsa_oaep_4096_sha256_mgf1sha256_test.json",
]


@pytest.mark.parametrize("name", OAEP_FILES)
def test_wycheproof_oaep(name: str) -> None:
    doc = json.loads((VECTORS / "wycheproof" / name).read_text())
    counts = {"decrypted": 0, "label_refused": 0, "invalid_refused": 0, "round_trips": 0}
    for group in doc["testGroups"]:
        assert group["mgfSha"] == group["sha"]
        oaep_hash = OaepHash.SHA1 if group["sha"] == "SHA-1" else OaepHash.SHA256
        private = serialization.load_pem_private_key(group["privateKeyPem"].encode(), None)
        assert isinstance(private, rsa.RSAPrivateKey)
        ours = oaep_padding(oaep_hash)
        for t in group["tests"]:
            msg, ct, label = (bytes.fromhex(t[f]) for f in ("msg", "ct", "label"))
            if t["result"] == "valid" and not label:
                assert private.decrypt(ct, ours) == msg
                counts["decrypted"] += 1
            else:
                # Valid only with a label (EncryptionWithLabel), or invalid: our padding refuses.
                with pytest.raises(ValueError):
                    private.decrypt(ct, ours)
                counts["label_refused" if label else "invalid_refused"] += 1
            if t["result"] == "valid" and msg:
                blob = oaep_encrypt(private.public_key(), msg, oaep_hash)
                explicit = padding.OAEP(
                    padding.MGF1(oaep_hash.algorithm()), oaep_hash.algorithm(), None
                )
                assert private.decrypt(blob, explicit) == msg
                if label:
                    labelled = padding.OAEP(
                        padding.MGF1(oaep_hash.algorithm()), oaep_hash.algorithm(), label
                    )
                    with pytest.raises(ValueError):
                        private.decrypt(blob, labelled)
                counts["round_trips"] += 1
    assert counts["decrypted"] >= 8
    assert counts["label_refused"] >= 5  # the EncryptionWithLabel cases
    assert counts["invalid_refused"] >= 13


@pytest.mark.parametrize("bits", [2048, 3072, 4096])
@pytest.mark.parametrize("oaep_hash", list(OaepHash))
def test_oaep_payload_limit(bits: int, oaep_hash: OaepHash) -> None:
    key = wycheproof_key(bits)
    limit = oaep_max_payload(bits // 8, oaep_hash)
    assert limit == bits // 8 - 2 * oaep_hash.digest_size - 2
    blob = oaep_encrypt(key.public_key(), b"\x01" * limit, oaep_hash)
    assert key.decrypt(blob, oaep_padding(oaep_hash)) == b"\x01" * limit
    with pytest.raises(WrapError, match="k - 2h - 2"):
        oaep_encrypt(key.public_key(), b"\x01" * (limit + 1), oaep_hash)


def test_oaep_hash_objects() -> None:
    assert isinstance(OaepHash.SHA1.algorithm(), hashes.SHA1)
    assert isinstance(OaepHash.SHA256.algorithm(), hashes.SHA256)
    assert isinstance(OaepHash.SHA512.algorithm(), hashes.SHA512)
    assert [h.digest_size for h in OaepHash] == [20, 32, 64]
    assert [h.openssl_name for h in OaepHash] == ["sha1", "sha256", "sha512"]
    pad = oaep_padding(OaepHash.SHA256)
    assert pad._label is None


# ---- golden bundles with a seeded random source --------------------------------------------------


def seeded(seed: bytes) -> Callable[[int], bytes]:
    counter = itertools.count()

    def source(length: int) -> bytes:
        out = b""
        while len(out) < length:
            out += hashlib.sha256(seed + next(counter).to_bytes(8, "big")).digest()
        return out[:length]

    return source


def golden_targets() -> list[Target]:
    k2048, k3072, k4096 = (wycheproof_key(b) for b in (2048, 3072, 4096))
    return [
        AwsTarget(
            "aws-euw1",
            WrapMethod.AWS_RSA_AES_KEY_WRAP_SHA_256,
            parse_import_parameters(aws_json(k2048)),
        ),
        AwsTarget(
            "aws-direct",
            WrapMethod.AWS_RSAES_OAEP_SHA_1,
            parse_import_parameters(aws_json(k3072)),
        ),
        AzureTarget("azure", parse_kek(pem(k4096), MHSM_KID), "golden-key", ("sign", "verify")),
        GcpTarget(
            "gcp",
            WrapMethod.GCP_RSA_OAEP_3072_SHA1_AES_256,
            parse_import_job(gcp_json(k3072, "RSA_OAEP_3072_SHA1_AES_256")),
            "golden-key",
        ),
        GcpTarget(
            "gcp-direct",
            WrapMethod.GCP_RSA_OAEP_4096_SHA256,
            parse_import_job(gcp_json(k4096, "RSA_OAEP_4096_SHA256")),
            "golden-key",
        ),
    ]


_BLOB_NAMES = ("EncryptedKeyMaterial.bin", "wrapped-key.bin", ".byok")


def normalise(files: list[BundleFile], targets: list[Target]) -> dict[str, bytes]:
    """Each file with its random OAEP part replaced by the OAEP plaintext; all else as written."""
    by_label = {t.label: t for t in targets}
    out: dict[str, bytes] = {}
    for f in files:
        _, label, name = f.name.split("/")
        target = by_label[label]
        private = wycheproof_key(target.import_key.key_bits)
        pad = oaep_padding(target.method.oaep_hash)
        k = target.import_key.modulus_length

        def plain(
            blob: bytes, private: rsa.RSAPrivateKey = private, pad: padding.OAEP = pad, k: int = k
        ) -> bytes:
            return private.decrypt(blob[:k], pad) + blob[k:]

        if name.endswith(".byok"):
            doc = json.loads(f.data)
            text = doc["ciphertext"]
            doc["ciphertext"] = plain(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))).hex()
            out[f.name] = json.dumps(doc, sort_keys=True).encode()
        elif name in _BLOB_NAMES:
            out[f.name] = plain(f.data)
        elif name == "MANIFEST.json":
            doc = json.loads(f.data)
            for entry in doc["files"]:
                if entry["name"].endswith(_BLOB_NAMES):
                    entry["sha256"] = "random OAEP"
            out[f.name] = json.dumps(doc, sort_keys=True).encode()
        elif name == "SHA256SUMS":
            lines = f.data.decode().splitlines()
            out[f.name] = "\n".join(
                line for line in lines if not line.endswith((*_BLOB_NAMES, "MANIFEST.json"))
            ).encode()
        else:
            out[f.name] = f.data
    return out


def golden_run(kind: MaterialKind, seed: bytes) -> dict[str, bytes]:
    """Every file of the bundle exactly as written, the OAEP seeds included."""
    with rng.installed(seeded(seed), "seeded test source"), Secret(material(kind)) as secret:
        files = build_bundle(
            golden_targets(),
            secret,
            kind,
            key_label="golden",
            kcv=kcv_of(kind, material(kind)),
            now=NOW,
        )
    return {f.name: f.data for f in files}


def digest(normalised: dict[str, bytes]) -> str:
    lines = [
        f"{name} {hashlib.sha256(data).hexdigest()}\n" for name, data in sorted(normalised.items())
    ]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


# SHA-256 over every file of the bundle, byte for byte: OAEP seeds come from the seeded source too.
# A change means the bytes the clouds receive, IMPORT.md or the manifest changed (tool version too).
GOLDEN = {
    MaterialKind.AES_256: "b37842556772737a1205983073c6d908e4b74667a71ab0a6cfc58bc106974f84",
    MaterialKind.EC_P256: "1e340a4f30c2774017f7281e2f3da9186c8b8345506effcb1b64355e4937ec2e",
}


@pytest.mark.parametrize("kind", list(GOLDEN))
def test_golden_bundle_is_byte_stable(kind: MaterialKind) -> None:
    first = golden_run(kind, b"golden")
    second = golden_run(kind, b"golden")
    assert first == second
    assert golden_run(kind, b"other seed") != first
    # The composite's ephemeral key is the seeded source's first 32 bytes.
    blob = normalise(
        [BundleFile(n, d) for n, d in first.items() if n.startswith("golden/aws-euw1/")],
        golden_targets(),
    )["golden/aws-euw1/EncryptedKeyMaterial.bin"]
    assert blob[:32] == seeded(b"golden")(32)
    assert digest(first) == GOLDEN[kind], digest(first)


# ---- blobs an HSM returned -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", [MaterialKind.AES_256, MaterialKind.EC_P384])
def test_assemble_hsm_blob(key_files: dict[int, Path], kind: MaterialKind) -> None:
    method = WrapMethod.GCP_RSA_OAEP_4096_SHA1_AES_256
    target = make_target(method, rsa_key(4096), kind)
    plain = material(kind)
    with Secret(plain) as secret:
        blob = rsa_aes_wrap(rsa_key(4096).public_key(), secret, OaepHash.SHA1)  # as the token does
        host = build_bundle([target], secret, kind, key_label="k", kcv=None, now=NOW)
    files = assemble_bundle(
        target, blob, kind, key_label="k", kcv=None, now=NOW, wrapped_by="SoftHSM 2.6.1"
    )
    assert [f.name for f in files] == [f.name for f in host]
    assert wrapped_blob(files) == blob
    aes = openssl_oaep_decrypt(key_files[4096], blob[:512], "sha1")
    assert aes is not None and openssl_kwp_unwrap(aes, blob[512:]) == plain
    assert manifest_of(files)["wrapped_by"] == "SoftHSM 2.6.1"


@pytest.mark.parametrize(
    ("kind", "method", "length", "why"),
    [
        (MaterialKind.AES_256, WrapMethod.GCP_RSA_OAEP_3072_SHA256_AES_256, 384 + 8, "k \\+ 8"),
        (MaterialKind.AES_256, WrapMethod.GCP_RSA_OAEP_3072_SHA256_AES_256, 384 + 44, "k \\+ 8"),
        (MaterialKind.AES_256, WrapMethod.GCP_RSA_OAEP_3072_SHA256_AES_256, 384 + 48, "are due"),
        (MaterialKind.EC_P256, WrapMethod.GCP_RSA_OAEP_3072_SHA256_AES_256, 300, "k \\+ 8"),
        (MaterialKind.AES_256, WrapMethod.GCP_RSA_OAEP_3072_SHA256, 383, "are due"),
        (MaterialKind.RSA_4096, WrapMethod.AWS_RSA_AES_KEY_WRAP_SHA_256, 384 + 6000, "at most"),
    ],
)
def test_assemble_refuses_bad_shapes(
    kind: MaterialKind, method: WrapMethod, length: int, why: str
) -> None:
    target = make_target(method, rsa_key(3072), kind)
    with pytest.raises(WrapError, match=why):
        assemble_bundle(
            target, bytes(length), kind, key_label="k", kcv=None, now=NOW, wrapped_by="HSM"
        )


# ---- what the evidence says --------------------------------------------------------------------


def _bundle(rehearsal: bool) -> list[BundleFile]:
    kind = MaterialKind.AES_256
    with rng.installed(seeded(b"marks"), "seeded test source"), Secret(material(kind)) as secret:
        return build_bundle(
            golden_targets()[:3],
            secret,
            kind,
            key_label="k",
            kcv=kcv_of(kind, material(kind)),
            now=NOW,
            rehearsal=rehearsal,
        )


def test_a_rehearsal_marks_every_file_a_person_might_upload() -> None:
    files = _bundle(rehearsal=True)
    guides = [f for f in files if f.name.endswith("/IMPORT.md")]
    manifests = [f for f in files if f.name.endswith("/MANIFEST.json")]
    assert len(guides) == len(manifests) == 3
    for guide in guides:
        assert guide.data.startswith(b"> **REHEARSAL: made for practice"), guide.name
    for manifest in manifests:
        doc = json.loads(manifest.data)
        assert doc["rehearsal"] is True and doc["notice"].startswith("REHEARSAL"), manifest.name
    # SHA256SUMS covers the marked IMPORT.md, not an unmarked one.
    sums = {f.name: f.data for f in files if f.name.endswith("/SHA256SUMS")}
    for guide in guides:
        listed = sums[guide.name.rsplit("/", 1)[0] + "/SHA256SUMS"].decode()
        assert f"{hashlib.sha256(guide.data).hexdigest()}  IMPORT.md" in listed


def test_a_production_bundle_carries_no_rehearsal_mark() -> None:
    files = _bundle(rehearsal=False)
    for f in files:
        assert b"REHEARSAL" not in f.data, f.name
        if f.name.endswith("/MANIFEST.json"):
            assert json.loads(f.data)["rehearsal"] is False


def test_wrapped_by_names_the_library_that_did_each_step() -> None:
    files = _bundle(rehearsal=False)
    by_target = {f.name.split("/")[1]: manifest_of([f]) for f in files if "MANIFEST" in f.name}
    composite = str(by_target["aws-euw1"]["wrapped_by"])
    direct = str(by_target["aws-direct"]["wrapped_by"])
    assert "RSA-OAEP by pycryptodome" in composite and "RFC 5649) by pyca/cryptography" in composite
    assert "RSA-OAEP by pycryptodome" in direct and "5649" not in direct
    (byok,) = [f for f in files if f.name.endswith(".byok")]
    assert "RSA-OAEP by pycryptodome" in json.loads(byok.data)["generator"]

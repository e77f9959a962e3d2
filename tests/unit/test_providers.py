"""Provider import keys, fingerprints, guardrails, IMPORT.md and .byok: parsed, refused, fuzzed."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceremony.core import pgpwords
from ceremony.core.providers import (
    AwsTarget,
    AzureTarget,
    BundleFile,
    Fingerprint,
    GcpTarget,
    MaterialInfo,
    MaterialKind,
    Target,
    WrapMethod,
    assemble_bundle,
    aws,
    build_bundle,
    inspect_material,
    parse_fingerprint,
    parse_import_job,
    parse_import_parameters,
    parse_kek,
    parse_method,
    preflight,
)
from ceremony.core.secret import Secret
from ceremony.errors import CeremonyError, ImportKeyError, KeyMaterialError, WrapError
from tests.unit.cloudkeys import (
    AWS_ARN,
    AWS_ARN_2,
    GCP_JOB,
    MHSM_KID,
    NOW,
    TOKEN,
    VAULT_KID,
    aws_json,
    gcp_json,
    later,
    material,
    pem,
    rsa_key,
    spki,
)

SHA256_AES_3072 = "RSA_OAEP_3072_SHA256_AES_256"


def aws_target(
    method: WrapMethod = WrapMethod.AWS_RSA_AES_KEY_WRAP_SHA_256, bits: int = 2048, **kw: object
) -> AwsTarget:
    key = kw.pop("key", None) or parse_import_parameters(aws_json(rsa_key(bits)))
    return AwsTarget(kw.pop("label", "aws"), method, key, **kw)  # type: ignore[arg-type]


def azure_target(kid: str = VAULT_KID, bits: int = 2048, **kw: object) -> AzureTarget:
    return AzureTarget("azure", parse_kek(pem(rsa_key(bits)), kid), "key-1", **kw)  # type: ignore[arg-type]


def gcp_target(method: str = SHA256_AES_3072, algorithm: str = "", **kw: str) -> GcpTarget:
    bits = 4096 if "4096" in method else 3072
    job = parse_import_job(gcp_json(rsa_key(bits), method, **kw))
    return GcpTarget("gcp", parse_method(method), job, "key-1", algorithm)


def build(target: Target, kind: MaterialKind, data: bytes | None = None) -> list[BundleFile]:
    with Secret(material(kind) if data is None else data) as secret:
        return build_bundle([target], secret, kind, key_label="k", kcv=None, now=NOW)


def file_text(files: list[BundleFile], suffix: str) -> str:
    (data,) = [f.data for f in files if f.name.endswith(suffix)]
    return data.decode()


# ---- parsing each provider's own download ------------------------------------------------------


def test_aws_json_with_iso_expiry() -> None:
    key = parse_import_parameters(aws_json(rsa_key(2048)))
    assert key.reference == AWS_ARN
    assert key.import_token == TOKEN
    assert key.valid_to == datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert key.key_bits == 2048
    assert key.spki_der == spki(rsa_key(2048))


def test_aws_json_with_epoch_expiry_from_cli_v1() -> None:
    key = parse_import_parameters(aws_json(rsa_key(3072), valid_to=1772442000.123))
    assert key.valid_to == datetime.fromtimestamp(1772442000.123, UTC)


def test_aws_base64_public_key_and_token() -> None:
    text = base64.b64encode(spki(rsa_key(4096))).decode()
    token_b64 = base64.encodebytes(TOKEN)  # wrapped lines, as saved by hand
    key = parse_import_parameters(text, import_token=token_b64, token_base64=True, key_id=AWS_ARN)
    assert key.import_token == TOKEN and key.reference == AWS_ARN and key.valid_to is None
    assert key.import_token_form == aws.TOKEN_BASE64_FILE


@pytest.mark.parametrize(
    "token",
    [
        b"AAAAAAAA",  # 8 bytes that are all base64 letters: decoded, it was 6 and AWS refused it
        b"\xef\xbb\xbfSGVsbG8=",  # a binary token may start with a UTF-8 BOM's bytes
        b"\xff\xfe\x00\x01\x02",  # or with a UTF-16 BOM's
        bytes(range(256)),
    ],
)
def test_a_binary_token_is_passed_through_byte_for_byte(token: bytes) -> None:
    key = parse_import_parameters(spki(rsa_key(2048)), import_token=token, key_id=AWS_ARN)
    assert key.import_token == token
    assert key.import_token_form == aws.TOKEN_BINARY_FILE


def test_a_binary_token_of_base64_letters_is_kept_and_said() -> None:
    key = parse_import_parameters(spki(rsa_key(2048)), import_token=b"AAAAAAAA", key_id=AWS_ARN)
    target = aws_target(WrapMethod.AWS_RSAES_OAEP_SHA_256, key=key, label="aws-eu")
    warnings = target.check(MaterialInfo(MaterialKind.AES_256, 32, None), NOW)
    assert any("name it *.b64" in w for w in warnings)


def test_base64_only_from_a_form_that_says_so() -> None:
    assert [aws.token_is_base64(n) for n in ("t.b64", "T.BASE64", "ImportToken.bin", "t")] == [
        True,
        True,
        False,
        False,
    ]
    with pytest.raises(ImportKeyError, match="byte-order mark"):
        parse_import_parameters(
            spki(rsa_key(2048)),
            import_token=b"\xef\xbb\xbf" + base64.b64encode(TOKEN),
            token_base64=True,
            key_id=AWS_ARN,
        )
    with pytest.raises(ImportKeyError, match="not valid base64"):
        parse_import_parameters(
            spki(rsa_key(2048)), import_token=b"\x00\x01", token_base64=True, key_id=AWS_ARN
        )
    json_key = parse_import_parameters(aws_json(rsa_key(2048)))
    assert json_key.import_token == TOKEN and json_key.import_token_form == aws.TOKEN_IN_JSON


def test_utf16_and_bom_saved_files() -> None:
    text = aws_json(rsa_key(2048))
    for data in (text.encode("utf-16"), b"\xef\xbb\xbf" + text.encode()):
        assert parse_import_parameters(data).import_token == TOKEN
    assert parse_kek(pem(rsa_key(2048)).decode().encode("utf-16"), VAULT_KID).key_bits == 2048
    with pytest.raises(ImportKeyError):
        parse_import_parameters(b"\xff\xfe\x00\xd8")  # a lone surrogate


def test_aws_console_binary_download() -> None:
    key = parse_import_parameters(
        spki(rsa_key(2048)), import_token=TOKEN, valid_to=later(20), key_id=AWS_ARN_2
    )
    assert key.import_token == TOKEN and key.valid_to == later(20)
    assert key.reference == AWS_ARN_2


def test_aws_key_id_mismatch_and_double_token_refused() -> None:
    with pytest.raises(ImportKeyError, match="parameters are for"):
        parse_import_parameters(aws_json(rsa_key(2048)), key_id=AWS_ARN_2)
    with pytest.raises(ImportKeyError, match="both"):
        parse_import_parameters(aws_json(rsa_key(2048)), import_token=TOKEN)
    with pytest.raises(ImportKeyError, match="not an AWS KMS key id"):
        parse_import_parameters(aws_json(rsa_key(2048), key_id="alias/mykey"))


def test_azure_pem_and_der() -> None:
    key = parse_kek(pem(rsa_key(3072)), VAULT_KID)
    assert key.reference == VAULT_KID and key.valid_to is None
    assert parse_kek(spki(rsa_key(3072)), VAULT_KID).spki_der == key.spki_der


@pytest.mark.parametrize(
    "kid",
    [
        "https://contoso-byok.vault.azure.net/keys/KEKforBYOK",
        "https://contoso-byok.vault.azure.net/keys/KEKforBYOK/",
        "http://contoso-byok.vault.azure.net/keys/KEKforBYOK/0123456789abcdef0123456789abcdef",
        "https://contoso-byok.example.com/keys/KEKforBYOK/0123456789abcdef0123456789abcdef",
        "https://contoso-byok.vault.azure.net/secrets/x/0123456789abcdef0123456789abcdef",
        "KEKforBYOK",
    ],
)
def test_azure_kid_must_be_full_and_versioned(kid: str) -> None:
    with pytest.raises(ImportKeyError, match="versioned"):
        parse_kek(pem(rsa_key(2048)), kid)


def test_gcp_json_and_pem() -> None:
    key = parse_import_job(gcp_json(rsa_key(3072), SHA256_AES_3072))
    assert key.reference == GCP_JOB
    assert key.method is WrapMethod.GCP_RSA_OAEP_3072_SHA256_AES_256
    assert key.valid_to == datetime(2026, 3, 3, 10, 11, 12, 123456, tzinfo=UTC)
    assert key.protection_level == "HSM" and key.state == "ACTIVE"
    from_pem = parse_import_job(pem(rsa_key(3072)), import_job=GCP_JOB)
    assert from_pem.spki_der == key.spki_der and from_pem.method is None


def test_gcp_job_without_expire_time_lasts_three_days() -> None:
    doc = json.loads(gcp_json(rsa_key(3072), SHA256_AES_3072))
    del doc["expireTime"]
    key = parse_import_job(json.dumps(doc))
    assert key.valid_to == datetime(2026, 3, 3, 10, 11, 12, 123456, tzinfo=UTC)


def test_gcp_yaml_gets_a_hint() -> None:
    with pytest.raises(ImportKeyError) as caught:
        parse_import_job("name: projects/p/locations/l/keyRings/r/importJobs/j\nstate: ACTIVE\n")
    assert "--format=json" in str(caught.value)


def test_gcp_pending_job_has_no_key_yet() -> None:
    doc = json.loads(gcp_json(rsa_key(3072), SHA256_AES_3072, state="PENDING_GENERATION"))
    del doc["publicKey"]
    with pytest.raises(ImportKeyError, match="no public key"):
        parse_import_job(json.dumps(doc))


@pytest.mark.parametrize("state", ["EXPIRED", "PENDING_GENERATION"])
def test_gcp_inactive_job_refused(state: str) -> None:
    target = gcp_target(state=state)
    with pytest.raises(ImportKeyError, match="not ACTIVE"):
        build(target, MaterialKind.AES_256)


def test_gcp_stated_method_must_match_target() -> None:
    job = parse_import_job(gcp_json(rsa_key(3072), SHA256_AES_3072))
    target = GcpTarget("gcp", WrapMethod.GCP_RSA_OAEP_3072_SHA1_AES_256, job, "key-1")
    with pytest.raises(WrapError, match="import job says"):
        build(target, MaterialKind.AES_256)


def test_gcp_job_name_mismatch_refused() -> None:
    with pytest.raises(ImportKeyError, match="describes"):
        parse_import_job(
            gcp_json(rsa_key(3072), SHA256_AES_3072),
            import_job="projects/p/locations/l/keyRings/r/importJobs/other",
        )


# ---- bad keys --------------------------------------------------------------------------------


def _certificate() -> x509.Certificate:
    key = rsa_key(2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not a wrapping key")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def _bad_keys() -> dict[str, bytes]:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    small = rsa.generate_private_key(65537, 1024)  # noqa: S505 (must be refused)
    der, spki_pem = serialization.Encoding.DER, serialization.Encoding.PEM
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    good_pem = pem(rsa_key(2048))
    return {
        "ec-pem": ec_key.public_key().public_bytes(spki_pem, pub),
        "ec-der": ec_key.public_key().public_bytes(der, pub),
        "rsa1024-pem": small.public_key().public_bytes(spki_pem, pub),
        "rsa1024-der": small.public_key().public_bytes(der, pub),
        "cert-pem": _certificate().public_bytes(spki_pem),
        "cert-der": _certificate().public_bytes(der),
        "private-pkcs8-pem": rsa_key(2048).private_bytes(
            spki_pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        "private-pkcs1-pem": rsa_key(2048).private_bytes(
            spki_pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ),
        "private-der": rsa_key(2048).private_bytes(
            der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        "truncated-pem": good_pem[: len(good_pem) // 2],
        "damaged-pem": good_pem.replace(b"MII", b"MIJ", 1),
        "two-pem-blocks": good_pem + good_pem,
        "truncated-der": spki(rsa_key(2048))[:-20],
        "wrong-base64": b"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA!!!",
        "empty": b"",
        "whitespace": b"  \n",
        "huge": b"A" * (70 * 1024),
    }


BAD_KEYS = _bad_keys()


@pytest.mark.parametrize("case", sorted(BAD_KEYS))
def test_bad_keys_refused_by_every_parser(case: str) -> None:
    data = BAD_KEYS[case]
    with pytest.raises(ImportKeyError):
        parse_kek(data, VAULT_KID)
    with pytest.raises(ImportKeyError):
        parse_import_job(data, import_job=GCP_JOB)
    with pytest.raises(ImportKeyError):
        parse_import_parameters(data, import_token=TOKEN, key_id=AWS_ARN)
    if data.strip() and b"-----" not in data:
        doc = json.loads(aws_json(rsa_key(2048)))
        doc["PublicKey"] = base64.b64encode(data).decode()
        with pytest.raises(ImportKeyError):
            parse_import_parameters(json.dumps(doc))
    if b"-----" in data:
        doc = json.loads(gcp_json(rsa_key(3072), SHA256_AES_3072))
        doc["publicKey"]["pem"] = data.decode()
        with pytest.raises(ImportKeyError):
            parse_import_job(json.dumps(doc))


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("ec-pem", "EC key"),
        ("rsa1024-der", "RSA-1024"),
        ("cert-pem", "certificate"),
        ("cert-der", "certificate"),
        ("private-pkcs8-pem", "private key"),
        ("private-der", "private key"),
        ("truncated-pem", "PEM block"),
    ],
)
def test_bad_key_messages_say_why(case: str, why: str) -> None:
    with pytest.raises(ImportKeyError, match=why) as caught:
        parse_kek(BAD_KEYS[case], VAULT_KID)
    assert caught.value.hint


def test_gcp_method_sizes() -> None:
    with pytest.raises(ImportKeyError, match="RSA-2048"):
        parse_import_job(pem(rsa_key(2048)), import_job=GCP_JOB)
    job = parse_import_job(pem(rsa_key(4096)), import_job=GCP_JOB)
    target = GcpTarget("gcp", WrapMethod.GCP_RSA_OAEP_3072_SHA256, job, "key-1")
    with pytest.raises(ImportKeyError, match="RSA-3072"):
        build(target, MaterialKind.AES_256)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("PublicKey", "!!notbase64!!"),
        ("PublicKey", 12),
        ("ImportToken", ""),
        ("ImportToken", "*"),
        ("ParametersValidTo", "tomorrow"),
        ("ParametersValidTo", True),
        ("ParametersValidTo", 1e300),
        ("ParametersValidTo", "2026-03-02"),
    ],
)
def test_aws_json_bad_fields(field: str, value: object) -> None:
    doc = json.loads(aws_json(rsa_key(2048)))
    doc[field] = value
    with pytest.raises(ImportKeyError):
        parse_import_parameters(json.dumps(doc))


def test_json_nan_and_deep_nesting_refused() -> None:
    with pytest.raises(ImportKeyError):
        parse_import_parameters('{"ParametersValidTo": NaN}')
    with pytest.raises(ImportKeyError):
        parse_import_job("{" + '"a":[' * 100000 + "]" * 100000 + "}")


# ---- fuzzing: nothing but ImportKeyError escapes the parsers ------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats()
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
GOOD_B64 = base64.b64encode(spki(rsa_key(2048))).decode()
GOOD_PEM = pem(rsa_key(3072)).decode()
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_import_key_error(parse: object, data: object) -> None:
    with contextlib.suppress(ImportKeyError):
        parse(data)  # type: ignore[operator]


@FUZZ
@given(st.one_of(st.binary(max_size=800), st.text(max_size=800)))
def test_fuzz_raw_input(data: bytes | str) -> None:
    _only_import_key_error(parse_import_parameters, data)
    _only_import_key_error(lambda d: parse_kek(d, VAULT_KID), data)
    _only_import_key_error(parse_import_job, data)
    if isinstance(data, str):
        _only_import_key_error(lambda kid: parse_kek(GOOD_PEM, kid), data)
        _only_import_key_error(lambda job: parse_import_job(GOOD_PEM, import_job=job), data)
        _only_import_key_error(
            lambda key_id: parse_import_parameters(GOOD_B64, key_id=key_id), data
        )


@FUZZ
@given(st.data())
def test_fuzz_mutated_good_input(data: st.DataObject) -> None:
    source = data.draw(
        st.sampled_from(
            [
                aws_json(rsa_key(2048)).encode(),
                gcp_json(rsa_key(3072), SHA256_AES_3072).encode(),
                GOOD_PEM.encode(),
                spki(rsa_key(2048)),
            ]
        )
    )
    cut = data.draw(st.integers(0, len(source)))
    flip = data.draw(st.integers(0, len(source) - 1))
    mutated = bytearray(source[:cut] + source[cut + 1 :] if data.draw(st.booleans()) else source)
    if mutated and flip < len(mutated):
        mutated[flip] ^= data.draw(st.integers(1, 255))
    for parse in (
        parse_import_parameters,
        lambda d: parse_kek(d, VAULT_KID),
        lambda d: parse_import_job(d, import_job=GCP_JOB),
    ):
        _only_import_key_error(parse, bytes(mutated))


@FUZZ
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "KeyId": st.one_of(JSON_VALUES, st.just(AWS_ARN)),
            "PublicKey": st.one_of(JSON_VALUES, st.just(GOOD_B64), st.just(GOOD_B64[:-8])),
            "ImportToken": st.one_of(JSON_VALUES, st.just("AAAA")),
            "ParametersValidTo": st.one_of(JSON_VALUES, st.just("2026-03-02T08:00:00Z")),
        },
    )
)
def test_fuzz_aws_json(doc: dict[str, object]) -> None:
    _only_import_key_error(parse_import_parameters, json.dumps(doc))


@FUZZ
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "name": st.one_of(JSON_VALUES, st.just(GCP_JOB)),
            "importMethod": st.one_of(
                JSON_VALUES, st.sampled_from([m.value for m in WrapMethod] + ["RSAES_PKCS1_V1_5"])
            ),
            "state": st.one_of(JSON_VALUES, st.just("ACTIVE")),
            "publicKey": st.one_of(JSON_VALUES, st.just({"pem": GOOD_PEM})),
            "expireTime": st.one_of(JSON_VALUES, st.just("2026-03-03T10:11:12.123456789Z")),
            "createTime": JSON_VALUES,
            "protectionLevel": JSON_VALUES,
        },
    )
)
def test_fuzz_gcp_json(doc: dict[str, object]) -> None:
    _only_import_key_error(parse_import_job, json.dumps(doc))


# ---- fingerprints ------------------------------------------------------------------------------


def test_fingerprint_matches_openssl(tmp_path: object) -> None:
    key = parse_kek(pem(rsa_key(2048)), VAULT_KID)
    done = subprocess.run(
        ["openssl", "pkey", "-pubin", "-outform", "DER"],
        input=pem(rsa_key(2048)),
        capture_output=True,
        check=True,
    )
    digest = subprocess.run(
        ["sha256sum"], input=done.stdout, capture_output=True, check=True
    ).stdout.split()[0]
    assert key.fingerprint.hex == digest.decode()
    assert re.fullmatch(r"([0-9A-F]{4} ){15}[0-9A-F]{4}", key.fingerprint.groups())


def test_pgp_word_list_is_the_published_one() -> None:
    assert len(pgpwords.EVEN_WORDS) == len(pgpwords.ODD_WORDS) == 256
    assert len({w.lower() for w in pgpwords.EVEN_WORDS + pgpwords.ODD_WORDS}) == 512
    assert pgpwords.WORDLIST_SHA256 == (
        "3e090850023f09a3bff58dbc9926ee0840dd829fa8198af8ceffd1b2280a7096"
    )
    # The worked example of the PGP word list's description (Wikipedia, "PGP word list").
    example = bytes.fromhex("E58294F2E9A227486E8B061B31CC528FD7FA3F19")
    assert " ".join(pgpwords.encode(example)) == (
        "topmost Istanbul Pluto vagabond treadmill Pacific brackish dictator goldfish Medusa "
        "afflict bravado chatter revolver Dupont midsummer stopwatch whimsical cowbell bottomless"
    )


def test_fingerprint_words_round_trip_and_alternate() -> None:
    fingerprint = Fingerprint.of_spki(spki(rsa_key(3072)))
    words = fingerprint.words()
    assert len(words) == 32
    assert all(w in pgpwords.EVEN_WORDS for w in words[::2])
    assert all(w in pgpwords.ODD_WORDS for w in words[1::2])
    assert pgpwords.decode(list(words)) == fingerprint.digest
    assert len(fingerprint.word_lines()) == 8


def test_pinned_fingerprint_forms() -> None:
    key = parse_kek(pem(rsa_key(2048)), VAULT_KID)
    fp = key.fingerprint
    for pinned in (
        fp.hex,
        fp.hex.upper(),
        fp.groups(),
        ":".join(fp.hex[i : i + 2] for i in range(0, 64, 2)),
        "SHA256:" + fp.hex,
        " ".join(fp.words()),
        "\n".join(fp.word_lines()),
        "-".join(w.lower() for w in fp.words()),
    ):
        key.require_fingerprint(pinned)
    assert parse_fingerprint(fp.groups()) == fp.digest


def test_pinned_fingerprint_mismatch_stops() -> None:
    key = parse_kek(pem(rsa_key(2048)), VAULT_KID)
    other = Fingerprint.of_spki(spki(rsa_key(3072)))
    with pytest.raises(ImportKeyError, match="not the pinned one") as caught:
        key.require_fingerprint(other.hex)
    assert key.fingerprint.groups() in str(caught.value)
    assert other.groups() in str(caught.value)
    swapped = list(key.fingerprint.words())
    swapped[0], swapped[1] = swapped[1], swapped[0]
    for bad in (" ".join(swapped), "abc", fp_short := key.fingerprint.hex[:-2], ""):
        with pytest.raises(ImportKeyError):
            key.require_fingerprint(bad)
    assert fp_short


# ---- guardrails -----------------------------------------------------------------------------


def test_rsa_private_key_with_direct_oaep_refused() -> None:
    with pytest.raises(WrapError, match="RSA private key") as caught:
        build(aws_target(WrapMethod.AWS_RSAES_OAEP_SHA_256), MaterialKind.RSA_2048)
    assert "RSA_AES_KEY_WRAP_SHA_256" in str(caught.value)
    with pytest.raises(WrapError, match="RSA private key") as caught:
        build(gcp_target("RSA_OAEP_3072_SHA256"), MaterialKind.RSA_2048)
    assert "SHA256_AES_256" in str(caught.value)


@pytest.mark.parametrize(
    "method", [WrapMethod.AWS_RSAES_OAEP_SHA_1, WrapMethod.AWS_RSAES_OAEP_SHA_256]
)
def test_p521_with_rsa_2048_direct_refused(method: WrapMethod) -> None:
    with pytest.raises(WrapError, match="P-521") as caught:
        build(aws_target(method, 2048), MaterialKind.EC_P521)
    assert "RSA_AES_KEY_WRAP_SHA_256" in str(caught.value)
    assert build(aws_target(method, 3072), MaterialKind.EC_P521)


def test_direct_payload_over_k_minus_2h_minus_2_refused() -> None:
    target = gcp_target("RSA_OAEP_3072_SHA256")
    with pytest.raises(WrapError, match="k - 2h - 2"):
        target.check(MaterialInfo(MaterialKind.EC_P384, 319, None), NOW)
    assert target.check(MaterialInfo(MaterialKind.EC_P384, 318, None), NOW) == []


@pytest.mark.parametrize(
    ("text", "hint"),
    [("RSAES_PKCS1_V1_5", "RSAES_OAEP_SHA_256"), ("rsaes-pkcs1-v1-5", "OAEP"), ("SM2PKE", "RSA")],
)
def test_refused_methods(text: str, hint: str) -> None:
    with pytest.raises(WrapError) as caught:
        parse_method(text)
    assert hint in str(caught.value)


def test_method_spellings() -> None:
    assert parse_method("rsa-oaep-3072-sha256-aes-256") is (
        WrapMethod.GCP_RSA_OAEP_3072_SHA256_AES_256
    )
    assert parse_method("RSA_AES_KEY_WRAP_SHA_1") is WrapMethod.AWS_RSA_AES_KEY_WRAP_SHA_1
    assert parse_method("CKM_RSA_AES_KEY_WRAP") is WrapMethod.AZURE_BYOK
    with pytest.raises(WrapError, match="unknown"):
        parse_method("RSA_AES_KEY_WRAP_SHA_384")


@pytest.mark.parametrize(
    ("kind", "data", "why"),
    [
        (MaterialKind.AES_256, bytes(range(16)), "16 bytes"),
        (MaterialKind.HMAC_SHA256, bytes(range(1, 34)), "33 bytes"),
        (MaterialKind.AES_256, bytes(range(16)).hex().encode(), "hex or base64"),
        (MaterialKind.AES_256, base64.b64encode(bytes(range(1, 25))), "hex or base64"),
        (MaterialKind.HMAC_SHA512, bytes(range(64)).hex().encode(), "hex or base64"),
    ],
)
def test_symmetric_material_refused(kind: MaterialKind, data: bytes, why: str) -> None:
    with pytest.raises(KeyMaterialError, match=why), Secret(data) as secret:
        inspect_material(secret, kind, None)


def _encodings() -> list[tuple[MaterialKind, bytes, str]]:
    ec384 = serialization.load_der_private_key(material(MaterialKind.EC_P384), None)
    rsa2048 = serialization.load_der_private_key(material(MaterialKind.RSA_2048), None)
    pem_, der = serialization.Encoding.PEM, serialization.Encoding.DER
    none = serialization.NoEncryption()
    trad, pkcs8 = serialization.PrivateFormat.TraditionalOpenSSL, serialization.PrivateFormat.PKCS8
    return [
        (MaterialKind.EC_P384, ec384.private_bytes(pem_, pkcs8, none), "PEM"),
        (MaterialKind.EC_P384, base64.b64encode(material(MaterialKind.EC_P384)), "base64"),
        (MaterialKind.EC_P384, material(MaterialKind.EC_P384).hex().encode(), "hex"),
        (MaterialKind.EC_P384, ec384.private_bytes(der, trad, none), "SEC1"),
        (MaterialKind.RSA_2048, rsa2048.private_bytes(der, trad, none), "PKCS#1"),
        (
            MaterialKind.EC_P384,
            ec384.private_bytes(der, pkcs8, serialization.BestAvailableEncryption(b"pw")),
            "encrypted",
        ),
        (MaterialKind.EC_P256, material(MaterialKind.EC_P384), "not an EC P-256"),
        (MaterialKind.RSA_3072, material(MaterialKind.RSA_2048), "not an RSA-3072"),
        (MaterialKind.EC_P256, material(MaterialKind.RSA_2048), "not an EC P-256"),
        (MaterialKind.EC_P256, material(MaterialKind.EC_P256)[:-3], "not DER"),
    ]


# Ids from the names, not the bytes: the keys are new in each process, and pytest-xdist needs
# every worker to collect the same ids.
@pytest.mark.parametrize(
    ("kind", "data", "why"),
    [pytest.param(k, d, w, id=f"{k.name}-{w}") for k, d, w in _encodings()],
)
def test_private_key_encodings_refused(kind: MaterialKind, data: bytes, why: str) -> None:
    with pytest.raises(KeyMaterialError, match=re.escape(why)), Secret(data) as secret:
        inspect_material(secret, kind, None)


@pytest.mark.parametrize(
    ("target", "kind", "why"),
    [
        (aws_target, MaterialKind.AES_128, "256-bit"),
        (aws_target, MaterialKind.HMAC_SHA1, "AWS"),
        (azure_target, MaterialKind.HMAC_SHA256, "Azure"),
        (azure_target, MaterialKind.AES_256, "Managed HSM"),
        (gcp_target, MaterialKind.EC_P521, "Cloud KMS"),
        (gcp_target, MaterialKind.AES_192, "Cloud KMS"),
    ],
)
def test_provider_material_support(target: object, kind: MaterialKind, why: str) -> None:
    with pytest.raises(WrapError, match=why):
        build(target(), kind)  # type: ignore[operator]


def test_gcp_algorithm_must_fit_material() -> None:
    with pytest.raises(WrapError, match="does not take"):
        build(gcp_target(algorithm="aes-256-gcm"), MaterialKind.AES_128)
    text = file_text(build(gcp_target(), MaterialKind.AES_128), "IMPORT.md")
    assert "--algorithm aes-128-gcm" in text
    text = file_text(build(gcp_target(algorithm="hmac-sha256"), MaterialKind.HMAC_SHA256), ".md")
    assert "--algorithm hmac-sha256" in text


def test_size_limits() -> None:
    with pytest.raises(WrapError, match="at most 8192"):
        gcp_target().check(MaterialInfo(MaterialKind.RSA_4096, 9000, None), NOW)
    target = gcp_target()
    with pytest.raises(WrapError, match="at most 65536"):
        assemble_bundle(
            target,
            bytes(384 + 65536 + 8),
            MaterialKind.RSA_4096,
            key_label="k",
            kcv=None,
            now=NOW,
            wrapped_by="HSM",
        )


def test_refusals_never_show_material() -> None:
    secret_bytes = bytes(range(0x80, 0xA0))
    shown = []
    for kind, target in (
        (MaterialKind.AES_128, aws_target()),
        (MaterialKind.HMAC_SHA1, azure_target()),
        (MaterialKind.AES_192, gcp_target()),
    ):
        with pytest.raises(CeremonyError) as caught:
            build(target, kind, secret_bytes[: kind.raw_length])
        shown.append(str(caught.value))
    with pytest.raises(CeremonyError) as caught:
        build(aws_target(), MaterialKind.AES_256, secret_bytes[:31])
    shown.append(str(caught.value))
    text = "\n".join(shown).lower()
    for encoded in (
        secret_bytes[:8].hex(),
        base64.b64encode(secret_bytes[:9]).decode().lower(),
        repr(secret_bytes[:4]).lower(),
    ):
        assert encoded not in text


# ---- expiry ---------------------------------------------------------------------------------


def test_aws_expiry_warns_then_refuses() -> None:
    info = MaterialInfo(MaterialKind.AES_256, 32, None)
    fresh = aws_target(key=parse_import_parameters(aws_json(rsa_key(2048), valid_to=iso(23))))
    assert fresh.check(info, NOW) == []
    soon = aws_target(key=parse_import_parameters(aws_json(rsa_key(2048), valid_to=iso(2))))
    (warning,) = preflight([soon], info, NOW)
    assert "2 h 00 min" in warning
    gone = aws_target(key=parse_import_parameters(aws_json(rsa_key(2048), valid_to=iso(-0.01))))
    with pytest.raises(ImportKeyError, match="expired"):
        gone.check(info, NOW)


def iso(hours: float) -> str:
    return later(hours).isoformat()


def test_unknown_expiry_warns() -> None:
    key = parse_import_parameters(spki(rsa_key(2048)), import_token=TOKEN, key_id=AWS_ARN)
    (warning,) = aws_target(key=key).check(MaterialInfo(MaterialKind.AES_256, 32, None), NOW)
    assert "24 hours" in warning


def test_gcp_expiry() -> None:
    info = MaterialInfo(MaterialKind.AES_256, 32, None)
    assert gcp_target().check(info, NOW) == []  # expires in two days
    (warning,) = gcp_target(expire="2026-03-01T19:00:00Z").check(info, NOW)
    assert "expires" in warning
    with pytest.raises(ImportKeyError, match="expired"):
        gcp_target(expire="2026-03-01T08:59:59Z").check(info, NOW)


def test_naive_clock_refused() -> None:
    with pytest.raises(WrapError, match="time zone"):
        aws_target().check(MaterialInfo(MaterialKind.AES_256, 32, None), datetime(2026, 3, 1))


# ---- AWS target ----------------------------------------------------------------------------


def test_aws_import_md() -> None:
    files = build(aws_target(), MaterialKind.AES_256)
    assert [f.name for f in files] == [
        "k/aws/EncryptedKeyMaterial.bin",
        "k/aws/ImportToken.bin",
        "k/aws/IMPORT.md",
        "k/aws/MANIFEST.json",
        "k/aws/SHA256SUMS",
    ]
    assert files[1].data == TOKEN  # passed through byte for byte
    text = file_text(files, "IMPORT.md")
    assert "--encrypted-key-material fileb://EncryptedKeyMaterial.bin" in text
    assert "--import-token fileb://ImportToken.bin" in text
    assert "--expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE" in text
    assert "--valid-to" not in text
    assert "--region eu-west-1" in text and f"--key-id {AWS_ARN}" in text
    command = text[text.index("aws kms import-key-material") :].split("\n\n")[0]
    assert command.count("fileb://") == 2
    assert not re.search(r"(?<!b)file://", command)
    assert "sha256sum -c SHA256SUMS" in text


def test_aws_material_expiry() -> None:
    files = build(aws_target(material_valid_to=later(24 * 30)), MaterialKind.AES_256)
    text = file_text(files, "IMPORT.md")
    assert "--expiration-model KEY_MATERIAL_EXPIRES" in text
    assert "--valid-to 2026-03-31T09:00:00Z" in text
    for bad in (later(-1), later(24 * 366)):
        with pytest.raises(WrapError, match="365 days"):
            build(aws_target(material_valid_to=bad), MaterialKind.AES_256)


def test_aws_needs_token_and_key_id() -> None:
    no_token = parse_import_parameters(spki(rsa_key(2048)), key_id=AWS_ARN, valid_to=later(5))
    with pytest.raises(ImportKeyError, match="import token"):
        build(aws_target(key=no_token), MaterialKind.AES_256)
    no_id = parse_import_parameters(spki(rsa_key(2048)), import_token=TOKEN, valid_to=later(5))
    with pytest.raises(ImportKeyError, match="names no KMS key"):
        build(aws_target(key=no_id), MaterialKind.AES_256)
    assert build(aws_target(key=no_id, key_id=AWS_ARN_2), MaterialKind.AES_256)
    with pytest.raises(ImportKeyError, match="parameters are for"):
        build(aws_target(key_id=AWS_ARN_2), MaterialKind.AES_256)
    with pytest.raises(WrapError, match="Region"):
        build(aws_target(region="mars-1"), MaterialKind.AES_256)


def test_method_of_another_provider_refused() -> None:
    with pytest.raises(WrapError, match="not a AWS KMS one"):
        build(aws_target(WrapMethod.GCP_RSA_OAEP_3072_SHA256), MaterialKind.AES_256)


# ---- Azure target ------------------------------------------------------------------------------

BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


@pytest.mark.parametrize("bits", [2048, 3072, 4096])
def test_byok_json_has_exactly_the_spec_fields(bits: int) -> None:
    files = build(azure_target(MHSM_KID, bits), MaterialKind.AES_256)
    doc = json.loads(file_text(files, "key-1.byok"), parse_constant=lambda c: 1 / 0)
    assert list(doc) == ["schema_version", "header", "ciphertext", "generator"]
    assert doc["schema_version"] == "1.0.0"
    assert doc["header"] == {"kid": MHSM_KID, "alg": "dir", "enc": "CKM_RSA_AES_KEY_WRAP"}
    assert re.fullmatch(r"https://.+/keys/.+/[0-9a-f]{32}", doc["header"]["kid"])
    assert BASE64URL.fullmatch(doc["ciphertext"])  # no '+', '/' or '=' padding
    blob = base64.urlsafe_b64decode(doc["ciphertext"] + "=" * (-len(doc["ciphertext"]) % 4))
    assert len(blob) == bits // 8 + 40
    assert doc["generator"].startswith("ceremony ")


@pytest.mark.parametrize(
    ("kind", "kid", "args"),
    [
        (MaterialKind.RSA_2048, VAULT_KID, "--vault-name contoso-byok --name key-1 "),
        (MaterialKind.EC_P256, VAULT_KID, "--kty EC --curve P-256"),
        (MaterialKind.EC_P521, VAULT_KID, "--kty EC --curve P-521"),
        (MaterialKind.EC_SECP256K1, VAULT_KID, "--kty EC --curve P-256K"),
        (MaterialKind.AES_128, MHSM_KID, "--hsm-name contoso-mhsm --name key-1 "),
        (MaterialKind.AES_256, MHSM_KID, "--kty oct"),
    ],
)
def test_azure_import_md(kind: MaterialKind, kid: str, args: str) -> None:
    text = file_text(build(azure_target(kid), kind), "IMPORT.md")
    command = text[text.index("az keyvault key import") :].split("\n\n")[0]
    flat = re.sub(r"\s*\\\n\s*", " ", command) + " "
    assert args in flat
    assert "--byok-file key-1.byok" in flat
    assert ("--kty RSA" in flat) == kind.is_rsa
    assert ("--curve" in flat) == kind.is_ec


def test_azure_ops_and_bad_names() -> None:
    text = file_text(build(azure_target(ops=("sign", "verify")), MaterialKind.EC_P256), ".md")
    assert "--ops sign verify" in text
    with pytest.raises(WrapError, match="key operation"):
        build(azure_target(ops=("import",)), MaterialKind.EC_P256)
    target = AzureTarget("azure", parse_kek(pem(rsa_key(2048)), VAULT_KID), "bad/name")
    with pytest.raises(WrapError, match="key name"):
        build(target, MaterialKind.EC_P256)


def test_azure_sovereign_cloud_note() -> None:
    kid = "https://contoso.vault.azure.cn/keys/kek/0123456789abcdef0123456789abcdef"
    text = file_text(build(azure_target(kid), MaterialKind.EC_P256), "IMPORT.md")
    assert "az cloud set" in text


# ---- GCP target --------------------------------------------------------------------------------


def test_gcp_import_md() -> None:
    files = build(gcp_target(), MaterialKind.EC_P256)
    assert [f.name.rsplit("/", 1)[1] for f in files] == [
        "wrapped-key.bin",
        "IMPORT.md",
        "MANIFEST.json",
        "SHA256SUMS",
    ]
    text = file_text(files, "IMPORT.md")
    for part in (
        "gcloud kms keys versions import",
        "--project ceremony-test",
        "--location europe-west1",
        "--keyring byok",
        "--key key-1",
        "--import-job job-1",
        "--algorithm ec-sign-p256-sha256",
        "--wrapped-key-file wrapped-key.bin",
    ):
        assert part in text


# ---- many targets, many keys -----------------------------------------------------------------


def test_one_key_to_many_targets() -> None:
    replica = parse_import_parameters(aws_json(rsa_key(3072), key_id=AWS_ARN_2))
    targets: list[Target] = [
        aws_target(label="aws-euw1"),
        AwsTarget("aws-use1", WrapMethod.AWS_RSAES_OAEP_SHA_256, replica),
        azure_target(),
        gcp_target(),
    ]
    with Secret(material(MaterialKind.EC_P256)) as secret:
        files = build_bundle(
            targets, secret, MaterialKind.EC_P256, key_label="sign", kcv=None, now=NOW
        )
        second = build_bundle(
            targets[:1], secret, MaterialKind.EC_P256, key_label="sign-2", kcv=None, now=NOW
        )
    folders = {f.name.rsplit("/", 1)[0] for f in files}
    assert folders == {"sign/aws-euw1", "sign/aws-use1", "sign/azure", "sign/gcp"}
    assert not {f.name for f in files} & {f.name for f in second}
    assert "--region us-east-1" in file_text(files, "aws-use1/IMPORT.md")


def test_duplicate_or_bad_labels_refused() -> None:
    with Secret(material(MaterialKind.AES_256)) as secret:
        with pytest.raises(WrapError, match="two targets"):
            build_bundle(
                [aws_target(), aws_target()],
                secret,
                MaterialKind.AES_256,
                key_label="k",
                kcv=None,
                now=NOW,
            )
        for key_label, target_label in (("../up", "aws"), ("k", ".hidden"), ("k", "a/b")):
            with pytest.raises(WrapError, match="cannot name a folder"):
                build_bundle(
                    [aws_target(label=target_label)],
                    secret,
                    MaterialKind.AES_256,
                    key_label=key_label,
                    kcv=None,
                    now=NOW,
                )
        with pytest.raises(WrapError, match="no import target"):
            build_bundle([], secret, MaterialKind.AES_256, key_label="k", kcv=None, now=NOW)


def test_manifest_lists_files_and_kcv() -> None:
    with Secret(material(MaterialKind.AES_256)) as secret:
        files = build_bundle(
            [aws_target()],
            secret,
            MaterialKind.AES_256,
            key_label="k",
            kcv="AES-CMAC 0A00E3 (3 of 5 bytes)",
            now=NOW,
        )
    manifest = json.loads(file_text(files, "MANIFEST.json"))
    assert manifest["key"]["kcv"] == "AES-CMAC 0A00E3 (3 of 5 bytes)"
    assert manifest["import_key"]["spki_sha256"] == Fingerprint.of_spki(spki(rsa_key(2048))).hex
    assert manifest["target"]["method"] == "RSA_AES_KEY_WRAP_SHA_256"
    assert manifest["target"]["mgf1_hash"] == manifest["target"]["oaep_hash"] == "SHA-256"
    listed = {e["name"]: e["sha256"] for e in manifest["files"]}
    for f in files[:3]:
        assert listed[f.name.rsplit("/", 1)[1]] == f.sha256
    sums = file_text(files, "SHA256SUMS").splitlines()
    assert len(sums) == 4 and all(re.fullmatch(r"[0-9a-f]{64}  \S+", line) for line in sums)


def test_aes_goes_to_a_managed_hsm_and_a_vault_refusal_says_why() -> None:
    info = MaterialInfo(MaterialKind.AES_256, 32, None)
    azure_target(kid=MHSM_KID).check_material(info)
    with pytest.raises(WrapError, match="BYOK specification takes AES targets for Managed HSM"):
        azure_target(kid=VAULT_KID).check_material(info)

"""Fuzz each provider's import (wrapping) key parsers: AWS, Azure, GCP, AWS Payment Cryptography
and the PEM/DER reader."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from ceremony.core.providers import (
    AwsPaymentTarget,
    MaterialKind,
    WrapMethod,
    aws_payment,
    material_for_hsm,
    parse_fingerprint,
    parse_import_job,
    parse_import_parameters,
    parse_kek,
)
from ceremony.core.providers.import_key import load_rsa_public_key
from tests.fuzz import harness, mutate
from tests.unit.cloudkeys import (
    AWS_ARN,
    AWS_ARN_2,
    GCP_JOB,
    MHSM_KID,
    NOW,
    TOKEN,
    VAULT_KID,
    apc_params,
    apc_root_sha256,
    aws_json,
    gcp_json,
    pem,
    spki,
    wycheproof_key,
)

pytestmark = pytest.mark.fuzz

KEYS = [wycheproof_key(bits) for bits in (2048, 3072, 4096)]
_EC = ec.derive_private_key(12345, ec.SECP256R1())
_EC_PEM = _EC.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
_PKCS1 = (
    KEYS[0].public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
)
_PRIVATE = _EC.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
_NAME = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "fuzz")])
_CERT = (
    x509.CertificateBuilder()
    .subject_name(_NAME)
    .issuer_name(_NAME)
    .public_key(_EC.public_key())
    .serial_number(1)
    .not_valid_before(NOW)
    .not_valid_after(NOW)
    .sign(_EC, hashes.SHA256())
    .public_bytes(serialization.Encoding.PEM)
)

PEMS = [pem(k) for k in KEYS] + [_EC_PEM, _PKCS1, _PRIVATE, _CERT]
DERS = [spki(k) for k in KEYS]
AWS_JSON = [aws_json(k).encode() for k in KEYS] + [
    aws_json(KEYS[1], valid_to=1772441200, key_id=AWS_ARN_2).encode()
]
AWS_B64 = [base64.b64encode(d) for d in DERS]
GCP_METHODS = ("RSA_OAEP_3072_SHA256_AES_256", "RSA_OAEP_4096_SHA256", "RSA_OAEP_3072_SHA1_AES_256")
GCP_JSON = [gcp_json(k, m).encode() for k in KEYS[1:] for m in GCP_METHODS]
GCP_DOCS = [json.loads(d) for d in GCP_JSON]
AWS_DOCS = [json.loads(d) for d in AWS_JSON]
FINGERPRINT = "SHA256:" + "0123456789abcdef" * 4
APC_JSON = [apc_params(k).encode() for k in KEYS]
APC_DOCS = [json.loads(d) for d in APC_JSON]


def _json_dump(doc: object) -> str:
    return json.dumps(doc, ensure_ascii=False)


def _any(samples: list[bytes]) -> st.SearchStrategy[bytes]:
    return mutate.byte_inputs(samples)


@harness.fuzz_settings()
@given(
    st.one_of(
        _any(AWS_JSON + AWS_B64 + DERS),
        mutate.doc_texts(AWS_DOCS, _json_dump).map(str.encode),
    ),
    st.one_of(st.none(), st.just(TOKEN), _any([TOKEN, base64.b64encode(TOKEN)])),
    st.one_of(st.just(""), st.sampled_from((AWS_ARN, AWS_ARN_2)), mutate.text_inputs([AWS_ARN])),
    st.booleans(),
)
def test_aws_import_parameters(
    data: bytes, token: bytes | None, key_id: str, token_base64: bool
) -> None:
    harness.expect_refusal_or_result(
        "import.aws",
        lambda: parse_import_parameters(
            data, import_token=token, token_base64=token_base64, key_id=key_id
        ),
        (data, token, key_id, token_base64),
    )


@harness.fuzz_settings()
@given(
    _any(PEMS + DERS),
    st.one_of(st.sampled_from((VAULT_KID, MHSM_KID)), mutate.text_inputs([VAULT_KID, MHSM_KID])),
)
def test_azure_kek(data: bytes, kid: str) -> None:
    harness.expect_refusal_or_result("import.azure", lambda: parse_kek(data, kid), (data, kid))


@harness.fuzz_settings()
@given(
    st.one_of(
        _any(GCP_JSON + PEMS[1:3]),
        mutate.doc_texts(GCP_DOCS, _json_dump).map(str.encode),
    ),
    st.one_of(st.just(""), st.just(GCP_JOB), mutate.text_inputs([GCP_JOB])),
)
def test_gcp_import_job(data: bytes, job: str) -> None:
    harness.expect_refusal_or_result(
        "import.gcp", lambda: parse_import_job(data, import_job=job), (data, job)
    )


def _apc_checked(data: bytes) -> list[str]:
    key = aws_payment.parse_import_parameters(data)
    target = AwsPaymentTarget(
        "apc", WrapMethod.APC_RSA_OAEP_SHA_256, key, root_ca_fingerprint=apc_root_sha256()
    )
    return target.check(material_for_hsm(MaterialKind.TDES_128, None), NOW)


@harness.fuzz_settings()
@given(
    st.one_of(
        _any(APC_JSON + AWS_JSON[:1]),
        mutate.doc_texts(APC_DOCS, _json_dump).map(str.encode),
    )
)
def test_aws_payment_cryptography_parameters(data: bytes) -> None:
    """Read, chain verified, root pinned, times checked: a result or a named refusal."""
    harness.expect_refusal_or_result("import.apc", lambda: _apc_checked(data), data)


@harness.fuzz_settings()
@given(
    st.one_of(
        _any(PEMS + DERS),
        mutate.text_inputs([p.decode() for p in PEMS]).map(
            lambda t: t.encode("utf-8", "surrogatepass")
        ),
    )
)
def test_pem_or_der_public_key(data: bytes) -> None:
    harness.expect_refusal_or_result(
        "import.pem", lambda: load_rsa_public_key(data, "the fuzz key"), data
    )


@harness.fuzz_settings()
@given(mutate.text_inputs([FINGERPRINT, FINGERPRINT.replace(":", " ").upper()]))
def test_pinned_fingerprint(text: str) -> None:
    harness.expect_refusal_or_result("import.fingerprint", lambda: parse_fingerprint(text), text)

"""REHEARSAL ONLY: throw-away cloud import keys in each provider's download format, and the demo.

A real ceremony imports the wrapping keys the clouds hand out. For a rehearsal the tool makes
its own RSA key pairs and writes only their public halves in AWS, Azure, GCP and AWS Payment
Cryptography formats; the private halves are dropped, so what is wrapped for them can never be
opened by anyone. AWS Payment Cryptography's wrapping key comes certified: a throw-away root
CA signs it, and that CA's private half is dropped too. Every file is created exclusively
(never over an existing one).
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ceremony.errors import OutputExistsError
from ceremony.output import install, remove_partials

AWS_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
AZURE_KEK = (
    "https://rehearsal-mhsm.managedhsm.azure.net/keys/rehearsal-kek/"
    "0123456789abcdef0123456789abcdef"
)
GCP_JOB = "projects/rehearsal/locations/europe-west1/keyRings/byok/importJobs/rehearsal-job"
AWS_METHOD = "RSA_AES_KEY_WRAP_SHA_1"
GCP_METHOD = "RSA_OAEP_3072_SHA1_AES_256"
APC_METHOD = "RSA_OAEP_SHA_256"
# How long the service's import token and wrapping certificate last (30 days).
APC_LIFETIME = timedelta(days=30)
DEMO_PASSPHRASE = "rehearsal passphrase of {}"  # noqa: S105 - documented rehearsal value


@dataclass(frozen=True)
class ThrowawayImportKeys:
    """Public halves of four rehearsal RSA key pairs (AWS 2048, Azure 3072, GCP 3072, AWS
    Payment Cryptography 2048)."""

    aws: rsa.RSAPublicKey
    azure: rsa.RSAPublicKey
    gcp: rsa.RSAPublicKey
    aws_payment: rsa.RSAPublicKey

    @classmethod
    def generate(cls) -> ThrowawayImportKeys:
        def public(bits: int) -> rsa.RSAPublicKey:
            return rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()

        return cls(public(2048), public(3072), public(3072), public(2048))


def _pem(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _der(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _create(path: Path, data: bytes) -> None:
    # Whole or absent under its final name (a kill once left an empty one), never overwritten.
    try:
        install(path, data, 0o644)
    except FileExistsError:
        raise OutputExistsError(
            f"{path} already exists", hint="rehearsal files are never overwritten"
        ) from None


def _zulu(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"REHEARSAL {common}")])


def payment_parameters(wrapping: rsa.RSAPublicKey, now: datetime) -> dict[str, object]:
    """``aws payment-cryptography get-parameters-for-import --key-material-type KEY_CRYPTOGRAM``
    output for ``wrapping``, certified by a throw-away root CA whose private half is dropped."""
    ca = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    until = now + APC_LIFETIME

    def issue(subject: str, public: rsa.RSAPublicKey, is_ca: bool) -> bytes:
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(subject))
            .issuer_name(_name("payment root CA"))
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
            .sign(ca, hashes.SHA256())
        )
        return base64.b64encode(cert.public_bytes(serialization.Encoding.PEM))

    return {
        "ImportToken": "import-token-" + secrets.token_hex(10),
        "ParametersValidUntilTimestamp": int(until.timestamp()),
        "WrappingKeyAlgorithm": f"RSA_{wrapping.key_size}",
        "WrappingKeyCertificate": issue("payment wrapping key", wrapping, False).decode(),
        "WrappingKeyCertificateChain": issue("payment root CA", ca.public_key(), True).decode(),
    }


def write_import_keys(folder: Path, keys: ThrowawayImportKeys, now: datetime) -> dict[str, str]:
    """Write ``aws-params.json``, ``azure-kek.pem``, ``gcp-job.json`` and ``apc-params.json``
    (AWS Payment Cryptography) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    remove_partials(folder)  # what a killed earlier run was writing
    token = b"REHEARSAL IMPORT TOKEN " + secrets.token_bytes(8)
    files = {
        "aws": "aws-params.json",
        "azure": "azure-kek.pem",
        "gcp": "gcp-job.json",
        "aws-payment-cryptography": "apc-params.json",
    }
    aws = {
        "KeyId": AWS_ARN,
        "ImportToken": base64.b64encode(token).decode(),
        "PublicKey": base64.b64encode(_der(keys.aws)).decode(),
        "ParametersValidTo": _zulu(now + timedelta(hours=20)),
    }
    gcp = {
        "name": GCP_JOB,
        "importMethod": GCP_METHOD,
        "protectionLevel": "HSM",
        "createTime": _zulu(now - timedelta(hours=1)),
        "expireTime": _zulu(now + timedelta(days=2)),
        "state": "ACTIVE",
        "publicKey": {"pem": _pem(keys.gcp).decode()},
    }
    _create(folder / files["aws"], (json.dumps(aws, indent=2) + "\n").encode())
    _create(folder / files["azure"], _pem(keys.azure))
    _create(folder / files["gcp"], (json.dumps(gcp, indent=2) + "\n").encode())
    apc = payment_parameters(keys.aws_payment, now)
    _create(folder / files["aws-payment-cryptography"], (json.dumps(apc, indent=2) + "\n").encode())
    return files


_PEOPLE = (
    ("amartin", "Alice Martin", "security-officer", "rehearsal badge 0042"),
    ("bokafor", "Ben Okafor", "security-officer", "rehearsal badge 0107"),
    ("cwright", "Chloe Wright", "witness", "rehearsal passport 4471"),
    ("ebrown", "Emma Brown", "key-custodian", "rehearsal badge 0211"),
    ("fgarcia", "Felipe Garcia", "key-custodian", "rehearsal badge 0212"),
    ("gkim", "Grace Kim", "key-custodian", "rehearsal badge 0213"),
    ("hsato", "Hiro Sato", "key-custodian", "rehearsal badge 0214"),
    ("imensah", "Isaac Mensah", "key-custodian", "rehearsal badge 0215"),
)


def demo_ceremony(ceremony_id: str, token_label: str, module: str, key_label: str) -> str:
    """The full rehearsal: an AES-256 key made in the HSM, Shamir 3-of-5, wrapped for 3 clouds."""
    people = "\n".join(
        f'[[participants]]\nid = "{i}"\nname = "{n}"\nrole = "{r}"\nid_reference = "{d}"\n'
        for i, n, r, d in _PEOPLE
    )
    custodians = [i for i, _, role, _ in _PEOPLE if role == "key-custodian"]
    # Envelope serials, so the rehearsal practises sealing and the record lists them.
    shares = "\n".join(
        f'[[keys.split.components]]\ncustodian = "{i}"\nenvelope = "REHEARSAL-ENV-{n:03d}"\n'
        for n, i in enumerate(custodians, start=1)
    )
    return f"""# REHEARSAL ceremony written by `ceremony rehearse`: never for real keys.
[ceremony]
id = "{ceremony_id}"
type = "split-backup"
site = "Rehearsal workstation"
purpose = "Rehearse: generate an AES-256 key in the HSM, split it 3 of 5, wrap it for 3 clouds."
output = "out"
rehearsal = true
registry = "registry/custodians.json"

{people}
[hsm]
module = "{module}"
token_label = "{token_label}"

[[keys]]
label = "{key_label}"
type = "AES"
bits = 256
source = "hsm"

[keys.split]
scheme = "shamir"
threshold = 3

{shares}
[[keys.targets]]
label = "aws-demo"
provider = "aws"
algorithm = "{AWS_METHOD}"
import_key = "imports/aws-params.json"
material_never_expires = true  # said, never assumed: AWS's KEY_MATERIAL_DOES_NOT_EXPIRE

[[keys.targets]]
label = "azure-demo"
provider = "azure"
import_key = "imports/azure-kek.pem"
kek_id = "{AZURE_KEK}"
key_name = "{key_label}"

[[keys.targets]]
label = "gcp-demo"
provider = "gcp"
algorithm = "{GCP_METHOD}"
import_key = "imports/gcp-job.json"
key = "{key_label}"
"""


def demo_answers() -> str:
    """Scripted answers for the demo: each participant's rehearsal passphrase; PINs from env."""
    lines = ["# REHEARSAL answers written by `ceremony rehearse`.", "[passphrases]"]
    lines += [f'{i} = "{DEMO_PASSPHRASE.format(i)}"' for i, *_ in _PEOPLE]
    lines += ["", "[approvers]", 'order = ["amartin", "cwright", "bokafor"]', ""]
    return "\n".join(lines)


def write_demo(
    folder: Path, now: datetime, token_label: str, module: str, keys: ThrowawayImportKeys
) -> tuple[Path, Path]:
    """A fresh rehearsal folder: ceremony file, answers, import keys. Returns (file, answers)."""
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        raise OutputExistsError(
            f"{folder} already exists", hint="each rehearsal gets a fresh folder"
        ) from None
    ceremony_id = "rehearsal-" + now.strftime("%Y-%m-%d-%H%M%S")
    write_import_keys(folder / "imports", keys, now)
    ceremony = folder / "ceremony.toml"
    answers = folder / "answers.toml"
    # A key label of its own: every rehearsal leaves its key on the rehearsal token.
    key_label = f"demo-zmk-{secrets.token_hex(3)}"
    _create(ceremony, demo_ceremony(ceremony_id, token_label, module, key_label).encode())
    _create(answers, demo_answers().encode())
    return ceremony, answers

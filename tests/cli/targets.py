"""Throw-away cloud import keys in each provider's download format, and openers for the bundle."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from tests.hsm.oracles import ProviderKey, openssl_kwp_unwrap

AWS_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MHSM_KID = "https://contoso-mhsm.managedhsm.azure.net/keys/kek/fedcba9876543210fedcba9876543210"
GCP_JOB = "projects/ceremony-test/locations/europe-west1/keyRings/byok/importJobs/job-1"
TOKEN = bytes(range(256)) * 6


class CloudTargets:
    """One AWS, one Azure and one GCP import key, written as each cloud hands them out."""

    def __init__(self, folder: Path, aws_method: str, gcp_method: str) -> None:
        now = datetime.now(UTC)
        # One folder each: ProviderKey names its private PEM by size only.
        self.aws, self.azure, self.gcp = (
            ProviderKey(_subfolder(folder, name), bits)
            for name, bits in (("aws", 2048), ("azure", 3072), ("gcp", 3072))
        )
        aws_file = folder / "aws-params.json"
        aws_file.write_text(
            json.dumps(
                {
                    "KeyId": AWS_ARN,
                    "ImportToken": base64.b64encode(TOKEN).decode(),
                    "PublicKey": base64.b64encode(self.aws.spki).decode(),
                    "ParametersValidTo": (now + timedelta(hours=20)).isoformat(),
                }
            )
        )
        azure_file = folder / "azure-kek.pem"
        azure_file.write_bytes(
            self.azure.private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        gcp_file = folder / "gcp-job.json"
        gcp_file.write_text(
            json.dumps(
                {
                    "name": GCP_JOB,
                    "importMethod": gcp_method,
                    "protectionLevel": "HSM",
                    "createTime": (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
                    "expireTime": (now + timedelta(days=2)).isoformat().replace("+00:00", "Z"),
                    "state": "ACTIVE",
                    "publicKey": {
                        "pem": self.gcp.private.public_key()
                        .public_bytes(
                            serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo,
                        )
                        .decode()
                    },
                }
            )
        )
        self.args = [
            "--target",
            f"provider=aws,label=aws-eu,method={aws_method},import-key={aws_file}",
            "--target",
            f"provider=azure,label=azure,import-key={azure_file},kek-id={MHSM_KID},key-name=zmk",
            "--target",
            f"provider=gcp,label=gcp,method={gcp_method},import-key={gcp_file},key=zmk",
        ]

    def open_all(self, bundle: Path, md: str = "sha1") -> dict[str, bytes]:
        """Each target's material, recovered with openssl alone."""
        aws_dirs = list(bundle.glob("*/aws-eu"))
        azure = json.loads(next(bundle.glob("*/azure/*.byok")).read_text())
        padded = azure["ciphertext"] + "=" * (-len(azure["ciphertext"]) % 4)
        return {
            "aws": _open_composite(
                self.aws, (aws_dirs[0] / "EncryptedKeyMaterial.bin").read_bytes(), md
            ),
            "azure": _open_composite(self.azure, base64.urlsafe_b64decode(padded), "sha1"),
            "gcp": _open_composite(
                self.gcp, next(bundle.glob("*/gcp/wrapped-key.bin")).read_bytes(), md
            ),
        }


def _open_composite(key: ProviderKey, blob: bytes, md: str) -> bytes:
    ephemeral = key.openssl_oaep_decrypt(blob[: key.size], md)
    return openssl_kwp_unwrap(ephemeral, blob[key.size :])


def _subfolder(folder: Path, name: str) -> Path:
    path = folder / name
    path.mkdir()
    return path


class PaymentTarget:
    """An AWS Payment Cryptography get-parameters-for-import download valid around now: a test
    root CA (made here with pyca's builder) certifies a ProviderKey's public half."""

    def __init__(self, folder: Path, bits: int = 2048) -> None:
        from tests.unit.cloudkeys import apc_params, certificate, rsa_key

        now = datetime.now(UTC)
        span = {"not_before": now - timedelta(days=1), "not_after": now + timedelta(days=30)}
        self.key = ProviderKey(_subfolder(folder, "apc"), bits)
        root_key = rsa_key(3072)
        root = certificate("Test APC Root", root_key, "Test APC Root", root_key, ca=True, **span)
        leaf = certificate(
            "wrapping", self.key.private, "Test APC Root", root_key, ca=False, **span
        )
        self.root_sha256 = hashlib.sha256(root.public_bytes(serialization.Encoding.DER)).hexdigest()
        self.path = folder / "apc-params.json"
        until = int((now + timedelta(days=30)).timestamp())
        self.path.write_text(
            apc_params(self.key.private, leaf=leaf, chain=(root,), valid_until=until)
        )

    def arg(self, **fields: str) -> str:
        """A --target value: a ZMK with RSA_OAEP_SHA_256 and the root pinned, unless told."""
        values = {
            "provider": "aws-payment-cryptography",
            "label": "apc",
            "method": "RSA_OAEP_SHA_256",
            "import-key": str(self.path),
            "role": "zmk",
            "root-ca-fingerprint": self.root_sha256,
            **fields,
        }
        return ",".join(f"{k}={v}" for k, v in values.items() if v)

    def open(self, key_material: Path) -> bytes:
        """The key in a key-material.json, opened by openssl with the hash its WrappingSpec says."""
        cryptogram = json.loads(key_material.read_text())["KeyCryptogram"]
        md = {"RSA_OAEP_SHA_256": "sha256", "RSA_OAEP_SHA_512": "sha512"}[
            cryptogram["WrappingSpec"]
        ]
        return self.key.openssl_oaep_decrypt(bytes.fromhex(cryptogram["WrappedKeyCryptogram"]), md)

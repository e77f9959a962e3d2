"""Throw-away cloud import keys in each provider's download format, and openers for the bundle."""

from __future__ import annotations

import base64
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

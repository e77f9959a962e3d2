"""Independent openers for blobs the token wrapped: the openssl command line and cryptography."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding

_HASH = {"sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha512": hashes.SHA512}


class ProviderKey:
    """A stand-in for a cloud's import key pair: we hold the private half only to check blobs."""

    def __init__(self, folder: Path, bits: int = 2048) -> None:
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        self.spki = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.pem = folder / f"provider-{bits}.pem"
        self.pem.write_bytes(
            self.private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.folder = folder

    @property
    def size(self) -> int:
        return self.private.key_size // 8

    def openssl_oaep_decrypt(self, blob: bytes, md: str = "sha1") -> bytes:
        """``openssl pkeyutl -decrypt`` with OAEP, OAEP hash = MGF1 hash = ``md``."""
        return subprocess.run(
            [
                "openssl", "pkeyutl", "-decrypt", "-inkey", str(self.pem),
                "-pkeyopt", "rsa_padding_mode:oaep",
                "-pkeyopt", f"rsa_oaep_md:{md}",
                "-pkeyopt", f"rsa_mgf1_md:{md}",
            ],
            input=blob, capture_output=True, check=True,
        ).stdout  # fmt: skip

    def cryptography_oaep_decrypt(self, blob: bytes, md: str = "sha1") -> bytes:
        algorithm = _HASH[md]()
        return self.private.decrypt(
            blob, padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)
        )


def openssl_kwp_unwrap(kek: bytes, blob: bytes) -> bytes:
    """``openssl enc -d -id-aes256-wrap-pad -iv A65959A6``; the test KEK on argv is test data."""
    cipher = {16: "-id-aes128-wrap-pad", 24: "-id-aes192-wrap-pad", 32: "-id-aes256-wrap-pad"}
    return subprocess.run(
        ["openssl", "enc", "-d", cipher[len(kek)], "-iv", "A65959A6", "-K", kek.hex()],
        input=blob, capture_output=True, check=True,
    ).stdout  # fmt: skip


def cryptography_kwp_unwrap(kek: bytes, blob: bytes) -> bytes:
    return aes_key_unwrap_with_padding(kek, blob)

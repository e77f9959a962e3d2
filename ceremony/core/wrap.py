"""RSA-OAEP (MGF1 hash = OAEP hash, no label) and the RSA-AES composite of CKM_RSA_AES_KEY_WRAP."""

from __future__ import annotations

import enum

from Crypto.Cipher import PKCS1_OAEP
from Crypto.Hash import SHA1, SHA256, SHA512
from Crypto.PublicKey import RSA
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ceremony.core import keywrap, rng
from ceremony.core.secret import Secret
from ceremony.errors import WrapError

Buffer = bytes | bytearray | memoryview

# Every cloud and PKCS#11 CKM_RSA_AES_KEY_WRAP profile we target uses a 256-bit ephemeral key.
EPHEMERAL_AES_BYTES = 32


class OaepHash(enum.Enum):
    """The one hash used for both OAEP and MGF1; clouds reject blobs where the two differ."""

    SHA1 = "SHA-1"
    SHA256 = "SHA-256"
    SHA512 = "SHA-512"  # AWS Payment Cryptography's RSA_OAEP_SHA_512 only

    @property
    def digest_size(self) -> int:
        return self.algorithm().digest_size

    @property
    def openssl_name(self) -> str:
        return self.value.replace("-", "").lower()

    def algorithm(self) -> hashes.HashAlgorithm:
        return _PYCA_HASH[self]()


_PYCA_HASH: dict[OaepHash, type[hashes.HashAlgorithm]] = {
    OaepHash.SHA1: hashes.SHA1,
    OaepHash.SHA256: hashes.SHA256,
    OaepHash.SHA512: hashes.SHA512,
}
_PYCRYPTODOME_HASH = {OaepHash.SHA1: SHA1, OaepHash.SHA256: SHA256, OaepHash.SHA512: SHA512}


# The libraries that really do each step, named in MANIFEST.json and the .byok generator.
OAEP_BY = "RSA-OAEP by pycryptodome (Crypto.Cipher.PKCS1_OAEP)"
KWP_BY = "AES key wrap with padding (RFC 5649) by pyca/cryptography"


def host_wrap_by(composite: bool) -> str:
    """What ``wrapped_by`` says of a wrap made in host memory: OAEP alone, or OAEP then KWP."""
    steps = f"{OAEP_BY} of a one-time AES key, then {KWP_BY}" if composite else OAEP_BY
    return f"wrapped on the offline workstation: {steps}"


def oaep_padding(oaep_hash: OaepHash) -> padding.OAEP:
    """OAEP with MGF1 over the same hash and no label, the only form the clouds accept."""
    return padding.OAEP(
        mgf=padding.MGF1(algorithm=oaep_hash.algorithm()),
        algorithm=oaep_hash.algorithm(),
        label=None,
    )


def modulus_bytes(public_key: rsa.RSAPublicKey) -> int:
    """k: the length of an RSA ciphertext under ``public_key``."""
    return (public_key.key_size + 7) // 8


def oaep_max_payload(modulus_length: int, oaep_hash: OaepHash) -> int:
    """Largest OAEP plaintext, k - 2h - 2 (RFC 8017 §7.1.1)."""
    return modulus_length - 2 * oaep_hash.digest_size - 2


def oaep_encrypt(
    public_key: rsa.RSAPublicKey, payload: Buffer, oaep_hash: OaepHash, what: str = "key material"
) -> bytes:
    """RSA-OAEP-encrypt ``payload``; too long a payload is refused before the library sees it."""
    k = modulus_bytes(public_key)
    limit = oaep_max_payload(k, oaep_hash)
    if len(payload) > limit:
        raise WrapError(
            f"{what} is {len(payload)} bytes; RSA-{public_key.key_size} OAEP-{oaep_hash.value} "
            f"carries at most {limit} bytes (k - 2h - 2)",
            hint="pick an RSA-AES (two-part) method, or a larger wrapping key",
        )
    if not payload:
        raise WrapError(f"{what} is empty", hint="check the key material")
    # pycryptodome rather than pyca here: only it takes the OAEP seed from our injected source, so
    # the HSM's generator feeds it in a ceremony and seeded golden runs are byte-stable. pyca and
    # openssl open every blob in the tests. MGF1 uses the OAEP hash; the label is empty.
    numbers = public_key.public_numbers()
    cipher = PKCS1_OAEP.new(
        RSA.construct((numbers.n, numbers.e)),
        hashAlgo=_PYCRYPTODOME_HASH[oaep_hash],
        label=b"",
        randfunc=rng.random_bytes,
    )
    return bytes(cipher.encrypt(payload))


def rsa_aes_wrap(public_key: rsa.RSAPublicKey, material: Secret, oaep_hash: OaepHash) -> bytes:
    """OAEP(ephemeral AES-256) || KWP(ephemeral, material): the CKM_RSA_AES_KEY_WRAP output.

    The ephemeral key comes from the injected random source and is wiped before returning.
    """
    with Secret.generate(EPHEMERAL_AES_BYTES, "ephemeral AES key") as ephemeral:
        head = oaep_encrypt(public_key, ephemeral.reveal(), oaep_hash, "ephemeral AES key")
        tail = keywrap.wrap(ephemeral.reveal(), material.reveal())
    return head + tail


def direct_wrap(public_key: rsa.RSAPublicKey, material: Secret, oaep_hash: OaepHash) -> bytes:
    """OAEP of the material itself (AWS RSAES_OAEP_*, GCP RSA_OAEP_*_SHA256)."""
    return oaep_encrypt(public_key, material.reveal(), oaep_hash)


def split_rsa_aes(blob: bytes, modulus_length: int) -> tuple[bytes, bytes]:
    """Split a composite blob into its OAEP head and KWP tail, checking its shape."""
    tail = len(blob) - modulus_length
    if tail < 16 or tail % 8:
        raise WrapError(
            f"an RSA-AES blob is k + 8*m bytes (k = {modulus_length}, m >= 2); this one is "
            f"{len(blob)} bytes",
            hint="the token returned something else: check the mechanism and the wrapping key",
        )
    return blob[:modulus_length], blob[modulus_length:]


def check_blob_shape(
    blob: bytes, modulus_length: int, composite: bool, material_length: int | None
) -> None:
    """Raise unless ``blob`` is as long as a composite or direct wrap of the material would be."""
    if composite:
        split_rsa_aes(blob, modulus_length)
        expected = None
        if material_length is not None:
            expected = modulus_length + keywrap.wrapped_length(material_length)
    else:
        expected = modulus_length
    if expected is not None and len(blob) != expected:
        raise WrapError(
            f"the wrapped blob is {len(blob)} bytes where {expected} are due",
            hint="the token wrapped a different key or used a different mechanism",
        )

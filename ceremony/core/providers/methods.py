"""The vocabulary of cloud import: providers, the key material kinds, the wrapping methods."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import MappingProxyType

from ceremony.core.wrap import OaepHash
from ceremony.errors import WrapError


class Provider(enum.Enum):
    AWS = "AWS KMS"
    AZURE = "Azure Key Vault"
    GCP = "Google Cloud KMS"
    AWS_PAYMENT_CRYPTOGRAPHY = "AWS Payment Cryptography"


class MaterialKind(enum.Enum):
    """The key being imported, which fixes its encoding: raw bytes or PKCS#8 DER."""

    AES_128 = "AES-128"
    AES_192 = "AES-192"
    AES_256 = "AES-256"
    TDES_128 = "TDES-128"  # double length (two-key), the payment clouds only
    TDES_192 = "TDES-192"  # triple length (three-key)
    HMAC_SHA1 = "HMAC-SHA1"
    HMAC_SHA224 = "HMAC-SHA224"
    HMAC_SHA256 = "HMAC-SHA256"
    HMAC_SHA384 = "HMAC-SHA384"
    HMAC_SHA512 = "HMAC-SHA512"
    EC_P256 = "EC P-256"
    EC_P384 = "EC P-384"
    EC_P521 = "EC P-521"
    EC_SECP256K1 = "EC secp256k1"
    RSA_2048 = "RSA-2048"
    RSA_3072 = "RSA-3072"
    RSA_4096 = "RSA-4096"

    @property
    def raw_length(self) -> int | None:
        """Bytes of a symmetric key (HMAC keys are digest length); None for PKCS#8 keys."""
        return _RAW_LENGTHS.get(self)

    @property
    def is_symmetric(self) -> bool:
        return self in _RAW_LENGTHS

    @property
    def is_rsa(self) -> bool:
        return self.name.startswith("RSA_")

    @property
    def is_ec(self) -> bool:
        return self.name.startswith("EC_")

    @property
    def rsa_bits(self) -> int | None:
        return int(self.name[4:]) if self.is_rsa else None

    @property
    def curve(self) -> str | None:
        """The curve's SEC name as pyca reports it."""
        return _CURVES.get(self)


_RAW_LENGTHS = MappingProxyType(
    {
        MaterialKind.AES_128: 16,
        MaterialKind.AES_192: 24,
        MaterialKind.AES_256: 32,
        MaterialKind.TDES_128: 16,
        MaterialKind.TDES_192: 24,
        MaterialKind.HMAC_SHA1: 20,
        MaterialKind.HMAC_SHA224: 28,
        MaterialKind.HMAC_SHA256: 32,
        MaterialKind.HMAC_SHA384: 48,
        MaterialKind.HMAC_SHA512: 64,
    }
)
_CURVES = MappingProxyType(
    {
        MaterialKind.EC_P256: "secp256r1",
        MaterialKind.EC_P384: "secp384r1",
        MaterialKind.EC_P521: "secp521r1",
        MaterialKind.EC_SECP256K1: "secp256k1",
    }
)


class WrapMethod(enum.Enum):
    """The 13 import formats; each value is the provider's own name for it."""

    AWS_RSAES_OAEP_SHA_1 = "RSAES_OAEP_SHA_1"
    AWS_RSAES_OAEP_SHA_256 = "RSAES_OAEP_SHA_256"
    AWS_RSA_AES_KEY_WRAP_SHA_1 = "RSA_AES_KEY_WRAP_SHA_1"
    AWS_RSA_AES_KEY_WRAP_SHA_256 = "RSA_AES_KEY_WRAP_SHA_256"
    AZURE_BYOK = "CKM_RSA_AES_KEY_WRAP"
    GCP_RSA_OAEP_3072_SHA1_AES_256 = "RSA_OAEP_3072_SHA1_AES_256"
    GCP_RSA_OAEP_4096_SHA1_AES_256 = "RSA_OAEP_4096_SHA1_AES_256"
    GCP_RSA_OAEP_3072_SHA256_AES_256 = "RSA_OAEP_3072_SHA256_AES_256"
    GCP_RSA_OAEP_4096_SHA256_AES_256 = "RSA_OAEP_4096_SHA256_AES_256"
    GCP_RSA_OAEP_3072_SHA256 = "RSA_OAEP_3072_SHA256"
    GCP_RSA_OAEP_4096_SHA256 = "RSA_OAEP_4096_SHA256"
    APC_RSA_OAEP_SHA_256 = "RSA_OAEP_SHA_256"
    APC_RSA_OAEP_SHA_512 = "RSA_OAEP_SHA_512"

    @property
    def spec(self) -> MethodSpec:
        return _METHOD_SPECS[self]

    @property
    def provider(self) -> Provider:
        return self.spec.provider

    @property
    def oaep_hash(self) -> OaepHash:
        return self.spec.oaep_hash

    @property
    def composite(self) -> bool:
        """True for OAEP(ephemeral AES-256) || KWP(material); False for OAEP of the material."""
        return self.spec.composite


@dataclass(frozen=True)
class MethodSpec:
    provider: Provider
    oaep_hash: OaepHash
    composite: bool
    key_bits: tuple[int, ...]


_SHA1, _SHA256, _SHA512 = OaepHash.SHA1, OaepHash.SHA256, OaepHash.SHA512
_APC = Provider.AWS_PAYMENT_CRYPTOGRAPHY
_ANY_BITS = (2048, 3072, 4096)
_METHOD_SPECS = MappingProxyType(
    {
        WrapMethod.AWS_RSAES_OAEP_SHA_1: MethodSpec(Provider.AWS, _SHA1, False, _ANY_BITS),
        WrapMethod.AWS_RSAES_OAEP_SHA_256: MethodSpec(Provider.AWS, _SHA256, False, _ANY_BITS),
        WrapMethod.AWS_RSA_AES_KEY_WRAP_SHA_1: MethodSpec(Provider.AWS, _SHA1, True, _ANY_BITS),
        WrapMethod.AWS_RSA_AES_KEY_WRAP_SHA_256: MethodSpec(Provider.AWS, _SHA256, True, _ANY_BITS),
        # Azure's spec names RSA-OAEP with SHA-1; vendors use MGF1-SHA1 and no label.
        WrapMethod.AZURE_BYOK: MethodSpec(Provider.AZURE, _SHA1, True, _ANY_BITS),
        WrapMethod.GCP_RSA_OAEP_3072_SHA1_AES_256: MethodSpec(Provider.GCP, _SHA1, True, (3072,)),
        WrapMethod.GCP_RSA_OAEP_4096_SHA1_AES_256: MethodSpec(Provider.GCP, _SHA1, True, (4096,)),
        WrapMethod.GCP_RSA_OAEP_3072_SHA256_AES_256: MethodSpec(
            Provider.GCP, _SHA256, True, (3072,)
        ),
        WrapMethod.GCP_RSA_OAEP_4096_SHA256_AES_256: MethodSpec(
            Provider.GCP, _SHA256, True, (4096,)
        ),
        WrapMethod.GCP_RSA_OAEP_3072_SHA256: MethodSpec(Provider.GCP, _SHA256, False, (3072,)),
        WrapMethod.GCP_RSA_OAEP_4096_SHA256: MethodSpec(Provider.GCP, _SHA256, False, (4096,)),
        # KEY_CRYPTOGRAM: the WrappingSpec of ImportKeyCryptogram, OAEP of the raw key.
        WrapMethod.APC_RSA_OAEP_SHA_256: MethodSpec(_APC, _SHA256, False, _ANY_BITS),
        WrapMethod.APC_RSA_OAEP_SHA_512: MethodSpec(_APC, _SHA512, False, _ANY_BITS),
    }
)

_REFUSED_METHODS = {
    "RSAES_PKCS1_V1_5": (
        "RSAES_PKCS1_V1_5 is refused: PKCS#1 v1.5 encryption is open to padding-oracle attacks "
        "and AWS KMS stopped supporting it on 2023-10-10",
        "request parameters for RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256 instead",
    ),
    "SM2PKE": (
        "SM2PKE (AWS China Regions) is not supported by this tool",
        "use an RSA wrapping key spec with RSA_AES_KEY_WRAP_SHA_256 or RSAES_OAEP_SHA_256",
    ),
}


def parse_method(text: str, provider: Provider | None = None) -> WrapMethod:
    """A method from its spelling (``RSA_AES_KEY_WRAP_SHA_256``, ``rsa-oaep-3072-sha256``)."""
    name = text.strip().upper().replace("-", "_")
    if name in _REFUSED_METHODS:
        message, hint = _REFUSED_METHODS[name]
        raise WrapError(message, hint=hint)
    for method in WrapMethod:
        if method.value == name and (provider is None or method.provider is provider):
            return method
    choices = ", ".join(m.value for m in WrapMethod if provider is None or m.provider is provider)
    raise WrapError(f"unknown wrapping method {text.strip()[:60]!r}", hint=f"pick one of {choices}")

"""A ``[[keys.targets]]`` table: where a key is imported, how it is wrapped, each cloud's fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ceremony.core.ceremony_file.vocabulary import (
    FileError,
    WrapPlace,
    _require_label,
    _require_path,
    _show,
)
from ceremony.core.providers import aws, aws_payment, azure, gcp
from ceremony.core.providers.common import MaterialInfo
from ceremony.core.providers.import_key import Fingerprint, ImportKey
from ceremony.core.providers.methods import MaterialKind, Provider, WrapMethod
from ceremony.errors import CeremonyError


@dataclass(frozen=True)
class AwsFields:
    key_id: str | None = None  # KMS key ARN or id; defaults to the one in the parameters file
    region: str | None = None
    import_token: str | None = None  # path to the import token, when not in the parameters
    material_valid_to: datetime | None = None  # the end of the key's crypto period in AWS
    # KEY_MATERIAL_DOES_NOT_EXPIRE only when the file says so: one of the two is required.
    material_never_expires: bool = False


@dataclass(frozen=True)
class AzureFields:
    kek_id: str  # the versioned KEK id
    key_name: str
    ops: tuple[str, ...] = ()


@dataclass(frozen=True)
class GcpFields:
    key: str  # the CryptoKey id in the import job's key ring
    import_job: str | None = None  # projects/.../importJobs/...; else from the job JSON
    key_algorithm: str | None = None  # gcloud --algorithm; default per key kind
    protection_level: str = "HSM"  # the level the import job must have (a BYOK job is HSM)
    undated_job: bool = False  # accept a job form that says neither createTime nor expireTime


@dataclass(frozen=True)
class AwsPaymentFields:
    # Pinned SHA-256 of the root CA certificate (DER) the wrapping key must chain to; the
    # service makes a new wrapping key for each get-parameters-for-import, its root stays.
    root_ca_fingerprint: bytes | None = None
    exportable: bool = False  # KeyCryptogram.Exportable
    region: str | None = None  # the Region of the parameters and the import


ProviderFields = AwsFields | AzureFields | GcpFields | AwsPaymentFields


@dataclass(frozen=True)
class TargetEntry:
    """One ``[[keys.targets]]`` entry: where a key is imported and how it is wrapped."""

    label: str
    provider: Provider
    algorithm: WrapMethod
    import_key: str  # path to the provider's wrapping key download
    fingerprint: bytes | None  # pinned SHA-256 of the wrapping key's SPKI
    fields: ProviderFields
    wrap: WrapPlace = WrapPlace.HSM

    @property
    def pinned(self) -> Fingerprint | None:
        """What the file pins and two officers confirm: the wrapping key's SPKI, or for AWS
        Payment Cryptography the root CA certificate that certifies the wrapping key."""
        if isinstance(self.fields, AwsPaymentFields):
            root = self.fields.root_ca_fingerprint
            return Fingerprint(root) if root is not None else None
        return Fingerprint(self.fingerprint) if self.fingerprint is not None else None

    @property
    def pin_field(self) -> str:
        """The name of the field that pins this target's wrapping key."""
        return "root_ca_fingerprint" if isinstance(self.fields, AwsPaymentFields) else "fingerprint"

    def validate(self, path: str) -> None:
        _require_label(f"{path}.label", self.label, "a target label")
        _require_path(f"{path}.import_key", self.import_key)
        if self.algorithm.provider is not self.provider:
            raise FileError(
                f"{path}.algorithm",
                f"is {self.algorithm.value}, a {self.algorithm.provider.value} method, not a "
                f"{self.provider.value} one",
                hint="pick a method of the target's provider",
            )
        if self.fingerprint is not None and len(self.fingerprint) != 32:
            raise FileError(f"{path}.fingerprint", "is not a SHA-256 digest", hint="64 hex digits")
        f = self.fields
        try:
            if isinstance(f, AwsFields):
                if self.provider is not Provider.AWS:
                    raise FileError(path, "has AWS fields but another provider", hint="bug")
                if f.key_id is not None:
                    aws._require_key_id(f.key_id)
                if f.region is not None and not aws._REGION.fullmatch(f.region):
                    raise FileError(f"{path}.region", "is not an AWS Region", hint="e.g. eu-west-1")
                if f.import_token is not None:
                    _require_path(f"{path}.import_token", f.import_token)
                if f.material_valid_to is None and not f.material_never_expires:
                    raise FileError(
                        path,
                        "does not say when the key material expires in AWS",
                        hint="give material_valid_to (the end of the key's crypto period, e.g. "
                        "2027-06-30T00:00:00Z) or, for material that never expires, "
                        "material_never_expires = true",
                    )
                if f.material_valid_to is not None and f.material_never_expires:
                    raise FileError(
                        f"{path}.material_never_expires",
                        "is true, and material_valid_to gives an expiry",
                        hint="keep one of the two",
                    )
                if f.material_valid_to is not None and f.material_valid_to.tzinfo is None:
                    raise FileError(
                        f"{path}.material_valid_to",
                        "has no time zone",
                        hint="write it with Z or an offset, e.g. 2026-06-30T00:00:00Z",
                    )
            elif isinstance(f, AwsPaymentFields):
                if self.provider is not Provider.AWS_PAYMENT_CRYPTOGRAPHY:
                    raise FileError(path, "has AWS Payment Cryptography fields", hint="bug")
                if f.root_ca_fingerprint is not None and len(f.root_ca_fingerprint) != 32:
                    raise FileError(
                        f"{path}.root_ca_fingerprint",
                        "is not a SHA-256 digest",
                        hint="64 hex digits",
                    )
                if f.region is not None and not aws._REGION.fullmatch(f.region):
                    raise FileError(f"{path}.region", "is not an AWS Region", hint="e.g. eu-west-1")
            elif isinstance(f, AzureFields):
                if self.provider is not Provider.AZURE:
                    raise FileError(path, "has Azure fields but another provider", hint="bug")
                azure.parse_kek_id(f.kek_id)
                if not azure._KEY_NAME.fullmatch(f.key_name):
                    raise FileError(
                        f"{path}.key_name", "is not a Key Vault key name", hint="1-127 [A-Za-z0-9-]"
                    )
                for j, op in enumerate(f.ops):
                    if op not in azure._OPS:
                        raise FileError(
                            f"{path}.ops[{j}]",
                            f"is {_show(op)}, not a key operation",
                            hint="pick from " + ", ".join(azure._OPS),
                        )
            else:
                if self.provider is not Provider.GCP:
                    raise FileError(path, "has GCP fields but another provider", hint="bug")
                if not gcp._KEY_ID.fullmatch(f.key):
                    raise FileError(
                        f"{path}.key", "is not a CryptoKey id", hint="letters, digits, '-', '_'"
                    )
                if f.import_job is not None:
                    gcp.parse_import_job_name(f.import_job)
        except FileError:
            raise
        except CeremonyError as ex:
            raise FileError(path, f"is invalid: {ex.message}", hint=ex.hint) from None

    def check_material(self, kind: MaterialKind, path: str) -> None:
        """Raise unless the provider imports ``kind`` with this method (the provider's own rule)."""
        payment = self.provider is Provider.AWS_PAYMENT_CRYPTOGRAPHY  # its own rule says more
        if kind.is_rsa and not self.algorithm.composite and not payment:
            raise FileError(
                f"{path}.algorithm",
                f"is {self.algorithm.value}, which cannot carry an RSA private key",
                hint="pick a two-part method (RSA_AES_KEY_WRAP_SHA_256, *_AES_256)",
            )
        # The providers' check_material reads only the method, names and KEK id, so a
        # placeholder import key lets the file be checked with their rules before the day.
        placeholder = ImportKey(
            self.provider,
            None,  # type: ignore[arg-type]
            b"",
            reference=self.fields.kek_id if isinstance(self.fields, AzureFields) else "",
        )
        f = self.fields
        target: aws.AwsTarget | azure.AzureTarget | gcp.GcpTarget | aws_payment.AwsPaymentTarget
        if isinstance(f, AwsFields):
            target = aws.AwsTarget(self.label, self.algorithm, placeholder)
        elif isinstance(f, AwsPaymentFields):
            # The key's role is checked against its type with the key (KeyEntry.validate).
            target = aws_payment.AwsPaymentTarget(self.label, self.algorithm, placeholder)
        elif isinstance(f, AzureFields):
            target = azure.AzureTarget(self.label, placeholder, f.key_name, f.ops, self.algorithm)
        else:
            target = gcp.GcpTarget(
                self.label, self.algorithm, placeholder, f.key, f.key_algorithm or ""
            )
        try:
            target.check_material(MaterialInfo(kind, kind.raw_length, None))
        except CeremonyError as ex:
            raise FileError(path, f"cannot take this key: {ex.message}", hint=ex.hint) from None

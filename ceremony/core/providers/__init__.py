"""Cloud import formats (AWS KMS and Payment Cryptography, Azure, Google Cloud) as byte plans."""

from __future__ import annotations

from ceremony.core.providers.aws import AwsTarget, parse_import_parameters, token_is_base64
from ceremony.core.providers.aws_payment import AwsPaymentTarget
from ceremony.core.providers.azure import AzureTarget, parse_kek
from ceremony.core.providers.bundle import assemble_bundle, build_bundle, preflight, wrap_for
from ceremony.core.providers.common import (
    BundleFile,
    MaterialInfo,
    Target,
    inspect_material,
    material_for_hsm,
)
from ceremony.core.providers.gcp import GcpTarget, parse_import_job
from ceremony.core.providers.import_key import Fingerprint, ImportKey, parse_fingerprint
from ceremony.core.providers.methods import MaterialKind, Provider, WrapMethod, parse_method

TargetSpec = AwsTarget | AzureTarget | GcpTarget | AwsPaymentTarget

__all__ = [
    "AwsPaymentTarget",
    "AwsTarget",
    "AzureTarget",
    "BundleFile",
    "Fingerprint",
    "GcpTarget",
    "ImportKey",
    "MaterialInfo",
    "MaterialKind",
    "Provider",
    "Target",
    "TargetSpec",
    "WrapMethod",
    "assemble_bundle",
    "build_bundle",
    "inspect_material",
    "material_for_hsm",
    "parse_fingerprint",
    "parse_import_job",
    "parse_import_parameters",
    "parse_kek",
    "parse_method",
    "preflight",
    "token_is_base64",
    "wrap_for",
]

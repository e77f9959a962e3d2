"""The ceremony file: strict TOML into frozen dataclasses, validated section by section."""

# parsing reads the TOML; vocabulary, sections and targets hold its tables; document is the
# whole file and its rules; per_type what each ceremony type takes; read_aloud the summary.

from __future__ import annotations

from ceremony.core.ceremony_file.document import CeremonyFile
from ceremony.core.ceremony_file.parsing import MAX_FILE, load_toml, parse_ceremony_file
from ceremony.core.ceremony_file.read_aloud import summary
from ceremony.core.ceremony_file.sections import (
    SIGNING_LABEL,
    CeremonyInfo,
    ComponentSpec,
    HsmSpec,
    KeyEntry,
    PrinterSpec,
    SigningSpec,
    SplitSpec,
    validate_participant,
)
from ceremony.core.ceremony_file.targets import (
    AwsFields,
    AwsPaymentFields,
    AzureFields,
    GcpFields,
    ProviderFields,
    TargetEntry,
)
from ceremony.core.ceremony_file.vocabulary import (
    CeremonyType,
    FileError,
    HsmLogin,
    KeySource,
    KeyType,
    TrustedWrap,
    WrapPlace,
)

__all__ = [
    "MAX_FILE",
    "SIGNING_LABEL",
    "AwsFields",
    "AwsPaymentFields",
    "AzureFields",
    "CeremonyFile",
    "CeremonyInfo",
    "CeremonyType",
    "ComponentSpec",
    "FileError",
    "GcpFields",
    "HsmLogin",
    "HsmSpec",
    "KeyEntry",
    "KeySource",
    "KeyType",
    "PrinterSpec",
    "ProviderFields",
    "SigningSpec",
    "SplitSpec",
    "TargetEntry",
    "TrustedWrap",
    "WrapPlace",
    "load_toml",
    "parse_ceremony_file",
    "summary",
    "validate_participant",
]

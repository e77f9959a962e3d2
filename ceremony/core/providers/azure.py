"""Azure Key Vault / Managed HSM BYOK: the ``.byok`` JSON around OAEP-SHA1(AES-256) || KWP."""

from __future__ import annotations

import base64
import json
import re
import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from ceremony import __version__
from ceremony.core.providers.common import (
    MaterialInfo,
    Target,
    material_line,
    online_intro,
    require_label,
    shell_block,
    shell_command,
    unsupported,
)
from ceremony.core.providers.import_key import ImportKey, as_bytes, load_rsa_public_key, parsing
from ceremony.core.providers.methods import MaterialKind, Provider, WrapMethod
from ceremony.errors import ImportKeyError, WrapError

SCHEMA_VERSION = "1.0.0"
# Key Vault and Managed HSM hosts in the public and sovereign clouds.
_KID = re.compile(
    r"https://(?P<name>[A-Za-z0-9-]{3,24})\.(?P<kind>vault|managedhsm)\."
    r"(?P<cloud>azure\.net|azure\.cn|usgovcloudapi\.net|microsoftazure\.de)"
    r"/keys/(?P<kek>[A-Za-z0-9-]{1,127})/(?P<version>[0-9a-f]{32})"
)
_KEY_NAME = re.compile(r"[A-Za-z0-9-]{1,127}")
_OPS = ("encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey")
# az's --curve names (CLIJsonWebKeyCurveName); P-256K is secp256k1.
_CURVES = {
    MaterialKind.EC_P256: "P-256",
    MaterialKind.EC_P384: "P-384",
    MaterialKind.EC_P521: "P-521",
    MaterialKind.EC_SECP256K1: "P-256K",
}
_OCT = (MaterialKind.AES_128, MaterialKind.AES_192, MaterialKind.AES_256)


def parse_kek_id(kek_id: str) -> re.Match[str]:
    """The parts of a full, versioned KEK id; an unversioned one is refused."""
    match = _KID.fullmatch(kek_id.strip())
    if not match:
        raise ImportKeyError(
            f"{kek_id.strip()[:120]!r} is not a full, versioned Key Vault or Managed HSM key id",
            hint="copy the KEK's kid with its version: "
            "https://<vault>.vault.azure.net/keys/<kek>/<32 hex digit version>",
        )
    return match


def parse_kek(public_key: bytes | bytearray | str, kek_id: str) -> ImportKey:
    """The KEK from ``az keyvault key download`` (PEM, or DER with ``-e DER``) and its kid."""
    what = "the Azure KEK public key"
    raw = as_bytes(public_key, what)
    with parsing(what):
        kid = parse_kek_id(kek_id).group(0)
        key, spki = load_rsa_public_key(raw, what)
    return ImportKey(Provider.AZURE, key, spki, reference=kid)


def byok_json(kek_id: str, wrapped: bytes, generator: str) -> bytes:
    """The ``.byok`` file: strict JSON, ciphertext in unpadded base64url (JOSE style)."""
    doc = {
        "schema_version": SCHEMA_VERSION,
        "header": {"kid": kek_id, "alg": "dir", "enc": "CKM_RSA_AES_KEY_WRAP"},
        "ciphertext": base64.urlsafe_b64encode(wrapped).rstrip(b"=").decode("ascii"),
        "generator": generator,
    }
    return (json.dumps(doc, indent=2, ensure_ascii=True) + "\n").encode("ascii")


@dataclass(frozen=True)
class AzureTarget(Target):
    """One key to create in the vault or Managed HSM that holds the KEK."""

    label: str
    import_key: ImportKey  # reference: the versioned KEK id
    key_name: str
    ops: tuple[str, ...] = ()
    method: WrapMethod = WrapMethod.AZURE_BYOK

    provider: ClassVar[Provider] = Provider.AZURE
    warn_within: ClassVar[timedelta] = timedelta(hours=6)
    lifetime: ClassVar[str | None] = None  # a KEK lives until someone disables it

    @property
    def managed_hsm(self) -> bool:
        return parse_kek_id(self.import_key.reference).group("kind") == "managedhsm"

    def check(self, info: MaterialInfo, now: datetime) -> list[str]:
        parse_kek_id(self.import_key.reference)
        if not _KEY_NAME.fullmatch(self.key_name):
            raise WrapError(
                f"{self.key_name[:130]!r} is not a Key Vault key name",
                hint="use 1-127 letters, digits and dashes",
            )
        for op in self.ops:
            if op not in _OPS:
                raise WrapError(f"{op[:30]!r} is not a key operation", hint=f"pick from {_OPS}")
        return super().check(info, now)

    def check_material(self, info: MaterialInfo) -> None:
        kind = info.kind
        if kind in _OCT:
            if not self.managed_hsm:
                # Azure's BYOK specification lists AES targets for Managed HSM only; Key Vault
                # Premium's oct-HSM keys are a preview it does not cover (docs/formats.md).
                raise WrapError(
                    f"{kind.value} (oct-HSM) keys import only into a Managed HSM, "
                    "and this KEK is in a Key Vault: Azure's BYOK specification takes AES "
                    "targets for Managed HSM only (oct-HSM in Key Vault Premium is a preview "
                    "without BYOK import)",
                    hint="create the KEK in a Managed HSM (az keyvault key create --hsm-name "
                    "<name> --kty RSA-HSM --ops import), or import an RSA or EC key into the vault",
                )
            return
        if kind.is_rsa or kind in _CURVES:
            return
        raise unsupported(
            Provider.AZURE,
            kind,
            "Azure BYOK imports RSA 2048/3072/4096, EC P-256/P-384/P-521/P-256K, and "
            "AES 128/192/256 (Managed HSM only)",
        )

    def wrap_file_name(self) -> str:
        return f"{self.key_name}.byok"

    def manifest_fields(self, info: MaterialInfo) -> dict[str, object]:
        return {"kek_id": self.import_key.reference, "key_name": self.key_name}

    def kty_args(self, kind: MaterialKind) -> list[str]:
        if kind.is_rsa:
            return ["--kty RSA"]
        if kind in _CURVES:
            return ["--kty EC", f"--curve {_CURVES[kind]}"]
        return ["--kty oct"]

    def command(self, kind: MaterialKind) -> str:
        """``az keyvault key import --byok-file`` with --kty (and --curve for EC)."""
        return shell_command(dict(self.commands(kind))["import"])

    def commands(self, kind: MaterialKind) -> list[tuple[str, list[str]]]:
        """Every Azure CLI command IMPORT.md gives, in order: (what it is for, its arguments)."""
        match = parse_kek_id(self.import_key.reference)
        where = f"{'--hsm-name' if self.managed_hsm else '--vault-name'} "
        where += shlex.quote(match.group("name"))
        kek = shlex.quote(match.group("kek"))
        imported = [
            "az keyvault key import",
            where,
            f"--name {shlex.quote(self.key_name)}",
            f"--byok-file {shlex.quote(self.wrap_file_name())}",
            *self.kty_args(kind),
        ]
        if self.ops:
            imported.append("--ops " + " ".join(self.ops))
        return [
            (
                "create",
                [
                    "az keyvault key create",
                    where,
                    f"--name {kek}",
                    "--kty RSA-HSM",
                    f"--size {self.import_key.key_bits}",
                    "--ops import",
                ],
            ),
            (
                "download",
                [
                    "az keyvault key download",
                    where,
                    f"--name {kek}",
                    f"--version {match.group('version')}",
                    f"--file {shlex.quote(match.group('kek') + '.publickey.pem')}",
                ],
            ),
            ("import", imported),
            (
                "check",
                [
                    "az keyvault key show",
                    where,
                    f"--name {shlex.quote(self.key_name)}",
                    "--query "
                    + shlex.quote("{kty:key.kty,keyOps:key.keyOps,enabled:attributes.enabled}"),
                ],
            ),
        ]

    def import_files(
        self, wrapped: bytes, info: MaterialInfo, key_label: str, now: datetime, wrapped_by: str
    ) -> list[tuple[str, bytes]]:
        require_label(self.wrap_file_name(), "Azure key name")
        generator = f"ceremony {__version__}; {wrapped_by}"
        return [
            (self.wrap_file_name(), byok_json(self.import_key.reference, wrapped, generator)),
            ("IMPORT.md", self._import_md(info, key_label, now).encode("utf-8")),
        ]

    def _import_md(self, info: MaterialInfo, key_label: str, now: datetime) -> str:
        key = self.import_key
        match = parse_kek_id(key.reference)
        steps = dict(self.commands(info.kind))
        before = [
            (
                f"The KEK, in the same {self._where()} as the key to import: RSA-HSM "
                f"{key.key_bits}, key operations `import` only:",
                steps["create"],
            ),
            ("Its public key, downloaded for the ceremony (this version):", steps["download"]),
        ]
        kty = {True: "RSA-HSM"}.get(info.kind.is_rsa) or (
            "EC-HSM" if info.kind in _CURVES else "oct-HSM"
        )
        ops = ", ".join(self.ops) if self.ops else "the default operations for its type"
        lines = [
            f"# Import `{key_label}` into Azure {self._where()} ({self.label})",
            "",
            f"- KEK: `{key.reference}` (RSA-{key.key_bits}, key_ops `import` only)",
            "- Wrap: `CKM_RSA_AES_KEY_WRAP`, RSA-OAEP SHA-1 (MGF1 SHA-1, empty label) of an "
            "ephemeral AES-256 key, then RFC 5649 AES key wrap with padding",
            f"- Key material: {material_line(info)}",
            *online_intro(key, now, before),
        ]
        if match.group("cloud") != "azure.net":
            lines += [
                f"   The KEK is in a sovereign cloud ({match.group('cloud')}): select it first",
                "   with `az cloud set --name ...`.",
                "",
            ]
        lines += [
            f"2. Import into the same {self._where()} as the KEK:",
            "",
            shell_block(self.command(info.kind)),
            "",
            f"3. Check afterwards: the key shows `kty` `{kty}` (an HSM key; without `-HSM` it is",
            f"   not protected by the HSM), key operations {ops}, and `enabled` true:",
            "",
            shell_block(shell_command(steps["check"])),
            "",
        ]
        return "\n".join(lines)

    def _where(self) -> str:
        return "Managed HSM" if self.managed_hsm else "Key Vault"

"""AWS KMS ImportKeyMaterial: RSAES_OAEP_SHA_1/256 and RSA_AES_KEY_WRAP_SHA_1/256 blobs."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from ceremony.core.providers.common import (
    MaterialInfo,
    Target,
    iso,
    material_line,
    online_intro,
    parse_time,
    require_aware,
    shell_block,
    shell_command,
    unsupported,
)
from ceremony.core.providers.import_key import (
    ImportKey,
    as_bytes,
    decode_base64,
    json_string,
    load_json_object,
    load_rsa_public_key,
    looks_like_base64,
    parsing,
)
from ceremony.core.providers.methods import MaterialKind, Provider, WrapMethod
from ceremony.errors import ImportKeyError, WrapError

ENCRYPTED_KEY_MATERIAL = "EncryptedKeyMaterial.bin"
IMPORT_TOKEN = "ImportToken.bin"  # noqa: S105 (a file name)
# ImportKeyMaterial: EncryptedKeyMaterial and ImportToken are each 1 to 6144 bytes.
MAX_BLOB = 6144
# ValidTo may be at most 365 days ahead.
MAX_MATERIAL_VALIDITY = timedelta(days=365)

_KEY_ID = re.compile(
    r"(?:arn:aws[a-z-]*:kms:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):\d{12}:key/)?"
    r"(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
)
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")

_KINDS = frozenset(
    {
        MaterialKind.AES_256,
        MaterialKind.HMAC_SHA224,
        MaterialKind.HMAC_SHA256,
        MaterialKind.HMAC_SHA384,
        MaterialKind.HMAC_SHA512,
        MaterialKind.EC_P256,
        MaterialKind.EC_P384,
        MaterialKind.EC_P521,
        MaterialKind.EC_SECP256K1,
        MaterialKind.RSA_2048,
        MaterialKind.RSA_3072,
        MaterialKind.RSA_4096,
    }
)


def _require_key_id(text: str) -> str:
    if not _KEY_ID.fullmatch(text):
        raise ImportKeyError(
            f"{text[:90]!r} is not an AWS KMS key id or key ARN",
            hint="give the key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID) or its key id",
        )
    return text


def _require_same_key(stated: str, named: str) -> None:
    # An import token works for the one key it was downloaded for.
    if stated and named and stated != named:
        raise ImportKeyError(
            f"the parameters are for {stated}, the target names {named}",
            hint="download parameters for the target key; a token works for one key only",
        )


def _import_token(value: bytes | bytearray | str, base64_only: bool = False) -> bytes:
    """The token as bytes: the CLI prints base64, the console downloads binary."""
    raw = as_bytes(value, "AWS import token")
    encoded = base64_only or looks_like_base64(raw)
    token = decode_base64(raw, "AWS import token") if encoded else raw
    if len(token) > MAX_BLOB:
        raise ImportKeyError(
            f"the AWS import token is {len(token)} bytes; AWS issues at most {MAX_BLOB}",
            hint="give the ImportToken from the same get-parameters-for-import call",
        )
    return token


def parse_import_parameters(
    data: bytes | bytearray | str,
    *,
    import_token: bytes | bytearray | str | None = None,
    key_id: str = "",
    valid_to: datetime | None = None,
) -> ImportKey:
    """Read ``aws kms get-parameters-for-import`` output: its JSON, the base64 PublicKey, or the
    console's binary DER download (then pass the token and, if known, ParametersValidTo apart).
    """
    what = "the AWS get-parameters-for-import output"
    raw = as_bytes(data, what)
    with parsing(what):
        doc = load_json_object(raw, what)
        if doc is not None:
            if import_token is not None:
                raise ImportKeyError(
                    "the import token came both inside the JSON and on its own",
                    hint="give only the JSON; it carries its own ImportToken",
                )
            public_der = decode_base64(json_string(doc, "PublicKey", what), "PublicKey")
            token: bytes | None = _import_token(json_string(doc, "ImportToken", what), True)
            stated = doc.get("KeyId")
            reference = stated if isinstance(stated, str) else ""
            if "ParametersValidTo" in doc:
                valid_to = parse_time(doc["ParametersValidTo"], "ParametersValidTo")
        else:
            public_der = decode_base64(raw, "PublicKey") if looks_like_base64(raw) else raw
            token = _import_token(import_token) if import_token is not None else None
            reference = ""
        _require_same_key(reference, key_id)
        reference = _require_key_id(reference or key_id) if (reference or key_id) else ""
        if valid_to is not None:
            valid_to = require_aware(valid_to)
        public_key, spki = load_rsa_public_key(public_der, "the AWS wrapping public key")
    return ImportKey(
        Provider.AWS,
        public_key,
        spki,
        valid_to=valid_to,
        reference=reference,
        import_token=token,
    )


@dataclass(frozen=True)
class AwsTarget(Target):
    """One AWS KMS key (``Origin=EXTERNAL``) and the parameters downloaded for it."""

    label: str
    method: WrapMethod
    import_key: ImportKey
    key_id: str = ""  # defaults to the KeyId in the parameters
    material_valid_to: datetime | None = None  # None: KEY_MATERIAL_DOES_NOT_EXPIRE
    region: str = ""  # defaults to the ARN's region

    provider: ClassVar[Provider] = Provider.AWS
    warn_within: ClassVar[timedelta] = timedelta(hours=6)
    lifetime: ClassVar[str | None] = "AWS parameters last 24 hours from download"
    max_wrapped: ClassVar[int | None] = MAX_BLOB

    def resolved_key_id(self) -> str:
        stated = self.import_key.reference
        _require_same_key(stated, self.key_id)
        key_id = self.key_id or stated
        if not key_id:
            raise ImportKeyError(
                f"target {self.label!r} names no KMS key",
                hint="give the key ARN in the target or the get-parameters-for-import JSON",
            )
        return _require_key_id(key_id)

    def resolved_region(self) -> str:
        match = _KEY_ID.fullmatch(self.resolved_key_id())
        region = self.region or (match.group("region") if match and match.group("region") else "")
        if region and not _REGION.fullmatch(region):
            raise WrapError(f"{region[:40]!r} is not an AWS Region", hint="e.g. eu-west-1")
        return region

    def check(self, info: MaterialInfo, now: datetime) -> list[str]:
        warnings = super().check(info, now)
        self.resolved_region()
        if not self.import_key.import_token:
            raise ImportKeyError(
                f"target {self.label!r} has no import token",
                hint="give the ImportToken from the same get-parameters-for-import call",
            )
        if self.material_valid_to is not None:
            valid_to, now = require_aware(self.material_valid_to), require_aware(now)
            if not now < valid_to <= now + MAX_MATERIAL_VALIDITY:
                raise WrapError(
                    f"the material expiry {iso(valid_to)} must be in the future and at most "
                    "365 days ahead",
                    hint="pick a ValidTo within a year, or let the material never expire",
                )
        return warnings

    def check_material(self, info: MaterialInfo) -> None:
        kind = info.kind
        if kind in (MaterialKind.AES_128, MaterialKind.AES_192):
            raise unsupported(
                Provider.AWS,
                kind,
                "AWS KMS symmetric keys (SYMMETRIC_DEFAULT) are 256-bit: import AES-256",
            )
        if kind not in _KINDS:
            raise unsupported(
                Provider.AWS, kind, "AWS imports AES-256, HMAC-SHA224..512, EC and RSA keys"
            )
        if kind.is_rsa and not self.method.composite:
            raise WrapError(
                f"AWS imports RSA private keys only with RSA_AES_KEY_WRAP_*, "
                f"not {self.method.value}",
                hint="request parameters for RSA_AES_KEY_WRAP_SHA_256",
            )

    def wrap_file_name(self) -> str:
        return ENCRYPTED_KEY_MATERIAL

    def manifest_fields(self) -> dict[str, object]:
        return {
            "key_id": self.resolved_key_id(),
            "expiration_model": self._expiration_model(),
            "material_valid_to": iso(self.material_valid_to) if self.material_valid_to else None,
        }

    def _expiration_model(self) -> str:
        if self.material_valid_to is None:
            return "KEY_MATERIAL_DOES_NOT_EXPIRE"
        return "KEY_MATERIAL_EXPIRES"

    def command(self) -> str:
        """``aws kms import-key-material`` with fileb:// and an explicit expiration model."""
        args = ["aws kms import-key-material"]
        region = self.resolved_region()
        if region:
            args.append(f"--region {shlex.quote(region)}")
        args += [
            f"--key-id {shlex.quote(self.resolved_key_id())}",
            f"--encrypted-key-material fileb://{ENCRYPTED_KEY_MATERIAL}",
            f"--import-token fileb://{IMPORT_TOKEN}",
            f"--expiration-model {self._expiration_model()}",
        ]
        if self.material_valid_to is not None:
            args.append(f"--valid-to {iso(self.material_valid_to)}")
        return shell_command(args)

    def import_files(
        self, wrapped: bytes, info: MaterialInfo, key_label: str, now: datetime, wrapped_by: str
    ) -> list[tuple[str, bytes]]:
        token = self.import_key.import_token or b""
        return [
            (ENCRYPTED_KEY_MATERIAL, wrapped),
            (IMPORT_TOKEN, token),
            ("IMPORT.md", self._import_md(info, key_label, now).encode("utf-8")),
        ]

    def _import_md(self, info: MaterialInfo, key_label: str, now: datetime) -> str:
        key = self.import_key
        valid_to = iso(key.valid_to) if key.valid_to else "unknown: 24 hours after the download"
        expiry = (
            f"at {iso(self.material_valid_to)} (KEY_MATERIAL_EXPIRES)"
            if self.material_valid_to
            else "never (KEY_MATERIAL_DOES_NOT_EXPIRE)"
        )
        return "\n".join(
            [
                f"# Import `{key_label}` into AWS KMS ({self.label})",
                "",
                f"- KMS key: `{self.resolved_key_id()}`",
                f"- Wrapping algorithm: `{self.method.value}` with an RSA_{key.key_bits} "
                "wrapping key (OAEP and MGF1 hash equal, empty label)",
                f"- Key material: {material_line(info)}",
                f"- Import before: {valid_to} (the wrapping key and import token expire then)",
                f"- Key material expires: {expiry}",
                *online_intro(key, now),
                "2. Import with AWS CLI v2. `fileb://` sends the raw bytes; `file://` would not.",
                "   The import token belongs to the same download as the wrapping key above.",
                "",
                shell_block(self.command()),
                "",
                "3. Check the key state: `aws kms describe-key --key-id "
                f'{shlex.quote(self.resolved_key_id())}` shows `"KeyState": "Enabled"`.',
                "",
            ]
        )

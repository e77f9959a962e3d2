"""AWS KMS ImportKeyMaterial: RSAES_OAEP_SHA_1/256 and RSA_AES_KEY_WRAP_SHA_1/256 blobs."""

from __future__ import annotations

import hashlib
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
_BASE64_WORD = re.compile(rb"(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\s?")
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")

# The KMS key each material kind is imported into: (--key-spec, --key-usage). RSA and EC keys
# take the usage decided for them; the one given here is the common one, and IMPORT.md says so.
KEY_SPECS: dict[MaterialKind, tuple[str, str]] = {
    MaterialKind.AES_256: ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
    MaterialKind.HMAC_SHA224: ("HMAC_224", "GENERATE_VERIFY_MAC"),
    MaterialKind.HMAC_SHA256: ("HMAC_256", "GENERATE_VERIFY_MAC"),
    MaterialKind.HMAC_SHA384: ("HMAC_384", "GENERATE_VERIFY_MAC"),
    MaterialKind.HMAC_SHA512: ("HMAC_512", "GENERATE_VERIFY_MAC"),
    MaterialKind.EC_P256: ("ECC_NIST_P256", "SIGN_VERIFY"),
    MaterialKind.EC_P384: ("ECC_NIST_P384", "SIGN_VERIFY"),
    MaterialKind.EC_P521: ("ECC_NIST_P521", "SIGN_VERIFY"),
    MaterialKind.EC_SECP256K1: ("ECC_SECG_P256K1", "SIGN_VERIFY"),
    MaterialKind.RSA_2048: ("RSA_2048", "ENCRYPT_DECRYPT"),
    MaterialKind.RSA_3072: ("RSA_3072", "ENCRYPT_DECRYPT"),
    MaterialKind.RSA_4096: ("RSA_4096", "ENCRYPT_DECRYPT"),
}
_KINDS = frozenset(KEY_SPECS)


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


# How the import token reached the tool, said in MANIFEST.json. Base64 only where the form says so.
TOKEN_IN_JSON = "base64, the ImportToken of the get-parameters-for-import JSON"  # noqa: S105
TOKEN_BASE64_FILE = "base64 text, a file named *.b64 or *.base64"  # noqa: S105
TOKEN_BINARY_FILE = "binary, the file byte for byte"  # noqa: S105 (a description)
BASE64_TOKEN_SUFFIXES = (".b64", ".base64")


def token_is_base64(name: str) -> bool:
    """Whether a token file's name says it holds base64 text; every other file is binary."""
    return name.lower().endswith(BASE64_TOKEN_SUFFIXES)


def _token_bytes(token: bytes) -> bytes:
    if not token:
        raise ImportKeyError(
            "the AWS import token is empty",
            hint="give the ImportToken from the same get-parameters-for-import call",
        )
    if len(token) > MAX_BLOB:
        raise ImportKeyError(
            f"the AWS import token is {len(token)} bytes; AWS issues at most {MAX_BLOB}",
            hint="give the ImportToken from the same get-parameters-for-import call",
        )
    return token


def _base64_token(text: bytes, what: str) -> bytes:
    # A text editor's byte-order mark or UTF-16 is refused by name, never transcoded silently.
    if text[:3] == b"\xef\xbb\xbf" or text[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ImportKeyError(
            f"{what} starts with a byte-order mark (UTF-8 or UTF-16 text)",
            hint="save the base64 as plain ASCII, e.g. in bash: aws kms get-parameters-for-import "
            "... --query ImportToken --output text > ImportToken.b64",
        )
    return _token_bytes(decode_base64(text, what))


def parse_import_parameters(
    data: bytes | bytearray | str,
    *,
    import_token: bytes | bytearray | None = None,
    token_base64: bool = False,
    key_id: str = "",
    valid_to: datetime | None = None,
) -> ImportKey:
    """Read ``aws kms get-parameters-for-import`` output: its JSON, the base64 PublicKey, or the
    console's binary DER download (then pass the token and, if known, ParametersValidTo apart).

    A token given apart is binary and kept byte for byte, unless ``token_base64`` says that its
    file is base64 text (see ``token_is_base64``): token bytes can all be base64 letters.
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
            token: bytes | None = _token_bytes(
                decode_base64(json_string(doc, "ImportToken", what), "the AWS import token")
            )
            form: str | None = TOKEN_IN_JSON
            stated = doc.get("KeyId")
            reference = stated if isinstance(stated, str) else ""
            if "ParametersValidTo" in doc:
                valid_to = parse_time(doc["ParametersValidTo"], "ParametersValidTo")
        else:
            public_der = decode_base64(raw, "PublicKey") if looks_like_base64(raw) else raw
            if import_token is None:
                token, form = None, None
            elif token_base64:
                token = _base64_token(bytes(import_token), "the AWS import token file")
                form = TOKEN_BASE64_FILE
            else:
                token, form = _token_bytes(bytes(import_token)), TOKEN_BINARY_FILE
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
        import_token_form=form,
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
        token = self.import_key.import_token
        if self.import_key.import_token_form == TOKEN_BINARY_FILE and _BASE64_WORD.fullmatch(token):
            warnings.append(
                f"target {self.label!r}: the import token file holds only base64 letters; it is "
                "passed to AWS byte for byte, as a binary token. If the file is base64 text "
                "(the CLI's ImportToken), name it *.b64 so that it is decoded"
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

    def manifest_fields(self, info: MaterialInfo) -> dict[str, object]:
        token = self.import_key.import_token or b""
        return {
            "key_id": self.resolved_key_id(),
            "import_token": {
                "read_as": self.import_key.import_token_form,
                "bytes": len(token),
                "sha256": hashlib.sha256(token).hexdigest(),
            },
            "expiration_model": self._expiration_model(),
            "material_valid_to": iso(self.material_valid_to) if self.material_valid_to else None,
        }

    def _expiration_model(self) -> str:
        if self.material_valid_to is None:
            return "KEY_MATERIAL_DOES_NOT_EXPIRE"
        return "KEY_MATERIAL_EXPIRES"

    def _region(self) -> list[str]:
        region = self.resolved_region()
        return [f"--region {shlex.quote(region)}"] if region else []

    def commands(self, kind: MaterialKind) -> list[tuple[str, list[str]]]:
        """Every AWS CLI command IMPORT.md gives, in order: (what it is for, its arguments)."""
        spec, usage = KEY_SPECS[kind]
        key_id = shlex.quote(self.resolved_key_id())
        return [
            (
                "create",
                [
                    "aws kms create-key",
                    *self._region(),
                    "--origin EXTERNAL",
                    f"--key-spec {spec}",
                    f"--key-usage {usage}",
                ],
            ),
            (
                "parameters",
                [
                    "aws kms get-parameters-for-import",
                    *self._region(),
                    f"--key-id {key_id}",
                    f"--wrapping-algorithm {self.method.value}",
                    f"--wrapping-key-spec RSA_{self.import_key.key_bits}",
                ],
            ),
            ("import", self._import_args()),
            (
                "check",
                [
                    "aws kms describe-key",
                    *self._region(),
                    f"--key-id {key_id}",
                    "--query "
                    + shlex.quote(
                        "KeyMetadata.{KeyState:KeyState,Origin:Origin,KeySpec:KeySpec,"
                        "KeyUsage:KeyUsage,ExpirationModel:ExpirationModel,ValidTo:ValidTo}"
                    ),
                ],
            ),
            (
                "material",
                [
                    "aws kms list-key-rotations",
                    *self._region(),
                    f"--key-id {key_id}",
                    "--include-key-material ALL_KEY_MATERIAL",
                ],
            ),
            (
                "replicate",
                [
                    "aws kms replicate-key",
                    *self._region(),
                    f"--key-id {key_id}",
                    "--replica-region REPLICA-REGION",
                ],
            ),
        ]

    def command(self) -> str:
        """``aws kms import-key-material`` with fileb:// and an explicit expiration model."""
        return shell_command(self._import_args())

    def _import_args(self) -> list[str]:
        args = ["aws kms import-key-material", *self._region()]
        args += [
            f"--key-id {shlex.quote(self.resolved_key_id())}",
            f"--encrypted-key-material fileb://{ENCRYPTED_KEY_MATERIAL}",
            f"--import-token fileb://{IMPORT_TOKEN}",
            f"--expiration-model {self._expiration_model()}",
        ]
        if self.material_valid_to is not None:
            args.append(f"--valid-to {iso(self.material_valid_to)}")
        return args

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
        steps = dict(self.commands(info.kind))
        spec, usage = KEY_SPECS[info.kind]
        usage_note = (
            ""
            if info.kind.is_symmetric
            else " (the usage is the one decided for this key: SIGN_VERIFY or ENCRYPT_DECRYPT"
            + (", or KEY_AGREEMENT for EC" if info.kind.is_ec else "")
            + ")"
        )
        before = [
            (
                f"The KMS key, made for imported material: origin EXTERNAL, key spec {spec}, "
                f"key usage {usage}{usage_note}; for a multi-Region key also `--multi-region`:",
                steps["create"],
            ),
            (
                "The wrapping key and import token, from one call, used within 24 hours:",
                steps["parameters"],
            ),
        ]
        state = (
            f"`ValidTo` {iso(self.material_valid_to)}" if self.material_valid_to else "no `ValidTo`"
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
                *online_intro(key, now, before),
                "2. Import with AWS CLI v2. `fileb://` sends the raw bytes; `file://` would not.",
                "   The import token belongs to the same download as the wrapping key above.",
                "",
                shell_block(self.command()),
                "",
                "3. Check afterwards: the key shows `KeyState` `Enabled` (it was",
                f"   `PendingImport`), `Origin` `EXTERNAL`, `KeySpec` `{spec}`, `KeyUsage`",
                f"   `{usage}`, `ExpirationModel` `{self._expiration_model()}` and {state}:",
                "",
                shell_block(shell_command(steps["check"])),
                "",
                "   and the imported material `ImportState` `IMPORTED`, `KeyMaterialState`",
                "   `CURRENT` (a CLI older than mid-2025 knows neither: `describe-key` suffices):",
                "",
                shell_block(shell_command(steps["material"])),
                "",
                "## A multi-Region key",
                "",
                "Each replica takes the same key material through its own import: replicate",
                "the primary (made with `--multi-region`), then wrap the key again for the",
                "replica's own `get-parameters-for-import` in its Region (a re-wrap ceremony):",
                "",
                shell_block(shell_command(steps["replicate"])),
                "",
            ]
        )

"""Google Cloud KMS import jobs: the four RSA-AES methods and the two direct OAEP methods."""

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
    shell_block,
    shell_command,
    unsupported,
)
from ceremony.core.providers.import_key import (
    ImportKey,
    as_bytes,
    json_string,
    load_json_object,
    load_rsa_public_key,
    parsing,
)
from ceremony.core.providers.methods import MaterialKind, Provider, WrapMethod, parse_method
from ceremony.errors import ImportKeyError, WrapError

WRAPPED_KEY = "wrapped-key.bin"
# gcloud's limits: target key at most 8192 bytes, wrapped file at most 65536.
MAX_MATERIAL = 8192
MAX_WRAPPED = 65536
JOB_LIFETIME = timedelta(days=3)

_ID = r"[A-Za-z0-9_-]{1,63}"
_JOB = re.compile(
    rf"projects/(?P<project>[A-Za-z0-9.:_-]{{1,100}})/locations/(?P<location>{_ID})"
    rf"/keyRings/(?P<keyring>{_ID})/importJobs/(?P<job>{_ID})"
)
_KEY_ID = re.compile(_ID)
# Cloud KMS protection levels an import job may have; a BYOK ceremony expects HSM.
PROTECTION_LEVELS = ("HSM", "SOFTWARE", "EXTERNAL", "EXTERNAL_VPC")

# CryptoKeyVersion algorithms (gcloud --algorithm) that take each material kind; first = default.
ALGORITHMS: dict[MaterialKind, tuple[str, ...]] = {
    MaterialKind.AES_256: (
        "google-symmetric-encryption",
        "aes-256-gcm",
        "aes-256-cbc",
        "aes-256-ctr",
    ),
    # 16-byte keys only for the raw AES algorithms.
    MaterialKind.AES_128: ("aes-128-gcm", "aes-128-cbc", "aes-128-ctr"),
    MaterialKind.HMAC_SHA1: ("hmac-sha1",),
    MaterialKind.HMAC_SHA224: ("hmac-sha224",),
    MaterialKind.HMAC_SHA256: ("hmac-sha256",),
    MaterialKind.HMAC_SHA384: ("hmac-sha384",),
    MaterialKind.HMAC_SHA512: ("hmac-sha512",),
    MaterialKind.EC_P256: ("ec-sign-p256-sha256",),
    MaterialKind.EC_P384: ("ec-sign-p384-sha384",),
    MaterialKind.EC_SECP256K1: ("ec-sign-secp256k1-sha256",),
    **{
        kind: (
            f"rsa-sign-pkcs1-{bits}-sha256",
            f"rsa-sign-pss-{bits}-sha256",
            f"rsa-sign-raw-pkcs1-{bits}",
            f"rsa-decrypt-oaep-{bits}-sha256",
            f"rsa-decrypt-oaep-{bits}-sha1",
        )
        + (
            (
                "rsa-sign-pkcs1-4096-sha512",
                "rsa-sign-pss-4096-sha512",
                "rsa-decrypt-oaep-4096-sha512",
            )
            if bits == 4096
            else ()
        )
        for kind, bits in (
            (MaterialKind.RSA_2048, 2048),
            (MaterialKind.RSA_3072, 3072),
            (MaterialKind.RSA_4096, 4096),
        )
    },
}


def purpose_of(algorithm: str) -> str:
    """The CryptoKey purpose (gcloud --purpose) whose versions take ``algorithm``."""
    if algorithm == "google-symmetric-encryption":
        return "encryption"
    if algorithm.startswith("aes-"):
        return "raw-encryption"
    if algorithm.startswith("hmac-"):
        return "mac"
    if algorithm.startswith("rsa-decrypt-"):
        return "asymmetric-encryption"
    return "asymmetric-signing"


def parse_import_job_name(name: str) -> re.Match[str]:
    match = _JOB.fullmatch(name.strip())
    if not match:
        raise ImportKeyError(
            f"{name.strip()[:160]!r} is not an import job name",
            hint="give projects/P/locations/L/keyRings/R/importJobs/J",
        )
    return match


def parse_import_job(data: bytes | bytearray | str, *, import_job: str = "") -> ImportKey:
    """Read ``gcloud kms import-jobs describe --format=json`` output, or the job's publicKey.pem
    (then name the job in ``import_job``).
    """
    what = "the GCP import job"
    raw = as_bytes(data, what)
    with parsing(what):
        doc = load_json_object(raw, what)
        if doc is None:
            if re.match(rb"\s*(name|publicKey|importMethod|state)\s*:", raw):
                raise ImportKeyError(
                    f"{what} looks like YAML, gcloud's default output",
                    hint="run gcloud kms import-jobs describe ... --format=json",
                )
            key, spki = load_rsa_public_key(raw, "the GCP import job public key", (3072, 4096))
            name = parse_import_job_name(import_job).group(0) if import_job else ""
            return ImportKey(Provider.GCP, key, spki, reference=name)
        name = parse_import_job_name(json_string(doc, "name", what)).group(0)
        if import_job and parse_import_job_name(import_job).group(0) != name:
            raise ImportKeyError(
                f"the JSON describes {name}, the target names {import_job.strip()}",
                hint="describe the import job the target names",
            )
        try:
            method = parse_method(json_string(doc, "importMethod", what), Provider.GCP)
        except WrapError as ex:
            raise ImportKeyError(f"{what}: {ex.message}", hint=ex.hint) from None
        state = json_string(doc, "state", what)
        public = doc.get("publicKey")
        if not isinstance(public, dict) or not isinstance(public.get("pem"), str):
            raise ImportKeyError(
                f"{what} has no public key (state {state[:40]})",
                hint="wait until the job is ACTIVE, then describe it again",
            )
        key, spki = load_rsa_public_key(
            public["pem"].encode("utf-8"), "the GCP import job public key", (3072, 4096)
        )
        valid_to = None
        if "expireTime" in doc:
            valid_to = parse_time(doc["expireTime"], "expireTime")
        elif "createTime" in doc:
            valid_to = parse_time(doc["createTime"], "createTime") + JOB_LIFETIME
        level = doc.get("protectionLevel")
    return ImportKey(
        Provider.GCP,
        key,
        spki,
        valid_to=valid_to,
        reference=name,
        method=method,
        state=state,
        protection_level=level if isinstance(level, str) else None,
    )


@dataclass(frozen=True)
class GcpTarget(Target):
    """A CryptoKey in the import job's key ring, created with ``--import-only``."""

    label: str
    method: WrapMethod
    import_key: ImportKey  # reference: the import job's full name
    key: str  # CryptoKey id in the import job's key ring
    algorithm: str = ""  # gcloud --algorithm; default per material kind
    # What the ceremony file accepts, and whether a departure is refused (production) or only
    # warned about (rehearsal, and ``ceremony wrap`` outside a ceremony).
    protection_level: str = "HSM"
    undated_job: bool = False
    production: bool = False

    provider: ClassVar[Provider] = Provider.GCP
    warn_within: ClassVar[timedelta] = timedelta(hours=24)
    lifetime: ClassVar[str | None] = "a GCP import job lasts 3 days from its creation"
    max_material: ClassVar[int | None] = MAX_MATERIAL
    max_wrapped: ClassVar[int | None] = MAX_WRAPPED

    def job(self) -> re.Match[str]:
        if not self.import_key.reference:
            raise ImportKeyError(
                f"target {self.label!r} names no import job",
                hint="give the import job name, or its describe --format=json output",
            )
        return parse_import_job_name(self.import_key.reference)

    def resolved_algorithm(self, kind: MaterialKind) -> str:
        allowed = ALGORITHMS.get(kind, ())
        if not allowed:
            raise unsupported(
                Provider.GCP,
                kind,
                "Cloud KMS imports AES-256 (AES-128 for raw AES), HMAC, EC P-256/P-384/secp256k1 "
                "and RSA 2048/3072/4096",
            )
        algorithm = self.algorithm or allowed[0]
        if algorithm not in allowed:
            raise WrapError(
                f"--algorithm {algorithm[:40]} does not take {kind.value} key material",
                hint="pick one of " + ", ".join(allowed),
            )
        return algorithm

    def check(self, info: MaterialInfo, now: datetime) -> list[str]:
        self.job()
        if not _KEY_ID.fullmatch(self.key):
            raise WrapError(
                f"{self.key[:70]!r} is not a CryptoKey id",
                hint="give the key's short id (letters, digits, '-', '_'), in the job's key ring",
            )
        state = self.import_key.state
        if state is not None and state != "ACTIVE":
            hint = (
                "wait until the job is ACTIVE, then describe it again"
                if state == "PENDING_GENERATION"
                else "create a new import job and start again"
            )
            raise ImportKeyError(f"the import job is {state[:40]}, not ACTIVE", hint=hint)
        warnings = super().check(info, now)
        return warnings + self._check_job_form()

    def _check_job_form(self) -> list[str]:
        """An HSM job with known times is what a BYOK ceremony expects: else warn, and refuse in
        production unless the ceremony file accepts it (``protection_level``, ``undated_job``).
        """
        warnings: list[str] = []
        level = self.import_key.protection_level
        if level is None:
            problem = (
                f"target {self.label!r}: the import job form does not say its protection level, "
                f"so nobody can tell that the key will be {self.protection_level}-protected"
            )
            if self.production:
                raise ImportKeyError(
                    problem,
                    hint="give the job's `gcloud kms import-jobs describe --format=json` output "
                    "(it has protectionLevel)",
                )
            warnings.append(f"{problem} (refused in production)")
        elif level != self.protection_level:
            problem = (
                f"target {self.label!r}: the import job's protection level is {level[:20]}, not "
                f"{self.protection_level}: the imported key would be protected by "
                f"{level[:20]} in Cloud KMS"
            )
            if self.production:
                raise ImportKeyError(
                    problem,
                    hint=f"create an import job with --protection-level "
                    f"{self.protection_level.lower()}; or, if {level[:20]} is what was decided, "
                    f'set protection_level = "{level[:20]}" in this target and have the file '
                    "reviewed again",
                )
            warnings.append(f"{problem} (refused in production)")
        if self.import_key.valid_to is None and not self.undated_job:
            problem = (
                f"target {self.label!r}: the import job form says neither when it was created "
                "nor when it expires, so nobody can tell whether it is still valid"
            )
            if self.production:
                raise ImportKeyError(
                    problem,
                    hint="give the job's `gcloud kms import-jobs describe --format=json` output "
                    "(it has createTime and expireTime); or set undated_job = true in this target "
                    "and have the file reviewed again",
                )
            warnings.append(f"{problem} (refused in production)")
        return warnings

    def check_material(self, info: MaterialInfo) -> None:
        self.resolved_algorithm(info.kind)

    def wrap_file_name(self) -> str:
        return WRAPPED_KEY

    def manifest_fields(self, info: MaterialInfo) -> dict[str, object]:
        return {
            "import_job": self.import_key.reference,
            "key": self.key,
            "protection_level": self.import_key.protection_level,
        }

    def command(self, kind: MaterialKind) -> str:
        """``gcloud kms keys versions import --wrapped-key-file`` with an explicit --algorithm."""
        return shell_command(dict(self.commands(kind))["import"])

    def commands(self, kind: MaterialKind) -> list[tuple[str, list[str]]]:
        """Every gcloud command IMPORT.md gives, in order: (what it is for, its arguments)."""
        job = self.job()
        ring = [
            f"--project {shlex.quote(job.group('project'))}",
            f"--location {shlex.quote(job.group('location'))}",
            f"--keyring {shlex.quote(job.group('keyring'))}",
        ]
        key, name = shlex.quote(self.key), shlex.quote(job.group("job"))
        algorithm = self.resolved_algorithm(kind)
        level = self.protection_level.lower().replace("_", "-")
        found = [
            (
                "create",
                [
                    f"gcloud kms keys create {key}",
                    *ring,
                    f"--purpose {purpose_of(algorithm)}",
                    f"--default-algorithm {algorithm}",
                    f"--protection-level {level}",
                    "--skip-initial-version-creation",
                    "--import-only",
                ],
            ),
            (
                "job",
                [
                    f"gcloud kms import-jobs create {name}",
                    *ring,
                    f"--import-method {self.method.value.lower().replace('_', '-')}",
                    f"--protection-level {level}",
                ],
            ),
            ("describe", [f"gcloud kms import-jobs describe {name}", *ring, "--format json"]),
            (
                "import",
                [
                    "gcloud kms keys versions import",
                    *ring,
                    f"--key {key}",
                    f"--import-job {name}",
                    f"--algorithm {algorithm}",
                    f"--wrapped-key-file {WRAPPED_KEY}",
                ],
            ),
            ("check", ["gcloud kms keys versions list", *ring, f"--key {key}"]),
        ]
        if purpose_of(algorithm) == "encryption":
            found.append(
                (
                    "primary",
                    [f"gcloud kms keys set-primary-version {key}", *ring, "--version VERSION"],
                )
            )
        return found

    def import_files(
        self, wrapped: bytes, info: MaterialInfo, key_label: str, now: datetime, wrapped_by: str
    ) -> list[tuple[str, bytes]]:
        return [
            (WRAPPED_KEY, wrapped),
            ("IMPORT.md", self._import_md(info, key_label, now).encode("utf-8")),
        ]

    def _import_md(self, info: MaterialInfo, key_label: str, now: datetime) -> str:
        key = self.import_key
        valid_to = iso(key.valid_to) if key.valid_to else "unknown: 3 days after the job's creation"
        level = f", protection level {key.protection_level}" if key.protection_level else ""
        steps = dict(self.commands(info.kind))
        before = [
            (
                "The key, made for imported versions only, with no version of its own, at the "
                "job's protection level:",
                steps["create"],
            ),
            ("The import job (it lasts 3 days):", steps["job"]),
            ("Its description, the ceremony's import key file:", steps["describe"]),
        ]
        primary = []
        if "primary" in steps:
            primary = [
                "4. Make it the primary version: an imported version of an encryption key is not",
                "   primary by itself, and the key encrypts nothing until it is. VERSION is the",
                "   number at the end of the version name the import printed:",
                "",
                shell_block(shell_command(steps["primary"])),
                "",
            ]
        return "\n".join(
            [
                f"# Import `{key_label}` into Google Cloud KMS ({self.label})",
                "",
                f"- Import job: `{key.reference}`",
                f"  (`{self.method.value}`, RSA-{key.key_bits}{level})",
                f"- Key: `{self.key}`, algorithm `{self.resolved_algorithm(info.kind)}`",
                f"- Key material: {material_line(info)}",
                f"- Import before: {valid_to} (the import job expires then)",
                *online_intro(key, now, before),
                "2. Import into the key made above:",
                "",
                shell_block(self.command(info.kind)),
                "",
                "3. Check afterwards: the new version is ENABLED (PENDING_IMPORT first;",
                "   IMPORT_FAILED means the wrap or the algorithm was wrong), with the algorithm",
                f"   `{self.resolved_algorithm(info.kind)}` and the protection level "
                f"{self.protection_level}:",
                "",
                shell_block(shell_command(steps["check"])),
                "",
                *primary,
            ]
        )

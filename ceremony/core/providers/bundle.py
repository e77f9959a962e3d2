"""The bundle plan: per target the import files, IMPORT.md, MANIFEST.json and SHA256SUMS."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime

from ceremony import __version__
from ceremony.core import rng
from ceremony.core.providers.common import (
    BundleFile,
    MaterialInfo,
    Target,
    inspect_material,
    iso,
    material_for_hsm,
    require_aware,
    require_label,
)
from ceremony.core.providers.methods import MaterialKind
from ceremony.core.secret import Secret
from ceremony.core.wrap import check_blob_shape, direct_wrap, host_wrap_by, rsa_aes_wrap
from ceremony.errors import WrapError

MANIFEST = "MANIFEST.json"
SHA256SUMS = "SHA256SUMS"
MANIFEST_FORMAT = "ceremony cloud import bundle 1"
IMPORT_MD = "IMPORT.md"
REHEARSAL_NOTICE = "REHEARSAL: made for practice, never import it into a production key"
REHEARSAL_BANNER = f"> **{REHEARSAL_NOTICE}.**\n\n".encode()


def preflight(targets: Sequence[Target], info: MaterialInfo, now: datetime) -> list[str]:
    """Run every target's checks before anything is wrapped; raise on the first refusal."""
    if not targets:
        raise WrapError("no import target was given", hint="name at least one cloud target")
    seen: set[str] = set()
    warnings: list[str] = []
    for target in targets:
        if target.label in seen:
            raise WrapError(
                f"two targets are labelled {target.label!r}",
                hint="give each target its own label; it names the bundle folder",
            )
        seen.add(target.label)
        warnings += target.check(info, now)
    return warnings


def wrap_for(target: Target, material: Secret) -> bytes:
    """The wrapped blob for ``target``, made in host memory (material assembled from components)."""
    public_key, oaep_hash = target.import_key.public_key, target.method.oaep_hash
    if target.method.composite:
        return rsa_aes_wrap(public_key, material, oaep_hash)
    return direct_wrap(public_key, material, oaep_hash)


def build_bundle(
    targets: Sequence[Target],
    material: Secret,
    kind: MaterialKind,
    *,
    key_label: str,
    kcv: str | None,
    now: datetime,
    rehearsal: bool = False,
) -> list[BundleFile]:
    """Wrap ``material`` for every target and lay out each target's folder; nothing is written.

    ``kcv`` is the key's labelled check value (``str(CheckValue)``); the material stays open.
    """
    require_label(key_label, "key label")
    info = inspect_material(material, kind, kcv)
    preflight(targets, info, now)  # every target is checked before any is wrapped
    files: list[BundleFile] = []
    for target in targets:
        warnings = target.check(info, now)
        wrapped = wrap_for(target, material)
        source = rng.source_name() if target.method.composite else None
        by = host_wrap_by(target.method.composite)
        files += _target_files(
            target, wrapped, info, key_label, now, by, source, warnings, rehearsal=rehearsal
        )
    return files


def assemble_bundle(
    target: Target,
    wrapped: bytes,
    kind: MaterialKind,
    *,
    key_label: str,
    kcv: str | None,
    now: datetime,
    wrapped_by: str,
    public_key_sha256: str | None = None,
    rehearsal: bool = False,
) -> list[BundleFile]:
    """Lay out one target's folder around a blob an HSM returned (OAEP || KWP, or direct OAEP).

    ``wrapped_by`` names the token (e.g. "SoftHSM 2.6.1"); for asymmetric keys pass the
    SHA-256 of the key's SubjectPublicKeyInfo so the manifest can name it.
    """
    require_label(key_label, "key label")
    info = material_for_hsm(kind, kcv, public_key_sha256)
    warnings = preflight([target], info, now)
    return _target_files(
        target,
        bytes(wrapped),
        info,
        key_label,
        now,
        wrapped_by,
        None,
        warnings,
        rehearsal=rehearsal,
    )


def _target_files(
    target: Target,
    wrapped: bytes,
    info: MaterialInfo,
    key_label: str,
    now: datetime,
    wrapped_by: str,
    ephemeral_source: str | None,
    warnings: list[str],
    *,
    rehearsal: bool,
) -> list[BundleFile]:
    key = target.import_key
    check_blob_shape(wrapped, key.modulus_length, target.method.composite, info.length)
    target.check_blob(wrapped)
    pairs = target.import_files(wrapped, info, key_label, now, wrapped_by)
    if rehearsal:
        # The files a person might upload say REHEARSAL themselves, not only REHEARSAL.txt.
        pairs = [(n, REHEARSAL_BANNER + d if n == IMPORT_MD else d) for n, d in pairs]
    manifest = {
        "format": MANIFEST_FORMAT,
        "rehearsal": rehearsal,
        **({"notice": REHEARSAL_NOTICE} if rehearsal else {}),
        "tool": f"ceremony {__version__}",
        "created": iso(require_aware(now)),
        "key": {
            "label": key_label,
            "kind": info.kind.value,
            "length": info.length,
            "kcv": info.kcv,
            "public_key_sha256": info.public_key_sha256,
        },
        "target": {
            "label": target.label,
            "provider": target.provider.value,
            "method": target.method.value,
            "oaep_hash": target.method.oaep_hash.value,
            "mgf1_hash": target.method.oaep_hash.value,
            "oaep_label": "",
            "two_part": target.method.composite,
            **target.manifest_fields(info),
        },
        "import_key": {
            "reference": key.reference,
            "rsa_bits": key.key_bits,
            "spki_sha256": key.fingerprint.hex,
            "valid_to": iso(key.valid_to) if key.valid_to else None,
        },
        "wrapped_by": wrapped_by,
        "ephemeral_key_source": ephemeral_source,
        "warnings": warnings,
        "files": [
            {"name": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in pairs
        ],
    }
    pairs.append((MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode("utf-8")))
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in pairs)
    pairs.append((SHA256SUMS, sums.encode("ascii")))
    prefix = f"{key_label}/{require_label(target.label, 'target label')}/"
    return [BundleFile(prefix + name, data) for name, data in pairs]

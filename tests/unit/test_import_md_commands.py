"""Every command IMPORT.md gives uses only options its CLI's own reference lists, with a listed
value where the reference enumerates them (tests/vectors/cli, copied with their sources)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from ceremony.core import rng
from ceremony.core.providers import build_bundle
from ceremony.core.providers.methods import MaterialKind
from ceremony.core.secret import Secret
from ceremony.errors import CeremonyError
from tests.unit.cloudkeys import NOW, material
from tests.unit.test_wrap_formats import golden_targets, kcv_of, seeded

CLI = Path(__file__).resolve().parents[1] / "vectors" / "cli"
GLOBALS = {
    "aws": "global-options.txt",
    "az": "global-arguments.txt",
    "gcloud": "global-flags.txt",
}
# Each kind a provider imports, so that every key spec, algorithm and flag form is seen.
KINDS = [
    MaterialKind.AES_256,
    MaterialKind.EC_P256,
    MaterialKind.HMAC_SHA256,
    MaterialKind.RSA_2048,
]


def options(path: Path) -> dict[str, frozenset[str] | None]:
    """--flag -> its allowed values (None: any value, or none listed)."""
    found: dict[str, frozenset[str] | None] = {}
    for line in path.read_text().splitlines():
        if not line.startswith("--"):
            continue
        flag, _, values = line.partition(" ")
        values = values.split("(")[0].strip()
        found[flag] = frozenset(values.split("|")) if "|" in values else None
    return found


def commands(md: str) -> list[list[str]]:
    """The shell commands of an IMPORT.md: its indented code lines, backslash-continued."""
    found: list[list[str]] = []
    current = ""
    for line in md.splitlines():
        if not line.startswith("       ") or not line.strip():
            continue
        text = line.strip()
        current = f"{current} {text.removesuffix(chr(92)).strip()}".strip()
        if not text.endswith("\\"):
            if re.match(r"(aws|az|gcloud) ", current):
                found.append(shlex.split(current))
            current = ""
    return found


def reference(argv: list[str]) -> tuple[dict[str, frozenset[str] | None], str]:
    """The options of ``argv``'s command (its own file plus the CLI's global ones)."""
    tool = argv[0]
    words = [w for w in argv[1:] if not w.startswith("-")]
    for n in range(len(words), 0, -1):
        path = CLI / tool / ("-".join(words[:n]) + ".txt")
        if path.is_file():
            return {**options(CLI / tool / GLOBALS[tool]), **options(path)}, path.name
    raise AssertionError(f"no option list for {' '.join(argv[:4])} in {CLI / tool}")


def bundles() -> list[tuple[str, str]]:
    """The IMPORT.md of every golden target, for each kind it takes."""
    found = []
    for kind in KINDS:
        for target in golden_targets():
            with rng.installed(seeded(b"flags"), "seeded"), Secret(material(kind)) as secret:
                try:
                    files = build_bundle(
                        [target],
                        secret,
                        kind,
                        key_label="k",
                        kcv=kcv_of(kind, material(kind)),
                        now=NOW,
                    )
                except CeremonyError:
                    continue  # this target does not take this kind
            for f in files:
                if f.name.endswith("IMPORT.md"):
                    found.append((f"{kind.value} {f.name}", f.data.decode()))
    return found


@pytest.mark.parametrize(("where", "md"), bundles(), ids=lambda v: v if len(v) < 60 else "")
def test_every_import_md_command_uses_only_options_its_cli_lists(where: str, md: str) -> None:
    found = commands(md)
    assert found, where
    for argv in found:
        allowed, source = reference(argv)
        for i, word in enumerate(argv):
            if not word.startswith("--"):
                continue
            flag, _, inline = word.partition("=")
            assert flag in allowed, f"{where}: {flag} is not an option of {source}"
            values = allowed[flag]
            value = inline or (argv[i + 1] if i + 1 < len(argv) else "")
            if values is not None:
                assert value in values, f"{where}: {flag} {value} is not listed in {source}"


def test_the_procedure_covers_create_import_and_check_for_each_cloud() -> None:
    seen: dict[str, set[str]] = {}
    for _, md in bundles():
        for argv in commands(md):
            seen.setdefault(argv[0], set()).add(" ".join(w for w in argv[1:4] if w[:1] != "-"))
    assert {"kms create-key", "kms get-parameters-for-import", "kms import-key-material"} <= seen[
        "aws"
    ]
    assert {"kms describe-key", "kms list-key-rotations", "kms replicate-key"} <= seen["aws"]
    assert {"keyvault key create", "keyvault key download", "keyvault key import"} <= seen["az"]
    assert "keyvault key show" in seen["az"]
    assert {"kms import-jobs create", "kms keys versions", "kms keys set-primary-version"} <= {
        " ".join(s.split()[:3]) for s in seen["gcloud"]
    } | seen["gcloud"]

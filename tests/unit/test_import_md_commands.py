"""Every command IMPORT.md gives uses only options its CLI's own reference lists, with a listed
value where the reference enumerates them (tests/vectors/cli, copied with their sources)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from ceremony.core import rng
from ceremony.core.key_roles import KeyRole
from ceremony.core.providers import AwsPaymentTarget, Target, aws_payment, build_bundle
from ceremony.core.providers.methods import MaterialKind, WrapMethod
from ceremony.core.secret import Secret
from ceremony.errors import CeremonyError
from tests.unit.cloudkeys import NOW, apc_params, material, rsa_key
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
    MaterialKind.TDES_128,
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
    """The options of ``argv``'s command (its own file plus the CLI's global ones); a service
    with a folder of its own (``aws-payment-cryptography/``) is looked up there first."""
    tool = argv[0]
    words = [w for w in argv[1:] if not w.startswith("-")]
    places = [(CLI / tool, words)]
    if words and (CLI / f"{tool}-{words[0]}").is_dir():
        places.insert(0, (CLI / f"{tool}-{words[0]}", words[1:]))
    for folder, rest in places:
        for n in range(len(rest), 0, -1):
            path = folder / ("-".join(rest[:n]) + ".txt")
            if path.is_file():
                allowed = {**options(CLI / tool / GLOBALS[tool]), **options(path)}
                return allowed, f"{folder.name}/{path.name}"
    raise AssertionError(f"no option list for {' '.join(argv[:4])} in {CLI / tool}")


def payment_targets() -> list[Target]:
    """AWS Payment Cryptography: one target in a named Region, one in the CLI's default."""
    key = aws_payment.parse_import_parameters(apc_params(rsa_key(2048)))
    return [
        AwsPaymentTarget(
            "apc", WrapMethod.APC_RSA_OAEP_SHA_256, key, role=KeyRole.ZMK, region="eu-west-1"
        ),
        AwsPaymentTarget("apc-512", WrapMethod.APC_RSA_OAEP_SHA_512, key, exportable=True),
    ]


def bundles() -> list[tuple[str, str]]:
    """The IMPORT.md of every golden target, for each kind it takes."""
    found = []
    for kind in KINDS:
        for target in [*golden_targets(), *payment_targets()]:
            # A seed per target: the health test refuses a draw equal to the one before it.
            seed = seeded(b"flags " + target.label.encode())
            with rng.installed(seed, "seeded"), Secret(material(kind)) as secret:
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
    assert {
        "payment-cryptography get-parameters-for-import",
        "payment-cryptography import-key",
        "payment-cryptography get-key",
    } <= seen["aws"]
    assert {"kms import-jobs create", "kms keys versions", "kms keys set-primary-version"} <= {
        " ".join(s.split()[:3]) for s in seen["gcloud"]
    } | seen["gcloud"]

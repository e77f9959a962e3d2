"""``ceremony wrap``: import-ready bundles for any mix of cloud targets, from HSM or components."""

from __future__ import annotations

import argparse
import getpass
import hashlib
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ceremony.core import encoding, kcv, providers, shamir, xor
from ceremony.core.component import Component, KeyAlgorithm, Scheme
from ceremony.core.key_roles import KeyRole
from ceremony.core.providers import (
    AwsPaymentTarget,
    MaterialKind,
    TargetSpec,
    WrapMethod,
    aws_payment,
)
from ceremony.core.providers.import_key import MAX_KEY_FILE
from ceremony.engine.script import read_component_file
from ceremony.errors import ConfigError, RuleViolation

# hsm.base is plain data and protocols; pkcs11 itself loads only when a token is opened.
from ceremony.hsm.base import Capability, HsmSession, TrustRequest, WrapConstruction
from ceremony.output import rehearsal_marker, write_bundle
from ceremony.reading import read_file

_TARGET_HELP = (
    "one cloud target as comma-separated key=value pairs: "
    "provider=aws,method=RSA_AES_KEY_WRAP_SHA_256,import-key=params.json[,import-token=FILE]; "
    "provider=azure,import-key=kek.pem,kek-id=https://...,key-name=NAME; "
    "provider=gcp,method=RSA_OAEP_3072_SHA1_AES_256,import-key=job.json,key=KEY "
    "[,import-job=NAME][,protection-level=LEVEL][,undated-job=true] (without --rehearsal a "
    "job that is not HSM, or says nothing of its times, is refused unless these accept it); "
    "provider=aws-payment-cryptography,method=RSA_OAEP_SHA_256|RSA_OAEP_SHA_512,"
    "import-key=params.json,role=ROLE[,root-ca-fingerprint=HEX][,exportable=true]"
    "[,region=REGION] (TDES and AES keys; the root CA pin is required without --rehearsal; "
    "ROLE is data, zmk, kek, kbpk, bdk, pek or mac); "
    "every target also takes label=NAME, fingerprint=HEX (pinned; not for "
    "aws-payment-cryptography, whose root CA is pinned) and, "
    "when several token keys are wrapped, for=KEY-LABEL"
)
_TARGET_KEYS = {
    "aws": {"method", "import-key", "import-token", "key-id", "region"},
    "azure": {"import-key", "kek-id", "key-name"},
    "gcp": {
        "method",
        "import-key",
        "import-job",
        "key",
        "algorithm",
        "protection-level",
        "undated-job",
    },
    "aws-payment-cryptography": {
        "method",
        "import-key",
        "role",
        "root-ca-fingerprint",
        "exportable",
        "region",
    },
}
_COMMON_TARGET_KEYS = {"label", "fingerprint", "for"}


def register(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subcommands.add_parser(
        "wrap",
        help="wrap key material for AWS KMS, Azure Key Vault, Google Cloud KMS and AWS Payment "
        "Cryptography",
        description=(
            "Headless wrap for rehearsal and scripting. --from-hsm wraps a token key inside the "
            "token; --from-components combines entered components in memory and wraps in "
            "software, a manual clear-text operation allowed here only with --rehearsal (a "
            "production ceremony does it under dual control)."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--from-hsm",
        metavar="LABEL[=KIND]",
        nargs="+",
        help="wrap these token keys inside the HSM; with several keys each --target names its "
        "key with for=LABEL. Inside the token: AES and HMAC keys (a multiple of 8 bytes) on any "
        "token with RSA-OAEP and AES key wrap with padding; EC and RSA private keys only on a "
        "token with CKM_RSA_AES_KEY_WRAP or an exact RFC 5649 wrap ('ceremony hsm info' says; "
        "SoftHSM2 2.6 has neither). For the others run a generate-export ceremony with "
        "'ceremony run' and wrap = \"software\": the export is dual-controlled",
    )
    source.add_argument(
        "--from-components",
        metavar="FILE",
        nargs="+",
        help="component texts to combine ('-' reads them one after another from the terminal)",
    )
    parser.add_argument("--target", action="append", required=True, help=_TARGET_HELP)
    parser.add_argument("--out", required=True, type=Path, help="bundle folder (must not exist)")
    parser.add_argument(
        "--kind",
        choices=[k.value for k in MaterialKind],
        help="the key's kind (required with --from-hsm; derived from the components otherwise)",
    )
    parser.add_argument(
        "--kcv", help="the key's recorded labelled KCV, e.g. 'AES-CMAC 1A2B3C' (components)"
    )
    parser.add_argument("--module", help="PKCS#11 module path (default: the rehearsal SoftHSM2)")
    parser.add_argument("--token-label", help="token label (default: the rehearsal token)")
    parser.add_argument(
        "--rehearsal",
        action="store_true",
        help="mark the bundle REHEARSAL; required for clear paths",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    key_targets = [parse_target(text, production=not args.rehearsal) for text in args.target]
    for key_target in key_targets:
        _announce(key_target.target)
    if args.from_hsm:
        files = _wrap_in_hsm(args, _plan_token_keys(args.from_hsm, args.kind, key_targets), now)
    else:
        if any(t.key_label for t in key_targets):
            raise ConfigError(
                "for= names a token key, but the material comes from components",
                hint="drop for= from the --target values",
            )
        files = _wrap_components(args, [t.target for t in key_targets], now)
    if args.rehearsal:
        files.append(rehearsal_marker())
    written = write_bundle(args.out, files)
    print(f"\nBundle written to {args.out} ({len(written)} files):")
    for bundle_file in files:
        print(f"  {bundle_file.sha256}  {bundle_file.name}")
    return 0


def _announce(target: TargetSpec) -> None:
    fingerprint = target.import_key.fingerprint
    root = target.import_key.root_fingerprint
    print(f"Target {target.label}: {target.method.value} ({target.provider.value})")
    print(f"  import key SHA-256 {fingerprint.groups()}")
    if root is not None:
        # A certified wrapping key is new at each download; its root CA is what is compared.
        print(f"  certified by the root CA whose certificate's SHA-256 is {root.groups()}")
        fingerprint = root
    for line in fingerprint.word_lines():
        print(f"    {line}")
    what = "the root CA fingerprint" if root is not None else "this"
    print(f"  Two officers compare {what} with the cloud console before the bundle is used.")


@dataclass(frozen=True)
class _Spec:
    provider: str
    fields: dict[str, str]

    def need(self, name: str) -> str:
        value = self.fields.get(name)
        if not value:
            raise ConfigError(
                f"target {self.provider}: {name}= is missing",
                hint=f"add {name}=... to the --target value",
            )
        return value

    def read(self, name: str) -> bytes:
        path = Path(self.need(name))
        try:
            return read_file(
                path,
                f"{name} file",
                cap=MAX_KEY_FILE,
                hint="check the path of the provider's download",
            )
        except ConfigError as ex:
            raise ConfigError(f"target {self.provider}: {ex.message}", hint=ex.hint) from None


@dataclass(frozen=True)
class KeyTarget:
    """A checked provider target and, when several keys are wrapped, the key it is for."""

    target: TargetSpec
    key_label: str | None


def parse_target(text: str, *, production: bool = True) -> KeyTarget:
    """One --target value into a checked provider target; reads the import-key files it names.

    ``production``: a GCP import job that is not HSM-protected or says nothing of its times is
    refused, unless the target accepts it (``protection-level=``, ``undated-job=true``).
    """
    fields: dict[str, str] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not sep or not name:
            raise ConfigError(f"--target {part!r} is not key=value", hint=_TARGET_HELP)
        if name in fields:
            raise ConfigError(f"--target gives {name}= twice", hint="give each field once")
        fields[name] = value.strip()
    provider = fields.pop("provider", "").lower()
    if provider not in _TARGET_KEYS:
        raise ConfigError(
            f"--target provider={provider or '(missing)'} is not aws, azure, gcp or "
            "aws-payment-cryptography",
            hint=_TARGET_HELP,
        )
    allowed = _TARGET_KEYS[provider] | _COMMON_TARGET_KEYS
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ConfigError(
            f"--target provider={provider} does not take {', '.join(unknown)}",
            hint=f"{provider} takes {', '.join(sorted(allowed))}",
        )
    spec = _Spec(provider, fields)
    label = fields.get("label", provider)
    target: TargetSpec
    if provider == "aws-payment-cryptography":
        target = _payment_target(spec, label, production=production)
    elif provider == "aws":
        token = spec.read("import-token") if "import-token" in fields else None
        import_key = providers.parse_import_parameters(
            spec.read("import-key"),
            import_token=token,
            token_base64=providers.token_is_base64(fields.get("import-token", "")),
            key_id=fields.get("key-id", ""),
        )
        method = providers.parse_method(spec.need("method"), providers.Provider.AWS)
        target = providers.AwsTarget(label, method, import_key, region=fields.get("region", ""))
    elif provider == "azure":
        import_key = providers.parse_kek(spec.read("import-key"), spec.need("kek-id"))
        target = providers.AzureTarget(label, import_key, spec.need("key-name"))
    else:
        import_key = providers.parse_import_job(
            spec.read("import-key"), import_job=fields.get("import-job", "")
        )
        method = providers.parse_method(spec.need("method"), providers.Provider.GCP)
        undated = fields.get("undated-job", "false").lower()
        if undated not in ("true", "false"):
            raise ConfigError(f"--target undated-job={undated[:20]} is not true or false")
        target = providers.GcpTarget(
            label,
            method,
            import_key,
            spec.need("key"),
            fields.get("algorithm", ""),
            protection_level=fields.get("protection-level", "HSM").upper(),
            undated_job=undated == "true",
            production=production,
        )
    if "fingerprint" in fields:
        target.import_key.require_fingerprint(fields["fingerprint"])
    return KeyTarget(target, fields.get("for") or None)


def _payment_target(spec: _Spec, label: str, *, production: bool) -> AwsPaymentTarget:
    """An AWS Payment Cryptography target: its role gives the key's attributes."""
    fields = spec.fields
    if "fingerprint" in fields:
        raise ConfigError(
            "--target provider=aws-payment-cryptography takes no fingerprint=: the service "
            "makes a new wrapping key for each get-parameters-for-import",
            hint="pin its root CA certificate with root-ca-fingerprint=HEX",
        )
    roles = {r.value: r for r in KeyRole}
    role = roles.get(spec.need("role").lower())
    if role is None:
        raise ConfigError(
            f"--target role={fields['role'][:20]} is not a key role",
            hint="one of " + ", ".join(roles),
        )
    exportable = fields.get("exportable", "false").lower()
    if exportable not in ("true", "false"):
        raise ConfigError(f"--target exportable={exportable[:20]} is not true or false")
    root = fields.get("root-ca-fingerprint")
    return AwsPaymentTarget(
        label,
        providers.parse_method(spec.need("method"), providers.Provider.AWS_PAYMENT_CRYPTOGRAPHY),
        aws_payment.parse_import_parameters(spec.read("import-key")),
        role=role,
        exportable=exportable == "true",
        root_ca_fingerprint=providers.parse_fingerprint(root) if root else None,
        region=fields.get("region", ""),
        production=production,
    )


# ---- material from entered components (software wrap) -------------------------------------


def _wrap_components(
    args: argparse.Namespace, targets: Sequence[TargetSpec], now: datetime
) -> list[providers.BundleFile]:
    if not args.rehearsal:
        raise RuleViolation(
            "combining components in memory and wrapping in software are manual clear-text "
            "operations; `ceremony wrap` runs them only for rehearsals",
            hint="add --rehearsal for practice, or run the reconstitute ceremony, which enforces "
            "dual control",
        )
    if not args.kcv:
        raise ConfigError(
            "--kcv is required with --from-components",
            hint="give the key's recorded KCV with its method, e.g. --kcv 'AES-CMAC 1A2B3C'",
        )
    expected = kcv.parse_check_value(args.kcv)
    with ExitStack() as stack:
        components = [stack.enter_context(_wiping(c)) for c in _read_components(args)]
        first = components[0]
        combine = xor.combine if first.scheme is Scheme.XOR else shamir.combine
        key = stack.enter_context(combine(components, expected=expected, identity=first.identity))
        kind = _kind_of_components(first, args.kind)
        print(f"\nCombined key {first.identity.key_label!r} matches the recorded KCV {expected}")
        info = providers.inspect_material(key, kind, str(expected))
        for warning in providers.preflight(targets, info, now):
            print(f"warning: {warning}")
        return providers.build_bundle(
            targets,
            key,
            kind,
            key_label=first.identity.key_label,
            kcv=str(expected),
            now=now,
            rehearsal=args.rehearsal,
        )


@contextmanager
def _wiping(component: Component) -> Iterator[Component]:
    try:
        yield component
    finally:
        component.value.close()


def _read_components(args: argparse.Namespace) -> list[Component]:
    texts: list[str] = []
    for source in args.from_components:
        if source == "-":
            texts.append(_type_component(len(texts) + 1))
            continue
        texts.append(read_component_file(Path(source)))
    return [encoding.from_text(text) for text in texts]


def _type_component(number: int) -> str:
    """One custodian types their whole component with no echo, ending with the SUM line."""
    if not sys.stdin.isatty():
        raise ConfigError(
            "components can only be typed at a terminal",
            hint="run in a terminal, or give the rehearsal component files",
        )
    print(f"\nCustodian {number}: everyone else looks away. Type your component, line by line.")
    lines: list[str] = []
    while not lines or not lines[-1].strip().upper().startswith("SUM"):
        try:
            lines.append(getpass.getpass(f"  line {len(lines) + 1}> "))
        except EOFError:
            raise ConfigError(
                f"the input ended before custodian {number} typed the SUM line: nothing was "
                "wrapped",
                hint="type every line of the component, the SUM line last",
            ) from None
    return "\n".join(lines)


_HMAC_KINDS = {
    20: MaterialKind.HMAC_SHA1,
    28: MaterialKind.HMAC_SHA224,
    32: MaterialKind.HMAC_SHA256,
    48: MaterialKind.HMAC_SHA384,
    64: MaterialKind.HMAC_SHA512,
}


def _kind_of_components(component: Component, stated: str | None) -> MaterialKind:
    identity = component.identity
    if identity.algorithm is KeyAlgorithm.AES:
        derived = MaterialKind(f"AES-{identity.key_length * 8}")
    elif identity.algorithm is KeyAlgorithm.TDES and identity.key_length in (16, 24):
        derived = MaterialKind(f"TDES-{identity.key_length * 8}")
    elif identity.algorithm is KeyAlgorithm.HMAC and identity.key_length in _HMAC_KINDS:
        derived = _HMAC_KINDS[identity.key_length]
    else:
        raise ConfigError(
            f"{identity.algorithm.value} keys of {identity.key_length} bytes cannot be imported "
            "into a cloud KMS",
            hint="clouds import AES keys, HMAC keys of a digest's length, and (AWS Payment "
            "Cryptography) TDES-128/192 keys; never single DES",
        )
    if stated and MaterialKind(stated) is not derived:
        raise ConfigError(
            f"--kind {stated} does not match the components, which make a {derived.value} key",
            hint="drop --kind or correct it",
        )
    return derived


# ---- material inside the HSM (wrapped in the token) ---------------------------------------


@dataclass(frozen=True)
class _TokenKey:
    label: str
    kind: MaterialKind
    targets: tuple[TargetSpec, ...]


def _plan_token_keys(
    entries: Sequence[str], default_kind: str | None, key_targets: Sequence[KeyTarget]
) -> list[_TokenKey]:
    """Which targets each token key goes to; one key may go to many targets, and many keys."""
    kinds: dict[str, MaterialKind] = {}
    for entry in entries:
        label, _, kind_text = entry.partition("=")
        kind_text = kind_text or default_kind or ""
        if not kind_text:
            raise ConfigError(
                f"the kind of token key {label!r} is not given",
                hint="write --from-hsm LABEL=KIND (e.g. zmk=AES-256) or give --kind",
            )
        try:
            kinds[label] = MaterialKind(kind_text)
        except ValueError:
            raise ConfigError(
                f"{kind_text!r} is not a key kind",
                hint=f"use one of {', '.join(k.value for k in MaterialKind)}",
            ) from None
    for key_target in key_targets:
        if key_target.key_label is None and len(kinds) > 1:
            raise ConfigError(
                f"target {key_target.target.label} does not say which key it is for",
                hint="add for=KEY-LABEL to each --target when several keys are wrapped",
            )
        if key_target.key_label is not None and key_target.key_label not in kinds:
            raise ConfigError(
                f"target {key_target.target.label} is for key {key_target.key_label!r}, which "
                "is not among --from-hsm",
                hint="name the key in --from-hsm or correct for=",
            )
    plan = []
    for label, kind in kinds.items():
        targets = tuple(t.target for t in key_targets if t.key_label in (None, label))
        if not targets:
            raise ConfigError(f"no --target is for key {label!r}", hint="add for=... targets")
        plan.append(_TokenKey(label, kind, targets))
    return plan


def _wrap_in_hsm(
    args: argparse.Namespace, keys: Sequence[_TokenKey], now: datetime
) -> list[providers.BundleFile]:
    from ceremony.cli.hsm import pin_prompter
    from ceremony.hsm import config
    from ceremony.hsm.pkcs11 import Pkcs11Backend

    backend = Pkcs11Backend(config.resolve(args.module, args.token_label))
    preflight = backend.preflight()
    pairs = [(key, target) for key in keys for target in key.targets]
    # Every wrap is checked against the token before any work, so nothing half-happens.
    for _, target in pairs:
        preflight.require(
            Capability.for_oaep(target.method.oaep_hash),
            f"target {target.label} ({target.method.value})",
            alternatives=_alternatives(target.method),
        )
    trust = TrustRequest(
        import_keys=tuple(dict.fromkeys(t.import_key.spki_der for _, t in pairs)),
        rsa_aes_wraps=sum(1 for _, t in pairs if t.method.composite),
    )
    files: list[providers.BundleFile] = []
    with backend.open(pin_prompter(), trust=trust) as session:
        for key in keys:
            files += _wrap_token_key(
                session, key, preflight.token.describe(), now, rehearsal=args.rehearsal
            )
    return files


def _wrap_token_key(
    session: HsmSession, key: _TokenKey, token: str, now: datetime, *, rehearsal: bool
) -> list[providers.BundleFile]:
    key_kcv: str | None = None
    public_sha256: str | None = None
    if key.kind.is_symmetric:
        method = {"AES": kcv.KcvMethod.AES_CMAC, "TDES": kcv.KcvMethod.TDES_ECB_ZERO}.get(
            key.kind.name.split("_")[0], kcv.KcvMethod.HMAC_SHA256_ZERO
        )
        values = session.check_values(key.label)
        key_kcv = str(values.of(method))
        own = values.token_check_value_hex
        print(f"Token key {key.label!r}: KCV {key_kcv}", end="")
        print(f"; the token's own CKA_CHECK_VALUE {own.upper()}" if own else "")
    else:
        public_sha256 = hashlib.sha256(session.public_key(key.label)).hexdigest()
    info = providers.material_for_hsm(key.kind, key_kcv, public_sha256)
    for warning in providers.preflight(key.targets, info, now):
        print(f"warning: {warning}")
    files: list[providers.BundleFile] = []
    for target in key.targets:
        result = session.wrap_for_public_key(
            key.label,
            target.import_key.spki_der,
            method=WrapConstruction.of(target.method),
            oaep_hash=target.method.oaep_hash,
        )
        trusted = ", import key SO-trusted" if result.trusted_import_key else ""
        files += providers.assemble_bundle(
            target,
            result.blob,
            key.kind,
            key_label=key.label,
            kcv=key_kcv,
            now=now,
            wrapped_by=f"inside the HSM ({token}): {' + '.join(result.mechanisms)}{trusted}",
            public_key_sha256=public_sha256,
            rehearsal=rehearsal,
        )
    return files


def _alternatives(method: WrapMethod) -> str:
    others = [
        m.value
        for m in WrapMethod
        if m.provider is method.provider and m.oaep_hash is not method.oaep_hash
    ]
    return (
        f"pick a method this token can do ({', '.join(others)}) if the provider accepts it, or "
        "export the key under dual control and wrap in software in a ceremony"
    )

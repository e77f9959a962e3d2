"""`ceremony hsm init` and `ceremony hsm info`: the rehearsal token, any token's capabilities."""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from ceremony.core.ceremony_file import SIGNING_LABEL
from ceremony.errors import HsmError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "hsm",
        help="the PKCS#11 token: create the rehearsal token, show what a token can do",
        description="Module and token come from CEREMONY_PKCS11_MODULE, CEREMONY_TOKEN_LABEL "
        "and CEREMONY_TOKEN_SERIAL (default: the SoftHSM2 rehearsal token in the state folder).",
    )
    commands = parser.add_subparsers(dest="hsm_command", metavar="HSM_COMMAND")
    init = commands.add_parser(
        "init",
        help="create the SoftHSM2 rehearsal token and its signing key in the state folder",
        description="PINs are asked on the terminal; for scripts and CI set "
        "CEREMONY_REHEARSAL_SO_PIN and CEREMONY_REHEARSAL_USER_PIN (rehearsal token only).",
    )
    init.add_argument(
        "--if-missing",
        action="store_true",
        help="do nothing if the token and its signing certificate already exist",
    )
    init.set_defaults(handler=_init)
    info = commands.add_parser(
        "info",
        help="show the token, its library and what it can and cannot do (no PIN)",
        description="The options name any vendor's module and token, as the ceremony file's "
        "[hsm] section does; given, they win over the environment.",
    )
    info.add_argument("--module", metavar="PATH", help="the PKCS#11 module ([hsm] module)")
    info.add_argument("--token-label", metavar="LABEL", help="the token label ([hsm] token_label)")
    info.add_argument(
        "--token-serial", metavar="SERIAL", help="the token serial ([hsm] token_serial)"
    )
    info.add_argument(
        "--init-reserved",
        metavar="TEXT",
        help="the module's C_Initialize parameter string ([hsm] init_reserved), e.g. for NSS "
        "softokn: configdir='sql:DIR' certPrefix='' keyPrefix='' secmod='secmod.db' flags=''",
    )
    info.add_argument(
        "--signing-label",
        metavar="LABEL",
        default=SIGNING_LABEL,
        help=f"the label of the record signing certificate to show ([signing] key_label; "
        f"default {SIGNING_LABEL!r})",
    )
    info.add_argument(
        "--export-certificate",
        metavar="FILE",
        type=Path,
        help="write the record signing certificate (PEM) to FILE, for an auditor to pin with "
        "'ceremony verify --trust-anchor FILE'; FILE must not exist",
    )
    info.set_defaults(handler=_info)
    parser.set_defaults(handler=lambda args: _help(parser))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def pin_prompter() -> Any:
    """The rehearsal environment prompter, a terminal prompter, or one that refuses."""
    from ceremony.hsm.pin import EnvironmentPinPrompter, GetpassPinPrompter

    if EnvironmentPinPrompter.available():
        return EnvironmentPinPrompter()
    if sys.stdin.isatty():
        return GetpassPinPrompter()
    return _NoTerminal()


class _NoTerminal:
    """Refuses to invent a PIN when nobody can type one."""

    def pin(self, request: Any) -> Any:
        raise HsmError(
            f"no terminal to {request.describe()}",
            hint="run in a terminal, or for the rehearsal token export "
            "CEREMONY_REHEARSAL_SO_PIN and CEREMONY_REHEARSAL_USER_PIN",
        )

    def confirm_final_try(self, request: Any) -> bool:
        return False


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


def _init(args: argparse.Namespace) -> int:
    from ceremony.hsm import bootstrap, config

    result = bootstrap.init_rehearsal_token(
        config.resolve(), pin_prompter(), if_missing=args.if_missing
    )
    if not result.created_token and not result.created_signing_key:
        print(f"Rehearsal token {result.token.label!r} is ready in {result.store} (unchanged).")
        return 0
    verb = "Created" if result.created_token else "Completed"
    print(f"{verb} rehearsal token {result.token.describe()} in {result.store}")
    if result.signing is not None:
        print(
            f"  signing key {result.signing.label!r} (EC P-256, id {result.signing.id_hex})\n"
            f"  self-signed certificate SHA-256 {result.signing.certificate_sha256}"
        )
    return 0


def _info(args: argparse.Namespace) -> int:
    from ceremony.hsm import config, softhsm
    from ceremony.hsm.pkcs11 import Pkcs11Backend

    hsm_config = config.resolve(
        args.module, args.token_label, args.token_serial, init_reserved=args.init_reserved
    )
    given = {
        "module_path": args.module,
        "token_label": args.token_label,
        "token_serial": args.token_serial,
        "init_reserved": args.init_reserved,
    }
    if args.token_serial and not args.token_label:
        given["token_label"] = None  # not the rehearsal label by default
        hsm_config = replace(hsm_config, token_label=None)
    hsm_config = replace(hsm_config, **{k: v for k, v in given.items() if v is not None})
    backend = Pkcs11Backend(hsm_config)
    preflight = backend.preflight()
    rows = preflight.token.rows()
    if hsm_config.init_reserved is not None:
        rows.append(("C_Initialize pReserved", hsm_config.init_reserved))
    if softhsm.is_rehearsal_store(hsm_config.module_path):
        rows.append(("SoftHSM store", str(softhsm.store_dir())))
    print("Token")
    print(_table(rows))
    print("\nWhat this token can do (probed with throw-away session keys, no PIN):")
    for line in preflight.lines():
        print(f"  {line}")
    limits = preflight.limits()
    print("\nWhat a ceremony cannot do, or does differently, on this token:")
    for line in limits or ["nothing: every capability the tool uses is there"]:
        print(f"  - {line}")
    _signing_certificate(backend, args.signing_label, args.export_certificate)
    return 0


def _signing_certificate(backend: Any, label: str, export: Path | None) -> None:
    """The record signing certificate as a public session sees it, and its export."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from ceremony.hsm.signing import REHEARSAL_ORGANIZATION
    from ceremony.output import install

    der = backend.public_certificate(label)
    print(f"\nRecord signing certificate {label!r}")
    if der is None:
        print(
            "  none on this token (a production ceremony with [signing] create = true makes "
            "one under two security officers)"
        )
        if export is not None:
            raise HsmError(
                f"no certificate labelled {label!r} to export",
                hint="check --signing-label against the file's [signing] key_label",
            )
        return
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as ex:
        raise HsmError(
            f"the certificate labelled {label!r} on the token does not parse as X.509",
            hint="keep the token as evidence and ask the security officers",
        ) from ex
    kind = (
        "REHEARSAL"
        if any(
            a.value == REHEARSAL_ORGANIZATION
            for a in cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
        )
        else "production"
    )
    print(
        _table(
            [
                ("SHA-256", hashlib.sha256(der).hexdigest()),
                ("subject", cert.subject.rfc4514_string()),
                ("valid until", f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"),
                ("kind", kind),
            ]
        )
    )
    if export is not None:
        install(export, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        print(f"  written to {export} (pin it: ceremony verify --trust-anchor {export} EVIDENCE)")

"""Which module, token and state folder: the ceremony file, or the environment in tests."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ceremony.core.ceremony_file.vocabulary import TrustedWrap
from ceremony.errors import ConfigError
from ceremony.hsm.base import HsmConfig

ENV_MODULE = "CEREMONY_PKCS11_MODULE"
# Variable names, not secrets.
ENV_TOKEN_LABEL = "CEREMONY_TOKEN_LABEL"  # noqa: S105
ENV_TOKEN_SERIAL = "CEREMONY_TOKEN_SERIAL"  # noqa: S105
ENV_STATE_DIR = "CEREMONY_STATE_DIR"
# C_Initialize's pReserved (NSS softokn's database folder), as [hsm] init_reserved; never a PIN.
ENV_INIT_RESERVED = "CEREMONY_PKCS11_INIT_RESERVED"

# Debian's softhsm2 package; the embedded default for rehearsals.
DEFAULT_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
DEFAULT_TOKEN_LABEL = "ceremony-rehearsal"  # noqa: S105 - a label


def resolve(
    module_path: str | None = None,
    token_label: str | None = None,
    token_serial: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    init_reserved: str | None = None,
    trusted_wrap: TrustedWrap = TrustedWrap.REQUIRED,
) -> HsmConfig:
    """The configuration to use: an environment variable, when set, wins over the argument.

    Arguments come from the ceremony file; the variables exist so the same tests run against
    another vendor's module and token.
    """
    env = os.environ if environ is None else environ
    module = env.get(ENV_MODULE) or module_path or DEFAULT_MODULE
    serial = env.get(ENV_TOKEN_SERIAL) or token_serial
    label = env.get(ENV_TOKEN_LABEL) or token_label
    if not label and not serial:
        label = DEFAULT_TOKEN_LABEL
    if label is not None and len(label.encode("utf-8")) > 32:
        raise ConfigError(
            f"token label {label!r} is longer than 32 bytes",
            hint="PKCS#11 token labels hold at most 32 bytes; choose a shorter label",
        )
    reserved = env.get(ENV_INIT_RESERVED) or init_reserved
    return HsmConfig(
        module_path=module,
        token_label=label or None,
        token_serial=serial or None,
        init_reserved=reserved or None,
        trusted_wrap=trusted_wrap,
    )


def project_root() -> Path | None:
    """The source checkout this package runs from, if any (editable install or tests)."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$CEREMONY_STATE_DIR``, else ``<project>/state``, else ``./state`` (git-ignored)."""
    env = os.environ if environ is None else environ
    override = env.get(ENV_STATE_DIR)
    if override:
        return Path(override).expanduser().resolve()
    root = project_root()
    return (root / "state") if root is not None else (Path.cwd() / "state").resolve()

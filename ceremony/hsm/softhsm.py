"""The embedded default: a private SoftHSM2 store in the state folder, never the system's."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ceremony.errors import ConfigError
from ceremony.hsm import config

CONF_NAME = "softhsm2.conf"
_HEADER = "# ceremony: private SoftHSM2 store for rehearsal tokens (never /etc/softhsm or /var/lib)"


def is_softhsm_module(module_path: str) -> bool:
    return Path(module_path).name.startswith("libsofthsm2")


def store_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``<state>/softhsm``: the conf file and the ``tokens`` folder."""
    return config.state_dir(environ) / "softhsm"


def _conf_text(tokens: Path) -> str:
    return "\n".join(
        (
            _HEADER,
            f"directories.tokendir = {tokens}",
            "objectstore.backend = file",
            "log.level = ERROR",
            "slots.removable = false",
            "slots.mechanisms = ALL",
            "library.reset_on_fork = false",
            "",
        )
    )


def activate(environ: Mapping[str, str] | None = None) -> Path:
    """Create the store if needed and point SOFTHSM2_CONF at it, before the library loads."""
    store = store_dir(environ)
    tokens = store / "tokens"
    try:
        tokens.mkdir(parents=True, exist_ok=True, mode=0o700)
        store.chmod(0o700)
        conf = store / CONF_NAME
        text = _conf_text(tokens)
        if conf.exists():
            current = conf.read_text(encoding="utf-8")
            if not current.startswith(_HEADER):
                raise ConfigError(
                    f"{conf} exists and was not written by ceremony",
                    hint="move it away or point CEREMONY_STATE_DIR at another folder",
                )
            if current == text:
                os.environ["SOFTHSM2_CONF"] = str(conf)
                return conf
        # The tokendir is absolute: rewrite it when the checkout moved.
        scratch = conf.with_suffix(".tmp")
        scratch.write_text(text, encoding="utf-8")
        scratch.chmod(0o600)
        scratch.replace(conf)
    except OSError as ex:
        raise ConfigError(
            f"cannot prepare the SoftHSM store in {store}: {ex.strerror}",
            hint="check the permissions of the state folder, or set CEREMONY_STATE_DIR",
        ) from ex
    os.environ["SOFTHSM2_CONF"] = str(conf)
    return conf


def is_rehearsal_store(module_path: str) -> bool:
    """True only for SoftHSM using the project's own store (PINs from the environment allowed)."""
    if not is_softhsm_module(module_path):
        return False
    active = os.environ.get("SOFTHSM2_CONF")
    conf = store_dir() / CONF_NAME
    if not active or Path(active).resolve() != conf.resolve() or not conf.is_file():
        return False
    return conf.read_text(encoding="utf-8").startswith(_HEADER)

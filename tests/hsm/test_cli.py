"""`ceremony hsm init` and `ceremony hsm info` in a subprocess, with their own state folder."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from ceremony.hsm import config
from tests.conftest import STUCK
from tests.hsm import modules

pytestmark = pytest.mark.hsm

SYSTEM_STORE = Path("/var/lib/softhsm/tokens")


def _run(
    state: Path, *args: str, pins: tuple[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CEREMONY_", "SOFTHSM2_"))}
    env[config.ENV_STATE_DIR] = str(state)
    if pins is not None:
        env["CEREMONY_REHEARSAL_USER_PIN"], env["CEREMONY_REHEARSAL_SO_PIN"] = pins
    return subprocess.run(
        [sys.executable, "-m", "ceremony", "hsm", *args],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=STUCK,
    )  # fmt: skip


def _system_store() -> list[str] | None:
    try:
        return sorted(p.name for p in SYSTEM_STORE.iterdir())
    except OSError:
        return None


@pytest.fixture(scope="module")
def cli_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if (os.environ.get(config.ENV_MODULE) or config.DEFAULT_MODULE) != config.DEFAULT_MODULE:
        pytest.skip("the CLI bootstrap is for the SoftHSM rehearsal token")
    return tmp_path_factory.mktemp("cli-state")


def test_init_info_and_idempotence(cli_state: Path) -> None:
    system_before = _system_store()
    pins = (f"u-{secrets.token_hex(6)}", f"s-{secrets.token_hex(6)}")
    first = _run(cli_state, "init", "--if-missing", pins=pins)
    assert first.returncode == 0, first.stderr
    assert "Created rehearsal token SoftHSM v2" in first.stdout
    assert "ceremony-signing" in first.stdout
    assert (cli_state / "softhsm" / "softhsm2.conf").is_file()
    again = _run(cli_state, "init", "--if-missing")  # no PINs needed to find it ready
    assert again.returncode == 0, again.stderr
    assert "unchanged" in again.stdout
    refused = _run(cli_state, "init", pins=pins)
    assert refused.returncode == 1
    assert "already exists" in refused.stderr and "--if-missing" in refused.stderr
    info = _run(cli_state, "info")
    assert info.returncode == 0, info.stderr
    assert "ceremony-rehearsal" in info.stdout and "SoftHSM store" in info.stdout
    assert "can    generate AES-128/192/256 keys" in info.stdout
    if "2.6" in info.stdout.split("library", 1)[1].splitlines()[0]:
        assert "cannot wrap with RSA-OAEP SHA-256" in info.stdout
    for result in (first, again, refused, info):
        for pin in pins:
            assert pin not in result.stdout and pin not in result.stderr
    assert _system_store() == system_before


def test_init_without_a_terminal_or_pins_says_what_to_do(tmp_path: Path) -> None:
    if (os.environ.get(config.ENV_MODULE) or config.DEFAULT_MODULE) != config.DEFAULT_MODULE:
        pytest.skip("the CLI bootstrap is for the SoftHSM rehearsal token")
    result = _run(tmp_path, "init")
    assert result.returncode == 1
    assert "no terminal" in result.stderr
    assert "CEREMONY_REHEARSAL_SO_PIN" in result.stderr
    assert "Traceback" not in result.stderr


def test_info_without_a_token(tmp_path: Path) -> None:
    result = _run(tmp_path, "info")
    assert result.returncode == 1
    assert "ceremony hsm init" in result.stderr
    assert "Traceback" not in result.stderr


def test_info_on_nss_needs_and_takes_its_initialisation_string(tmp_path: Path) -> None:
    if modules.missing("nss"):
        pytest.skip(modules.missing("nss") or "")
    with modules.nss(tmp_path) as made:
        where = ("--module", made.module_path, "--token-label", made.token_label)
        refused = _run(tmp_path, "info", *where)
        assert refused.returncode == 1
        assert "CKR_ARGUMENTS_BAD" in refused.stderr and "init_reserved" in refused.stderr
        assert "architecture" not in refused.stderr
        info = _run(tmp_path, "info", *where, "--init-reserved", made.init_reserved or "")
    assert info.returncode == 0, info.stderr
    assert "NSS Certificate DB" in info.stdout and "C_Initialize pReserved" in info.stdout
    assert "can    wrap with AES key wrap with padding (RFC 5649) [CKM_AES_KEY_WRAP_KWP]" in (
        info.stdout
    )
    assert 'trusted_wrap = "not-enforced-by-token"' in info.stdout


def test_info_on_opencryptoki_says_what_it_cannot_do(tmp_path: Path) -> None:
    if modules.missing("opencryptoki"):
        pytest.skip(modules.missing("opencryptoki") or "")
    with modules.opencryptoki() as made:
        info = _run(
            tmp_path, "info", "--module", made.module_path, "--token-label", made.token_label
        )
    assert info.returncode == 0, info.stderr
    limits = info.stdout.split("What a ceremony cannot do", 1)[1]
    assert "computed from AES-ECB" in limits
    assert "no backup export" in limits
    assert "cannot sign the ceremony record" in limits
    assert 'trusted_wrap = "not-enforced-by-token"' in limits

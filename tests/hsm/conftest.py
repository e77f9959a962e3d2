"""One real token per run: a fresh SoftHSM2 token in a temporary store, or the module in the env.

By default the package fixture creates a SoftHSM2 store under pytest's tmp dir (its own
SOFTHSM2_CONF, set before the library loads) and a token in it. To run the same tests against
another vendor's module, set CEREMONY_PKCS11_MODULE, CEREMONY_TOKEN_LABEL and the test-only
CEREMONY_TEST_USER_PIN / CEREMONY_TEST_SO_PIN; tests whose capability the token lacks skip, as
python-pkcs11's own ``@requires(Mechanism.X)`` does.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from ceremony.core.ceremony_file.vocabulary import TrustedWrap
from ceremony.hsm import bootstrap, config, softhsm
from ceremony.hsm.base import Capability, HsmConfig, Preflight
from ceremony.hsm.pkcs11 import Pkcs11Backend, Pkcs11Session
from tests.hsm.prompters import FixedPinPrompter

__all__ = ["FixedPinPrompter", "HsmUnderTest", "not_enforced_session", "requires"]

_ENV_KEYS = (
    config.ENV_STATE_DIR,
    config.ENV_TOKEN_LABEL,
    config.ENV_TOKEN_SERIAL,
    "SOFTHSM2_CONF",
)


@dataclass
class HsmUnderTest:
    config: HsmConfig
    backend: Pkcs11Backend
    prompter: FixedPinPrompter
    store: Path | None  # the SoftHSM store, None for a vendor module
    preflight: Preflight
    module: str = "softhsm2"  # which real module (tests/hsm/modules.py), "vendor" for the env's

    @property
    def user_pin(self) -> str:
        return self.prompter.user_pin

    @property
    def so_pin(self) -> str:
        return self.prompter.so_pin

    @property
    def is_softhsm(self) -> bool:
        return self.store is not None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "requires(*capabilities): skip unless the token under test has them"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    from tests.hsm import modules_conftest  # it imports this file

    modules_conftest.tag(items)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.hsm import modules_conftest

    modules_conftest.summary(terminalreporter)


@pytest.fixture(scope="package")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HsmUnderTest]:
    saved = {k: os.environ.get(k) for k in _ENV_KEYS}
    module = os.environ.get(config.ENV_MODULE) or config.DEFAULT_MODULE
    try:
        if softhsm.is_softhsm_module(module):
            state = tmp_path_factory.mktemp("state")
            os.environ[config.ENV_STATE_DIR] = str(state)
            os.environ[config.ENV_TOKEN_LABEL] = "ceremony-test"
            os.environ.pop(config.ENV_TOKEN_SERIAL, None)
            # Random per run, so the leak test can look for the exact strings.
            prompter = FixedPinPrompter(
                f"user-{secrets.token_hex(8)}", f"so-{secrets.token_hex(8)}"
            )
            hsm_config = config.resolve()
            bootstrap.init_rehearsal_token(hsm_config, prompter)
            store: Path | None = softhsm.store_dir()
        else:
            user, so = (
                os.environ.get("CEREMONY_TEST_USER_PIN"),
                os.environ.get("CEREMONY_TEST_SO_PIN"),
            )
            if not user or not so:
                pytest.skip("a vendor module needs CEREMONY_TEST_USER_PIN and CEREMONY_TEST_SO_PIN")
            prompter = FixedPinPrompter(user, so)
            hsm_config = config.resolve()
            store = None
        backend = Pkcs11Backend(hsm_config)
        name = "softhsm2" if store is not None else "vendor"
        yield HsmUnderTest(hsm_config, backend, prompter, store, backend.preflight(), name)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(autouse=True)
def _requires(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("requires")
    if marker is None:
        return
    hsm_under_test: HsmUnderTest = request.getfixturevalue("hsm")
    missing = [c for c in marker.args if not hsm_under_test.preflight.supports(c)]
    if missing:
        names = ", ".join(c.name for c in missing)
        pytest.skip(f"token lacks {names}")


def requires(*capabilities: Capability) -> pytest.MarkDecorator:
    """``@requires(Capability.X)``: skip when the token cannot (python-pkcs11 style)."""
    return pytest.mark.requires(*capabilities)


@contextmanager
def not_enforced_session(hsm: HsmUnderTest) -> Iterator[Pkcs11Session]:
    """A user session on the token under [hsm] trusted_wrap = "not-enforced-by-token"."""
    backend = Pkcs11Backend(replace(hsm.config, trusted_wrap=TrustedWrap.NOT_ENFORCED))
    with backend.open(hsm.prompter) as s:
        yield s


@pytest.fixture
def session(hsm: HsmUnderTest) -> Iterator[Pkcs11Session]:
    with hsm.backend.open(hsm.prompter) as s:
        yield s


@pytest.fixture
def label(request: pytest.FixtureRequest) -> str:
    """A label no other test uses: the token is shared by the whole run."""
    name = request.node.name.replace("[", "-").replace("]", "")[:32]
    return f"t-{name}-{secrets.token_hex(3)}"

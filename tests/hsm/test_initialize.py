"""C_Initialize with OS locking and pReserved: NSS softokn opens through python-pkcs11."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pkcs11
import pytest
from pkcs11 import Attribute, KeyType, ObjectClass, _pkcs11
from pkcs11.exceptions import PinIncorrect

from ceremony.errors import HsmError
from ceremony.hsm.pkcs11 import initialize
from tests.hsm import modules

pytestmark = pytest.mark.hsm


@pytest.fixture(autouse=True)
def _nss_installed() -> None:
    reason = modules.missing("nss")
    if reason is not None:
        pytest.skip(reason)


def test_nss_in_a_fresh_database_logs_in_and_generates_from_a_worker_thread(
    tmp_path: Path,
) -> None:
    with modules.nss(tmp_path) as made:
        # pkcs11.lib() hands out the library initialize.load() initialised: one library state.
        library = pkcs11.lib(made.module_path)
        assert isinstance(library, initialize._Library)
        assert library.initialized
        assert initialize._ACTIVE[made.module_path].args.flags == initialize.CKF_OS_LOCKING_OK
        results: dict[str, object] = {}

        def work() -> None:
            token = library.get_token(token_label=made.token_label)
            with token.open(rw=True, user_pin=made.user_pin) as session:
                key = session.generate_key(KeyType.AES, 256, label="init-check", store=True)
                results["bits"] = key.key_length
                results["random"] = session.generate_random(256)
                found = session.get_objects(
                    {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: "init-check"}
                )
                results["stored"] = len(list(found))

        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
        assert results["bits"] == 256
        assert isinstance(results["random"], bytes)
        assert len(results["random"]) == 32
        assert results["stored"] == 1


def test_another_database_initialises_the_module_anew(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with modules.nss(tmp_path / "a") as first:
        pass
    with modules.nss(tmp_path / "b") as second:
        token = pkcs11.lib(second.module_path).get_token(token_label=second.token_label)
        with pytest.raises(PinIncorrect):
            token.open(user_pin=first.user_pin)
        with token.open(user_pin=second.user_pin) as session:
            assert len(session.generate_random(64)) == 8


def test_nss_without_its_database_string_is_refused_with_a_hint() -> None:
    initialize.finalize(modules.NSS_MODULE)
    with pytest.raises(HsmError) as caught:
        initialize.load(modules.NSS_MODULE, None)
    assert "CKR_ARGUMENTS_BAD" in caught.value.message
    assert "init_reserved" in (caught.value.hint or "")
    registry: dict[str, Any] = pkcs11._loaded
    left = registry.get(modules.NSS_MODULE)
    assert left is None or not left.initialized


def test_python_pkcs11_alone_cannot_share_an_initialised_module(tmp_path: Path) -> None:
    # Why the subclass: python-pkcs11's own lib raises on CKR_CRYPTOKI_ALREADY_INITIALIZED,
    # which also shows that a second dlopen reaches the same, already initialised library.
    with modules.nss(tmp_path), pytest.raises(pkcs11.PKCS11Error, match="already initialized"):
        _pkcs11.lib(modules.NSS_MODULE)


def test_a_module_python_pkcs11_loaded_first_is_taken_over(tmp_path: Path) -> None:
    # In a child process: SoftHSM is shared by the whole test run in this one.
    conf = tmp_path / "softhsm2.conf"
    (tmp_path / "tokens").mkdir()
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\n")
    script = (
        "import pkcs11\n"
        "from ceremony.hsm.pkcs11 import initialize\n"
        "path = '/usr/lib/softhsm/libsofthsm2.so'\n"
        "plain = pkcs11.lib(path)\n"
        "assert plain.initialized\n"
        "ours = initialize.load(path)\n"
        "assert ours is not plain and not plain.initialized and pkcs11.lib(path) is ours\n"
        "assert ours.get_slots()\n"
        "print('ok')\n"
    )
    if not Path("/usr/lib/softhsm/libsofthsm2.so").exists():
        pytest.skip("softhsm2 is not installed")
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"

"""Three real PKCS#11 modules as test fixtures: SoftHSM2, NSS softokn and opencryptoki's soft token.

Each context manager sets up a fresh token, points this process at it (``os.environ`` holds the
module's ``environment`` inside the block, restored after it) and yields a
:class:`ModuleUnderTest`. SoftHSM2 and NSS get a store in the caller's temporary folder, so they
isolate per test. opencryptoki's store is one per machine (its paths are compiled in): a file
lock serialises its users across processes (pytest-xdist workers, other checkouts), its token is
wiped and initialised anew on each use, and a ``pkcsslotd`` started here is stopped by its PID.
The PINs are random per use and exist only in this process: test values, never real ones.
"""

from __future__ import annotations

import fcntl
import grp
import os
import secrets
import shutil
import signal
import subprocess
import sysconfig
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pkcs11

from ceremony.hsm import bootstrap, config
from ceremony.hsm.pkcs11 import initialize
from tests.hsm.prompters import FixedPinPrompter

_ARCH = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"

SOFTHSM_MODULE = config.DEFAULT_MODULE
NSS_MODULE = f"/usr/lib/{_ARCH}/libsoftokn3.so"
OPENCRYPTOKI_MODULE = f"/usr/lib/{_ARCH}/pkcs11/libopencryptoki.so"

# The variable that carries [hsm] init_reserved in tests, as CEREMONY_PKCS11_MODULE does.
ENV_INIT_RESERVED = config.ENV_INIT_RESERVED

NSS_TOKEN_LABEL = "NSS Certificate DB"  # fixed by softokn: the slot that holds the database
OPENCRYPTOKI_SLOT = 3  # "IBM SoftTok" in Debian's /etc/opencryptoki/opencryptoki.conf
OPENCRYPTOKI_FACTORY_SO_PIN = "87654321"
OPENCRYPTOKI_TOKEN_LABEL = "ceremony-test"
OPENCRYPTOKI_STORE = Path("/var/lib/opencryptoki/swtok")
OPENCRYPTOKI_LOCKS = Path("/run/lock/opencryptoki")
OPENCRYPTOKI_SHM = Path("/dev/shm/var.lib.opencryptoki.swtok")
OPENCRYPTOKI_LOCK_FILE = Path("/run/lock/ceremony-opencryptoki-tests.lock")
PKCSSLOTD = "/usr/sbin/pkcsslotd"
PKCSCONF = "/usr/sbin/pkcsconf"

# How long a fixture waits for a state (a daemon up, a PID gone) before it calls it broken.
_PATIENCE = 30.0

# Every variable a fixture may set; all are saved and restored.
_ENV_KEYS = (
    config.ENV_MODULE,
    config.ENV_TOKEN_LABEL,
    config.ENV_TOKEN_SERIAL,
    config.ENV_STATE_DIR,
    ENV_INIT_RESERVED,
    "SOFTHSM2_CONF",
)


@dataclass(frozen=True)
class ModuleUnderTest:
    """One real module with a fresh token; PINs are per-use test values."""

    name: str  # "softhsm2", "nss" or "opencryptoki"
    module_path: str
    token_label: str
    token_serial: str
    so_pin: str | None  # None: the token has no security-officer role (NSS)
    user_pin: str
    # What a process needs to reach this token (CEREMONY_PKCS11_MODULE, the label, a store):
    # set in os.environ inside the block; give it to a subprocess as is. Never holds a PIN.
    environment: Mapping[str, str] = field(default_factory=dict)
    init_reserved: str | None = None  # CK_C_INITIALIZE_ARGS.pReserved, for NSS

    def prompter(self) -> FixedPinPrompter:
        """A prompter that answers this token's PINs (an empty SO PIN where there is no SO)."""
        return FixedPinPrompter(self.user_pin, self.so_pin or "")


def missing(name: str) -> str | None:
    """Why module ``name`` cannot run here (a reason for pytest.skip), or None."""
    need: dict[str, tuple[str, ...]] = {
        "softhsm2": (SOFTHSM_MODULE,),
        "nss": (NSS_MODULE,),
        "opencryptoki": (OPENCRYPTOKI_MODULE, PKCSSLOTD, PKCSCONF),
    }
    tools = {"nss": ("certutil",)}
    for path in need[name]:
        if not Path(path).exists():
            return f"{name}: {path} is not installed (run scripts/setup)"
    for tool in tools.get(name, ()):
        if shutil.which(tool) is None:
            return f"{name}: {tool} is not installed (run scripts/setup)"
    if name == "opencryptoki" and os.geteuid() != 0:
        return "opencryptoki: its machine-wide store and pkcsslotd need root"
    return None


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in (*_ENV_KEYS, *values)}
    try:
        for key in _ENV_KEYS:
            os.environ.pop(key, None)
        os.environ.update(values)
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _finalize_in_process(module_path: str) -> None:
    """Forget this process's state of the module, so the next user initialises it anew."""
    initialize.finalize(module_path)
    registry: dict[str, Any] = pkcs11._loaded
    library = registry.get(module_path)
    if library is not None and library.initialized:
        library.finalize()


def _wait_for(what: str, ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + _PATIENCE
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        time.sleep(0.02)


# ------------------------------------------------------------------------------------ SoftHSM2


@contextmanager
def softhsm2(tmp: Path, label: str = "ceremony-test") -> Iterator[ModuleUnderTest]:
    """A SoftHSM2 store in ``tmp`` and a token in it, made as tests/hsm/conftest.py does."""
    state = tmp / "softhsm-state"
    user_pin, so_pin = f"user-{secrets.token_hex(8)}", f"so-{secrets.token_hex(8)}"
    base = {
        config.ENV_MODULE: SOFTHSM_MODULE,
        config.ENV_STATE_DIR: str(state),
        config.ENV_TOKEN_LABEL: label,
    }
    with _environment(base):
        result = bootstrap.init_rehearsal_token(
            config.resolve(), FixedPinPrompter(user_pin, so_pin)
        )
        environment = {**base, "SOFTHSM2_CONF": os.environ["SOFTHSM2_CONF"]}
        yield ModuleUnderTest(
            "softhsm2",
            SOFTHSM_MODULE,
            label,
            result.token.serial,
            so_pin,
            user_pin,
            environment,
        )


# ----------------------------------------------------------------------------------------- NSS


def _token_serial(library: Any, label: str) -> str:
    token = library.get_token(token_label=label)
    serial = token.serial
    text = serial.decode("ascii") if isinstance(serial, bytes) else str(serial)
    return text.strip()


@contextmanager
def nss(tmp: Path) -> Iterator[ModuleUnderTest]:
    """A fresh NSS database in ``tmp`` whose password is the user PIN; softokn has no SO."""
    database = tmp / "nssdb"
    database.mkdir(mode=0o700)
    user_pin = f"user-{secrets.token_hex(8)}"
    # -f reads the new password from a file: stdin here, so it is never on argv or on disk.
    subprocess.run(
        ["certutil", "-N", "-d", f"sql:{database}", "-f", "/dev/stdin"],
        input=f"{user_pin}\n",
        text=True,
        check=True,
        capture_output=True,
    )
    reserved = initialize.nss_reserved(str(database))
    environment = {
        config.ENV_MODULE: NSS_MODULE,
        config.ENV_TOKEN_LABEL: NSS_TOKEN_LABEL,
        ENV_INIT_RESERVED: reserved,
    }
    with _environment(environment):
        try:
            library = initialize.load(NSS_MODULE, reserved)
            serial = _token_serial(library, NSS_TOKEN_LABEL)
            yield ModuleUnderTest(
                "nss",
                NSS_MODULE,
                NSS_TOKEN_LABEL,
                serial,
                None,
                user_pin,
                environment,
                reserved,
            )
        finally:
            # Close the database before pytest removes its folder.
            _finalize_in_process(NSS_MODULE)


# -------------------------------------------------------------------------------- opencryptoki


def _live_slotds() -> list[int]:
    """PIDs of running (not zombie) pkcsslotd processes."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if fields.get("Name", "").strip() == "pkcsslotd" and not fields.get("State", "").startswith(
            ("Z", "X")
        ):
            found.append(int(entry.name))
    return found


def _prepare_lock_folders() -> None:
    # In a container nothing creates these before the daemon needs them.
    gid = grp.getgrnam("pkcs11").gr_gid
    for folder in (OPENCRYPTOKI_LOCKS, OPENCRYPTOKI_LOCKS / "swtok"):
        folder.mkdir(mode=0o770, exist_ok=True)
        os.chown(folder, 0, gid)
        folder.chmod(0o770)


def _pkcsconf(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [PKCSCONF, "-c", str(OPENCRYPTOKI_SLOT), *args],
        input=stdin,
        text=True,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        # The command line holds test PINs; name only the operation.
        raise RuntimeError(f"pkcsconf {args[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def _token_info() -> dict[str, str]:
    text = _pkcsconf("-t")
    info = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def _slotd_answers() -> bool:
    try:
        _token_info()
    except RuntimeError:
        return False
    return True


def _start_slotd() -> int:
    before = set(_live_slotds())
    # It forks and the parent exits; the daemon must not inherit our pipes.
    subprocess.run(
        [PKCSSLOTD], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _wait_for("pkcsslotd to start", lambda: bool(set(_live_slotds()) - before))
    (pid,) = set(_live_slotds()) - before
    _wait_for("pkcsslotd to answer", _slotd_answers)
    return pid


def _stop_slotd(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    _wait_for(f"pkcsslotd {pid} to stop", lambda: pid not in _live_slotds())


def _wipe_store() -> None:
    """Return swtok to its factory state (SO PIN 87654321, no user PIN, no objects)."""
    for name in ("NVTOK.DAT", "MK_SO", "MK_USER"):
        (OPENCRYPTOKI_STORE / name).unlink(missing_ok=True)
    objects = OPENCRYPTOKI_STORE / "TOK_OBJ"
    if objects.is_dir():
        for item in objects.iterdir():
            item.unlink()
    OPENCRYPTOKI_SHM.unlink(missing_ok=True)


def _short_pin() -> str:
    return secrets.token_hex(4)  # 8 characters: opencryptoki takes 4 to 8


_HELD = {"depth": 0}  # reentrant in this process: a test may hold it around the fixture


@contextmanager
def _machine_lock() -> Iterator[None]:
    if _HELD["depth"]:
        _HELD["depth"] += 1
        try:
            yield
        finally:
            _HELD["depth"] -= 1
        return
    with OPENCRYPTOKI_LOCK_FILE.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # waits for the state "nobody else uses the store"
        _HELD["depth"] = 1
        try:
            yield
        finally:
            _HELD["depth"] = 0
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def opencryptoki() -> Iterator[ModuleUnderTest]:
    """The machine's swtok, wiped and initialised; SO PIN and user PIN changed after init."""
    with _machine_lock():
        _prepare_lock_folders()
        running = _live_slotds()
        started = None if running else _start_slotd()
        try:
            info = _token_info()
            flags = info.get("Flags", "")
            if "TOKEN_INITIALIZED" in flags and info.get("Label") != OPENCRYPTOKI_TOKEN_LABEL:
                raise RuntimeError(
                    f"swtok holds token {info.get('Label')!r}, not the tests' own: not wiping it"
                )
            _finalize_in_process(OPENCRYPTOKI_MODULE)
            _wipe_store()
            so_pin, user_pin = _short_pin(), _short_pin()
            while user_pin == so_pin:
                user_pin = _short_pin()
            first_user = _short_pin()
            factory = OPENCRYPTOKI_FACTORY_SO_PIN
            _pkcsconf("-I", "-S", factory, stdin=f"{OPENCRYPTOKI_TOKEN_LABEL}\n")
            _pkcsconf("-P", "-S", factory, "-n", so_pin)
            _pkcsconf("-u", "-S", so_pin, "-n", first_user)
            _pkcsconf("-p", "-U", first_user, "-n", user_pin)
            serial = _token_info()["Serial Number"]
            environment = {
                config.ENV_MODULE: OPENCRYPTOKI_MODULE,
                config.ENV_TOKEN_LABEL: OPENCRYPTOKI_TOKEN_LABEL,
            }
            with _environment(environment):
                try:
                    yield ModuleUnderTest(
                        "opencryptoki",
                        OPENCRYPTOKI_MODULE,
                        OPENCRYPTOKI_TOKEN_LABEL,
                        serial,
                        so_pin,
                        user_pin,
                        environment,
                    )
                finally:
                    _finalize_in_process(OPENCRYPTOKI_MODULE)
        finally:
            if started is not None:
                _stop_slotd(started)


@contextmanager
def module(name: str, tmp: Path) -> Iterator[ModuleUnderTest]:
    """The fixture for module ``name`` ("softhsm2", "nss", "opencryptoki")."""
    makers: dict[str, Callable[[], Any]] = {
        "softhsm2": lambda: softhsm2(tmp),
        "nss": lambda: nss(tmp),
        "opencryptoki": opencryptoki,
    }
    with makers[name]() as made:
        yield made


NAMES = ("softhsm2", "nss", "opencryptoki")

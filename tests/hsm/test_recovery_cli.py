"""``ceremony run`` stopped right after a journal entry of every ceremony type on the SoftHSM2
token (kill -9, SIGTERM, SIGHUP), then run again with the same file: the rerun says what was
left, destroys the orphaned key, voids the components issued and finishes as a new ceremony
linked to the aborted one; the registry shows the voids, ``ceremony verify`` passes on the new
bundle and reports the aborted ceremony, and no secret the processes held is on disk.

A fixed sample by default; ``--kill-sweep`` (``scripts/kill-sweep``) kills at every entry."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ceremony.core import journal
from ceremony.core.kcv import KcvMethod
from ceremony.engine.machine import Machine, default_services
from ceremony.errors import KeyNotFoundError
from ceremony.hsm.base import KeySpec
from ceremony.record.verify import verify_evidence
from tests.conftest import STUCK
from tests.engine import recovery_cases as cases
from tests.engine.helpers import (
    PASSPHRASE,
    Capture,
    drive,
    isolated,
    outcome_entries,
    scan,
    script_for,
    write_ceremony,
    write_imports,
)
from tests.hsm.conftest import HsmUnderTest
from tests.unit.ceremony_files import dumps

pytestmark = [pytest.mark.hsm, pytest.mark.usefixtures("cheap_scrypt")]
ROOT = Path(__file__).resolve().parents[2]

# The default sample: per type, kill -9 right after the entry that leaves the most behind, and
# one SIGTERM and one SIGHUP. ``--kill-sweep`` adds SIGTERM and SIGHUP at three points each of a
# split-backup (before any key, once the key is on the token, once a component is out) and a
# kill -9 after every entry of every type.
SAMPLE = [
    ("generate-export", "key_generated"),
    ("split-backup", "component_issued"),
    ("reconstitute", "key_imported"),
    ("re-split", "component_issued"),
    ("destroy", "key_destroyed"),
    ("re-wrap", "key_checked"),
    ("split-backup", "key_exported:TERM"),
    ("split-backup", "envelope_sealed:HUP"),
]
SIGNALS = [
    ("split-backup", f"{event}:{name}")
    for name, events in (
        ("TERM", ("hsm_opened", "key_exported", "envelope_sealed")),
        ("HUP", ("participant_present", "key_generated", "component_issued")),
    )
    for event in events
]


@dataclass(frozen=True)
class Setup:
    """What a case of one type needs before it runs: its key's label and the made set."""

    kind: str
    label: str
    made: cases.MadeSet | None
    registry: bytes | None  # the registry that records the made set
    papers: dict[str, str]  # "<key>.<index>" -> component file, outside the scanned folder
    key_kcv: str | None


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("home", "tmp"):
        (tmp / name).mkdir(exist_ok=True)
    env.update(HOME=str(tmp / "home"), TMPDIR=str(tmp / "tmp"), PYTHONPATH=str(ROOT))
    env.pop("CEREMONY_REHEARSAL_USER_PIN", None)
    env.pop("CEREMONY_REHEARSAL_SO_PIN", None)
    return env


def _setup(hsm: HsmUnderTest, kind: str, base: Path) -> Setup:
    label = f"rk-{secrets.token_hex(3)}"
    made = registry = key_kcv = None
    papers: dict[str, str] = {}
    if kind in ("reconstitute", "re-split"):
        folder = base / f"made-{label}"
        doc = cases.doc(
            "split-backup",
            f"made-{label}",
            module=hsm.config.module_path,
            token_label=hsm.config.token_label or "",
            label=label,
        )
        doc["keys"][0]["source"] = "hsm-random"
        delivery = Capture()
        services = default_services(delivery=delivery)
        services.airgap = isolated
        machine = Machine(write_ceremony(folder, doc), services=services)
        drive(machine, script_for(doc, {"user": hsm.user_pin, "so": hsm.so_pin}))
        data = next(
            e["data"] for e in outcome_entries(machine.outcome) if e["event"] == "key_generated"
        )
        made = cases.MadeSet(
            doc["ceremony"]["id"],
            f"{data['kcvs'][0]['kcv_method']} {data['kcvs'][0]['kcv']}",
            tuple(f"{s.kcv.method.label} {s.kcv.hex}" for s in delivery.shown),
            {},
        )
        registry = (folder / "registry/custodians.json").read_bytes()
        for name, text in delivery.texts().items():
            (folder / f"{name}.txt").write_text(text)
            papers[name] = str(folder / f"{name}.txt")
    if kind in ("destroy", "re-wrap"):  # a key already on the token
        with hsm.backend.open(hsm.prompter) as session:
            if kind == "destroy":
                session.generate_key(label, KeySpec.AES_128)
            else:
                session.generate_key(label, KeySpec.AES_256, extractable=True)
            key_kcv = str(session.check_values(label).of(KcvMethod.AES_CMAC))
    return Setup(kind, label, made, registry, papers, key_kcv)


def _ceremony(when: str, args: list[str], env: dict[str, str]) -> Any:
    command = [sys.executable, "-m", "tests.hsm.killer", when, *args]
    return subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=STUCK, check=False
    )


def _secrets(path: Path) -> list[bytes]:
    if not path.exists():
        return []
    return list(dict.fromkeys(bytes.fromhex(line) for line in path.read_text().split()))


def stop_and_rerun(hsm: HsmUnderTest, setup: Setup, when: str, base: Path) -> None:
    tag = when.replace(":", "-")
    folder = base / f"{setup.kind}-{tag}"
    held = base / f"held-{setup.kind}-{tag}.hex"  # what the processes held, outside the folder
    ceremony_id = f"stop-{setup.kind}-{tag}"[:50].rstrip("-_.")
    doc = cases.doc(
        setup.kind,
        ceremony_id,
        module=hsm.config.module_path,
        token_label=hsm.config.token_label or "",
        label=setup.label,
        made=setup.made,
        key_kcv=setup.key_kcv,
    )
    path = write_ceremony(folder, doc)
    write_imports(folder)
    if setup.registry is not None:
        (folder / "registry").mkdir()
        (folder / "registry/custodians.json").write_bytes(setup.registry)
    answers = folder.parent / f"answers-{setup.kind}-{tag}.toml"  # holds the PINs: not scanned
    answers.write_text(
        dumps(
            {
                "passphrases": {p["id"]: PASSPHRASE.format(p["id"]) for p in doc["participants"]},
                "pins": {"user": hsm.user_pin, "so": hsm.so_pin},
                "components": setup.papers,
            }
        )
    )
    env = {**_env(folder), "CEREMONY_TEST_SECRETS": str(held)}
    args = ["run", str(path), "--rehearsal", "--answers", str(answers)]
    name = when.partition(":")[2]
    stopped = _ceremony(when, args, env)
    first = folder / "out" / f"{ceremony_id}.journal.jsonl"
    if name:
        assert stopped.returncode == 128 + getattr(signal, f"SIG{name}"), stopped.stderr
        killed = journal.verify(first.read_bytes(), require_closed=True)
        assert killed.last.event == journal.ABORTED
        # The journal names the signal, at a prompt (the abort) or mid-step (the failed step).
        assert f"SIG{name}" in str(killed.last.data["reason"]) or any(
            e.event == "step_failed" and f"stopped by SIG{name}" in str(e.data["error"])
            for e in killed.entries
        )
    else:
        assert stopped.returncode == -9, stopped.stderr[-2000:]
        killed = journal.verify(first.read_bytes(), allow_torn_tail=True)
        assert not killed.closed
    again = _ceremony("0", args, env)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr
    assert f"Ceremony {ceremony_id} " in again.stdout and "did not finish" in again.stdout
    restart = f"{ceremony_id}.r2"
    new = journal.verify(
        (folder / "out" / f"{restart}.journal.jsonl").read_bytes(), require_closed=True
    )
    assert new.finished and new.entries[0].data["restarts"]["ceremony"] == ceremony_id  # type: ignore[index]
    closed = journal.verify(first.read_bytes(), require_closed=True)
    if not name:
        killed = journal.verify(first.read_bytes(), require_closed=True)
        assert len(killed.entries) == len(closed.entries)
    cases.check_voided(folder, setup.label, closed, restart)
    # The auditor's check: the new bundle passes and names the aborted ceremony as aborted.
    report = verify_evidence(folder / "out")
    assert report.ok, report.text()
    aborted = [line for line in report.lines if line.check == f"aborted ceremony {ceremony_id}"]
    assert aborted and "ABORTED" in aborted[0].reason
    assert any(line.check == "recovery after the aborted ceremony" for line in report.lines)
    # No secret that either process held is anywhere in the folder (rehearsal forms aside).
    held_secrets = _secrets(held)
    assert held_secrets or setup.kind in ("destroy", "generate-export", "re-wrap")  # in the HSM
    assert scan([folder], held_secrets) == []


def _cleanup(hsm: HsmUnderTest, labels: list[str]) -> None:
    with hsm.backend.open(hsm.prompter) as session:
        for label in labels:
            with contextlib.suppress(KeyNotFoundError):
                session.destroy(label)


def _whole(hsm: HsmUnderTest, setup: Setup, base: Path) -> int:
    """How many entries an uninterrupted run writes (for the sweep of every entry)."""
    folder = base / f"whole-{setup.kind}"
    doc = cases.doc(
        setup.kind,
        f"whole-{setup.kind}",
        module=hsm.config.module_path,
        token_label=hsm.config.token_label or "",
        label=setup.label,
        made=setup.made,
        key_kcv=setup.key_kcv,
    )
    path = write_ceremony(folder, doc)
    write_imports(folder)
    if setup.registry is not None:
        (folder / "registry").mkdir()
        (folder / "registry/custodians.json").write_bytes(setup.registry)
    script = script_for(doc, {"user": hsm.user_pin, "so": hsm.so_pin}, components={})
    services = default_services(delivery=Capture())
    services.airgap = isolated
    machine = Machine(path, services=services)
    script.components = {k: Path(v).read_text() for k, v in setup.papers.items()}
    drive(machine, script)
    total = len(outcome_entries(machine.outcome))
    if setup.kind in ("generate-export", "split-backup", "reconstitute"):
        _cleanup(hsm, [setup.label])  # the rerun cases make the key again
    return total


def test_stopped_after_a_journal_entry_then_a_rerun_recovers(
    hsm: HsmUnderTest, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    every = bool(request.config.getoption("--kill-sweep"))
    plan = list(SAMPLE)
    if every:
        plan = list(SIGNALS)
        for kind in cases.KINDS:
            total = _whole(hsm, _setup(hsm, kind, tmp_path), tmp_path)
            plan += [(kind, str(k)) for k in range(1, total)]
    # A label (and a made set) of its own per case. One case at a time: a SoftHSM2 process that
    # starts while another rewrites the token's object file can miss the token altogether
    # ("no token labelled ... is present"), which made this test fail now and then.
    jobs = [(_setup(hsm, kind, tmp_path), when) for kind, when in plan]
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            for job in [pool.submit(stop_and_rerun, hsm, s, w, tmp_path) for s, w in jobs]:
                job.result()
    finally:
        _cleanup(hsm, list(dict.fromkeys(s.label for s, _ in jobs)))

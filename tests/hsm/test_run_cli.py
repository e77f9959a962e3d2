"""``ceremony run`` as a subprocess on the SoftHSM2 token: scripted rehearsals, the refusal of
scripted answers outside rehearsal and a secret scan of everything it wrote. Stops and restarts
are in tests/hsm/test_recovery_cli.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ceremony.core import journal, xor
from ceremony.core.kcv import CheckValue, KcvMethod
from ceremony.engine.machine import Machine, default_services
from ceremony.errors import KeyNotFoundError
from tests.conftest import STUCK
from tests.engine.helpers import (
    PASSPHRASE,
    Capture,
    drive,
    isolated,
    outcome_entries,
    scan,
    script_for,
    write_ceremony,
)
from tests.hsm.conftest import HsmUnderTest
from tests.unit.ceremony_files import dumps

pytestmark = pytest.mark.hsm
ROOT = Path(__file__).resolve().parents[2]


def _small_split(hsm: HsmUnderTest, ceremony_id: str) -> dict[str, Any]:
    """A split-backup with few steps: two custodians, XOR, from the token's randomness."""
    people = [
        ("amartin", "Alice Martin", "security-officer", "badge 1"),
        ("cwright", "Chloe Wright", "witness", "badge 2"),
        ("ebrown", "Emma Brown", "key-custodian", "badge 3"),
        ("fgarcia", "Felipe Garcia", "key-custodian", "badge 4"),
    ]
    return {
        "ceremony": {
            "id": ceremony_id,
            "type": "split-backup",
            "site": "test bench",
            "purpose": "kill and restart",
            "output": "out",
            "rehearsal": True,
            "registry": "registry/custodians.json",
        },
        "participants": [
            {"id": i, "name": n, "role": r, "id_reference": d} for i, n, r, d in people
        ],
        "hsm": {"module": hsm.config.module_path, "token_label": hsm.config.token_label},
        "keys": [
            {
                "label": "zmk-kill",
                "type": "AES",
                "bits": 128,
                "split": {
                    "scheme": "xor",
                    "components": [{"custodian": "ebrown"}, {"custodian": "fgarcia"}],
                },
            }
        ],
    }


def _answers(folder: Path, doc: dict[str, Any], hsm: HsmUnderTest, **extra: Any) -> Path:
    answers: dict[str, Any] = {
        "passphrases": {p["id"]: PASSPHRASE.format(p["id"]) for p in doc["participants"]},
        "pins": {"user": hsm.user_pin, "so": hsm.so_pin},
        **extra,
    }
    path = folder / "answers.toml"
    path.write_text(dumps(answers), encoding="utf-8")
    return path


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("home", "tmp"):
        (tmp / name).mkdir(exist_ok=True)
    env.update(HOME=str(tmp / "home"), TMPDIR=str(tmp / "tmp"), PYTHONPATH=str(ROOT))
    env.pop("CEREMONY_REHEARSAL_USER_PIN", None)
    env.pop("CEREMONY_REHEARSAL_SO_PIN", None)
    return env


def _ceremony(*args: str, env: dict[str, str], kill_at: int | None = None) -> Any:
    command = [sys.executable, "-m", "ceremony", *args]
    if kill_at is not None:
        command = [sys.executable, "-m", "tests.hsm.killer", str(kill_at), *args]
    return subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=STUCK, check=False
    )


def test_answers_are_refused_outside_a_rehearsal(hsm: HsmUnderTest, tmp_path: Path) -> None:
    doc = _small_split(hsm, "no-script")
    path = write_ceremony(tmp_path, doc)
    answers = _answers(tmp_path, doc, hsm)
    result = _ceremony("run", str(path), "--answers", str(answers), env=_env(tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith("ceremony: error: --answers is for rehearsals")
    assert not (tmp_path / "out").exists()


def test_reconstitute_from_the_command_line_leaves_no_secret_behind(
    hsm: HsmUnderTest,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    cheap_scrypt: None,
) -> None:
    # Components made in process (as custodians would copy them down) ...
    made = tmp_path / "made"
    doc = _small_split(hsm, "cli-made")
    delivery = Capture()
    services = default_services(delivery=delivery)
    services.airgap = isolated
    machine = Machine(write_ceremony(made, doc), services=services)
    drive(machine, script_for(doc, {"user": hsm.user_pin, "so": hsm.so_pin}))
    data = next(
        e["data"] for e in outcome_entries(machine.outcome) if e["event"] == "key_generated"
    )
    recorded = CheckValue(
        KcvMethod(data["kcvs"][0]["kcv_method"]), bytes.fromhex(data["kcvs"][0]["kcv"])
    )
    components = delivery.components()
    with xor.combine(components, expected=recorded) as key:
        secrets = [bytes(key.reveal()), *(bytes(c.value.reveal()) for c in components)]
    # ... kept apart from everything the run writes, which is then scanned.
    papers = tmp_path_factory.mktemp("papers")
    files = {}
    for name, text in delivery.texts().items():
        (papers / f"{name}.txt").write_text(text)
        files[name] = str(papers / f"{name}.txt")
    run_dir = tmp_path / "run"
    rebuild = _small_split(hsm, "cli-rebuild")
    rebuild["ceremony"]["type"] = "reconstitute"
    key_doc = rebuild["keys"][0]
    key_doc["kcv"] = f"{recorded.method.label} {recorded.hex}"
    key_doc["split"]["made_in"] = "cli-made"
    key_doc["store_in_hsm"] = True
    key_doc["label"] = "zmk-kill"
    rebuild["keys"][0] = key_doc
    # A registry of its own: the made set is not in it, so nothing links the two runs.
    rebuild["ceremony"]["registry"] = "registry.json"
    path = write_ceremony(run_dir, rebuild)
    answers = _answers(run_dir, rebuild, hsm, components=files)
    result = _ceremony(
        "run", str(path), "--rehearsal", "--answers", str(answers), env=_env(tmp_path)
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "Ceremony finished." in result.stdout
    assert "Final journal hash" in result.stdout
    entries = [
        e.event
        for e in journal.verify(
            next((run_dir / "out").glob("*.jsonl")).read_bytes(), require_closed=True
        ).entries
    ]
    assert entries.count("component_entered") == 2 and "key_imported" in entries
    hits = scan([tmp_path], secrets)
    assert hits == []
    printed = (result.stdout + result.stderr).encode()
    assert not any(s.hex().encode() in printed.lower() for s in secrets)
    with hsm.backend.open(hsm.prompter) as session:
        session.destroy("zmk-kill")


def test_the_full_rehearsal_runs_twice_without_overwriting(
    hsm: HsmUnderTest, tmp_path: Path
) -> None:
    env = _env(tmp_path)
    env.update(CEREMONY_REHEARSAL_USER_PIN=hsm.user_pin, CEREMONY_REHEARSAL_SO_PIN=hsm.so_pin)
    runs = []
    for n in (1, 2):
        folder = tmp_path / f"rehearsal-{n}"
        result = _ceremony("rehearse", "--folder", str(folder), env=env)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr
        runs.append(result.stdout)
        verified = journal.verify(
            next((folder / "out").glob("*.journal.jsonl")).read_bytes(), require_closed=True
        )
        events = [e.event for e in verified.entries]
        assert events.count("participant_present") == 8
        assert events.count("component_issued") == 5
        assert events.count("wrapped") == 3 and events.count("import_key_confirmed") == 3
        assert verified.entries[0].data["rehearsal"] is True
        bundle = folder / "out/bundle"
        assert (bundle / "REHEARSAL.txt").exists()
        (key_folder,) = (p for p in bundle.iterdir() if p.is_dir() and p.name != "forms")
        assert len(list((bundle / "forms" / key_folder.name).glob("component-*.pdf"))) == 5
        assert key_folder.name.startswith("demo-zmk-")
        assert {p.name for p in key_folder.iterdir()} == {
            "aws-demo",
            "azure-demo",
            "gcp-demo",
        }
        assert verified.final_hash[:4].upper() in result.stdout
        # Signed in the token when the ceremony finished; the auditor's check passes on it.
        assert (folder / "out/record.pdf").exists() and (folder / "out/journal.sig").exists()
        audit = _ceremony("verify", str(folder / "out"), env=env)
        assert audit.returncode == 0, audit.stdout[-3000:] + audit.stderr
        assert "0 failed" in audit.stdout
        # No trust anchor: the journal's HSM login names the certificate that signed.
        flat = " ".join(audit.stdout.split())  # reasons are wrapped
        assert "signer is the ceremony certificate journaled at HSM login" in flat
    # The scripted custodians never print a component's digits, only their shape.
    assert all("01: ####" in out for out in runs)


def test_a_rehearsal_refuses_a_production_token(hsm: HsmUnderTest, tmp_path: Path) -> None:
    doc = _small_split(hsm, "not-rehearsal-token")
    doc["hsm"]["module"] = "/usr/lib/vendor/libvendor-pkcs11.so"
    path = write_ceremony(tmp_path, doc)
    answers = _answers(tmp_path, doc, hsm)
    env = _env(tmp_path)
    env.pop("CEREMONY_PKCS11_MODULE", None)
    result = _ceremony("run", str(path), "--rehearsal", "--answers", str(answers), env=env)
    assert result.returncode == 1
    assert "rehearsal runs only on the project's rehearsal SoftHSM2 token" in result.stderr
    assert not (tmp_path / "out").exists()


def _destroy_doc(hsm: HsmUnderTest, label: str) -> dict[str, Any]:
    people = [
        ("amartin", "Alice Martin", "security-officer", "badge 1"),
        ("bokafor", "Ben Okafor", "security-officer", "badge 2"),
        ("cwright", "Chloe Wright", "witness", "badge 3"),
    ]
    return {
        "ceremony": {
            "id": f"typed-{label}",
            "type": "destroy",
            "site": "test bench",
            "purpose": "typed at the terminal",
            "output": "out",
        },
        "participants": [
            {"id": i, "name": n, "role": r, "id_reference": d} for i, n, r, d in people
        ],
        "hsm": {"module": hsm.config.module_path, "token_label": hsm.config.token_label},
        "keys": [{"label": label, "type": "AES", "bits": 128}],
    }


class _Keyboard:
    """Typed lines for input() and getpass(), in the order the runner asks."""

    def __init__(self, lines: list[str | BaseException]) -> None:
        self.lines = lines
        self.prompts: list[str] = []

    def __call__(self, prompt: str = "") -> str:
        self.prompts.append(prompt)
        line = self.lines.pop(0)
        if isinstance(line, BaseException):
            raise line
        return line


def _typed_run(
    hsm: HsmUnderTest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    lines: list[str | BaseException],
) -> tuple[int, str, Path, _Keyboard]:
    from ceremony.cli import main
    from ceremony.hsm.base import KeySpec

    label = f"typed-{os.urandom(3).hex()}"
    with hsm.backend.open(hsm.prompter) as session:
        session.generate_key(label, KeySpec.AES_128)
    path = write_ceremony(tmp_path, _destroy_doc(hsm, label))
    keyboard = _Keyboard(lines)
    monkeypatch.setattr("builtins.input", keyboard)
    monkeypatch.setattr("getpass.getpass", keyboard)
    code = main(["run", str(path), "--rehearsal"])
    return code, label, path, keyboard


def test_typed_at_the_terminal(
    hsm: HsmUnderTest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cheap_scrypt: None,
) -> None:
    def person(pid: str) -> list[str | BaseException]:
        return ["yes", PASSPHRASE.format(pid), PASSPHRASE.format(pid)]

    lines: list[str | BaseException] = [
        "no",  # refused: a confirmation needs yes
        *person("amartin"),
        *person("bokafor"),
        *person("cwright"),
        "amartin",
        "same",
        "amartin",
        hsm.user_pin,
        "amartin",  # reads the preflight aloud after login
        "yes",
        "amartin",
        PASSPHRASE.format("amartin"),
        "amartin",  # refused: the same person never approves twice
        PASSPHRASE.format("amartin"),
        "bokafor",
        PASSPHRASE.format("bokafor"),
    ]
    code, label, _, keyboard = _typed_run(hsm, tmp_path, monkeypatch, lines)
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "refused: not confirmed" in out.out
    assert "refused: dual control" in out.out and "already approved" in out.out
    assert "Final journal hash" in out.out and keyboard.lines == []
    assert "  your participant id> " in keyboard.prompts
    assert hsm.user_pin not in out.out + out.err
    with hsm.backend.open(hsm.prompter) as session, pytest.raises(KeyNotFoundError):
        session.key_attributes(label)


def test_ctrl_c_journals_an_abort(
    hsm: HsmUnderTest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cheap_scrypt: None,
) -> None:
    lines: list[str | BaseException] = ["yes", KeyboardInterrupt()]
    code, label, _, _ = _typed_run(hsm, tmp_path, monkeypatch, lines)
    assert code == 130
    assert "stopped by the operator" in capsys.readouterr().err
    entries = journal.verify(
        next((tmp_path / "out").glob("*.journal.jsonl")).read_bytes(), require_closed=True
    ).entries
    assert entries[-1].event == "aborted"
    assert "Ctrl-C" in str(entries[-1].data["reason"])
    with hsm.backend.open(hsm.prompter) as session:
        session.destroy(label)  # untouched by the aborted ceremony


def test_a_re_wrap_runs_headless_and_verifies(hsm: HsmUnderTest, tmp_path: Path) -> None:
    """`ceremony run --rehearsal --answers` of a re-wrap: a key on the token, wrapped again."""
    import secrets

    from ceremony.hsm.base import KeySpec
    from tests.engine.helpers import rehearsal_doc, write_imports

    label = f"rw-{secrets.token_hex(3)}"
    with hsm.backend.open(hsm.prompter) as session:
        session.generate_key(label, KeySpec.AES_256, extractable=True)
        recorded = session.check_values(label).of(KcvMethod.AES_CMAC)
    try:
        doc = rehearsal_doc(
            "re-wrap",
            module=hsm.config.module_path,
            label=hsm.config.token_label or "",
            ceremony_id="cli-rewrap",
        )
        doc["keys"][0].update(label=label, kcv=f"{recorded.method.label} {recorded.hex}")
        write_imports(tmp_path)
        path = write_ceremony(tmp_path, doc)
        answers = _answers(tmp_path, doc, hsm)
        env = _env(tmp_path)
        result = _ceremony("run", str(path), "--rehearsal", "--answers", str(answers), env=env)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr
        assert f"its KCV {recorded} is the recorded one" in " ".join(result.stdout.split())
        audit = _ceremony("verify", str(tmp_path / "out"), env=env)
        assert audit.returncode == 0, audit.stdout[-3000:] + audit.stderr
    finally:
        with hsm.backend.open(hsm.prompter) as session:
            session.destroy(label)


def test_a_kill_between_record_pdf_and_journal_sig_is_completed_by_ceremony_record(
    hsm: HsmUnderTest, tmp_path: Path
) -> None:
    doc = _small_split(hsm, "half-record")
    path = write_ceremony(tmp_path / "c", doc)
    answers = _answers(tmp_path, doc, hsm)
    env = _env(tmp_path / "c")
    killed = _helper(
        "tests.hsm.record_killer",
        "run",
        str(path),
        "--rehearsal",
        "--answers",
        str(answers),
        env=env,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    out = tmp_path / "c" / "out"
    assert (out / "record.pdf").exists() and not (out / "journal.sig").exists()
    rerun = _ceremony("run", str(path), "--rehearsal", "--answers", str(answers), env=env)
    assert rerun.returncode == 1 and "journal.sig is missing" in rerun.stderr
    signer_env = {
        **env,
        "CEREMONY_REHEARSAL_USER_PIN": hsm.user_pin,
        "CEREMONY_REHEARSAL_SO_PIN": hsm.so_pin,
        "CEREMONY_PKCS11_MODULE": hsm.config.module_path,
        "CEREMONY_TOKEN_LABEL": hsm.config.token_label or "",
    }
    record = _ceremony("record", str(out), env=signer_env)
    assert record.returncode == 0, record.stdout[-2000:] + record.stderr
    assert "writing the missing journal.sig" in record.stdout
    audit = _ceremony("verify", str(out), env=env)
    assert audit.returncode == 0, audit.stdout[-3000:] + audit.stderr


def _helper(module: str, *args: str, env: dict[str, str]) -> Any:
    """A test helper module that runs the ceremony CLI with a fault injected (tests/hsm/)."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=STUCK,
        check=False,
    )


def _stopped_then_recovered(
    hsm: HsmUnderTest,
    folder: Path,
    tmp_path: Path,
    ceremony_id: str,
    helper: tuple[str, ...],
    says: tuple[str, ...],
    repair: Any = None,
) -> None:
    """The faulty run stops with an error naming the fault; once repaired, the same file run
    again recovers, and the auditor's verify passes and names the aborted ceremony."""
    doc = _small_split(hsm, ceremony_id)
    path = write_ceremony(folder, doc)
    answers = _answers(tmp_path, doc, hsm)  # outside the ceremony folder: it holds the PINs
    env = _env(tmp_path)
    args = ("run", str(path), "--rehearsal", "--answers", str(answers))
    stopped = _helper(*helper, *args, env=env)
    assert stopped.returncode == 1, stopped.stdout[-2000:] + stopped.stderr
    assert stopped.stderr.startswith("ceremony: error: "), stopped.stderr
    assert all(s in stopped.stderr for s in says) and "Traceback" not in stopped.stderr
    if repair is not None:
        repair()
    again = _ceremony(*args, env=env)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr
    assert "did not finish" in again.stdout
    audit = _ceremony("verify", str(folder / "out"), env=env)
    assert audit.returncode == 0, audit.stdout[-3000:] + audit.stderr
    flat = " ".join(audit.stdout.split())
    assert "PASS aborted ceremony" in flat and "PASS recovery after the aborted ceremony" in flat


@pytest.mark.parametrize("event", ["participant_present", "key_generated", "component_issued"])
def test_a_full_medium_stops_the_run_by_name_then_a_rerun_recovers_and_verifies(
    hsm: HsmUnderTest, small_tmpfs: Path, tmp_path: Path, event: str
) -> None:
    from tests.engine.helpers import unfill

    _stopped_then_recovered(
        hsm,
        small_tmpfs / "c",
        tmp_path,
        f"full-{event.split('_')[0]}",
        ("tests.hsm.filler", event, str(small_tmpfs)),
        ("No space left",),
        lambda: unfill(small_tmpfs),
    )


@pytest.mark.parametrize("event", ["hsm_opened", "random_source", "approval"])
def test_a_removed_token_stops_the_run_by_name_then_a_rerun_recovers_and_verifies(
    hsm: HsmUnderTest, tmp_path: Path, event: str
) -> None:
    _stopped_then_recovered(
        hsm,
        tmp_path / "c",
        tmp_path,
        f"gone-{event.split('_')[0]}",
        ("tests.hsm.unplugger", event),
        ("went away", "CKR_DEVICE_REMOVED"),
    )

"""Issue 14's bad inputs, one regression test each: a clear CeremonyError, no traceback, no hang.

Every test states the behaviour wanted and is a strict xfail until the code is fixed: flip the
marker (and drop the matching line of tests/fuzz/harness.py KNOWN) with the fix. A hang is told
by state, never by time: the tool is seen blocked on the FIFO (its kernel wait channel), and it
is killed there.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from ceremony.core import encoding, journal, xor
from ceremony.core.ceremony_file import parse_ceremony_file
from ceremony.core.component import KeyAlgorithm, KeyIdentity
from ceremony.core.providers import (
    GcpTarget,
    MaterialKind,
    Provider,
    material_for_hsm,
    parse_import_job,
    parse_method,
)
from ceremony.core.providers.import_key import load_rsa_public_key
from ceremony.core.secret import Secret
from ceremony.engine.script import Script
from ceremony.errors import CeremonyError
from ceremony.record import model
from ceremony.record.verify import verify_evidence
from tests.fuzz.test_fuzz_journal import rechained
from tests.record import journals
from tests.unit.ceremony_files import dumps, template
from tests.unit.cloudkeys import MHSM_KID, NOW, gcp_json, pem, wycheproof_key

CEREMONY = Path(sys.executable).parent / "ceremony"
BACKSTOP = 600.0  # seconds: only so that a broken test cannot hang the suite for ever
# The kernel's wait channels of a process blocked opening or reading a FIFO.
FIFO_WAITS = frozenset({"wait_for_partner", "fifo_open", "pipe_read", "pipe_wait"})
MEMORY_CAP = (
    768 * 1024**2
)  # address space for the child: MemoryError comes fast, not the OOM killer


@dataclass
class Outcome:
    returncode: int | None
    stderr: str
    blocked_on_fifo: bool = False


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def ceremony(args: list[str], cwd: Path, *, stdin: int | None = subprocess.DEVNULL) -> Outcome:
    """Run ``.venv/bin/ceremony``; a child seen blocked on a FIFO is killed and reported."""
    with subprocess.Popen(
        [str(CEREMONY), *args],
        cwd=cwd,
        stdin=stdin,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=_cap_memory,
    ) as child:
        wchan = Path(f"/proc/{child.pid}/wchan")
        start = time.monotonic()
        while child.poll() is None:
            try:
                channel = wchan.read_text().strip()
            except OSError:
                channel = ""
            if channel in FIFO_WAITS or time.monotonic() - start > BACKSTOP:
                child.kill()
                child.wait()
                assert child.stderr is not None
                return Outcome(None, child.stderr.read().decode(errors="replace"), True)
            time.sleep(0.05)  # polling for a state, not waiting out a time
        assert child.stderr is not None
        return Outcome(child.returncode, child.stderr.read().decode(errors="replace"))


def assert_refused_clearly(outcome: Outcome) -> None:
    assert not outcome.blocked_on_fifo, "the tool opened the FIFO and waits on it for ever"
    assert "Traceback" not in outcome.stderr, outcome.stderr[-2000:]
    assert outcome.returncode == 1
    assert outcome.stderr.startswith("ceremony: error: "), outcome.stderr[-2000:]


def _components(folder: Path) -> list[str]:
    identity = KeyIdentity("2025-05-zmk", "zmk", KeyAlgorithm.AES, 32)
    paths = []
    for component in xor.split(Secret(bytes(range(32))), identity, 2):
        path = folder / f"c{component.index}.txt"
        path.write_text(encoding.to_text(component))
        paths.append(path.name)
    return paths


def _wrap_args(folder: Path, import_key: str) -> list[str]:
    target = f"provider=azure,label=azure,import-key={import_key},kek-id={MHSM_KID},key-name=zmk"
    return [
        "wrap",
        "--rehearsal",
        "--from-components",
        *_components(folder),
        "--kcv",
        "AES-CMAC 377822",
        "--target",
        target,
        "--out",
        "out",
    ]


# ---- special files ----------------------------------------------------------------------------


def test_dev_zero_as_ceremony_file(tmp_path: Path) -> None:
    outcome = ceremony(["check", "/dev/zero"], tmp_path)
    assert_refused_clearly(outcome)
    assert "the ceremony file /dev/zero is a character device: only regular files" in outcome.stderr


def test_fifo_as_ceremony_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "ceremony.toml")
    outcome = ceremony(["check", "ceremony.toml"], tmp_path)
    assert_refused_clearly(outcome)
    assert "ceremony.toml is a FIFO (named pipe): only regular files are read" in outcome.stderr


def test_dev_zero_as_import_key(tmp_path: Path) -> None:
    outcome = ceremony(_wrap_args(tmp_path, "/dev/zero"), tmp_path)
    assert_refused_clearly(outcome)
    assert "import-key file /dev/zero is a character device" in outcome.stderr


def test_fifo_as_import_key(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "kek.pem")
    outcome = ceremony(_wrap_args(tmp_path, "kek.pem"), tmp_path)
    assert_refused_clearly(outcome)
    assert "import-key file kek.pem is a FIFO (named pipe)" in outcome.stderr


def test_fifo_in_place_of_an_output_file_for_verify(tmp_path: Path) -> None:
    built = journals.generate_export()
    bundle = journals.write_bundle(tmp_path / "bundle", built, {})
    name = sorted(built.outputs)[0]
    (bundle / name).unlink()
    os.mkfifo(bundle / name)
    outcome = ceremony(["verify", str(bundle)], tmp_path)
    assert not outcome.blocked_on_fifo, "verify opened the FIFO and waits on it for ever"
    assert "Traceback" not in outcome.stderr
    assert outcome.returncode == 1  # the verdict: FAIL
    # It does not block (just seen): read the table in this process.
    line = next(line for line in verify_evidence(bundle).lines if line.check == f"output {name}")
    assert not line.ok
    assert "is a FIFO (named pipe): only regular files are read" in line.reason


@pytest.mark.parametrize("command", ["verify", "record"])
def test_a_fifo_named_like_a_journal_never_blocks(tmp_path: Path, command: str) -> None:
    built = journals.generate_export()
    out = tmp_path / "out"
    out.mkdir()
    (out / "c-1.journal.jsonl").write_bytes(
        journals.write_bundle(tmp_path / "b", built, {}).joinpath("journal.jsonl").read_bytes()
    )
    os.mkfifo(out / "zzz.journal.jsonl")
    outcome = ceremony([command, str(out)], tmp_path)
    assert not outcome.blocked_on_fifo, f"{command} opened the FIFO and waits on it for ever"
    assert "Traceback" not in outcome.stderr


def test_a_fifo_in_place_of_the_journal_is_refused_by_name(tmp_path: Path) -> None:
    from ceremony.engine.journal_store import JournalStore
    from ceremony.errors import JournalError

    os.mkfifo(tmp_path / "c.journal.jsonl")
    with pytest.raises(JournalError, match="is not a regular file"):
        JournalStore.open(tmp_path / "c.journal.jsonl", ceremony_id="c", clock=lambda: NOW)


# ---- the ceremony file ------------------------------------------------------------------------


def test_toml_nested_2000_deep() -> None:
    with pytest.raises(CeremonyError):
        parse_ceremony_file("x = " + "[" * 2000 + "]" * 2000 + "\n")


def test_toml_integer_over_4300_digits() -> None:
    with pytest.raises(CeremonyError):
        parse_ceremony_file("x = " + "9" * 4301 + "\n")


@pytest.mark.parametrize(
    "when",
    [
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=23, minutes=59))),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=23, minutes=59))),
    ],
)
def test_a_date_out_of_range_in_utc_is_refused_by_its_path(when: datetime) -> None:
    doc = template("generate-export")
    (aws,) = [t for t in doc["keys"][0]["targets"] if t["provider"] == "aws"]
    aws["material_valid_to"] = when
    with pytest.raises(
        CeremonyError, match=r"targets\[0\]\.material_valid_to is out of range once taken to UTC"
    ):
        parse_ceremony_file(dumps(doc))


# ---- the answers file, component files, the terminal ------------------------------------------


def _answers(tmp_path: Path, data: bytes, component: bytes | None = None) -> Path:
    path = tmp_path / "answers.toml"
    path.write_bytes(data)
    if component is not None:
        (tmp_path / "c1.txt").write_bytes(component)
    return path


def test_answers_approvers_not_a_table(tmp_path: Path) -> None:
    with pytest.raises(CeremonyError):
        Script.load(_answers(tmp_path, b'approvers = "x"\n'))


def test_answers_toml_nested_2000_deep(tmp_path: Path) -> None:
    with pytest.raises(CeremonyError):
        Script.load(_answers(tmp_path, b"x = " + b"[" * 2000 + b"]" * 2000 + b"\n"))


def test_answers_toml_integer_over_4300_digits(tmp_path: Path) -> None:
    with pytest.raises(CeremonyError):
        Script.load(_answers(tmp_path, b"x = " + b"9" * 4301 + b"\n"))


def test_answers_file_not_utf8(tmp_path: Path) -> None:
    with pytest.raises(CeremonyError):
        Script.load(_answers(tmp_path, b'[passphrases]\namartin = "caf\xe9"\n'))


def test_answers_component_file_not_utf8(tmp_path: Path) -> None:
    answers = b'[components]\n"zmk.1" = "c1.txt"\n'
    with pytest.raises(CeremonyError):
        Script.load(_answers(tmp_path, answers, b"CEREMONY-COMPONENT V1\n\xff\xfe\n"))


def test_wrap_component_file_not_utf8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ceremony.cli import main

    args = _wrap_args(tmp_path, "kek.pem")
    (tmp_path / "c1.txt").write_bytes(b"CEREMONY-COMPONENT V1\n\xff\xfe\n")
    (tmp_path / "kek.pem").write_bytes(pem(wycheproof_key(3072)))
    monkeypatch.chdir(tmp_path)
    assert main(args) == 1


def test_demo_interactive_at_end_of_input(tmp_path: Path) -> None:
    outcome = ceremony(["demo", "--interactive"], tmp_path)
    assert_refused_clearly(outcome)
    assert "the input ended before the component was entered" in outcome.stderr


# ---- the journal read back for the record -----------------------------------------------------


def test_record_of_a_journal_whose_approval_operation_is_a_list() -> None:
    entries = [json.loads(line) for line in journals.destroy().data.splitlines()]
    approval = next(e for e in entries if e["event"] == "approval")
    approval["data"]["operation"] = [approval["data"]["operation"]]
    data = rechained(entries)
    verified = journal.verify(data)  # the chain is intact: the reader must judge the content
    with pytest.raises(CeremonyError, match=r"\(approval\) names the operation a list, not text"):
        model.build(verified)


def test_verify_of_a_journal_whose_approval_operation_is_a_list(tmp_path: Path) -> None:
    # verify fails a line for it and says the rules were not checked; it never stops.
    entries = [json.loads(line) for line in journals.destroy().data.splitlines()]
    approval = next(e for e in entries if e["event"] == "approval")
    approval["data"]["operation"] = [approval["data"]["operation"]]
    (tmp_path / "journal.jsonl").write_bytes(rechained(entries))
    report = verify_evidence(tmp_path)
    line = next(line for line in report.lines if line.check == "journal content")
    assert not line.ok and "the rules were not checked" in line.reason
    assert not report.ok


# ---- PEM blocks: linear by construction ---------------------------------------------------------

# The old pattern, kept here only as the oracle for small inputs (quadratic on large ones).
_OLD_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)


def _backreferences(pattern: re.Pattern[Any]) -> bool:
    """True when ``pattern`` holds a backreference anywhere (what made the old one quadratic)."""
    import re._constants as c
    import re._parser as p

    def walk(items: Any) -> bool:
        for op, arg in items:
            if op is c.GROUPREF or op is c.GROUPREF_EXISTS:
                return True
            if op in (c.MAX_REPEAT, c.MIN_REPEAT) and walk(arg[2]):
                return True
            if op is c.SUBPATTERN and walk(arg[-1]):
                return True
            if op is c.BRANCH and any(walk(branch) for branch in arg[1]):
                return True
        return False

    return walk(p.parse(pattern.pattern, pattern.flags))


def test_no_pattern_that_reads_outside_text_has_a_backreference() -> None:
    # Structural: PEM blocks are found by ceremony.core.pem without any regex, and no pattern
    # left in the modules that read import keys or journal.sig holds a backreference.
    import ceremony.core.pem as pem_module
    from ceremony.core.providers import aws, azure, common, gcp, import_key
    from ceremony.record import sign

    assert "re" not in vars(pem_module)
    assert not hasattr(import_key, "_PEM_BLOCK") and not hasattr(sign, "_BLOCK")
    for module in (aws, azure, common, gcp, import_key, sign):
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                assert not _backreferences(value), f"{module.__name__}.{name}"
    assert _backreferences(_OLD_PEM)  # the check sees what it looks for


class _Counting(bytes):
    """bytes that count the work pem_blocks asks of them: each find and each byte looked at."""

    work = 0

    def find(self, *args: Any) -> int:  # type: ignore[override]
        start = args[1] if len(args) > 1 else 0
        found = super().find(*args)
        _Counting.work += (found if found >= 0 else len(self)) - start + 1
        return found

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        _Counting.work += 1 if isinstance(key, int) else 0
        return super().__getitem__(key)


@pytest.mark.parametrize(
    "unit",
    [
        b"-----BEGIN A-----",  # the input: BEGIN repeated, never an END
        b"-----BEGIN A-----x-----END B-----",  # ENDs of another label
        b"-----BEGIN AB CD-----\n-----END AB CD-----",  # complete blocks
        b"-----END A----------BEGIN A",  # markers sharing their dashes
    ],
)
def test_pem_blocks_do_work_linear_in_the_input(unit: bytes) -> None:
    # Counted, not timed: bytes scanned by find plus bytes indexed, per input byte, is the same
    # small bound at 1 KiB and at 64 KiB.
    from ceremony.core.pem import pem_blocks

    per_byte = []
    for size in (1024, 64 * 1024):
        data = _Counting((unit * (size // len(unit) + 1))[:size])
        _Counting.work = 0
        pem_blocks(data)
        per_byte.append(_Counting.work / size)
    assert per_byte[1] <= 8, per_byte
    assert per_byte[1] <= per_byte[0] * 1.5, per_byte


# Whole markers (so that blocks form often) and their fragments (so that near misses do too).
_PIECES = st.sampled_from(
    [
        *(b"-----BEGIN A-----", b"-----END A-----", b"-----BEGIN A B-----", b"-----END A B-----"),
        *(b"-----BEGIN A-----\n", b"-----END A-----\n", b"-----END A B-----\n"),
        *(b"-----BEGIN ", b"-----END ", b"-----", b"A", b"B", b" ", b"\n", b"x", b"-", b"=="),
    ]
)


@given(st.lists(_PIECES, max_size=30).map(b"".join))
@settings(max_examples=500, deadline=None)
def test_pem_blocks_find_what_the_old_pattern_found(data: bytes) -> None:
    from ceremony.core.pem import pem_blocks

    old = [(label.decode(), body) for label, body in _OLD_PEM.findall(data)]
    assert pem_blocks(data) == old


@given(st.lists(_PIECES, max_size=30).map(b"".join))
@settings(max_examples=300, deadline=None)
def test_pem_blocks_with_line_ends_as_journal_sig_read_them(data: bytes) -> None:
    from ceremony.core.pem import pem_blocks

    oracle = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\n(.*?)-----END \1-----\n", re.DOTALL)
    old = [(label.decode(), body) for label, body in oracle.findall(data)]
    assert pem_blocks(data, line_end=b"\n") == old


def test_a_64_kib_file_of_begins_is_refused_as_no_complete_block() -> None:
    data = (b"-----BEGIN A-----" * (64 * 1024 // 17 + 1))[: 64 * 1024]
    with pytest.raises(CeremonyError, match="expected exactly one complete PEM block, found 0"):
        load_rsa_public_key(data, "the key")


# ---- names that look alike --------------------------------------------------------------------


def test_names_that_look_alike_are_one_person() -> None:
    doc = template("generate-export")
    first, second = doc["participants"][0], doc["participants"][1]
    assert first["name"] == "Alice Martin" and first["role"] == second["role"]
    second["name"] = "\u0410lice Martin"  # Cyrillic capital A
    with pytest.raises(CeremonyError, match="same name"):
        parse_ceremony_file(dumps(doc))


def test_the_same_name_twice_is_refused_today() -> None:
    # The rule the look-alike test extends: exact duplicates are already one person.
    doc = template("generate-export")
    doc["participants"][1]["name"] = doc["participants"][0]["name"]
    with pytest.raises(CeremonyError, match="same name"):
        parse_ceremony_file(dumps(doc))


# ---- GCP import jobs --------------------------------------------------------------------------

_METHOD = "RSA_OAEP_3072_SHA256_AES_256"


def _gcp_target(
    *, production: bool = False, accepts: str = "HSM", undated: bool = False, **changes: object
) -> GcpTarget:
    doc = json.loads(gcp_json(wycheproof_key(3072), _METHOD))
    for name, value in changes.items():
        if value is None:
            doc.pop(name, None)
        else:
            doc[name] = value
    key = parse_import_job(json.dumps(doc).encode())
    return GcpTarget(
        "gcp",
        parse_method(_METHOD, Provider.GCP),
        key,
        "zmk",
        protection_level=accepts,
        undated_job=undated,
        production=production,
    )


def _warnings(target: GcpTarget) -> list[str]:
    info = material_for_hsm(MaterialKind.AES_256, None, None)
    return target.check(info, NOW + timedelta(hours=1))


def test_gcp_import_job_with_software_protection_is_named() -> None:
    warnings = _warnings(_gcp_target(protectionLevel="SOFTWARE"))
    assert any("SOFTWARE" in w or "protection" in w.lower() for w in warnings), warnings


def test_gcp_import_job_without_expiry_warns() -> None:
    warnings = _warnings(_gcp_target(expireTime=None, createTime=None))
    assert any("does not say when it expires" in w for w in warnings), warnings
    assert any("neither when it was created nor when it expires" in w for w in warnings)


def test_gcp_import_job_with_software_protection_is_refused_in_production() -> None:
    from ceremony.errors import ImportKeyError

    with pytest.raises(ImportKeyError, match="protection level is SOFTWARE, not HSM") as caught:
        _warnings(_gcp_target(production=True, protectionLevel="SOFTWARE"))
    assert caught.value.hint is not None and 'protection_level = "SOFTWARE"' in caught.value.hint
    # The file says otherwise: accepted, and no word about the level.
    accepted = _warnings(
        _gcp_target(production=True, accepts="SOFTWARE", protectionLevel="SOFTWARE")
    )
    assert not any("protection level" in w for w in accepted), accepted


def test_gcp_import_job_without_expiry_is_refused_in_production() -> None:
    from ceremony.errors import ImportKeyError

    with pytest.raises(ImportKeyError, match="neither when it was created nor when it expires"):
        _warnings(_gcp_target(production=True, expireTime=None, createTime=None))
    accepted = _warnings(
        _gcp_target(production=True, undated=True, expireTime=None, createTime=None)
    )
    assert any("does not say when it expires" in w for w in accepted)


def test_the_gcp_target_keys_are_parsed_strictly() -> None:
    doc = template("generate-export")
    gcp = next(t for t in doc["keys"][0]["targets"] if t["provider"] == "gcp")
    gcp["protection_level"] = "CLOUD"
    with pytest.raises(
        CeremonyError, match=r"protection_level is 'CLOUD', not one of HSM, SOFTWARE"
    ):
        parse_ceremony_file(dumps(doc))
    gcp["protection_level"] = "SOFTWARE"
    gcp["undated_job"] = "yes"
    with pytest.raises(CeremonyError, match="undated_job"):
        parse_ceremony_file(dumps(doc))
    gcp["undated_job"] = True
    target = parse_ceremony_file(dumps(doc)).keys[0].targets[2].fields
    assert (target.protection_level, target.undated_job) == ("SOFTWARE", True)  # type: ignore[union-attr]


def test_ceremony_record_refuses_such_a_journal_before_any_pin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ceremony.cli import main

    entries = [json.loads(line) for line in journals.destroy().data.splitlines()]
    approval = next(e for e in entries if e["event"] == "approval")
    approval["data"]["operation"] = [approval["data"]["operation"]]
    (tmp_path / "x.journal.jsonl").write_bytes(rechained(entries))
    # No token is configured for this process: a refusal after opening one would say so.
    assert main(["record", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ceremony: error: journal entry ") and "a list, not text" in err
    assert not (tmp_path / "record.pdf").exists()


# ---- verify shows its table, never a library's traceback ------------------------------------


def _signed_bundle(folder: Path) -> Path:
    from ceremony.record import sign
    from ceremony.record.verify import REHEARSAL_ORGANIZATION
    from tests.record.certs import software_identity
    from tests.record.test_verify_robust import _OneCertificateSigner

    signer = _OneCertificateSigner(
        software_identity("ceremony signing key", REHEARSAL_ORGANIZATION)
    )
    j = journals.Journal("2025-06-quiet", "destroy")
    j.opening(["so-alice", "so-bob"], signer=signer.certificate_der)
    built = j.finish("nothing destroyed")
    path = journals.write_bundle(folder, built, {})
    sign.write_signed_record(path, sign.build_signed_record(built.data, signer))
    return path


def _verify_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CEREMONY), "verify", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_verify_with_a_trust_anchor_that_does_not_match_prints_no_traceback(
    tmp_path: Path,
) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    from tests.record.certs import software_identity

    bundle = _signed_bundle(tmp_path / "bundle")
    other = x509.load_der_x509_certificate(software_identity("someone else").certificate_der)
    (tmp_path / "other.pem").write_bytes(other.public_bytes(Encoding.PEM))
    result = _verify_cli([str(bundle), "--trust-anchor", "other.pem"], tmp_path)
    assert result.stderr == ""
    assert result.returncode == 1
    assert "FAIL  PDF signature" in result.stdout
    assert "which is not the trust anchor" in " ".join(result.stdout.split())


def test_verify_of_an_incremental_update_after_the_signature_prints_no_traceback(
    tmp_path: Path,
) -> None:
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    bundle = _signed_bundle(tmp_path / "bundle")
    record = bundle / "record.pdf"
    writer = IncrementalPdfFileWriter(io.BytesIO(record.read_bytes()))
    writer.root["/Lang"] = generic.pdf_string("en")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    record.write_bytes(out.getvalue())
    result = _verify_cli([str(bundle)], tmp_path)
    assert result.stderr == ""
    assert result.returncode == 1
    assert "FAIL  PDF signature" in result.stdout
    assert "bytes were added after the signature" in " ".join(result.stdout.split())


# ---- messages that say what happened and what to do ------------------------------------------


@pytest.mark.usefixtures("cheap_scrypt")
def test_ctrl_c_during_engine_work_is_journaled_as_the_operator_stopping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ceremony.engine import flows
    from ceremony.engine.machine import Status
    from tests.engine.helpers import drive, outcome_entries, script_for
    from tests.engine.test_machine import PINS, doc_for, machine_for

    doc = doc_for("split-backup")
    machine, _, _ = machine_for(tmp_path, doc)
    drive(machine, script_for(doc, PINS), until="approve/generate-outside-hsm")

    def interrupted(*args: object, **kwargs: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(flows.xor, "split", interrupted)
    monkeypatch.setattr(flows.shamir, "split", interrupted)
    script = script_for(doc, PINS)
    with pytest.raises(KeyboardInterrupt):
        request = machine.current
        while request is not None:
            value, by = script.answer(request)
            request = machine.answer(value, by=by)
    assert machine.status is Status.ABORTED
    failed = next(e for e in outcome_entries(machine.outcome) if e["event"] == "step_failed")
    assert failed["data"]["error"] == "stopped by the operator (Ctrl-C) before this step was done"
    assert "internal error" not in json.dumps(outcome_entries(machine.outcome))


def test_a_folder_as_the_pkcs11_module_is_named_a_folder(tmp_path: Path) -> None:
    from ceremony.errors import HsmError
    from ceremony.hsm.pkcs11.module import load_module

    with pytest.raises(HsmError, match=r"module .* is a folder, not a module file") as caught:
        load_module(str(tmp_path))
    assert caught.value.hint is not None and "libsofthsm2.so" in caught.value.hint

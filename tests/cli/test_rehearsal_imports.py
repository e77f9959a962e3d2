"""Rehearsal import keys are written whole or not at all: a process killed mid-write leaves no
empty file under a final name, and a rerun into the same folder cleans up and succeeds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from ceremony import output
from ceremony.core.providers import aws, aws_payment, gcp
from ceremony.rehearsal import write_import_keys
from tests.conftest import STUCK
from tests.engine.helpers import import_key_pairs

ROOT = Path(__file__).resolve().parents[2]

# The child writes the import keys with os.write held after the first byte of the GCP job: the
# two files before it are in place, the third is beside its name when the test kills the child.
_CHILD = """
import os, signal, sys
from datetime import UTC, datetime
from pathlib import Path
from ceremony import output
from ceremony.rehearsal import write_import_keys
from tests.engine.helpers import import_key_pairs

folder, marker = Path(sys.argv[1]), Path(sys.argv[2])
real = os.write
calls = []

def held(fd, data):
    calls.append(fd)
    if len(calls) == 3:  # the third file: aws, azure, then gcp
        real(fd, bytes(data[:1]))
        marker.write_text("held")
        while True:
            signal.pause()
    return real(fd, data)

output.os.write = held
write_import_keys(folder, import_key_pairs().public, datetime.now(UTC))
"""


def test_a_kill_mid_write_leaves_no_file_under_its_name_and_a_rerun_succeeds(
    tmp_path: Path,
) -> None:
    folder, marker = tmp_path / "imports", tmp_path / "held"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(folder), str(marker)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + STUCK
    while not marker.exists():
        assert child.poll() is None, child.communicate()[1]
        assert time.monotonic() < deadline, "the child never reached the write"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    names = sorted(p.name for p in folder.iterdir())
    assert "gcp-job.json" not in names  # never an empty or partial file under its final name
    assert {"aws-params.json", "azure-kek.pem"} <= set(names)
    assert any(output.is_partial(n) for n in names), names
    (folder / "aws-params.json").unlink()  # the rehearsal writes a fresh set
    (folder / "azure-kek.pem").unlink()
    write_import_keys(folder, import_key_pairs().public, datetime.now(UTC))
    assert sorted(p.name for p in folder.iterdir()) == [
        "apc-params.json", "aws-params.json", "azure-kek.pem", "gcp-job.json",
    ]  # fmt: skip
    aws.parse_import_parameters((folder / "aws-params.json").read_bytes(), key_id="")
    gcp.parse_import_job((folder / "gcp-job.json").read_bytes(), import_job="")
    assert json.loads((folder / "gcp-job.json").read_text())["state"] == "ACTIVE"
    apc = aws_payment.parse_import_parameters((folder / "apc-params.json").read_bytes())
    assert apc.key_bits == 2048 and apc.root_fingerprint is not None
    aws_payment.require_valid_path(apc, datetime.now(UTC))

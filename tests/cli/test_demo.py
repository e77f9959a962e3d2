"""The terminal rehearsal splits, takes each component back with line checks, matches the KCV."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ceremony.cli import main


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--random", "os"],
        ["demo", "--random", "os", "--scheme", "shamir", "--threshold", "3", "--count", "5"],
        ["demo", "--random", "os", "--algorithm", "TDES", "--length", "16", "--count", "2"],
        ["demo", "--random", "os", "--algorithm", "HMAC", "--length", "48"],
    ],
)
def test_demo_rehearses_split_entry_and_combine(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "REHEARSAL" in out
    assert "refused: value line 01: the check letter does not match" in out
    recorded = re.search(r"recorded KCV: (.+)", out)
    assert recorded
    assert f"matches the recorded KCV {recorded.group(1)}" in out
    # Every KCV shown carries its method.
    for value in re.findall(r"KCV:? ([^\n]+)", out):
        assert re.match(r"(AES-CMAC|TDES-ECB|HMAC-SHA256) [0-9A-F]{6}", value.split("matches")[0])


def test_demo_writes_nothing_to_disk(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ceremony", "demo", "--random", "os"],
        cwd=tmp_path,
        env={"HOME": str(tmp_path), "TMPDIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "nothing was written to disk" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_bad_demo_parameters_are_one_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--random", "os", "--algorithm", "AES", "--length", "20"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ceremony: error: ")
    assert "Traceback" not in err


def test_a_typed_line_that_starts_like_its_number_is_not_taken_for_the_prefix() -> None:
    from ceremony.cli.demo import rehearse
    from ceremony.core import rng
    from ceremony.core.component import KeyAlgorithm, KeyIdentity, Scheme

    # Every value line of the single component starts with the digits of its own line number.
    def typed_without_prefix(form_line: str, prompt: str) -> str:
        return form_line.partition(":")[2].strip()

    counter = iter(range(1, 1000))

    def source(length: int) -> bytes:
        return bytes([0x01, 0x23]) + bytes(next(counter) for _ in range(length - 2))

    identity = KeyIdentity("DEMO", "k", KeyAlgorithm.AES, 16)
    with rng.installed(source, "test"):
        rehearse(identity, Scheme.XOR, 2, 2, typed_without_prefix)

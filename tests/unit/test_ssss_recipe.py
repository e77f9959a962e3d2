"""The escrow recovery recipes of docs/formats.md, run word for word with ssss and pycryptodome."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from Crypto.Protocol.SecretSharing import Shamir

from ceremony.core.component import KeyAlgorithm, KeyIdentity
from tests.conftest import STUCK
from tests.unit.test_shamir import _gf_mul, split_seeded, with_parity
from tests.unit.test_xor import check_value_of

FORMATS = Path(__file__).resolve().parents[2] / "docs" / "formats.md"
SSSS_COMBINE = shutil.which("ssss-combine")
needs_ssss = pytest.mark.skipif(
    SSSS_COMBINE is None,
    reason="ssss-combine not installed (Debian package 'ssss'): the recovery recipe is not checked",
)
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")

# (algorithm, key length, k, n, which shares to hand in): every block count, padding and no padding.
CASES = [
    (KeyAlgorithm.AES, 16, 2, 3, [3, 1]),
    (KeyAlgorithm.AES, 24, 3, 5, [5, 2, 4]),
    (KeyAlgorithm.AES, 32, 3, 5, [1, 3, 5]),
    (KeyAlgorithm.TDES, 8, 2, 2, [2, 1]),
    (KeyAlgorithm.TDES, 16, 2, 4, [4, 3]),
    (KeyAlgorithm.TDES, 24, 3, 5, [4, 2, 1]),
    (KeyAlgorithm.HMAC, 40, 4, 6, [6, 2, 5, 3]),
    (KeyAlgorithm.HMAC, 64, 2, 16, [16, 9]),
]
IDS = [f"{a.value}-{length}-{k}of{n}" for a, length, k, n, _ in CASES]


def recipe(marker: str) -> str:
    """The fenced code block that follows ``<!-- recipe:marker -->`` in docs/formats.md."""
    text = FORMATS.read_text(encoding="utf-8")
    match = re.search(rf"<!-- recipe:{marker} -->\s*```\w+\n(.*?)```", text, re.DOTALL)
    assert match, f"docs/formats.md lost its {marker} recipe"
    return match.group(1)


def key_for(algorithm: KeyAlgorithm, length: int) -> bytes:
    # Distinct, never-repeating bytes (DES3 refuses keys whose parts repeat), first byte zero to
    # catch lost leading zeros (a TDES key carries odd parity, as the tool makes it: 0x01).
    return with_parity(
        bytes((0x00, *((0x3D * i + 0x11) % 256 for i in range(1, length)))), algorithm
    )


def escrow(
    tmp_path: Path, algorithm: KeyAlgorithm, length: int, k: int, n: int, pick: list[int]
) -> tuple[bytes, str]:
    """Split a key as the tool does and write the picked shares as the recipe wants them."""
    key = key_for(algorithm, length)
    identity = KeyIdentity("CER-RECIPE", "escrowed", algorithm, length)
    shares = split_seeded(key, identity, k, n, f"recipe {algorithm.value} {length}".encode())
    lines = [f"{i}-{shares[i - 1].value.reveal().hex().upper()}" for i in pick]
    (tmp_path / "shares.txt").write_text("\n".join(lines) + "\n", encoding="ascii")
    return key, check_value_of(key, identity).hex


def run_shell_recipe(tmp_path: Path, algorithm: KeyAlgorithm, length: int, k: int, kcv: str) -> str:
    script = recipe("ssss-combine")
    script = re.sub(r"^K=\d+", f"K={k}", script, count=1, flags=re.MULTILINE)
    script = re.sub(r"^L=\d+", f"L={length}", script, count=1, flags=re.MULTILINE)
    script = re.sub(r"^ALG=\w+", f"ALG={algorithm.value}", script, count=1, flags=re.MULTILINE)
    script = re.sub(r"^KCV=\w+", f"KCV={kcv}", script, count=1, flags=re.MULTILINE)
    (tmp_path / "recover.sh").write_text(script, encoding="ascii")
    done = subprocess.run(
        ["bash", "recover.sh"], cwd=tmp_path, capture_output=True, text=True, timeout=STUCK
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@needs_ssss
@needs_openssl
@pytest.mark.parametrize(("algorithm", "length", "k", "n", "pick"), CASES, ids=IDS)
def test_ssss_combine_recipe_recovers_the_key(
    tmp_path: Path, algorithm: KeyAlgorithm, length: int, k: int, n: int, pick: list[int]
) -> None:
    key, kcv = escrow(tmp_path, algorithm, length, k, n, pick)
    out = run_shell_recipe(tmp_path, algorithm, length, k, kcv)
    assert out == f"KCV {kcv} matches. Key: {key.hex()}"


@needs_ssss
@needs_openssl
def test_ssss_combine_recipe_stops_on_a_share_from_another_split(tmp_path: Path) -> None:
    key, kcv = escrow(tmp_path, KeyAlgorithm.AES, 16, 2, 3, [1, 2])
    identity = KeyIdentity("CER-RECIPE", "escrowed", KeyAlgorithm.AES, 16)
    stranger = split_seeded(key, identity, 2, 3, b"another split")[1]
    lines = (tmp_path / "shares.txt").read_text(encoding="ascii").splitlines()
    lines[1] = f"2-{stranger.value.reveal().hex()}"
    (tmp_path / "shares.txt").write_text("\n".join(lines) + "\n", encoding="ascii")
    with pytest.raises(AssertionError, match="does not match the escrow sheet"):
        run_shell_recipe(tmp_path, KeyAlgorithm.AES, 16, 2, kcv)


@needs_ssss
@needs_openssl
def test_ssss_combine_recipe_stops_when_the_padding_is_not_zero(tmp_path: Path) -> None:
    _, kcv = escrow(tmp_path, KeyAlgorithm.TDES, 24, 3, 5, [1, 2, 3])
    with pytest.raises(AssertionError, match="padding is not zero"):
        run_shell_recipe(tmp_path, KeyAlgorithm.TDES, 24, 2, kcv)  # wrong threshold


@pytest.mark.parametrize(("algorithm", "length", "k", "n", "pick"), CASES, ids=IDS)
def test_pycryptodome_recipe_recovers_the_key(
    tmp_path: Path, algorithm: KeyAlgorithm, length: int, k: int, n: int, pick: list[int]
) -> None:
    key, kcv = escrow(tmp_path, algorithm, length, k, n, pick)
    code = re.sub(
        r"^K, L, ALG = .*$",
        f"K, L, ALG = {k}, {length}, {algorithm.value!r}",
        recipe("pycryptodome"),
        count=1,
        flags=re.MULTILINE,
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=STUCK,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"KCV {kcv} - compare it with the escrow sheet. Key: {key.hex()}"
    )


@needs_ssss
def test_pycryptodome_default_mode_is_what_ssss_gets_wrong() -> None:
    # pycryptodome#426: shares made without ssss=True come back from ssss-combine off by the
    # interpolated x^k term, which at x = 0 is the product of the indices. ssss mode avoids it.
    secret = bytes.fromhex("6907314a1df0c1d6c43f52924d8f1771")  # the value in the issue
    for ssss_mode, offset in ((False, _gf_mul(3, 4)), (True, 0)):
        shares = Shamir.split(2, 4, secret, ssss=ssss_mode)
        lines = "".join(f"{i}-{v.hex()}\n" for i, v in shares[2:4])
        done = subprocess.run(
            [str(SSSS_COMBINE), "-t", "2", "-x", "-D", "-Q"],
            input=lines,
            capture_output=True,
            text=True,
            timeout=STUCK,
        )
        rebuilt = int(done.stderr.strip().splitlines()[-1], 16)
        assert rebuilt ^ int.from_bytes(secret, "big") == offset


@needs_ssss
def test_golden_shares_of_the_unit_tests_recombine_with_ssss() -> None:
    # The values pinned in test_shamir.py, recovered by the independent C implementation.
    key = bytes.fromhex("00112233445566778899aabbccddeeff")
    identity = KeyIdentity("CER-SSS-TEST", "zmk-main", KeyAlgorithm.AES, 16)
    shares = split_seeded(key, identity, 2, 3, b"shamir golden zmk-main")
    assert shares[2].value.reveal().hex() == "3272f264cfe4b9b1a6c2327eab38a755"
    lines = "".join(f"{s.index}-{s.value.reveal().hex()}\n" for s in shares[1:])
    done = subprocess.run(
        [str(SSSS_COMBINE), "-t", "2", "-x", "-D", "-Q"],
        input=lines,
        capture_output=True,
        text=True,
        timeout=STUCK,
    )
    assert done.stderr.strip().splitlines()[-1] == key.hex()

"""`ceremony record BUNDLE` signs with the token; `ceremony verify` then passes on the bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceremony.cli import main
from ceremony.hsm import pin
from tests.hsm.conftest import HsmUnderTest
from tests.record import journals


def test_record_then_verify(
    hsm: HsmUnderTest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not hsm.is_softhsm:
        pytest.skip("PINs from the environment are for the SoftHSM rehearsal store only")
    monkeypatch.setenv(pin.ENV_USER_PIN, hsm.user_pin)
    monkeypatch.setenv(pin.ENV_SO_PIN, hsm.so_pin)
    built = journals.reconstitute()
    folder = journals.write_bundle(tmp_path / "bundle", built, {})
    assert main(["record", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "signed the record of ceremony 2025-07-zmk-rebuild" in out
    assert (folder / "record.pdf").is_file() and (folder / "journal.sig").is_file()
    assert main(["verify", str(folder)]) == 0, capsys.readouterr().out
    # never overwritten
    assert main(["record", str(folder)]) == 1
    assert (
        "already holds record.pdf and journal.sig: the record is signed" in capsys.readouterr().err
    )

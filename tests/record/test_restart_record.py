"""The record of a restarted ceremony names the aborted one, the key it destroyed and the
components it voided, and its dual-control findings hold for the recovery steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceremony.core import journal
from ceremony.record import model
from ceremony.record.pdf import render_record
from tests.engine.helpers import drive
from tests.engine.test_recovery import new_case, power_cut
from tests.record.pdftools import all_text

pytestmark = pytest.mark.usefixtures("cheap_scrypt")


def test_the_record_of_a_restart_names_what_the_aborted_ceremony_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = new_case("split-backup", tmp_path / "c")
    power_cut(case, monkeypatch, "approve/show-component/rk/2")  # after component 1 was issued
    restart = case.machine()
    drive(restart, case.script())
    data = restart.outcome.journal.read_bytes()
    built = model.build(journal.verify(data, require_closed=True))
    assert [f.detail for f in built.findings if not f.ok] == []
    text = " ".join(all_text(render_record(data)).split())
    assert "restart after the aborted ceremony crash-split-backup" in text
    assert "the orphan left by the interrupted ceremony crash-split-backup" in text
    assert "component(s) 1 (ebrown) of key rk, set crash-split-backup, VOIDED" in text
    assert "approved restart-ceremony of crash-split-backup by amartin" in text

"""The runbook ships with the package; the headless layers never load Textual."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ceremony.tui import runbook

ROOT = Path(__file__).resolve().parents[2]


def test_the_packaged_runbook_is_the_documented_one() -> None:
    docs = (ROOT / "docs" / "ceremony-runbook.md").read_text("utf-8")
    assert runbook.text() == docs, (
        "ceremony/tui/runbook.md differs from docs/ceremony-runbook.md: "
        "cp docs/ceremony-runbook.md ceremony/tui/runbook.md"
    )


def test_runbook_sections_have_do_and_check_lines() -> None:
    sections = runbook.sections()
    assert [s.number for s in sections] == list(range(len(sections)))
    for section in sections:
        assert "- DO:" in section.body and "- CHECK:" in section.body, section.heading
    first = runbook.section(0)
    assert first is not None and runbook.section(first.title.upper()) == first
    assert runbook.section("no such step") is None
    assert runbook.section(None) is None


def test_engine_core_and_cli_do_not_load_textual() -> None:
    code = (
        "import sys\n"
        "import ceremony.core, ceremony.engine, ceremony.hsm, ceremony.errors\n"
        "import pkgutil, importlib\n"
        "for pkg in (ceremony.core, ceremony.engine):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "from ceremony.cli import build_parser\n"
        "build_parser()\n"
        "loaded = sorted(n for n in sys.modules if n == 'textual' or n.startswith('textual.'))\n"
        "assert not loaded, loaded\n"
        "assert not any(n.startswith('ceremony.tui') for n in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_nothing_outside_the_tui_imports_it() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "ceremony").rglob("*.py")
        if "tui" not in path.relative_to(ROOT / "ceremony").parts[:1]
        and path.name != "tui.py"
        and (
            "ceremony.tui" in path.read_text("utf-8") or "import textual" in path.read_text("utf-8")
        )
    ]
    assert offenders == []


def test_ceremony_help_still_works() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ceremony", "--help"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0
    assert "tui" in result.stdout


def test_every_request_step_has_its_runbook_section() -> None:
    from ceremony.engine.step_id import StepId
    from ceremony.tui.requests import runbook_for

    steps = [
        "airgap/choice",
        "roll-call/amartin/present",
        "clock",
        "printer/choice",
        "approve/printer-override/1",
        "approve/confirm-import-key/zmk/aws",
        "import-key/zmk/aws/mismatch",
        "hsm/user-pin/half-1",
        "approve/show-component/zmk/1/1",
        "component/zmk/1/privacy",
        "entry/zmk/2/line-01",
        "finish",
    ]
    for step in steps:
        title = runbook_for(StepId.parse(step))
        assert title is not None and runbook.section(title) is not None, step
    printer, override = StepId.parse("printer/choice"), StepId.parse("approve/printer-override/1")
    assert runbook_for(printer) == runbook_for(override) == "Clock"

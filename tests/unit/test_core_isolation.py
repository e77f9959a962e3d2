"""The core stays pure: no front-end, HSM, PDF or I/O module may load with it."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import ceremony.core

FORBIDDEN_LOADED = ("textual", "pkcs11", "reportlab", "pyhanko", "qrcode")
# Modules whose import in core source would mean I/O or a front end.
FORBIDDEN_IMPORTS = {
    "textual",
    "pkcs11",
    "reportlab",
    "pyhanko",
    "qrcode",
    "socket",
    "subprocess",
    "pathlib",
    "shutil",
    "tempfile",
    "io",
    "logging",
    "ceremony.hsm",
    "ceremony.cli",
    "ceremony.tui",
    "ceremony.record",
    "ceremony.engine",
}
FORBIDDEN_CALLS = {"open", "print", "input", "exec", "eval"}

CORE_DIR = Path(ceremony.core.__file__).parent


def core_module_names() -> list[str]:
    prefix = "ceremony.core."
    return ["ceremony.core"] + [
        m.name for m in pkgutil.walk_packages([str(CORE_DIR)], prefix=prefix)
    ]


def test_importing_core_loads_no_io_or_frontend_module() -> None:
    script = (
        "import importlib, json, sys\n"
        f"for name in {core_module_names()!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", script], check=True, capture_output=True, text=True
        ).stdout
    )
    offenders = [m for m in loaded if m.split(".")[0] in FORBIDDEN_LOADED]
    assert offenders == []


def test_core_source_imports_and_calls_nothing_with_io() -> None:
    problems: list[str] = []
    for path in sorted(CORE_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_IMPORTS):
                    problems.append(f"{path.name}:{node.lineno} imports {name}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in FORBIDDEN_CALLS
            ):
                problems.append(f"{path.name}:{node.lineno} calls {node.func.id}()")
    assert problems == []

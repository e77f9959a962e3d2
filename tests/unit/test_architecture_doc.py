"""docs/architecture.md lists every module of the package, with its docstring's first line."""

from __future__ import annotations

import ast
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def layout_lines() -> list[str]:
    """The Layout tree: folders, then each module with the first line of its docstring."""
    lines: list[str] = []
    for folder, subfolders, files in os.walk(ROOT / "ceremony"):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        rel = Path(folder).relative_to(ROOT)
        depth = len(rel.parts) - 1
        lines.append("  " * depth + rel.name + "/")
        for name in sorted(f for f in files if f.endswith(".py")):
            tree = ast.parse((Path(folder) / name).read_text(encoding="utf-8"))
            doc = (ast.get_docstring(tree) or "").split("\n")[0]
            lines.append(f"{'  ' * (depth + 1)}{name:<24} {doc}".rstrip())
    return lines


def test_every_module_is_in_the_layout_tree() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = text.split("## Layout", 1)[1].split("```", 2)[1].strip("\n").splitlines()
    assert [line.rstrip() for line in block] == layout_lines(), (
        "docs/architecture.md ## Layout is out of date: print layout_lines() and paste it"
    )


def test_every_module_has_a_one_line_docstring() -> None:
    missing = [line for line in layout_lines() if line.endswith(".py")]
    assert not missing

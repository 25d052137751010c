"""Sizes of the orchestration, the reports and the CLI: no function over 60 lines, no class over 250.

Counted from ``def``/``class`` to its last line as :mod:`ast` gives them (decorators not included).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("migrator/orchestrate", "migrator/report", "migrator/cli")
MAX_FUNCTION = 60
MAX_CLASS = 250


def too_long(root: Path, folder: str) -> list[str]:
    """Every function or class under ``folder`` over its limit, as ``file:line name (n lines)``."""
    found = []
    for path in sorted((root / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                limit = MAX_FUNCTION
            elif isinstance(node, ast.ClassDef):
                limit = MAX_CLASS
            else:
                continue
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > limit:
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({lines} lines)")
    return found


@pytest.mark.parametrize("folder", FOLDERS)
def test_no_function_or_class_is_over_its_limit(folder: str) -> None:
    assert too_long(ROOT, folder) == []


def test_a_long_function_is_reported(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION))
    (tmp_path / "pkg" / "long.py").write_text(f"def long():\n{body}\n", encoding="utf-8")
    assert too_long(tmp_path, "pkg") == [f"pkg/long.py:1 long ({MAX_FUNCTION + 1} lines)"]

"""Sizes in ``migrator/``: no function over 60 lines, no class over 250.

A size is counted as ``ast`` reads it: from the ``def``/``class`` line to its last line
(``end_lineno - lineno + 1``); decorators are not counted. Nested functions and methods count on their own too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.source_tree import ROOT, copy_sources, parse, python_files

LIMITS = {"function": 60, "class": 250}


def _kind(node: ast.AST) -> str | None:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return "function"
    if isinstance(node, ast.ClassDef):
        return "class"
    return None


def _oversized_in(node: ast.AST, rel: str, prefix: str) -> list[str]:
    found = []
    for child in ast.iter_child_nodes(node):
        kind = _kind(child)
        name = prefix
        if kind is not None:
            assert isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            name = f"{prefix}{child.name}"
            lines = (child.end_lineno or child.lineno) - child.lineno + 1
            if lines > LIMITS[kind]:
                found.append(f"{rel}:{child.lineno} {kind} {name} is {lines} lines (limit {LIMITS[kind]})")
            name += "."
        found += _oversized_in(child, rel, name)
    return found


def oversized(root: Path) -> list[str]:
    """Every function and class in ``root/migrator`` over its limit, as ``file:line kind name is N lines``."""
    found = []
    for path in python_files(root, "migrator"):
        found += _oversized_in(parse(path), path.relative_to(root).as_posix(), "")
    return found


def test_no_function_or_class_is_over_its_limit() -> None:
    assert oversized(ROOT) == []


def _function(lines: int, name: str = "planted") -> str:
    """A function of exactly ``lines`` lines (def line included)."""
    return f"def {name}() -> None:\n" + "    pass\n" * (lines - 1)


def _class(lines: int) -> str:
    return "class Planted:\n" + "    x = 1\n" * (lines - 1)


@pytest.mark.parametrize(
    ("planted", "expected"),
    [
        (_function(61), [(0, "function planted is 61 lines (limit 60)")]),
        (_function(60), []),
        ("@staticmethod\n@staticmethod\n" + _function(60), []),  # decorators are not counted
        ("class Box:\n" + "\n".join("    " + line for line in _function(61).splitlines()), [(1, "Box.planted is 61")]),
        (_class(251), [(0, "class Planted is 251 lines (limit 250)")]),
        (_class(250), []),
    ],
    ids=["function-61", "function-60", "decorated-60", "method-61", "class-251", "class-250"],
)
def test_a_planted_oversized_piece_is_reported(tmp_path: Path, planted: str, expected: list[tuple[int, str]]) -> None:
    """A size over the limit is reported with its file, line and name; one at the limit is not."""
    copy_sources(ROOT, tmp_path, ("migrator",))
    target = tmp_path / "migrator/core/errors.py"
    before = target.read_text(encoding="utf-8")
    target.write_text(before + "\n\n" + planted, encoding="utf-8")
    baseline = oversized(ROOT)
    new = [found for found in oversized(tmp_path) if found not in baseline]
    assert len(new) == len(expected), new
    first_line = len(before.splitlines()) + 3
    for found, (offset, text) in zip(new, expected, strict=True):
        assert found.startswith(f"migrator/core/errors.py:{first_line + offset} ") and text in found, found

"""Reading the repository's Python sources (ast) and copying them, for the tests that hold the code's shape."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_FOLDERS = ("migrator", "stacks", "functions")


def python_files(root: Path, folder: str) -> list[Path]:
    """Every ``.py`` file below ``root/folder``, sorted; none when the folder does not exist."""
    return sorted(p for p in (root / folder).rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path: Path, root: Path) -> str:
    """``migrator/core/derive.py`` → ``migrator.core.derive``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def parse(path: Path) -> ast.Module:
    """The syntax tree of one source file (shared between calls on the same text: do not change it)."""
    return _tree(path.read_text(encoding="utf-8"))


@functools.cache
def _tree(text: str) -> ast.Module:
    # Keyed by the text: the tests read the same files again in each copy of the tree.
    return ast.parse(text)


def imports_of(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """``(line, dotted module)`` of every import in ``path`` (at any depth: in functions and under
    ``TYPE_CHECKING`` too), relative ones resolved; ``from x import y`` gives both ``x`` and ``x.y`` (y may be a
    module)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return iter(_imports(path.read_text(encoding="utf-8"), package))


@functools.cache
def _imports(text: str, package: str) -> tuple[tuple[int, str], ...]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(_tree(text)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, package)
            found.append((node.lineno, module))
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return tuple(found)


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join(base + ([node.module] if node.module else []))


def copy_sources(root: Path, target: Path, folders: Iterable[str] = SOURCE_FOLDERS) -> None:
    """Copy the ``.py`` files of ``folders`` from ``root`` to ``target``, keeping their paths."""
    for folder in folders:
        for path in python_files(root, folder):
            copy = target / path.relative_to(root)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")

"""The layers of the code base, read from every module's imports (ast), so a break names its file and import.

- ``migrator/core``: pure; no AWS SDK, no Pulumi, nothing of the other layers.
- ``migrator/data``: the boto3 data plane; no Pulumi, no engine, no program, nothing above it.
- ``migrator/engine``: the Automation API side; the core only; the one place that imports pulumi.automation.
- ``migrator/program``: Pulumi program blocks; the core only (besides pulumi and pulumi_aws).
- ``stacks``: the example program, as a user would write it: ``migrator.program`` and ``migrator.core``.
- ``functions``: Lambda code: ``migrator.core`` only.
- typer: ``migrator/cli`` alone. ``migrator/__init__.py`` and ``migrator/core/__init__.py`` import nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SDKS = ("boto3", "botocore", "pulumi", "pulumi_aws")
EXECUTOR = (
    "migrator.orchestrate.migration",
    "migrator.orchestrate.steps",
    "migrator.report.results",
    "migrator.demo.local",
    "migrator.cli",
    "migrator.orchestrate.stream_steps",
    "migrator.orchestrate.cutover_steps",
    "migrator.demo.consumer",
)


@dataclass(frozen=True)
class Rule:
    """Modules under ``folder`` must not import any module in ``banned`` (a prefix match on dotted names)."""

    folder: str
    banned: tuple[str, ...] = ()
    only_migrator: tuple[str, ...] | None = None  # when set: the only migrator packages it may import

    def breaks(self, imported: str) -> bool:
        if any(imported == b or imported.startswith(b + ".") for b in self.banned):
            return True
        if self.only_migrator is not None and (imported == "migrator" or imported.startswith("migrator.")):
            allowed = (*self.only_migrator, self.folder.replace("/", "."))  # a layer may use its own modules
            return not any(imported == p or imported.startswith(p + ".") for p in allowed)
        return False


RULES = (
    Rule(
        "migrator/core",
        banned=(*SDKS, "migrator.data", "migrator.engine", "migrator.program", *EXECUTOR),
        only_migrator=("migrator.core",),
    ),
    Rule("migrator/data", banned=("pulumi", "pulumi_aws", "migrator.engine", "migrator.program", *EXECUTOR)),
    Rule("migrator/engine", only_migrator=("migrator.core",)),
    Rule("migrator/program", banned=("boto3", "botocore", "pulumi.automation"), only_migrator=("migrator.core",)),
    Rule("stacks", banned=("boto3", "botocore"), only_migrator=("migrator.program", "migrator.core")),
    Rule("functions", banned=("pulumi", "pulumi_aws"), only_migrator=("migrator.core",)),
)


def module_name(path: Path, root: Path) -> str:
    """``migrator/core/derive.py`` → ``migrator.core.derive``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """``(line, dotted module)`` of every import in ``path``, relative ones resolved; ``from x import y`` gives
    both ``x`` and ``x.y`` (y may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def python_files(root: Path, folder: str) -> list[Path]:
    return sorted(p for p in (root / folder).rglob("*.py") if "__pycache__" not in p.parts)


def violations(root: Path) -> list[str]:
    """Every import that breaks a layer rule, as ``file:line imports module``."""
    found = []
    for rule in RULES:
        for path in python_files(root, rule.folder):
            reported: set[int] = set()  # one report per import statement, naming its first offending module
            for line, module in imports_of(path, root):
                if rule.breaks(module) and line not in reported:
                    reported.add(line)
                    found.append(f"{path.relative_to(root)}:{line} imports {module} ({rule.folder} may not)")
    # Not the venv, nor mutmut's copy of the tree (./mutants, see the README's mutation testing).
    for path in [p for p in python_files(root, ".") if not {".venv", "mutants"} & set(p.relative_to(root).parts)]:
        rel = path.relative_to(root).as_posix()
        for line, module in imports_of(path, root):
            if module.split(".")[0] == "typer" and not rel.startswith("migrator/cli/") and not rel.startswith("tests/"):
                found.append(f"{rel}:{line} imports typer (only migrator/cli may)")
            if (
                module.startswith("pulumi.automation")
                and rel.startswith("migrator/")
                and rel != ("migrator/engine/workspace.py")
            ):
                found.append(f"{rel}:{line} imports {module} (only migrator/engine/workspace.py may)")
    for rel in ("migrator/__init__.py", "migrator/core/__init__.py"):
        for line, module in imports_of(root / rel, root):
            found.append(f"{rel}:{line} imports {module} (it is shipped in the Lambda archive: import nothing)")
    return found


def test_every_module_keeps_to_its_layer() -> None:
    assert violations(ROOT) == []


@pytest.mark.parametrize(
    ("rel", "line", "expected"),
    [
        ("migrator/core/derive.py", "import boto3", "migrator/core/derive.py:1 imports boto3"),
        ("migrator/core/guard.py", "from ..data import aws", "migrator/core/guard.py:1 imports migrator.data"),
        ("migrator/data/verify/run.py", "from ...program import MigratingTable", "imports migrator.program"),
        ("migrator/data/export/run.py", "import pulumi", "migrator/data/export/run.py:1 imports pulumi"),
        ("migrator/program/plan.py", "from ..data.aws import AwsSettings", "imports migrator.data.aws"),
        ("stacks/app.py", "from migrator.engine.workspace import PulumiWorkspace", "imports migrator.engine"),
        ("functions/hello_world/handler.py", "from migrator.data import aws", "imports migrator.data"),
        ("migrator/data/aws.py", "import typer", "imports typer (only migrator/cli may)"),
        ("migrator/core/__init__.py", "import json", "migrator/core/__init__.py:1 imports json"),
    ],
)
def test_a_broken_rule_is_reported_with_its_file_and_import(tmp_path: Path, rel: str, line: str, expected: str) -> None:
    """Each rule can fail: a copy of the tree with one bad import added reports exactly that import."""
    for folder in ("migrator", "stacks", "functions"):
        for path in python_files(ROOT, folder):
            target = tmp_path / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    broken = tmp_path / rel
    broken.write_text(line + "\n" + broken.read_text(encoding="utf-8"), encoding="utf-8")
    found = violations(tmp_path)
    assert len(found) == 1 and expected in found[0], found

"""The layers of the code base, read from every module's imports (ast), so a break names its file and import.

- ``migrator/core``: pure; no AWS SDK, no Pulumi, nothing outside the core.
- ``migrator/data``: the boto3 data plane; no Pulumi, nothing of engine, program, orchestrate, report, demo,
  cli or api.
- ``migrator/engine``: the Automation API side; the core only; ``migrator/engine/workspace.py`` is the one
  module that imports ``pulumi.automation``.
- ``migrator/program``: Pulumi program blocks; the core only (besides pulumi and pulumi_aws; no boto3, no
  automation).
- ``migrator/report``: what is shown to people; the core only, no SDK.
- ``migrator/orchestrate``: drives a migration; core, data, engine and report (not program, demo, cli, api).
- ``migrator/demo``: anything but the cli.
- ``migrator/cli``: anything; the one place that imports typer.
- ``migrator/api.py``: re-exports only (imports and ``__all__``), and not the cli.
- ``stacks``: the example program, as a user would write it: ``migrator.program`` and ``migrator.core``.
- ``functions``: Lambda code: ``migrator.core`` only.
- pyspark: ``migrator/data/spark/job.py`` alone, and ``import migrator`` (its packages, the cli, the api and
  the Spark entry point) works without the ``spark`` extra.
- ``migrator/__init__.py`` and ``migrator/core/__init__.py`` import nothing (the Lambda archive ships them).
- No import circle among ``migrator`` modules, counting imports inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.source_tree import ROOT, copy_sources, imports_of, module_name, parse, python_files

SDKS = ("boto3", "botocore", "pulumi", "pulumi_aws")
AUTOMATION_HOME = "migrator/engine/workspace.py"
SPARK_HOME = "migrator/data/spark/job.py"
API = "migrator/api.py"


@dataclass(frozen=True)
class Rule:
    """Modules under ``folder`` must not import any module in ``banned`` (a prefix match on dotted names)."""

    folder: str
    banned: tuple[str, ...] = ()
    only_migrator: tuple[str, ...] | None = None  # when set: the only migrator packages it may import

    def breaks(self, imported: str) -> bool:
        """Whether importing ``imported`` from this folder breaks the rule."""
        if any(_within(imported, b) for b in self.banned):
            return True
        if self.only_migrator is not None and _within(imported, "migrator"):
            allowed = (*self.only_migrator, self.folder.replace("/", "."))  # a layer may use its own modules
            return not any(_within(imported, p) for p in allowed)
        return False


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


RULES = (
    Rule("migrator/core", banned=SDKS, only_migrator=("migrator.core",)),
    Rule(
        "migrator/data",
        banned=(
            "pulumi",
            "pulumi_aws",
            *(f"migrator.{layer}" for layer in ("engine", "program", "orchestrate", "report", "demo", "cli", "api")),
        ),
    ),
    Rule("migrator/engine", only_migrator=("migrator.core",)),
    Rule("migrator/program", banned=("boto3", "botocore", "pulumi.automation"), only_migrator=("migrator.core",)),
    Rule("migrator/report", banned=SDKS, only_migrator=("migrator.core",)),
    Rule(
        "migrator/orchestrate",
        only_migrator=("migrator.core", "migrator.data", "migrator.engine", "migrator.report"),
    ),
    Rule("migrator/demo", banned=("migrator.cli",)),
    Rule("stacks", banned=("boto3", "botocore"), only_migrator=("migrator.program", "migrator.core")),
    Rule("functions", banned=("pulumi", "pulumi_aws"), only_migrator=("migrator.core",)),
)


SKIPPED = {".venv", "mutants", "tests", "__pycache__", ".git"}


def _outside_tests(root: Path) -> Iterator[Path]:
    # Not the venv, nor mutmut's copy of the tree (./mutants, see the README's mutation testing).
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d not in SKIPPED and not d.startswith("."))
        yield from (Path(folder) / f for f in sorted(files) if f.endswith(".py"))


def folder_violations(root: Path) -> list[str]:
    """Every import that breaks a folder's :data:`RULES`, one report per import statement."""
    found = []
    for rule in RULES:
        for path in python_files(root, rule.folder):
            reported: set[int] = set()  # one report per import statement, naming its first offending module
            for line, module in imports_of(path, root):
                if rule.breaks(module) and line not in reported:
                    reported.add(line)
                    found.append(f"{path.relative_to(root)}:{line} imports {module} ({rule.folder} may not)")
    return found


SINGLE_HOMES = (
    ("typer", "migrator/cli/", "migrator/cli"),
    ("pulumi.automation", AUTOMATION_HOME, AUTOMATION_HOME),
    ("pyspark", SPARK_HOME, SPARK_HOME),
)


def single_home_violations(root: Path) -> list[str]:
    """typer outside ``migrator/cli``, ``pulumi.automation`` outside the workspace, pyspark outside the Spark job
    (the tests may use typer's runner and Spark's session), one report per import statement and package."""
    found = []
    for path in _outside_tests(root):
        rel = path.relative_to(root).as_posix()
        reported: set[tuple[int, str]] = set()
        for line, module in imports_of(path, root):
            for package, home, name in SINGLE_HOMES:
                if _within(module, package) and not rel.startswith(home) and (line, package) not in reported:
                    reported.add((line, package))
                    found.append(f"{rel}:{line} imports {module} (only {name} may)")
    return found


def api_violations(root: Path) -> list[str]:
    """``migrator/api.py`` holds imports and ``__all__`` only, and does not import the cli."""
    path = root / API
    if not path.exists():
        return []
    found = []
    for node in parse(path).body:
        if not _re_export_statement(node):
            found.append(f"{API}:{node.lineno} defines {type(node).__name__} (it only re-exports)")
    reported: set[int] = set()
    for line, module in imports_of(path, root):
        if _within(module, "migrator.cli") and line not in reported:
            reported.add(line)
            found.append(f"{API}:{line} imports {module} (the api may not import the cli)")
    return found


def _re_export_statement(node: ast.stmt) -> bool:
    if isinstance(node, ast.Import | ast.ImportFrom):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
        return True  # the docstring
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return bool(targets) and all(isinstance(t, ast.Name) and t.id == "__all__" for t in targets)


def empty_init_violations(root: Path) -> list[str]:
    """``migrator/__init__.py`` and ``migrator/core/__init__.py`` import nothing."""
    found = []
    for rel in ("migrator/__init__.py", "migrator/core/__init__.py"):
        for line, module in imports_of(root / rel, root):
            found.append(f"{rel}:{line} imports {module} (it is shipped in the Lambda archive: import nothing)")
    return found


def violations(root: Path) -> list[str]:
    """Every import that breaks a layer rule, as ``file:line imports module (why)``."""
    return [
        *folder_violations(root),
        *single_home_violations(root),
        *api_violations(root),
        *empty_init_violations(root),
    ]


# --- import circles ---------------------------------------------------------------------------------------


def import_graph(root: Path) -> dict[str, dict[str, str]]:
    """``module → {imported migrator module: "file:line" of its first import}``, for every ``migrator`` module.

    ``from x import y`` points at the module ``x.y`` when there is one, else at ``x``; the parent packages an
    import runs on the way are not edges (they would make each package ``__init__`` that names its own
    modules a circle with them)."""
    paths = {module_name(p, root): p for p in python_files(root, "migrator")}
    graph: dict[str, dict[str, str]] = {}
    for name, path in paths.items():
        edges: dict[str, str] = {}
        by_line: dict[int, list[str]] = {}
        for line, module in imports_of(path, root):
            by_line.setdefault(line, []).append(module)
        for line, modules in by_line.items():
            for target in _targets(modules, paths):
                if target != name:
                    edges.setdefault(target, f"{path.relative_to(root).as_posix()}:{line}")
        graph[name] = edges
    return graph


def _targets(modules: list[str], known: dict[str, Path]) -> set[str]:
    # One statement's names: drop a package when the statement names a module inside it (``from x import y``).
    found = {m for m in modules if m in known}
    return {m for m in found if not any(other.startswith(m + ".") for other in found)}


def strongly_connected(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """The strongly connected components of ``graph`` with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def circles(root: Path) -> list[str]:
    """Each import circle among ``migrator`` modules: its modules, then every import that closes it."""
    graph = import_graph(root)
    found = []
    for component in strongly_connected(graph):
        members = set(component)
        edges = sorted(
            f"{where} imports {target}" for m in component for target, where in graph[m].items() if target in members
        )
        found.append(f"circle of {', '.join(component)}: {'; '.join(edges)}")
    return found


# --- the tests --------------------------------------------------------------------------------------------


def test_every_module_keeps_to_its_layer() -> None:
    assert violations(ROOT) == []


def test_migrator_imports_without_the_spark_extra() -> None:
    """pyspark made unimportable, as on a machine without the extra: every module but the job imports, and the
    Spark entry points fail only when called."""
    code = (
        "import sys, importlib, pkgutil; sys.modules['pyspark'] = None\n"
        "import migrator\n"
        "names = [m.name for m in pkgutil.walk_packages(migrator.__path__, 'migrator.')]\n"
        "for name in names:\n"
        "    if name != 'migrator.data.spark.job':\n"
        "        importlib.import_module(name)\n"
        "import migrator.data.spark as spark\n"
        "try:\n    spark.verify_exports_spark\nexcept ImportError:\n    print('lazy', len(names))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    word, count = done.stdout.split()
    assert word == "lazy" and int(count) > 50, done.stdout


def test_no_import_circle_among_migrator_modules() -> None:
    assert circles(ROOT) == []


def _plant(tmp_path: Path, rel: str, text: str, *, at_end: bool = False) -> None:
    """A copy of the tree at ``tmp_path`` with ``text`` added to ``rel`` (a new file when there is none)."""
    copy_sources(ROOT, tmp_path)
    target = tmp_path / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.read_text(encoding="utf-8") if target.exists() else ""
    target.write_text(old + "\n" + text + "\n" if at_end else text + "\n" + old, encoding="utf-8")


@pytest.mark.parametrize(
    ("rel", "line", "expected"),
    [
        ("migrator/core/derive.py", "import boto3", "migrator/core/derive.py:1 imports boto3"),
        ("migrator/core/guard.py", "from ..data import aws", "migrator/core/guard.py:1 imports migrator.data"),
        ("migrator/core/stages.py", "from migrator.report import results", "imports migrator.report"),
        ("migrator/data/verify/run.py", "from ...program import MigratingTable", "imports migrator.program"),
        ("migrator/data/export/run.py", "import pulumi", "migrator/data/export/run.py:1 imports pulumi"),
        ("migrator/data/aws.py", "from migrator.engine import workspace", "imports migrator.engine"),
        ("migrator/data/stream/freeze.py", "from migrator.orchestrate import lock", "imports migrator.orchestrate"),
        ("migrator/data/rejects.py", "from migrator.report import results", "imports migrator.report"),
        ("migrator/data/wire.py", "from migrator.demo import local", "imports migrator.demo"),
        ("migrator/data/workers.py", "from migrator.cli import app", "imports migrator.cli"),
        ("migrator/data/describe.py", "from migrator.api import Migration", "imports migrator.api"),
        ("migrator/engine/state.py", "from migrator.data import aws", "imports migrator.data"),
        ("migrator/engine/state.py", "from pulumi import automation", "imports pulumi.automation (only"),
        ("migrator/program/plan.py", "from ..data.aws import AwsSettings", "imports migrator.data.aws"),
        ("migrator/program/plan.py", "import boto3", "migrator/program/plan.py:1 imports boto3"),
        ("migrator/report/results.py", "import boto3", "migrator/report/results.py:1 imports boto3"),
        ("migrator/report/spec_view.py", "from migrator.data import aws", "imports migrator.data"),
        ("migrator/orchestrate/lock.py", "from migrator.program import plan", "imports migrator.program"),
        ("migrator/orchestrate/steps.py", "from migrator.demo import local", "imports migrator.demo"),
        ("migrator/orchestrate/steps.py", "from migrator.cli import app", "imports migrator.cli"),
        ("migrator/orchestrate/steps.py", "from migrator.api import Migration", "imports migrator.api"),
        ("migrator/demo/local.py", "from migrator.cli import app", "imports migrator.cli"),
        ("migrator/api.py", "def helper() -> None: ...", "migrator/api.py:1 defines FunctionDef"),
        ("migrator/api.py", "from migrator.cli import app", "migrator/api.py:1 imports migrator.cli (the api"),
        ("stacks/app.py", "from migrator.engine.workspace import PulumiWorkspace", "imports migrator.engine"),
        ("functions/hello_world/handler.py", "from migrator.data import aws", "imports migrator.data"),
        ("migrator/data/aws.py", "import typer", "migrator/data/aws.py:1 imports typer (only migrator/cli may)"),
        (
            "migrator/data/export/run.py",
            "from pyspark.sql import SparkSession",
            f"run.py:1 imports pyspark.sql (only {SPARK_HOME} may)",
        ),
        ("migrator/core/__init__.py", "import json", "migrator/core/__init__.py:1 imports json"),
    ],
)
def test_a_broken_rule_is_reported_with_its_file_and_import(tmp_path: Path, rel: str, line: str, expected: str) -> None:
    """Each rule can fail: a copy of the tree with one bad import added reports exactly that import."""
    _plant(tmp_path, rel, line)
    found = violations(tmp_path)
    assert len(found) == 1 and expected in found[0], found


def test_the_spark_job_and_a_plain_api_are_allowed(tmp_path: Path) -> None:
    """The rules' exceptions hold: pyspark in the Spark job, imports and ``__all__`` in the api."""
    _plant(tmp_path, SPARK_HOME, "from pyspark.sql import SparkSession")
    _plant(tmp_path, API, '"""The public names."""\nfrom migrator.core.errors import MigrationError\n__all__ = ["X"]')
    assert violations(tmp_path) == violations(ROOT)


@pytest.mark.parametrize(
    "planted",
    [
        "def _late() -> None:\n    from migrator.core import urns  # noqa: F401",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .urns import role_of",
        "import migrator.core.urns",
    ],
    ids=["call-time", "type-checking", "top-level"],
)
def test_a_planted_circle_is_reported_with_the_imports_that_close_it(tmp_path: Path, planted: str) -> None:
    """``urns`` imports ``errors``; ``errors`` importing ``urns`` back (in any form) is one new circle."""
    _plant(tmp_path, "migrator/core/errors.py", planted, at_end=True)
    baseline = circles(ROOT)
    new = [c for c in circles(tmp_path) if c not in baseline]
    assert len(new) == 1, new
    assert new[0].startswith("circle of migrator.core.errors, migrator.core.urns: "), new
    assert "migrator/core/errors.py:" in new[0] and "imports migrator.core.urns" in new[0], new
    assert "migrator/core/urns.py:20 imports migrator.core.errors" in new[0], new


def test_a_longer_circle_is_one_component() -> None:
    graph = {"a": {"b": "a.py:1"}, "b": {"c": "b.py:1"}, "c": {"a": "c.py:1"}, "d": {"a": "d.py:1"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]

"""Build step: ship the example Pulumi project as package data, copied from its one source at the root.

The root's ``__main__.py``, ``stacks/`` and ``functions/`` stay where ``pulumi up`` runs them; a built
distribution gets a copy under ``migrator/demo/example/`` so that ``migrate demo`` finds the project
when the package is installed (``migrator.demo.project.project_source``). Editable installs need no
copy: they find the root itself. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# The same three as migrator.demo.project.PROJECT_FILES (this file runs before the package is importable).
PROJECT_FILES = ("__main__.py", "stacks", "functions")
TARGET = Path("migrator", "demo", "example")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")


class BuildWithExample(build_py):
    """``build_py`` that also copies the example project into the build tree."""

    def run(self) -> None:
        super().run()
        if not getattr(self, "editable_mode", False):
            self._copy_example()

    def _copy_example(self) -> None:
        dest = Path(self.build_lib) / TARGET
        shutil.rmtree(dest, ignore_errors=True)  # a previous build's copy may hold files since removed
        dest.mkdir(parents=True)
        for name in PROJECT_FILES:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, dest / name, ignore=SKIP)
            else:
                shutil.copy2(source, dest / name)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        example = Path(self.build_lib) / TARGET
        copied = [str(p) for p in example.rglob("*") if p.is_file()] if example.is_dir() else []
        return [*super().get_outputs(include_bytecode), *copied]


setup(cmdclass={"build_py": BuildWithExample})

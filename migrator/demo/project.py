"""The example Pulumi project the demo runs: ``__main__.py``, ``stacks/`` and ``functions/``.

Their one source is the repository's root, where ``pulumi up`` runs them. A built distribution carries
a copy made at build time (``setup.py`` copies them into ``migrator/demo/example/``), so an installed
package finds them there; a checkout or an editable install finds them at the repository's root.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from migrator.core.errors import BadInputError

# What the demo copies into its throwaway project; setup.py ships them as package data.
PROJECT_FILES = ("__main__.py", "stacks", "functions")  # setup.py lists the same three: it cannot import this
HANDLER = Path("functions", "hello_world", "handler.py")
PACKAGED = Path(__file__).resolve().parent / "example"
CHECKOUT = Path(__file__).resolve().parents[2]


def _complete(folder: Path) -> bool:
    return all((folder / path).is_file() for path in ("__main__.py", Path("stacks", "app.py"), HANDLER))


def project_source() -> Path:
    """The folder holding the example program: the installed package's copy, else the repository's root.

    Raises :class:`BadInputError` (exit 2) when neither holds it, e.g. a distribution built without them.
    """
    for folder in (PACKAGED, CHECKOUT):
        if _complete(folder):
            return folder
    raise BadInputError(
        f"The example Pulumi project (__main__.py, stacks/, functions/) is neither in {PACKAGED} nor in {CHECKOUT}.",
        hint="Reinstall table-migration from its repository (pip install '.[demo]'), or run from a checkout.",
    )


def handler_path() -> Path:
    """The consumer Lambda's handler, ``functions/hello_world/handler.py``, of :func:`project_source`."""
    return project_source() / HANDLER


def write_project(dest: Path, *, source: Path | None = None) -> Path:
    """Copy the Pulumi program into ``dest`` with a Pulumi.yaml whose virtualenv is the running one."""
    source = source or project_source()
    dest.mkdir(parents=True, exist_ok=True)
    venv = Path(sys.prefix)  # the program imports this package, installed in the running environment
    (dest / "Pulumi.yaml").write_text(
        "name: table-migration\n"
        "description: Local rehearsal of table-migration (migrate demo).\n"
        "runtime:\n"
        "  name: python\n"
        "  options:\n"
        "    toolchain: pip\n"
        f"    virtualenv: {venv}\n"
    )
    for name in PROJECT_FILES:
        path = source / name
        if path.is_dir():
            shutil.copytree(path, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif path.is_file():
            shutil.copy2(path, dest / name)
    return dest

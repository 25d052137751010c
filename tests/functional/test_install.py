"""The package installed as a user installs it: ``pip install '.[demo]'`` (not editable) into a fresh venv.

The repository is copied first (no build output lands in the working tree), installed from the copy,
and ``migrate demo`` runs from an empty folder: it must find the example project inside the installed
package, start moto and reach its first Pulumi call. Takes a minute or two (pip's cache helps); select
it alone with ``pytest -m install``, leave it out with ``-m 'not install'``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.install,
    pytest.mark.skipif(sys.platform == "win32", reason="the fake pulumi CLI is a POSIX script"),
]

REPO = Path(__file__).resolve().parents[2]
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", "mutants", "out"
)
FAKE_PULUMI = """\
#!{python}
# Answers `pulumi version`; any other command records where it ran and what that folder held, then fails.
import json, os, sys
if sys.argv[1:2] == ["version"]:
    print("v3.999.0")
    sys.exit(0)
files = sorted(os.path.relpath(os.path.join(d, f)) for d, _, names in os.walk(".") for f in names)
project = open("Pulumi.yaml").read() if os.path.isfile("Pulumi.yaml") else None
with open({record!r}, "a") as out:
    out.write(json.dumps({{"args": sys.argv[1:], "files": files, "project": project}}) + "\\n")
sys.stderr.write("error: this pulumi is a test double\\n")
sys.exit(1)
"""


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with ``<copy of the repository>[demo]`` installed from source, not editable."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # --no-compile: byte-compiling pulumi_aws's thousands of modules takes half the install's time.
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile", "--disable-pip-version-check"]
    done = subprocess.run(
        [*pip, f"{source}[demo]"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return venv


def _environment(home: Path, path: list[Path]) -> dict[str, str]:
    """A clean environment: a home with no ~/.pulumi, a PATH of ``path`` only, no Pulumi or AWS settings."""
    keep = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")}
    return {**keep, "HOME": str(home), "PATH": os.pathsep.join(str(p) for p in path)}


def _migrate(venv: Path, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "migrate"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_installed_package_carries_the_example_project(venv: Path, tmp_path: Path) -> None:
    # When the installed package is asked where the example project is, from an empty folder
    code = "from migrator.demo.project import project_source; print(project_source())"
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )

    # then it is inside the installed package, with the program, the app and the handler.
    assert done.returncode == 0, done.stderr
    found = Path(done.stdout.strip())
    assert found.is_relative_to(venv) and found.name == "example", found
    for rel in ("__main__.py", "stacks/__init__.py", "stacks/app.py", "functions/hello_world/handler.py"):
        assert (found / rel).is_file(), rel
        assert (found / rel).read_bytes() == (REPO / rel).read_bytes(), f"{rel} differs from the repository's"


def test_demo_without_a_pulumi_cli_says_so_and_exits_2(venv: Path, tmp_path: Path) -> None:
    # Given no pulumi anywhere (PATH is the venv alone, an empty home), from an empty folder
    (tmp_path / "home").mkdir()
    (tmp_path / "work").mkdir()
    env = _environment(tmp_path / "home", [venv / "bin"])

    # when the demo runs with --no-install
    done = _migrate(venv, tmp_path / "work", env, "demo", "--no-install", "--items", "1")

    # then it found the project, stopped at the missing CLI (exit 2), and said how to get one.
    assert done.returncode == 2, done.stderr
    assert "the pulumi CLI is not installed" in done.stderr
    assert "Nothing was started" in done.stderr
    assert "example Pulumi project" not in done.stderr
    assert list((tmp_path / "work").iterdir()) == []


def test_demo_reaches_its_first_pulumi_call_in_a_complete_project(venv: Path, tmp_path: Path) -> None:
    # Given a pulumi CLI double on PATH that records the folder of each call and fails
    for name in ("home", "work", "bin"):
        (tmp_path / name).mkdir()
    record = tmp_path / "calls.jsonl"
    fake = tmp_path / "bin" / "pulumi"
    fake.write_text(FAKE_PULUMI.format(python=sys.executable, record=str(record)))
    fake.chmod(0o755)
    env = _environment(tmp_path / "home", [venv / "bin", tmp_path / "bin"])

    # when the demo runs from an empty folder
    done = _migrate(venv, tmp_path / "work", env, "demo", "--no-install", "--items", "1", "--write-rate", "0")

    # then moto started and the first Pulumi command ran in the demo's project: the program, the
    # example app, the handler and a Pulumi.yaml whose virtualenv is the installed one
    assert record.is_file(), f"no pulumi command ran:\n{done.stderr}"
    first = json.loads(record.read_text().splitlines()[0])
    assert {"Pulumi.yaml", "__main__.py", "stacks/app.py", "functions/hello_world/handler.py"} <= set(first["files"])
    assert "Demo: moto at http://127.0.0.1:" in done.stderr
    virtualenv = first["project"].split("virtualenv:", 1)[1].split()[0]
    assert Path(virtualenv).resolve() == venv.resolve()
    # and the double's failure ended the demo with an error, not a traceback.
    assert done.returncode in (1, 2) and "Traceback" not in done.stderr, done.stderr


def test_the_installed_version_is_pyproject_s(venv: Path, tmp_path: Path) -> None:
    # pyproject.toml holds the one version; the installed `migrate --version` prints it.
    expected = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    done = _migrate(venv, tmp_path, _environment(tmp_path, [venv / "bin"]), "--version")
    assert (done.returncode, done.stdout.strip()) == (0, f"migrate {expected}")

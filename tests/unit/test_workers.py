"""Scratch folders of transform runs: one per run, and what dead runs left is removed by the next."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from migrator.data.workers import remove_dead_runs, run_folder, transform_folder


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return int(done.stdout)


def test_a_run_removes_folders_of_dead_runs_of_the_same_transform_and_its_own(tmp_path: Path) -> None:
    folder = transform_folder("b", "t/", temp=str(tmp_path))
    dead = folder / f"run-{dead_pid()}-abc"
    alive = folder / f"run-{os.getppid()}-def"  # the process that started the tests is alive
    other = transform_folder("b", "other/", temp=str(tmp_path)) / f"run-{dead_pid()}-x"
    for path in (dead, alive, other):
        (path / "sub").mkdir(parents=True)
        (path / "sub" / "p00-0.dig").write_bytes(b"12345678")
    with run_folder("b", "t/", temp=str(tmp_path)) as mine:
        assert Path(mine).parent == folder and Path(mine).is_dir()
        assert not dead.exists() and alive.exists() and other.exists()
    assert not Path(mine).exists()


def test_remove_dead_runs_leaves_what_is_not_a_run_folder(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "run-abc").mkdir()
    assert remove_dead_runs(tmp_path) == []
    assert (tmp_path / "notes").exists() and (tmp_path / "run-abc").exists()

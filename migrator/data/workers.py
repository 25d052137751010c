"""Worker processes and scratch space for a transform that may be killed at any moment.

- :func:`run_folder`: local scratch (the duplicate check's spills) lives in one folder per run, under
  one folder per transform (per destination). A run removes what runs of the same transform that
  are no longer alive left behind, so a SIGKILL leaves debris only until the next run.
- :func:`process_pool`: a pool whose workers watch their parent and exit within
  :data:`WATCH_SECONDS` of its death, instead of finishing (or hanging on) a file nobody waits for.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

WATCH_SECONDS = 0.5
_ROOT = "table-migration"
_RUN = "run-"


def transform_folder(dest_bucket: str, dest_prefix: str, *, temp: str | None = None) -> Path:
    """The local folder of one transform (named by its destination), which holds one folder per run."""
    digest = hashlib.sha256(f"{dest_bucket}\0{dest_prefix}".encode()).hexdigest()[:16]
    return Path(temp or tempfile.gettempdir()) / _ROOT / f"transform-{digest}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_dead_runs(folder: Path) -> list[Path]:
    """Remove the run folders under ``folder`` whose process is gone; return them."""
    removed = []
    for run in folder.glob(_RUN + "*"):
        pid = run.name[len(_RUN) :].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(run, ignore_errors=True)
            removed.append(run)
    return removed


@contextmanager
def run_folder(dest_bucket: str, dest_prefix: str, *, temp: str | None = None) -> Iterator[str]:
    """A fresh local folder for this run of the transform to ``s3://dest_bucket/dest_prefix``.

    Earlier runs of the same transform that died (SIGKILL, power loss) are cleaned first; this
    run's folder is removed when the block ends, however it ends.
    """
    folder = transform_folder(dest_bucket, dest_prefix, temp=temp)
    folder.mkdir(parents=True, exist_ok=True)
    remove_dead_runs(folder)
    with tempfile.TemporaryDirectory(prefix=f"{_RUN}{os.getpid()}-", dir=folder) as path:
        yield path


def _watch_parent(parent: int) -> None:
    """In a worker: exit at once when the parent process is gone (this process was re-parented)."""

    def watch() -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            if os.getppid() != parent:
                os._exit(1)  # nobody waits for this work; the rerun redoes it

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


@contextmanager
def process_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool of ``workers`` whose workers die with this process."""
    # spawn: workers must not inherit the parent's threads and locks (boto3 pools, test servers)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_watch_parent, initargs=(os.getpid(),)
    ) as pool:
        yield pool

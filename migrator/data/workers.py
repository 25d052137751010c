"""Worker processes and scratch space for a transform that may be killed at any moment.

- :func:`run_folder`: local scratch (the duplicate check's spills) lives in one folder per run, under
  one folder per transform (per destination). A run removes what runs of the same transform that
  are no longer alive left behind, so a SIGKILL leaves debris only until the next run.
- :func:`process_pool`: a pool whose workers watch their parent and exit within
  :data:`WATCH_SECONDS` of its death, instead of finishing (or hanging on) a file nobody waits for.
  Workers report items done through :func:`items_done` (a counter shared with the parent), which
  the parent forwards to its progress meter.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

WATCH_SECONDS = 0.5
POLL_SECONDS = 0.25
_ROOT = "table-migration"
_RUN = "run-"
# In a worker process only: the counter shared with the parent (set by the pool's initializer).
_shared: dict[str, Any] = {}


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


def _start_worker(parent: int, counter: Any) -> None:
    """In a worker: exit at once when the parent process is gone (this process was re-parented)."""
    _shared["items"] = counter

    def watch() -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            if os.getppid() != parent:
                os._exit(1)  # nobody waits for this work; the rerun redoes it

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def items_done(items: int) -> None:
    """In a worker: add to the items-done counter the parent reads (nothing outside a pool)."""
    counter = _shared.get("items")
    if counter is not None:
        with counter.get_lock():
            counter.value += items


@contextmanager
def process_pool(workers: int, on_items: Callable[[int], None] | None = None) -> Iterator[ProcessPoolExecutor]:
    """A process pool of ``workers`` whose workers die with this process.

    ``on_items(n)`` is called in this process, from a thread, with the items the workers reported done.
    """
    # spawn: workers must not inherit the parent's threads and locks (boto3 pools, test servers)
    context = multiprocessing.get_context("spawn")
    counter = context.Value("q", 0)
    stop = threading.Event()
    seen = [0]

    def forward() -> None:
        value = counter.value
        if on_items is not None and value != seen[0]:
            on_items(value - seen[0])
        seen[0] = value

    def poll() -> None:
        while not stop.wait(POLL_SECONDS):
            forward()

    poller = threading.Thread(target=poll, name="pool-progress", daemon=True)
    poller.start()
    try:
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(os.getpid(), counter)
        ) as pool:
            yield pool
    finally:
        stop.set()
        poller.join()
        forward()

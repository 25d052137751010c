"""A transform killed with SIGKILL: its workers follow within 5 s, and the next run cleans what it left.

The transform runs as its own process (the CLI), with two worker processes kept busy by a slow
``--python`` hook, against the moto server of this test process.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import orjson
import psutil
import pytest

BUCKET = "exports"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def slow_export(moto: Any, tmp_path: Path) -> dict[str, str]:
    """Two export files, a hook that sleeps HOOK_DELAY seconds per item, and the environment to run in."""
    moto.s3.create_bucket(Bucket=BUCKET)
    for n in range(2):
        body = b"".join(orjson.dumps({"Item": {"Name": {"S": f"f{n}-{i}"}}}) + b"\n" for i in range(40))
        moto.s3.put_object(Bucket=BUCKET, Key=f"exports/Legacy/data/f{n}.json.gz", Body=gzip.compress(body))
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "slow_hook.py").write_text(
        textwrap.dedent(
            """
            import os, time

            def derive(item):
                time.sleep(float(os.environ.get("HOOK_DELAY", "0")))
                return {**item, "UUID": {"S": item["Name"]["S"]}}
            """
        )
    )
    temp = tmp_path / "tmp"
    temp.mkdir()
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(hooks), str(REPO)]),
        "TMPDIR": str(temp),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "HOOK_DELAY": "0.5",
    }


def transform_args(moto: Any) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from migrator.cli import main; main()",
        "transform",
        "--source",
        f"s3://{BUCKET}/exports/Legacy/",
        "--dest",
        f"s3://{BUCKET}/transformed/New/",
        "--python",
        "slow_hook:derive",
        "--key",
        "UUID",
        "--workers",
        "2",
        "--endpoint-url",
        moto.endpoint,
    ]


def wait_for_workers(parent: psutil.Process, count: int, timeout: float = 60.0) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = parent.children(recursive=True)
        workers = [c for c in children if "spawn_main" in " ".join(c.cmdline())]
        if len(workers) >= count:
            return children
        time.sleep(0.1)
    raise AssertionError(f"no {count} workers after {timeout}s: {[c.cmdline() for c in parent.children()]}")


def gone_within(processes: list[psutil.Process], seconds: float) -> list[psutil.Process]:
    """The processes still alive ``seconds`` after now (none, when they all exited in time)."""
    _, alive = psutil.wait_procs(processes, timeout=seconds)
    return alive


def test_a_sigkilled_transforms_workers_exit_within_5_seconds_and_the_rerun_cleans_its_spill_folder(
    moto: Any, slow_export: dict[str, str]
) -> None:
    temp = Path(slow_export["TMPDIR"])
    log = temp.parent / "transform.log"
    descendants: list[psutil.Process] = []
    # Given a transform whose two workers are busy with a file each (40 items × 0.5 s)
    with open(log, "wb") as out:  # a file, not a pipe: workers that outlive the parent would hold a pipe open
        process = subprocess.Popen(transform_args(moto), env=slow_export, stdout=out, stderr=out)
    try:
        descendants = wait_for_workers(psutil.Process(process.pid), 2)
        time.sleep(2.0)  # the workers are inside their files now
        # When the transform is killed outright
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        # Then every process it started (workers, resource tracker) is gone within 5 s
        alive = gone_within(descendants, 5.0)
        assert alive == [], [p.cmdline() for p in alive]
    finally:
        for p in [*descendants, psutil.Process(process.pid) if process.poll() is None else None]:
            if p is not None and p.is_running():
                p.kill()
        process.wait(timeout=10)
    left = [p for p in temp.rglob("*")]
    assert left, "the killed run left no scratch files: the test would prove nothing"
    # When the same transform runs again (quickly this time)
    rerun = subprocess.run(
        transform_args(moto), env={**slow_export, "HOOK_DELAY": "0"}, capture_output=True, timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr.decode()
    # Then nothing of either run is left in the temp folder but (at most) the empty per-transform folders
    files = [p for p in temp.rglob("*") if p.is_file()]
    runs = [p for p in temp.rglob("*") if p.is_dir() and p.name.startswith(("run-", "transform-keys-"))]
    assert files == [] and runs == [], (files, runs)

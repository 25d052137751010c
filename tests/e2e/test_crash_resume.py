"""A crash after each step, then a rerun of the same command: it finishes, with every item and one export.

One migration dies at every step in turn: each rerun must resume past the last crash and reach the
next one, and the last rerun must finish. A crash between AWS starting the export and the migrator
recording it has a test of its own.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from migrator.data.records import DynamoRecordStore
from migrator.migration import Migration
from tests.conftest import Moto
from tests.e2e.conftest import export_count, fast_data_plane, missing_from_new, stack_records
from tests.e2e.mock_engine import MockEngineStack

ITEMS = 100

# Every point where the process dies, in the order a migration 0→4 reaches them.
CRASH_POINTS = (
    "after the update of stage 1",
    "export started, recorded",
    "after export",
    "after transform",
    "before recording stage 1",
    "after the update of stage 2",
    "after import check",
    "after verify of the import",
    "before recording stage 2",
    "after live verify",
    "after the update of stage 3",
    "before recording stage 3",
    "after the update of stage 4",
    "before recording stage 4",
)


class Crash(BaseException):
    """The process dies here (a BaseException: nothing on the way may handle it as an error)."""


class Crasher:
    """Dies at the next of ``points`` when it is reached; reached points further down are let through."""

    def __init__(self, points: tuple[str, ...]) -> None:
        self.points = list(points)

    def reached(self, point: str) -> None:
        if self.points and self.points[0] == point:
            self.points.pop(0)
            raise Crash(point)


class CrashingDataPlane:
    """The real data plane, reporting each finished step (and the export's start) to a :class:`Crasher`."""

    def __init__(self, inner: Any, crasher: Crasher) -> None:
        self.inner = inner
        self.crasher = crasher

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def export(self, **kwargs: Any) -> Any:
        record = kwargs["on_started"]

        def started(arn: str) -> None:
            # "not recorded": AWS returned the ARN, the process died before writing it down.
            self.crasher.reached("export started, not recorded")
            record(arn)
            self.crasher.reached("export started, recorded")

        result = self.inner.export(**{**kwargs, "on_started": started})
        self.crasher.reached("after export")
        return result

    def transform(self, *args: Any, **kwargs: Any) -> Any:
        result = self.inner.transform(*args, **kwargs)
        self.crasher.reached("after transform")
        return result

    def check_import(self, **kwargs: Any) -> Any:
        result = self.inner.check_import(**kwargs)
        self.crasher.reached("after import check")
        return result

    def verify_export(self, *args: Any, **kwargs: Any) -> Any:
        result = self.inner.verify_export(*args, **kwargs)
        self.crasher.reached("after verify of the import")
        return result

    def verify_tables(self, **kwargs: Any) -> Any:
        result = self.inner.verify_tables(**kwargs)
        self.crasher.reached("after live verify")
        return result


def crash_in_the_engine(engine: MockEngineStack, crasher: Crasher, monkeypatch: pytest.MonkeyPatch) -> None:
    """Report each finished update, and each stage about to be recorded as done, to ``crasher``."""
    real_up, real_save = engine.up, DynamoRecordStore.save

    def up(on_output: Any = None) -> dict[str, Any]:
        outputs = real_up(on_output)
        crasher.reached(f"after the update of stage {engine.config['stage']}")
        return outputs

    def save(store: DynamoRecordStore, kind: str, value: Mapping[str, Any]) -> None:
        if kind == "progress":
            done = value.get("completedStage")
            current = (store.load("progress") or {}).get("completedStage")
            if done is not None and done != current:
                crasher.reached(f"before recording stage {done}")
        real_save(store, kind, value)

    monkeypatch.setattr(engine, "up", up)
    monkeypatch.setattr(DynamoRecordStore, "save", save)


def _run_until_done(
    points: tuple[str, ...],
    engine: MockEngineStack,
    moto: Moto,
    make_migration: Callable[..., Migration],
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    crasher = Crasher(points)
    crash_in_the_engine(engine, crasher, monkeypatch)
    for point in points:
        with pytest.raises(Crash) as crashed:
            make_migration(CrashingDataPlane(fast_data_plane(moto), crasher)).up(4)
        assert crashed.value.args[0] == point  # the rerun got past the previous crash, up to this one
        leave_lock_of_a_killed_run(engine, moto)
    return make_migration(CrashingDataPlane(fast_data_plane(moto), crasher)).up(4)


def leave_lock_of_a_killed_run(engine: MockEngineStack, moto: Moto) -> None:
    """A killed process releases no lock: put back the entry it would have left, owned by a dead pid."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    owner = {"host": socket.gethostname(), "pid": gone.pid, "command": "up --stage 4", "started": time.time()}
    stack_records(moto, engine).save("lock", {**owner, "token": "killed"})


def test_a_crash_after_each_step_then_a_rerun_finishes(
    engine: MockEngineStack,
    moto: Moto,
    seed: Callable[..., Any],
    make_migration: Callable[..., Migration],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given 100 legacy items, when `up --stage 4` dies at every step in turn and is run again each time
    items = seed(engine, moto, ITEMS)
    result = _run_until_done(CRASH_POINTS, engine, moto, make_migration, monkeypatch)

    # then the last run finishes: every item, one export, the stack at stage 4.
    _finished(result, engine, moto, items)


def test_a_crash_before_the_started_export_is_recorded_does_not_export_twice(
    engine: MockEngineStack,
    moto: Moto,
    seed: Callable[..., Any],
    make_migration: Callable[..., Migration],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given 100 legacy items, when the process dies after AWS started the export but before it was recorded
    items = seed(engine, moto, ITEMS)
    result = _run_until_done(("export started, not recorded",), engine, moto, make_migration, monkeypatch)

    # then the rerun finds that export instead of starting another.
    _finished(result, engine, moto, items)


def _finished(result: Any, engine: MockEngineStack, moto: Moto, items: list[dict[str, Any]]) -> None:
    assert result.stage == 4 and engine.get_config()["stage"] == "4"
    assert missing_from_new(moto.dynamodb, items) == ([], [])
    assert export_count(moto.dynamodb) == 1
    assert "table-legacy" not in {r.name for r in engine.resources()}
    assert "lock" not in engine.get_config() and stack_records(moto, engine).load("lock") is None
    assert result.report is not None and result.report["verify"]["export"]["identical"] is True

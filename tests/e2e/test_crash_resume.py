"""A crash after each step, then a rerun of the same command: it finishes, with every item and one export.

One migration dies at every step in turn, including half way through the engine's updates: each
rerun must resume past the last crash and reach the next one, and the last rerun must finish. The
export runs for a while, as on AWS (:mod:`tests.e2e.slow_exports`), so the rerun after a crash finds
it in progress and must wait on it by its recorded ARN. A crash between AWS starting the export and
the migrator recording it has a test of its own.

The stage 4 step that unprotects the legacy table in the stack's state has no crash point: that step
is going away (the program will declare the legacy table unprotected from stage 3 on).
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from migrator.data.record_table import DynamoRecordStore
from migrator.orchestrate.migration import Migration
from tests.conftest import Moto
from tests.e2e.conftest import export_count, fast_data_plane, kill_the_run, missing_from_new, stack_records
from tests.e2e.mock_engine import MockEngineStack, Step
from tests.e2e.slow_exports import DESCRIBE, LIST, START, SlowExports

ITEMS = 100

# Every point where the process dies, in the order a migration 0→4 reaches them. "stage N update:
# after k changes" is inside the engine's update, once it applied k resource steps (of those still to
# apply: a rerun's update has only the rest) and before the next one. Which steps come first varies,
# as in the engine, which runs independent steps in any order.
CRASH_POINTS = (
    "stage 1 update: after 1 change",  # e.g. point-in-time recovery on, and no bucket yet
    "stage 1 update: after 2 changes",  # the rerun's update, killed again: 3 of the 6 steps applied
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
    "after mark-traffic",
    "stage 3 update: after 1 change",  # e.g. the new table protected, the consumer not moved yet
    "stage 3 update: after 1 change",  # the rerun's update, killed again: 2 of the 3 steps applied
    "after the update of stage 3",
    "before recording stage 3",
    "after the update of stage 4",
    "after check-retained",
    "after report",
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

    def deletion_protection(self, table: str) -> Any:
        result = self.inner.deletion_protection(table)
        self.crasher.reached("after check-retained")
        return result


def crash_in_the_engine(engine: MockEngineStack, crasher: Crasher, monkeypatch: pytest.MonkeyPatch) -> None:
    """Report each step of an update, each finished update and each record the steps save to ``crasher``."""
    real_up, real_save = engine.up, DynamoRecordStore.save

    applied: list[Step] = []

    def after_step(step: Step) -> None:
        if step.op != "same":
            applied.append(step)
            count = f"{len(applied)} change{'s' if len(applied) > 1 else ''}"
            crasher.reached(f"stage {engine.config['stage']} update: after {count}")

    def up(on_output: Any = None) -> dict[str, Any]:
        applied.clear()
        outputs = real_up(on_output)
        crasher.reached(f"after the update of stage {engine.config['stage']}")
        return outputs

    def save(store: DynamoRecordStore, kind: str, value: Mapping[str, Any]) -> None:
        before = (store.load("progress") or {}) if kind == "progress" else {}
        done = value.get("completedStage") if kind == "progress" else None
        if done is not None and done != before.get("completedStage"):
            crasher.reached(f"before recording stage {done}")
        real_save(store, kind, value)
        if kind != "progress":
            return
        if value.get("servedTraffic") and not before.get("servedTraffic"):
            crasher.reached("after mark-traffic")
        if value.get("report") and not before.get("report"):
            crasher.reached("after report")

    monkeypatch.setattr(engine, "after_step", after_step)
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
    kill_the_run(moto, engine)


@pytest.fixture
def exports(monkeypatch: pytest.MonkeyPatch) -> SlowExports:
    """Exports that stay in progress for a while, and the log of every export call moto answers."""
    return SlowExports(reads=2).install(monkeypatch)


def test_a_crash_after_each_step_then_a_rerun_finishes(
    engine: MockEngineStack,
    moto: Moto,
    seed: Callable[..., Any],
    make_migration: Callable[..., Migration],
    monkeypatch: pytest.MonkeyPatch,
    exports: SlowExports,
) -> None:
    # Given 100 legacy items, when `up --stage 4` dies at every step in turn and is run again each time
    items = seed(engine, moto, ITEMS)
    result = _run_until_done(CRASH_POINTS, engine, moto, make_migration, monkeypatch)

    # then one export was started, and every run after its start was recorded waited on it by that
    # ARN, never by listing the table's exports; the first look at it, after the crash, found it still
    # in progress, so the rerun resumed a running export.
    (arn,) = exports.started()
    after_start = exports.calls[exports.operations().index(START) + 1 :]
    assert LIST not in [call.operation for call in after_start]
    assert {call.arn for call in after_start} == {arn}
    assert (after_start[0].operation, after_start[0].status) == (DESCRIBE, "IN_PROGRESS")
    # and the last run finished: every item, the stack at stage 4.
    _finished(result, engine, moto, items)


def test_a_crash_before_the_started_export_is_recorded_does_not_export_twice(
    engine: MockEngineStack,
    moto: Moto,
    seed: Callable[..., Any],
    make_migration: Callable[..., Migration],
    monkeypatch: pytest.MonkeyPatch,
    exports: SlowExports,
) -> None:
    # Given 100 legacy items, when the process dies after AWS started the export but before it was recorded
    items = seed(engine, moto, ITEMS)
    result = _run_until_done(("export started, not recorded",), engine, moto, make_migration, monkeypatch)

    # then the rerun finds that export, still in progress, among the table's exports instead of starting another,
    (arn,) = exports.started()
    after_start = exports.calls[exports.operations().index(START) + 1 :]
    assert [call.operation for call in after_start[:2]] == [LIST, DESCRIBE]
    assert (after_start[1].arn, after_start[1].status) == (arn, "IN_PROGRESS")
    # and finishes.
    _finished(result, engine, moto, items)


def _finished(result: Any, engine: MockEngineStack, moto: Moto, items: list[dict[str, Any]]) -> None:
    assert result.stage == 4 and engine.get_config()["stage"] == "4"
    assert missing_from_new(moto.dynamodb, items) == ([], [])
    assert export_count(moto.dynamodb) == 1
    assert "table-legacy" not in {r.name for r in engine.resources()}
    assert "lock" not in engine.get_config() and stack_records(moto, engine).load("lock") is None
    assert result.report is not None and result.report.verify["export"].identical is True

"""Two working copies of one stack (two checkouts, or a laptop and a Deployment): one lock, one record.

Each copy has its own stack file (config); the state is the backend's (the double's EngineBackend)
and the migrator's records are in the record table next to the data (moto), as they would be for
any two machines with the same backend and AWS credentials.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from migrator.core.errors import StackBusyError, StageError
from migrator.core.ports import LOCK
from migrator.data.record_table import DynamoRecordStore
from migrator.orchestrate.migration import Migration
from tests.conftest import Moto
from tests.e2e.conftest import STACK, export_count, fast_data_plane, missing_from_new, stack_records
from tests.e2e.mock_engine import MockEngineStack, program_under_mocks

ITEMS = 60


@pytest.fixture
def other_copy(engine: MockEngineStack) -> MockEngineStack:
    """A second working copy of the stack: same backend, its own stack file (as checked out now)."""
    return MockEngineStack(STACK, copy.deepcopy(engine.get_config()), program_under_mocks, backend=engine.backend)


def _migration(stack: MockEngineStack, moto: Moto, locks: Path, data: Any = None) -> Migration:
    # Each copy has its own machine: its own lock folder, so only the shared lock entry can stop it.
    return Migration(stack, aws=moto.settings, data=data or fast_data_plane(moto), lock_dir=locks)


class _HeldInExport:
    """A data plane whose export waits until released, so a run can be caught holding the lock."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.inside, self.release = inner, threading.Event(), threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def export(self, **kwargs: Any) -> Any:
        self.inside.set()
        assert self.release.wait(60), "the test never released the export"
        return self.inner.export(**kwargs)


@pytest.fixture
def running_elsewhere(
    engine: MockEngineStack, moto: Moto, seed: Callable[..., Any], tmp_path: Path
) -> Iterator[_HeldInExport]:
    """A migration to stage 1 in the first working copy, held inside its export."""
    seed(engine, moto, ITEMS)
    held = _HeldInExport(fast_data_plane(moto))
    outcome: list[Any] = []
    worker = threading.Thread(
        target=lambda: outcome.append(_migration(engine, moto, tmp_path / "a", held).up(1)), daemon=True
    )
    worker.start()
    assert held.inside.wait(60)
    yield held
    held.release.set()
    worker.join(120)
    assert outcome and outcome[0].stage == 1


def test_two_working_copies_see_one_lock(
    running_elsewhere: _HeldInExport, other_copy: MockEngineStack, moto: Moto, tmp_path: Path
) -> None:
    # Given a run in the first copy, when the second copy's run starts (another machine)
    with pytest.raises(StackBusyError, match="busy: `migrate up --stage 1`"):
        _migration(other_copy, moto, tmp_path / "b").up(1)

    # then it stopped at once, and its status shows who holds the lock; its stack file holds no lock.
    status = _migration(other_copy, moto, tmp_path / "b").status()
    assert status.lock is not None and status.lock["command"] == "up --stage 1"
    assert "lock" not in other_copy.get_config()


def test_two_working_copies_see_one_progress_record(
    engine: MockEngineStack,
    other_copy: MockEngineStack,
    moto: Moto,
    seed: Callable[..., Any],
    tmp_path: Path,
) -> None:
    # Given stage 2 done from the first copy
    items = seed(engine, moto, ITEMS)
    first = _migration(engine, moto, tmp_path / "a")
    first.up(2)
    recorded = stack_records(moto, engine).load("progress") or {}

    # when the second copy, whose stack file is still at stage 0, asks: it is refused as stale (and not sent to
    # `down --stage 0`, which is no way back),
    with pytest.raises(StageError, match="roll the stack back") as stale:
        _migration(other_copy, moto, tmp_path / "b").status()
    assert "Going back to stage 0 is not possible" in str(stale.value) and "down --stage 0" not in str(stale.value)

    # and once it has the current stack file (a pull), it sees the same record and carries on:
    other_copy.set_config({k: v for k, v in engine.get_config().items()})
    second = _migration(other_copy, moto, tmp_path / "b")
    status = second.status()
    assert (status.completed_stage, status.export_arn) == (2, recorded["exportArn"])
    result = second.up(4)

    # stages 3 and 4 from the second copy, no second export, every item in the new table.
    assert result.stages_run == (3, 4)
    assert export_count(moto.dynamodb) == 1
    assert missing_from_new(moto.dynamodb, items) == ([], [])
    assert (stack_records(moto, engine).load("progress") or {})["completedStage"] == 4
    # The first copy's stack file is now the stale one: it is refused rather than rolling back.
    with pytest.raises(StageError, match="roll the stack back"):
        first.up(4)


def test_a_deployment_s_fresh_checkout_runs_the_next_stage_without_a_pushed_back_stack_file(
    engine: MockEngineStack, moto: Moto, seed: Callable[..., Any], tmp_path: Path
) -> None:
    # Given stage 1 run by one Deployment, whose working copy (with the importSource it wrote) is gone
    items = seed(engine, moto, ITEMS)
    checkout = copy.deepcopy(engine.get_config())  # the stack file as committed: no importSource
    _migration(engine, moto, tmp_path / "a").up(1)
    assert "importSource" not in checkout

    # when the next Deployment checks out the commit that asks for stage 2 and runs the migrator
    checkout["stage"] = "2"
    fresh = MockEngineStack(STACK, checkout, program_under_mocks, backend=engine.backend)
    result = _migration(fresh, moto, tmp_path / "b").up(2)

    # then stage 2 ran from the record (the import source included): no stack file was pushed back.
    assert result.stages_run == (2,)
    assert fresh.get_config()["importSource"] == (stack_records(moto, engine).load("progress") or {})["importSource"]
    assert missing_from_new(moto.dynamodb, items) == ([], [])
    assert export_count(moto.dynamodb) == 1


def test_plan_on_a_stack_nothing_ran_on_yet_creates_no_record_table(
    engine: MockEngineStack, moto: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a brand-new stack: no update yet, no record table in the account; lock writes to the store logged
    assert moto.dynamodb.list_tables()["TableNames"] == []
    locked: list[str] = []
    put_if = DynamoRecordStore.put_if

    def logged(self: DynamoRecordStore, kind: str, value: Any, *, current_token: str | None) -> bool:
        locked.append(kind)
        return put_if(self, kind, value, current_token=current_token)

    monkeypatch.setattr(DynamoRecordStore, "put_if", logged)

    # when its first stage is planned
    plan = _migration(engine, moto, tmp_path / "locks").plan(0)

    # then the plan says what `up` would do, and the account still has no table at all
    assert [move.stage for move in plan.moves] == [0]
    assert moto.dynamodb.list_tables()["TableNames"] == [] and locked == []

    # while the first run that changes something creates the record table, and a plan after it takes the shared lock
    _migration(engine, moto, tmp_path / "locks").up(0)
    assert "table-migration-records" in moto.dynamodb.list_tables()["TableNames"]
    locked.clear()
    _migration(engine, moto, tmp_path / "locks").plan(1)
    assert locked == [LOCK]

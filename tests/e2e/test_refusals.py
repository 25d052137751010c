"""What the migration refuses, through the library and the CLI: nothing changes, and the exit code says why."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import migrator.cli.stack as cli_stack
from migrator.cli import app
from migrator.core.errors import DriftError, GuardError, StackBusyError, StackNotFoundError, StageError
from migrator.orchestrate.migration import Migration
from tests.cli_result import exited, no_crash
from tests.conftest import Moto
from tests.e2e.conftest import (
    LEGACY,
    NEW,
    STACK,
    fast_data_plane,
    missing_from_new,
    moto_snapshot,
    stack_records,
    table_names,
)
from tests.e2e.mock_engine import MockEngineStack

ITEMS = 100


@pytest.fixture
def cli(engine: MockEngineStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Any]:
    """``cli("up", "--stage", "3")``: run ``migrate`` on the double's stack (``--stack e2e`` unless given)."""
    opened: list[str] = []

    def open_stack(stack: str, work_dir: Path, *, create: bool) -> MockEngineStack:
        opened.append(stack)
        if stack != engine.name:
            raise StackNotFoundError(f"Stack {stack} does not exist.", hint="Check --stack.")
        return engine

    monkeypatch.setattr(cli_stack, "open_stack", open_stack)

    def run(*args: str) -> Any:
        argv = list(args)
        if "--stack" not in argv:
            argv += ["--stack", STACK]
        # The work dir scopes the CLI's lock file to this test.
        argv += ["--work-dir", str(tmp_path), "--yes"] if argv[0] in ("up", "down") else ["--work-dir", str(tmp_path)]
        return CliRunner().invoke(app, argv)

    return run


def _unchanged(engine: MockEngineStack, moto: Moto) -> Callable[[], None]:
    """Snapshot the stack config, its state and moto; the returned check asserts none of them moved."""
    config, state, snapshot, updates = engine.get_config(), dict(engine.state), moto_snapshot(moto), engine.updates

    def check() -> None:
        assert engine.get_config() == config
        assert engine.state == state and engine.updates == updates
        assert moto_snapshot(moto) == snapshot

    return check


def _one_error_line(result: Any) -> str:
    no_crash(result)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.fixture
def at_stage_2(
    engine: MockEngineStack, moto: Moto, seed: Callable[..., Any], make_migration: Callable[..., Migration]
) -> list[dict[str, Any]]:
    """100 legacy items migrated to stage 2 (both tables, consumer still on the legacy one)."""
    items = seed(engine, moto, ITEMS)
    make_migration().up(2)
    return items


# --- the preview guard -------------------------------------------------------------------------


def _rekey_new_table(engine: MockEngineStack) -> None:
    """Give the new table a sort key: a key-schema change, which can only be made by replacing it."""
    new = engine.get_config()["newTable"]
    engine.set_config({"newTable": {**new, "sortKey": {"name": "Created", "type": "N"}}})


def test_the_guard_refuses_a_planned_replacement_and_changes_nothing(
    engine: MockEngineStack,
    moto: Moto,
    at_stage_2: Any,
    make_migration: Callable[..., Migration],
    cli: Callable[..., Any],
) -> None:
    # Given stage 2 done, when newTable's key schema is changed and stage 3 is asked for
    _rekey_new_table(engine)
    (change,) = [c for c in engine.preview().changes if c.name == "table-new"]
    assert change.op == "replace"  # the double previews a replacement of the new table
    state, snapshot, updates = dict(engine.state), moto_snapshot(moto), engine.updates

    # then `plan` shows the refusal and changes nothing,
    planned = cli("plan", "--stage", "3", "--json")
    exited(planned, 0)
    guard = json.loads(planned.stdout)["guard"]
    assert guard["ok"] is False and NEW in guard["refusal"]
    assert (engine.state, engine.updates, moto_snapshot(moto)) == (state, updates, snapshot)
    assert engine.get_config()["stage"] == "2"

    # the guard refuses `up` before any update, naming the table,
    with pytest.raises(GuardError, match=NEW):
        make_migration().up(3)
    # and nothing changed: no update, moto as it was, the stage and the import source as they were,
    assert (engine.state, engine.updates, moto_snapshot(moto)) == (state, updates, snapshot)
    assert engine.get_config()["stage"] == "2" and engine.get_config()["importSource"]["itemCount"] == ITEMS
    # and the new table is not recorded as having served traffic (that would forbid `down --stage 1`).
    assert (stack_records(moto, engine).load("progress") or {})["servedTraffic"] is False

    # Through the CLI: exit 1, one line that says what the preview would do, still nothing changed.
    result = cli("up", "--stage", "3")
    exited(result, 1)
    assert "replace" in _one_error_line(result)
    assert (engine.state, engine.updates, moto_snapshot(moto)) == (state, updates, snapshot)
    assert engine.get_config()["stage"] == "2"


# --- drift at cutover ----------------------------------------------------------------------------


def test_drift_is_refused_at_cutover_unless_allowed(
    engine: MockEngineStack,
    moto: Moto,
    at_stage_2: list[dict[str, Any]],
    make_migration: Callable[..., Migration],
    cli: Callable[..., Any],
) -> None:
    # Given stage 2 done, when the legacy table is written to and stage 3 is asked for
    moto.dynamodb.put_item(TableName=LEGACY, Item={"Name": {"S": "written-after-the-export"}, "Created": {"N": "1"}})
    snapshot, updates = moto_snapshot(moto), engine.updates

    # then the cutover is refused: the stack stays at stage 2, the consumer on the legacy table;
    with pytest.raises(DriftError, match="allow-drift"):
        make_migration().up(3)
    refused = cli("up", "--stage", "3")
    exited(refused, 1)
    assert "--allow-drift" in _one_error_line(refused)
    assert engine.get_config()["stage"] == "2" and engine.outputs()["activeTableName"] == LEGACY
    assert (moto_snapshot(moto), engine.updates) == (snapshot, updates)

    # and with --allow-drift it cuts over; the late write stays only in the legacy table.
    accepted = cli("up", "--stage", "3", "--allow-drift")
    exited(accepted, 0)
    assert engine.get_config()["stage"] == "3" and engine.outputs()["activeTableName"] == NEW
    assert missing_from_new(moto.dynamodb, at_stage_2) == ([], [])


# --- down ------------------------------------------------------------------------------------------


def test_down_from_2_to_1_drops_the_new_table_and_up_imports_it_again(
    engine: MockEngineStack, moto: Moto, at_stage_2: list[dict[str, Any]], make_migration: Callable[..., Migration]
) -> None:
    # Given stage 2 done, when the stack goes down to 1
    result = make_migration().down(1)

    # then the new table is gone from moto and the stack, the legacy table untouched,
    assert result.stage == 1 and engine.get_config()["stage"] == "1"
    assert NEW not in table_names(moto.dynamodb) and "table-new" not in {r.name for r in engine.resources()}
    assert moto_snapshot(moto)["tables"][LEGACY]["items"] == ITEMS
    # and going up again imports it anew, complete.
    make_migration().up(2)
    assert missing_from_new(moto.dynamodb, at_stage_2) == ([], [])


def test_down_from_3_to_2_then_not_to_1_once_the_new_table_served_traffic(
    engine: MockEngineStack, moto: Moto, at_stage_2: Any, make_migration: Callable[..., Migration], cli: Any
) -> None:
    # Given the cutover done
    make_migration().up(3)

    # when the stack goes back to 2, the consumer is back on the legacy table and the new table stays;
    result = make_migration().down(2)
    assert result.stage == 2 and engine.outputs()["activeTableName"] == LEGACY
    assert moto_snapshot(moto)["tables"][NEW]["items"] == ITEMS

    # then dropping the new table, which has served traffic, is refused: exit 2, nothing changed.
    unchanged = _unchanged(engine, moto)
    with pytest.raises(StageError, match="served traffic"):
        make_migration().down(1)
    refused = cli("down", "--stage", "1")
    exited(refused, 2)
    assert "served traffic" in _one_error_line(refused)
    unchanged()


def test_going_back_from_4_or_from_1_is_refused(
    engine: MockEngineStack, moto: Moto, seed: Callable[..., Any], make_migration: Callable[..., Migration], cli: Any
) -> None:
    seed(engine, moto, 50)
    make_migration().up(1)
    unchanged = _unchanged(engine, moto)
    exited(cli("down", "--stage", "0"), 2)
    unchanged()

    make_migration().up(4)
    unchanged = _unchanged(engine, moto)
    result = cli("down", "--stage", "3")
    exited(result, 2)
    assert "stage 4" in _one_error_line(result)
    unchanged()


# --- bad input -----------------------------------------------------------------------------------


BAD_INPUT = (
    (("up", "--stage", "5"), "stage"),
    (("up", "--stage=-1"), "stage"),
    (("down", "--stage", "5"), "stage"),
    (("up", "--stage", "1"), "down"),  # backwards: the stack is at stage 2; the hint names `down`
    (("up", "--stage", "3", "--stack", "nope"), "nope"),
    (("status", "--stack", "nope"), "nope"),
)


def test_bad_input_exits_2_with_one_line_and_changes_nothing(
    engine: MockEngineStack, moto: Moto, at_stage_2: Any, cli: Callable[..., Any]
) -> None:
    # Given a stack at stage 2 (one set-up for every case: each must leave it exactly as it was)
    unchanged = _unchanged(engine, moto)
    for args, says in BAD_INPUT:
        # when `migrate` is called with bad input, then it exits 2 with one line that names the problem
        result = cli(*args)
        exited(result, 2)
        assert says in _one_error_line(result), args
        unchanged()


def test_missing_config_exits_2_naming_the_key(
    engine: MockEngineStack, moto: Moto, seed: Callable[..., Any], cli: Callable[..., Any]
) -> None:
    # Given a stack whose config lost its legacyTable
    seed(engine, moto, 10)
    engine.remove_config(["legacyTable"])
    unchanged = _unchanged(engine, moto)

    result = cli("up", "--stage", "1")

    exited(result, 2)
    assert "table-migration:legacyTable" in _one_error_line(result)
    unchanged()


# --- two runs at once ----------------------------------------------------------------------------


class _HeldInExport:
    """A data plane whose export waits until released, so a run can be caught in the middle."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.inside = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def export(self, **kwargs: Any) -> Any:
        self.inside.set()
        assert self.release.wait(60), "the test never released the export"
        return self.inner.export(**kwargs)


@pytest.fixture
def held_run(
    engine: MockEngineStack, moto: Moto, seed: Callable[..., Any], make_migration: Callable[..., Migration]
) -> Iterator[_HeldInExport]:
    """A migration to stage 2 running in a thread, held inside its export."""
    seed(engine, moto, 50)
    held = _HeldInExport(fast_data_plane(moto))
    outcome: list[Any] = []
    worker = threading.Thread(target=lambda: outcome.append(make_migration(held).up(2)), daemon=True)
    worker.start()
    assert held.inside.wait(60)
    yield held
    held.release.set()
    worker.join(120)
    assert outcome and outcome[0].stage == 2  # the first run was not disturbed


def test_a_second_run_stops_at_once(held_run: Any, make_migration: Callable[..., Migration]) -> None:
    started = time.monotonic()
    with pytest.raises(StackBusyError, match="busy"):
        make_migration().up(2)
    assert time.monotonic() - started < 5


def test_a_second_run_through_the_cli_stops_at_once(held_run: Any, engine: MockEngineStack, cli: Any) -> None:
    # The CLI locks its own file (scoped to its work dir); the lock record in stack config still stops it.
    result = cli("up", "--stage", "2")
    exited(result, 1)
    assert "busy" in _one_error_line(result)

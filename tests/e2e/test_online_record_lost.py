"""The record is not the only truth: with it gone (or behind), what the live writers and the stack show decides.

And a ``freezeHook`` that cannot be imported where the rerun happens leaves frozen only the writers it controls:
the Lambda writers are unfrozen first, and the error names what stays frozen.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from migrator.core.errors import FreezeError, StageError
from migrator.core.ports import PROGRESS
from migrator.orchestrate.migration import Migration
from tests.conftest import Moto
from tests.e2e import hook_recorder
from tests.e2e.conftest import fast_data_plane, seed_legacy, stack_records, table_names
from tests.e2e.online_support import LEGACY, NEW, online_engine, writers_state
from tests.e2e.test_crash_resume import Crash, Crasher, leave_lock_of_a_killed_run
from tests.e2e.test_online_crash import die_at_the_cutover_steps

RECORDS = "table-migration-records"


def _at_stage_3(moto: Moto, tmp_path: Any, **config: Any) -> Any:
    engine = online_engine(moto, **config)
    engine.up()
    seed_legacy(moto.dynamodb, 30)
    _migration(engine, moto, tmp_path).up(3)
    return engine


def test_with_the_record_table_gone_at_stage_3_down_to_1_is_refused_naming_a_way_forward(
    moto: Moto, tmp_path: Any
) -> None:
    # Given stage 3 done online, then the record table deleted
    engine = _at_stage_3(moto, tmp_path)
    function = engine.outputs()["consumerFunctionName"]
    moto.dynamodb.update_table(TableName=RECORDS, DeletionProtectionEnabled=False)
    moto.dynamodb.delete_table(TableName=RECORDS)

    # when `down --stage 1` runs, then it is refused before anything changes: the new table stays, the writers too
    with pytest.raises(StageError) as refused:
        _migration(engine, moto, tmp_path).down(1)
    text = str(refused.value)
    assert refused.value.exit_code == 2 and f"Refusing to drop {NEW}" in text
    assert "missing" in text and f"writer {function} uses it now" in text
    assert "point-in-time" in text and "--lose-new-table-writes" in text
    assert NEW in table_names(moto.dynamodb) and writers_state(moto, function) == (NEW, None)
    assert engine.get_config()["stage"] == "3"

    # and `up --stage 3` does not redo the cutover nor suggest `down --stage 1`: it names the restore
    with pytest.raises(StageError) as up_refused:
        _migration(engine, moto, tmp_path).up(3)
    assert "down --stage 1" not in str(up_refused.value) and "point-in-time" in str(up_refused.value)
    assert writers_state(moto, function) == (NEW, None)

    # and status says the record is missing, with the writer as Lambda has it
    status = _migration(engine, moto, tmp_path).status()
    assert not status.record_found and "no migration record" in status.text()
    assert f"{function} uses {NEW} (reserved concurrency unset)" in status.text()
    assert "restore the record table" in status.next_step


def test_a_record_that_says_the_new_table_never_served_traffic_is_not_believed_over_the_live_writers(
    moto: Moto, tmp_path: Any
) -> None:
    # Given stage 3 done, then the record replaced by an older one (stage 2 done, no traffic), the stack file too
    engine = _at_stage_3(moto, tmp_path)
    records = stack_records(moto, engine)
    older = {**records.load(PROGRESS), "completedStage": 2, "servedTraffic": False, "stageTimes": {}}
    records.save(PROGRESS, older)
    engine.set_config({"stage": "2"})

    # when `down --stage 1` runs, then it is refused naming what disagrees, and the flag that gives it up
    with pytest.raises(StageError) as refused:
        _migration(engine, moto, tmp_path).down(1)
    assert "says MyNewTable never served traffic, but writer" in str(refused.value)
    assert "--lose-new-table-writes" in str(refused.value) and NEW in table_names(moto.dynamodb)


def test_status_shows_the_record_s_stage_and_each_writer_as_lambda_has_it(moto: Moto, tmp_path: Any) -> None:
    # Given stage 3 done, and the writer frozen by hand afterwards
    engine = _at_stage_3(moto, tmp_path)
    function = engine.outputs()["consumerFunctionName"]
    moto.settings.client("lambda").put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=0)

    status = _migration(engine, moto, tmp_path).status()

    # then it shows the live table variable and reserved concurrency, in text and JSON, not the declared consumer
    assert f"writers: {function} uses {NEW} (reserved concurrency 0: frozen)" in status.text()
    assert "the consumer uses" not in status.text()
    assert status.to_dict()["writers"] == [
        {
            "function": function,
            "env": "TABLE_NAME",
            "table": NEW,
            "reservedConcurrency": 0,
            "frozen": True,
            "problem": None,
        }
    ]
    assert status.to_dict()["record"]["completedStage"] == 3 and status.to_dict()["record"]["found"]


def test_a_hook_that_cannot_load_on_the_rerun_leaves_only_its_own_writers_frozen(
    moto: Moto, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given stage 2 done online with a freezeHook, and `up --stage 3` killed while the writers are frozen
    hook_recorder.CALLS.clear()
    engine = online_engine(moto, freezeHook="tests.e2e.hook_recorder:hook")
    engine.up()
    seed_legacy(moto.dynamodb, 30)
    function = engine.outputs()["consumerFunctionName"]
    _migration(engine, moto, tmp_path).up(2)
    die_at_the_cutover_steps(Crasher(("after freeze",)), monkeypatch)
    with pytest.raises(Crash):
        _migration(engine, moto, tmp_path).up(3)
    leave_lock_of_a_killed_run(engine, moto)
    assert writers_state(moto, function) == (LEGACY, 0)

    # when the rerun happens where the hook's module cannot be imported
    monkeypatch.setitem(sys.modules, "tests.e2e.hook_recorder", None)  # an import of it raises ImportError
    with pytest.raises(FreezeError) as failed:
        _migration(engine, moto, tmp_path).up(3)

    # then the Lambda writers are unfrozen, on their table, and the error (exit 1) names what stays frozen
    assert writers_state(moto, function) == (LEGACY, None)
    text = str(failed.value)
    assert failed.value.exit_code == 1 and f"Lambda writers ({function}) are unfrozen" in text
    assert "tests.e2e.hook_recorder:hook cannot be loaded" in text and "still frozen" in text
    assert "migrate up --stage 3" in text

    # and where it imports, the same command calls the hook's unfreeze and finishes the cutover
    monkeypatch.delitem(sys.modules, "tests.e2e.hook_recorder")
    assert _migration(engine, moto, tmp_path).up(3).stage == 3
    assert writers_state(moto, function) == (NEW, None)
    reloaded = sys.modules["tests.e2e.hook_recorder"]  # imported anew: its calls are logged afresh
    assert [action for action, _ in hook_recorder.CALLS] == ["freeze"]  # before the kill
    assert [action for action, _ in reloaded.CALLS] == ["unfreeze", "freeze", "unfreeze"]  # restored, then again


def _migration(engine: Any, moto: Moto, tmp_path: Any) -> Migration:
    return Migration(engine, aws=moto.settings, data=fast_data_plane(moto), lock_dir=tmp_path / "locks")

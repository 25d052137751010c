"""Online mode: a real difference stops the cutover before any freeze; `migrate catch-up` both ways; the hook."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from migrator.core.errors import EXIT_DATA, StreamGapError, VerificationError
from migrator.orchestrate.migration import Migration
from tests.conftest import Moto
from tests.e2e import hook_recorder
from tests.e2e.conftest import LEGACY, NEW, fast_data_plane, seed_legacy, stack_records
from tests.e2e.online_support import online_engine, writers_state


def _migration(engine: Any, moto: Moto, tmp_path: Any) -> Migration:
    return Migration(engine, aws=moto.settings, data=fast_data_plane(moto), lock_dir=tmp_path / "locks")


def _u5(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def test_a_real_difference_stops_the_cutover_before_any_freeze(moto: Moto, tmp_path: Any) -> None:
    # Given stage 2 done online, and an item in the new table that no legacy item accounts for
    engine = online_engine(moto)
    _migration(engine, moto, tmp_path).up(0)
    seed_legacy(moto.dynamodb, 30)
    _migration(engine, moto, tmp_path).up(2)
    function = engine.outputs()["consumerFunctionName"]
    moto.dynamodb.put_item(TableName=NEW, Item={"UUID": {"S": _u5("stray")}, "Name": {"S": "stray"}})
    # when stage 3 runs
    with pytest.raises(VerificationError) as stopped:
        _migration(engine, moto, tmp_path).up(3)
    # then it says which items differ, exits 1, and never froze or flipped anything
    assert stopped.value.exit_code == EXIT_DATA
    assert "still differ" in str(stopped.value) and _u5("stray") in str(stopped.value)
    assert "Nothing was frozen" in str(stopped.value)
    assert writers_state(moto, function) == (LEGACY, None)
    progress = stack_records(moto, engine).load("progress")
    assert progress["cutover"] is None and progress["completedStage"] == 2
    assert progress["verify"]["live"]["identical"] is False


def test_catch_up_replays_forward_before_cutover_and_back_after_it_and_the_hook_is_called(
    moto: Moto, tmp_path: Any
) -> None:
    # Given stage 2 done online, with a freezeHook for writers outside Lambda
    hook_recorder.CALLS.clear()
    engine = online_engine(moto, freezeHook="tests.e2e.hook_recorder:hook")
    _migration(engine, moto, tmp_path).up(0)
    seed_legacy(moto.dynamodb, 20)
    _migration(engine, moto, tmp_path).up(2)
    # when the legacy table is written and `migrate catch-up` runs
    moto.dynamodb.put_item(TableName=LEGACY, Item={"Name": {"S": "late"}, "V": {"N": "1"}})
    moto.dynamodb.delete_item(TableName=LEGACY, Key={"Name": {"S": "user-00003"}})
    forward = _migration(engine, moto, tmp_path).catch_up()
    # then the writes are on the new table
    assert (forward.direction, forward.source_table, forward.target_table) == ("forward", LEGACY, NEW)
    assert forward.ok and forward.catch_up["recordsReplayed"] >= 2
    late = moto.dynamodb.get_item(TableName=NEW, Key={"UUID": {"S": _u5("late")}}, ConsistentRead=True)
    gone = moto.dynamodb.get_item(TableName=NEW, Key={"UUID": {"S": _u5("user-00003")}}, ConsistentRead=True)
    assert late["Item"]["V"] == {"N": "1"} and "Item" not in gone

    # when stage 3 cuts over, the hook is called around the freeze with where the writers go
    _migration(engine, moto, tmp_path).up(3)
    assert [(action, ctx["from"], ctx["to"]) for action, ctx in hook_recorder.CALLS] == [
        ("freeze", LEGACY, NEW),
        ("unfreeze", LEGACY, NEW),
    ]
    # and after it, catch-up carries the new table's writes to the legacy table
    moto.dynamodb.put_item(TableName=NEW, Item={"UUID": {"S": _u5("after")}, "Name": {"S": "after"}})
    back = _migration(engine, moto, tmp_path).catch_up()
    assert (back.direction, back.source_table, back.target_table) == ("reverse", NEW, LEGACY)
    assert back.ok and back.catch_up["recordsReplayed"] >= 1
    carried = moto.dynamodb.get_item(TableName=LEGACY, Key={"Name": {"S": "after"}}, ConsistentRead=True)
    assert carried["Item"] == {"Name": {"S": "after"}}  # the new item minus the derived UUID
    progress = stack_records(moto, engine).load("progress")
    assert progress["online"]["catchUpBack"]["recordsReplayed"] >= 1


def test_catch_up_after_the_legacy_stream_was_turned_off_names_the_commands(moto: Moto, tmp_path: Any) -> None:
    # Given stage 2 done online, and the legacy table's stream turned off outside Pulumi
    engine = online_engine(moto)
    _migration(engine, moto, tmp_path).up(0)
    seed_legacy(moto.dynamodb, 5)
    _migration(engine, moto, tmp_path).up(2)
    moto.dynamodb.update_table(TableName=LEGACY, StreamSpecification={"StreamEnabled": False})
    # when catch-up runs
    with pytest.raises(StreamGapError) as caught:
        _migration(engine, moto, tmp_path).catch_up()
    # then it exits 1 and names what to run: a refresh (the state still has the stream), and a new export
    assert caught.value.exit_code == EXIT_DATA and "now has no stream" in str(caught.value)
    assert f"`pulumi refresh --stack {engine.name}`" in str(caught.value)
    assert "`migrate down --stage 1`, then `migrate up --stage 2`" in str(caught.value)

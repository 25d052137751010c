"""The online migration through the engine double, with the simulated consumer writing all along.

The consumer writes through the stack's own function (created in moto by the double) and obeys its
reserved concurrency, as Lambda would: a freeze throttles it, a flip of TABLE_NAME moves it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from migrator.core.ports import CHECKPOINTS
from migrator.demo.consumer import SimulatedConsumer
from migrator.orchestrate.migration import Migration
from tests.conftest import Moto
from tests.e2e.conftest import fast_data_plane, seed_legacy, stack_records
from tests.e2e.online_support import (
    ITEMS,
    LEGACY,
    NEW,
    RATE,
    by_name,
    expected_legacy,
    expected_new,
    online_engine,
    start_consumer,
    wait_for_writes,
    writers_state,
)


def migration_of(engine: Any, moto: Moto, tmp_path: Any, lines: list[str] | None = None) -> Migration:
    return Migration(
        engine,
        aws=moto.settings,
        data=fast_data_plane(moto),
        lock_dir=tmp_path / "locks",
        progress=(lines.append if lines is not None else None),
    )


def test_stages_1_to_3_online_lose_no_acknowledged_write(moto: Moto, tmp_path: Any) -> None:
    # Given stage 0 deployed online, 300 legacy items, and the consumer writing from before stage 1
    engine = online_engine(moto)
    engine.up()
    items = seed_legacy(moto.dynamodb, ITEMS)
    function = engine.outputs()["consumerFunctionName"]
    lines: list[str] = []
    consumer = start_consumer(engine, moto, items)
    try:
        # when stages 1 to 3 run while it writes
        result = migration_of(engine, moto, tmp_path, lines).up(3)
        wait_for_writes(consumer, NEW, 10)
    finally:
        consumer.stop()

    # then the writers are unfrozen on the new table, which holds every acknowledged write and nothing else
    assert consumer.errors == []
    assert writers_state(moto, function) == (NEW, None)
    assert {a.table for a in consumer.acks} == {LEGACY, NEW} and consumer.throttled > 0
    assert consumer.missing(NEW, ("UUID",), _deriver()) == []
    assert by_name(moto, NEW) == expected_new(consumer, items)
    # the legacy table got a NEW_AND_OLD_IMAGES stream at stage 1, recorded with the export
    described = moto.dynamodb.describe_table(TableName=LEGACY)["Table"]
    assert described["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    progress = stack_records(moto, engine).load("progress")
    assert progress["export"]["stream"]["arn"] == described["LatestStreamArn"]
    assert progress["cutover"] is None and progress["servedTraffic"] is True
    # the report: the freeze window and its parts, the replay, the lag at freeze; the checkpoints were saved
    freeze = result.to_dict()["freeze"]
    assert freeze["seconds"] > 0 and set(freeze["parts"]) >= {"freeze", "inFlightWait", "drain", "flip", "unfreeze"}
    assert freeze["lagAtFreeze"] >= 0 and freeze["flipped"] == [function]
    assert result.to_dict()["catchUp"]["recordsReplayed"] > 0
    assert set(stack_records(moto, engine).load(CHECKPOINTS)) == {"forward", "reverse"}
    assert engine.outputs()["activeTableName"] == NEW and engine.get_config()["stage"] == "3"
    assert any("freezing the writers" in line for line in lines), lines


def _deriver() -> Any:
    from migrator.core.derive import Deriver
    from tests.e2e.online_support import RULES

    return Deriver(RULES)


def test_offline_mode_declares_no_stream_and_keeps_the_drift_check(
    engine: Any, moto: Moto, seed: Callable[..., Any], make_migration: Callable[..., Migration]
) -> None:
    # Given the example stack in the offline mode (online: false), when stages 1 and 2 run
    seed(engine, moto, 50)
    make_migration().up(2)
    # then no stream is declared on either table,
    for table in (LEGACY, NEW):
        assert "StreamSpecification" not in moto.dynamodb.describe_table(TableName=table)["Table"]
    assert stack_records(moto, engine).load(CHECKPOINTS) is None
    # and a write after the export is drift, refused at cutover as before
    moto.dynamodb.put_item(TableName=LEGACY, Item={"Name": {"S": "late"}})
    from migrator.core.errors import DriftError

    try:
        make_migration().up(3)
    except DriftError as e:
        assert "--allow-drift" in str(e)
    else:
        raise AssertionError("the drift check did not refuse")


def test_down_from_3_carries_every_write_since_cutover_back_and_up_again_loses_nothing(
    moto: Moto, tmp_path: Any
) -> None:
    # Given stage 3 done online with the consumer writing to the new table
    engine = online_engine(moto)
    engine.up()
    items = seed_legacy(moto.dynamodb, 100)
    function = engine.outputs()["consumerFunctionName"]
    consumer = start_consumer(engine, moto, items, seed=3)
    try:
        migration_of(engine, moto, tmp_path).up(3)
        wait_for_writes(consumer, NEW, 15)
        # when it goes back to stage 2 while the consumer keeps writing
        back = migration_of(engine, moto, tmp_path).down(2)
        wait_for_writes(consumer, LEGACY, 10)
    finally:
        consumer.stop()
    since_cutover = sum(1 for a in consumer.acks if a.table == NEW)

    # then every write made to the new table since cutover was carried back (counted, no warning of lost
    # writes), and the legacy table holds every acknowledged write, minus the derived UUID
    assert back.stage == 2 and back.carried_back is not None
    assert back.carried_back["writes"] >= since_cutover and back.carried_back["freeze"]["seconds"] > 0
    assert not any("not in" in w for w in back.warnings) and "carried back" in back.text()
    assert writers_state(moto, function) == (LEGACY, None)
    assert consumer.errors == [] and by_name(moto, LEGACY) == expected_legacy(consumer, items)

    # and a second cutover (the consumer writing again, its log going on) loses nothing either
    again_consumer = SimulatedConsumer(
        moto.settings, function, consumer.live, rate=RATE, seed=4, acks=consumer.acks
    ).start()
    try:
        again = migration_of(engine, moto, tmp_path).up(3)
        wait_for_writes(again_consumer, NEW, 5)
    finally:
        again_consumer.stop()
    assert again.stage == 3 and writers_state(moto, function) == (NEW, None)
    assert again_consumer.errors == [] and by_name(moto, NEW) == expected_new(again_consumer, items)


def test_writes_that_reach_the_legacy_table_after_the_unfreeze_are_replayed_with_a_warning(
    moto: Moto, tmp_path: Any, monkeypatch: Any
) -> None:
    # Given stage 2 done online, and a writer the config does not list, which keeps writing the legacy table
    from migrator.orchestrate.stream_steps import StreamSteps

    engine = online_engine(moto)
    engine.up()
    seed_legacy(moto.dynamodb, 20)
    migration_of(engine, moto, tmp_path).up(2)
    rogue = [{"Name": {"S": f"rogue-{i}"}, "Note": {"S": "after the unfreeze"}} for i in range(3)]
    original = StreamSteps.legacy_writes

    def rogue_writer_then_check(self: StreamSteps, run: Any) -> None:
        for item in rogue:  # written after the flip and the unfreeze, before the step that looks for them
            moto.dynamodb.put_item(TableName=LEGACY, Item=item)
        original(self, run)

    monkeypatch.setattr(StreamSteps, "legacy_writes", rogue_writer_then_check)

    # when stage 3 runs
    result = migration_of(engine, moto, tmp_path).up(3)

    # then those writes are in the new table (derived key and all), counted, and the result warns, naming the key
    new = by_name(moto, NEW)
    assert all(f"rogue-{i}" in new for i in range(3)), sorted(new)[-5:]
    assert stack_records(moto, engine).load("progress")["online"]["writesAfterUnfreeze"] == 3
    (warning,) = [w for w in result.warnings if "after the writers were unfrozen" in w]
    assert warning.startswith(f"3 write(s) reached {LEGACY}") and "table-migration:writers" in warning

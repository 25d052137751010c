"""An online cutover on moto with the library alone (no Pulumi): writes flow throughout and none is lost.

Export → transform → import while the simulated consumer writes; replay until caught up; freeze the
writer, drain, re-check, flip, unfreeze; then writes on the new table are carried back to the legacy
table by the reverse replay. The consumer stands in for Lambda (see tests/support/consumer.py): it
obeys the reserved concurrency that moto only stores.
"""

from __future__ import annotations

import json
import time

from migrator.core.canonical import canonical_item
from migrator.core.derive import Deriver, parse_rules
from migrator.core.online_config import Writer
from migrator.core.replay_map import forward_map, reverse_map
from migrator.data.stream.freeze import FreezeState, capture
from migrator.data.stream.reader import check_covers, streams_client, table_stream, wait_enabled
from migrator.data.stream.recheck import recheck_keys
from migrator.data.stream.replay import Replayer, ReplaySource
from migrator.data.stream.window import PARTS, run_window
from tests.functional.test_round_trip import export, import_table, imported, transform
from tests.support.consumer import SimulatedConsumer, create_writer_function
from tests.support.tables import scan_all, stream_table

RULES = parse_rules({"UUID": "uuid5(Name)"})
SCHEMAS = json.dumps(
    {
        "Legacy": {"partitionKey": "Name"},
        "New": {"partitionKey": "UUID", "derive": {"UUID": "uuid5(Name)"}},
    }
)
ENV = {"TABLE_NAME": "Legacy", "NAME_ATTRIBUTE": "Name", "NAME_TYPE": "S", "TABLE_SCHEMAS": SCHEMAS}


def seed(moto, count: int) -> dict[str, dict]:
    stream_table(moto.dynamodb, "Legacy", [("Name", "S")])
    moto.dynamodb.update_continuous_backups(
        TableName="Legacy", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    items = {f"user-{n:04d}": {"Name": {"S": f"user-{n:04d}"}, "Score": {"N": str(n)}} for n in range(count)}
    for item in items.values():
        moto.dynamodb.put_item(TableName="Legacy", Item=item)
    return items


def by_name(items: list[dict]) -> dict[str, bytes]:
    return {i["Name"]["S"]: canonical_item(i) for i in items}


def test_online_cutover_and_back_loses_no_acknowledged_write(moto):
    db, lam = moto.dynamodb, moto.settings.client("lambda")
    initial = seed(moto, 150)
    create_writer_function(moto.settings, "Writer", ENV, timeout=10)  # the in-flight bound; quiet comes first
    streams = streams_client(moto.settings)
    writer = SimulatedConsumer(moto.settings, "Writer", initial, rate=40.0, seed=7, work_seconds=0.01).start()
    try:
        # Stage 1: the stream is on before the export; the export, transform and import run while writes flow
        legacy_stream = wait_enabled(db, streams, "Legacy", poll_seconds=0.1)
        exported = export(moto, "Legacy")
        check_covers(legacy_stream, exported.export_time.timestamp())
        transformed = transform(moto, exported.layout, ("UUID=uuid5(Name)",), ("UUID",))
        arn = import_table(moto, "New", [("UUID", "S")], "migration-bucket", transformed.layout.data_prefix)
        imported(moto, "New", arn, transformed.items_out)
        db.update_table(
            TableName="New", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        )

        # Stage 2/3: catch up while the consumer keeps writing
        forward = Replayer(
            ReplaySource(
                "Legacy",
                "New",
                legacy_stream.arn,
                legacy_stream.view_type,
                forward_map(RULES, ("Name",), ("UUID",)),
                exported.export_time.timestamp(),
            ),
            dynamodb=db,
            streams=streams,
        )
        caught = forward.catch_up(max_lag=2.0, in_a_row=3, timeout=120)
        assert caught.caught_up and caught.clean and caught.records > 0

        # Stage 3: the freeze window; the state is recorded (as JSON) before the freeze
        state = capture(lam, [Writer("Writer")], expect_table="Legacy")
        recorded = json.dumps(state.to_dict())
        new_stream = table_stream(db, "New")
        back = Replayer(
            ReplaySource(
                "New", "Legacy", new_stream.arn, new_stream.view_type, reverse_map(RULES, ("Name",), ("UUID",))
            ),
            dynamodb=db,
            streams=streams,
        )

        def recheck(keys):
            return recheck_keys(
                db, source_table="Legacy", target_table="New", item_map=forward.source.item_map, keys=keys
            )

        acked_before = len(writer.acks)
        window = run_window(
            lam,
            FreezeState.from_dict(json.loads(recorded)),
            forward,
            flip_to="New",
            recheck=recheck,
            quiet_seconds=1.0,
            on_flipped=back.advance_to_end,  # frozen and drained: the new stream's end is where going back starts
        )
        assert window.recheck is not None and window.recheck.clean
        assert set(window.to_dict()["parts"]) == set(PARTS) and window.seconds > 0
        assert window.in_flight.reason == "quiet"
        # Writes go on, now to the new table
        deadline = time.monotonic() + 30
        while sum(1 for a in writer.acks[acked_before:] if a.table == "New") < 40 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        writer.stop()

    assert writer.errors == []
    assert writer.throttled > 0  # some requests met the freeze
    assert {a.table for a in writer.acks[:acked_before]} == {"Legacy"} and writer.acks[-1].table == "New"
    # Writers are unfrozen and on the new table
    assert lam.get_function_concurrency(FunctionName="Writer").get("ReservedConcurrentExecutions") is None
    assert lam.get_function_configuration(FunctionName="Writer")["Environment"]["Variables"]["TABLE_NAME"] == "New"

    # Every acknowledged write, and nothing else, is in the new table
    expected = writer.expected_new_items(initial, Deriver(RULES))
    assert by_name(scan_all(db, "New")) == {name: canonical_item(item) for name, item in expected.items()}

    # Going back: the new table's writes since the flip are carried to the legacy table
    carried = back.drain(poll_seconds=0.05)
    assert carried.clean and carried.records >= 40
    legacy_expected = {
        n: {k: v for k, v in item.items() if k != "UUID"} for n, item in writer.final_items(initial).items()
    }
    assert by_name(scan_all(db, "Legacy")) == {n: canonical_item(i) for n, i in legacy_expected.items()}

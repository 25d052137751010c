"""The example migration through all five stages on the engine double: every item moved, one export."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from migrator.demo.local import run_demo
from migrator.orchestrate.migration import Migration
from tests.conftest import Moto
from tests.e2e.conftest import (
    LEGACY,
    NEW,
    SEEDED_ITEMS,
    both_identical,
    count_items,
    export_count,
    missing_from_new,
    moto_snapshot,
    scan_all,
)
from tests.e2e.mock_engine import MockEngineStack, program_under_mocks


def _consumer_table(engine: MockEngineStack) -> str:
    """The TABLE_NAME the consumer Lambda is declared with, in the double's state."""
    (function,) = [h for h in engine.state.values() if h.declared.name == "hello-world"]
    return function.declared.inputs["environment"]["variables"]["TABLE_NAME"]


LEGACY_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/MyTable"
NEW_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/MyNewTable"
BUCKET = re.compile(r"table-export-bucket-[0-9a-f]{7}")  # named by the engine (the mocks): the resource name + a suffix


def _expected_outputs(stage: int, bucket: str) -> dict[str, Any]:
    """The stack outputs (the README's "The program") of the example at ``stage``, written out."""
    legacy = {"legacyTableName": "MyTable", "legacyTableArn": LEGACY_ARN}
    new = {"newTableName": "MyNewTable", "newTableArn": NEW_ARN}
    consumer = {"consumerFunctionName": "HelloWorld-e2e"}
    on_legacy = {"activeTableName": "MyTable", "activeTableArn": LEGACY_ARN}
    on_new = {"activeTableName": "MyNewTable", "activeTableArn": NEW_ARN}
    return {
        0: {"stage": 0, **on_legacy, **legacy, **consumer},
        1: {"stage": 1, **on_legacy, **legacy, "exportBucket": bucket, **consumer},
        2: {"stage": 2, **on_legacy, **legacy, **new, "exportBucket": bucket, **consumer},
        3: {"stage": 3, **on_new, **legacy, **new, "exportBucket": bucket, **consumer},
        4: {"stage": 4, **on_new, "legacyTableName": "MyTable", **new, "exportBucket": bucket, **consumer},
    }[stage]


def _check_outputs(engine: MockEngineStack, moto: Moto, stage: int, outputs: Mapping[str, Any]) -> None:
    """The result's and the stack's outputs are the contract's, and name what is in AWS."""
    bucket = str(outputs.get("exportBucket", ""))
    assert dict(outputs) == _expected_outputs(stage, bucket)
    assert engine.outputs() == _expected_outputs(stage, bucket)
    if stage >= 1:
        assert BUCKET.fullmatch(bucket), bucket
        assert [b["Name"] for b in moto.s3.list_buckets()["Buckets"]] == [bucket]
    for table, arn in ((LEGACY, LEGACY_ARN), (NEW, NEW_ARN)):
        if arn in outputs.values():
            assert moto.dynamodb.describe_table(TableName=table)["Table"]["TableArn"] == arn


def test_the_example_goes_from_stage_0_to_4(
    engine: MockEngineStack, moto: Moto, deployed: list[dict[str, Any]], make_migration: Callable[..., Migration]
) -> None:
    # Given stage 0 deployed and 2,000 legacy items
    _check_outputs(engine, moto, 0, engine.outputs())
    migration = make_migration()

    # when stage 1 runs: PITR and the bucket, one export, the transformed copy recorded as importSource
    one = migration.up(1)
    _check_outputs(engine, moto, 1, one.outputs)
    assert one.stages_run[-1] == 1 and engine.get_config()["stage"] == "1"
    bucket = one.outputs["exportBucket"]
    assert moto_snapshot(moto)["tables"][LEGACY]["pitr"] == "ENABLED"
    assert engine.get_config()["importSource"] == {
        "bucket": bucket,
        "keyPrefix": "transformed/e2e/MyNewTable/data/",
        "compression": "GZIP",
        "itemCount": 2000,
    }
    assert export_count(moto.dynamodb) == 1

    # when stage 2 runs: the new table imported next to the legacy one, still unused
    two = migration.up(2)
    _check_outputs(engine, moto, 2, two.outputs)
    assert (two.outputs["newTableName"], two.outputs["activeTableName"]) == (NEW, LEGACY)
    assert _consumer_table(engine) == LEGACY
    assert missing_from_new(moto.dynamodb, deployed) == ([], [])

    # when stage 3 runs: the consumer moves to the new table, which is now deletion-protected
    three = migration.up(3)
    _check_outputs(engine, moto, 3, three.outputs)
    assert three.outputs["activeTableName"] == NEW and _consumer_table(engine) == NEW
    assert moto_snapshot(moto)["tables"][NEW]["deletionProtection"] is True

    # when stage 4 runs: the legacy table leaves the stack
    four = migration.up(4)
    _check_outputs(engine, moto, 4, four.outputs)

    # then every item is in the new table, the legacy table is kept in AWS with deletion protection
    # but is out of the stack's state, there was exactly one export, and the report says so.
    assert missing_from_new(moto.dynamodb, deployed) == ([], [])
    tables = moto_snapshot(moto)["tables"]
    assert tables[LEGACY]["items"] == SEEDED_ITEMS and tables[LEGACY]["deletionProtection"] is True
    assert "table-legacy" not in {r.name for r in engine.resources()}
    assert {r.name for r in engine.resources() if r.type == "aws:dynamodb/table:Table"} == {"table-new"}
    assert four.outputs["activeTableName"] == NEW and four.outputs["legacyTableName"] == LEGACY
    assert engine.get_config()["stage"] == "4" and "lock" not in engine.get_config()
    assert export_count(moto.dynamodb) == 1
    assert four.report is not None
    assert four.report.verify["export"].identical is True
    assert four.report.verify["live"].identical is True
    assert four.report.import_check.imported_count == SEEDED_ITEMS


def test_up_to_4_at_once_then_again_changes_nothing(
    engine: MockEngineStack, moto: Moto, seed: Callable[..., Any], make_migration: Callable[..., Migration]
) -> None:
    # Given 100 legacy items, migrated in one `up --stage 4`
    items = seed(engine, moto, 100)
    first = make_migration().up(4)
    assert first.stages_run[-4:] == (1, 2, 3, 4)
    updates, snapshot, config = engine.updates, moto_snapshot(moto), engine.get_config()

    # when it runs again
    again = make_migration().up(4)

    # then it is a no-op: no update, no export, nothing in moto or the config changed.
    assert again.stages_run == ()
    assert (engine.updates, moto_snapshot(moto), engine.get_config()) == (updates, snapshot, config)
    assert missing_from_new(moto.dynamodb, items) == ([], [])
    assert export_count(moto.dynamodb) == 1


def _run_demo(tmp_path: Path, **options: Any) -> tuple[Any, list[MockEngineStack]]:
    """``run_demo`` on the demo's own moto server and config, with the engine double in place of Pulumi.

    (The ``moto`` fixture only resets the emulator: every moto server in one process shares the same backends.)
    """
    stacks: list[MockEngineStack] = []

    def open_stack(stack: str, work_dir: Path, *, create: bool, env: Mapping[str, str]) -> MockEngineStack:
        assert (work_dir / "Pulumi.yaml").is_file() and create
        # The program runs from the demo's copied project, as the engine runs it: every asset it
        # registers must exist there (the derive code of the Lambda archive included).
        stacks.append(MockEngineStack(stack, {}, program_under_mocks, work_dir=work_dir))
        return stacks[-1]

    return run_demo(items=200, open_stack=open_stack, lock_dir=tmp_path, **options), stacks


def test_migrate_demo_without_writes_copies_exactly_the_seeded_items(moto: Moto, tmp_path: Path) -> None:
    # Given the demo with its simulated consumer off, when it runs
    result, stacks = _run_demo(tmp_path, write_rate=0)

    # then it went through stages 0→4,
    assert result.stages == (0, 1, 2, 3, 4) and result.items == 200
    (stack,) = stacks
    assert stack.get_config()["stage"] == "4" and stack.outputs()["activeTableName"] == "MyNewTable"
    # the legacy table (kept, deletion-protected) holds the 200 seeded items, and the new table holds
    # exactly each of them with UUID = uuid5(Name), by a scan of both tables here,
    legacy = scan_all(moto.dynamodb, "MyTable")
    assert sorted(item["Name"]["S"] for item in legacy) == [f"user-{i:06d}" for i in range(200)]
    assert moto_snapshot(moto)["tables"]["MyTable"]["deletionProtection"] is True
    assert missing_from_new(moto.dynamodb, legacy) == ([], [])
    assert count_items(moto.dynamodb, "MyNewTable") == 200
    # and its report says the same.
    assert result.report["verify"]["export"]["identical"] is True
    assert result.report["verify"]["live"]["identical"] is True
    assert result.report["importCheck"]["importedCount"] == 200
    # and the new table has the demo's index, as DescribeTable shows it after stage 4
    assert result.report["newTableIndexes"] == ["ByScore (global): Score (N), Created (N); KEYS_ONLY"]
    assert "MyNewTable indexes: ByScore (global): Score (N), Created (N); KEYS_ONLY" in result.text()
    # (the same reading of the report as the real-engine test's)
    assert both_identical(result.text()), result.text()


def test_migrate_demo_runs_all_five_stages_while_the_consumer_writes(moto: Moto, tmp_path: Path) -> None:
    # When the demo runs (online, its simulated consumer writing at the default 20 requests/s throughout)
    result, stacks = _run_demo(tmp_path)

    # then it went through stages 0→4 and its report says both verifications found the tables identical,
    # every acknowledged write is in the new table, and the writers were frozen for a while at cutover.
    assert result.stages == (0, 1, 2, 3, 4) and result.items == 200
    data = result.to_dict()
    assert data["writes"]["acknowledged"] > 20 and data["writes"]["missing"] == 0, data["writes"]
    assert data["writes"]["throttled"] > 0 and data["freeze"]["seconds"] > 0
    assert data["catchUp"]["recordsReplayed"] > 0 and result.ok
    assert "missing from MyNewTable" in result.text() and "freeze: writers frozen" in result.text()
    (stack,) = stacks
    assert stack.get_config()["stage"] == "4" and stack.outputs()["activeTableName"] == "MyNewTable"
    assert moto_snapshot(moto)["tables"]["MyTable"]["deletionProtection"] is True
    assert result.report["verify"]["export"]["identical"] is True
    assert result.report["verify"]["live"]["identical"] is True
    # (the consumer writes from before the export: the import holds what the export saw)
    assert result.report["importCheck"]["importedCount"] == result.report["export"]["itemCount"]
    assert both_identical(result.text()), result.text()

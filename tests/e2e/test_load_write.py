"""A new table with a local secondary index: ImportTable cannot make it, `newTable.load: write` loads it.

Through `migrate up` on the engine double: the config explains the limit without `load: write`; with it,
stage 2 creates the table empty with its indexes, writes every item (resumably, a crash included), counts
and verifies them.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import migrator.cli.stack as cli_stack
import migrator.data.load.write as load_module
from migrator.cli import app
from tests.conftest import Moto
from tests.e2e.conftest import scan_all, stack_records
from tests.e2e.mock_engine import MockEngineStack, program_under_mocks
from tests.e2e.own_program import index_names, migration_of
from tests.e2e.test_crash_resume import Crash, leave_lock_of_a_killed_run

EVENTS, EVENTS_V2 = "Events", "EventsV2"
ITEMS = 60


def events_config(endpoint: str, **new: Any) -> dict[str, Any]:
    """Events (Device, At) with a local index on Level and a global one on Kind, to EventsV2 keyed by DeviceId."""
    return {
        "aws:region": "us-east-1",
        "stage": "0",
        "endpoint": endpoint,
        "legacyTable": {
            "name": EVENTS,
            "partitionKey": {"name": "Device", "type": "S"},
            "sortKey": {"name": "At", "type": "N"},
            "localSecondaryIndexes": [
                {"name": "ByLevel", "sortKey": {"name": "Level", "type": "N"}, "projection": "ALL"}
            ],
            "globalSecondaryIndexes": [
                {"name": "ByKind", "partitionKey": {"name": "Kind", "type": "S"}, "projection": "KEYS_ONLY"}
            ],
        },
        "newTable": {
            "name": EVENTS_V2,
            "partitionKey": {"name": "DeviceId", "type": "S"},
            "sortKey": {"name": "At", "type": "N"},
            **new,
        },
        "derive": {"DeviceId": "uuid5(Device)"},
    }


def event(i: int) -> dict[str, Any]:
    return {
        "Device": {"S": f"device-{i % 4}"},
        "At": {"N": str(1_700_000_000 + i)},
        "Level": {"N": str(i % 5)},
        "Kind": {"S": ("boot", "error", "ping")[i % 3]},
    }


def seed_events(moto: Moto) -> list[dict[str, Any]]:
    items = [event(i) for i in range(ITEMS)]
    for item in items:
        moto.dynamodb.put_item(TableName=EVENTS, Item=item)
    return items


def device_id(device: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, device))


def test_a_kept_local_index_is_refused_without_load_write_and_explains_importtable_s_limit(
    moto: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = MockEngineStack("events", events_config(moto.endpoint), program_under_mocks)
    monkeypatch.setattr(cli_stack, "open_stack", lambda name, work_dir, *, create: engine)
    monkeypatch.setenv("TMPDIR", str(tmp_path))

    result = CliRunner().invoke(app, ["up", "--stage", "1", "--stack", "events"])

    assert result.exit_code == 2, result.stdout + result.stderr
    assert "table-migration:newTable.load" in result.stderr
    assert "ImportTable cannot create a table with local secondary indexes" in result.stderr
    assert "load: write" in result.stderr
    assert engine.updates == 0 and EVENTS not in moto.dynamodb.list_tables()["TableNames"]


def _stage_1(moto: Moto, tmp_path: Path) -> tuple[MockEngineStack, list[dict[str, Any]]]:
    engine = MockEngineStack("events", events_config(moto.endpoint, load="write"), program_under_mocks)
    migration_of(engine, moto, tmp_path).up(0)
    items = seed_events(moto)
    migration_of(engine, moto, tmp_path).up(1)
    return engine, items


def _every_item_with_its_indexes(moto: Moto, items: list[dict[str, Any]]) -> None:
    loaded = scan_all(moto.dynamodb, EVENTS_V2)
    assert len(loaded) == len(items)
    assert index_names(moto.dynamodb, EVENTS_V2) == {"ByLevel", "ByKind"}
    # The local index answers on the new key: device-1's events of level 2.
    page = moto.dynamodb.query(
        TableName=EVENTS_V2,
        IndexName="ByLevel",
        KeyConditionExpression="DeviceId = :d AND #l = :l",
        ExpressionAttributeNames={"#l": "Level"},
        ExpressionAttributeValues={":d": {"S": device_id("device-1")}, ":l": {"N": "2"}},
    )
    expected = [i for i in items if i["Device"]["S"] == "device-1" and i["Level"]["N"] == "2"]
    assert page["Count"] == len(expected) > 0
    kinds = moto.dynamodb.query(
        TableName=EVENTS_V2,
        IndexName="ByKind",
        KeyConditionExpression="Kind = :k",
        ExpressionAttributeValues={":k": {"S": "error"}},
    )
    assert kinds["Count"] == len([i for i in items if i["Kind"]["S"] == "error"])


def test_load_write_migrates_every_item_with_the_local_index_in_place_through_a_crash_mid_load(
    moto: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Events at stage 1 with load: write, and a load that checkpoints every batch and dies at its third
    engine, items = _stage_1(moto, tmp_path)
    writes: list[int] = []
    real_write = load_module._Loader.write
    real_load = load_module.load_export

    def load_every_batch(*args: Any, **kwargs: Any) -> Any:
        return real_load(*args, **{**kwargs, "checkpoint_every": 25, "workers": 1})

    def dying_write(loader: Any, batch: list[dict[str, Any]], key: str) -> None:
        writes.append(len(batch))
        if len(writes) == 3:
            raise Crash("during the load")
        real_write(loader, batch, key)

    monkeypatch.setattr("migrator.data.dataplane.load_export", load_every_batch)
    monkeypatch.setattr(load_module._Loader, "write", dying_write)
    with pytest.raises(Crash):
        migration_of(engine, moto, tmp_path).up(2)
    leave_lock_of_a_killed_run(engine, moto)
    assert len(scan_all(moto.dynamodb, EVENTS_V2)) == 50  # two batches written and checkpointed

    # when `migrate up --stage 2` runs again (the process that died is gone)
    monkeypatch.setattr(load_module._Loader, "write", real_write)
    lines: list[str] = []
    migration_of(engine, moto, tmp_path, lines).up(2)

    # then it loaded instead of checking an import: the program made the table empty (no ImportTable)
    assert "  step: write the export into the new table (BatchWriteItem, resumable), then count its items" in lines
    assert not any("check the import" in line for line in lines)
    new = next(h for h in engine.state.values() if h.declared.name == "table-new")
    assert "importTable" not in new.declared.inputs
    # and it resumed after the last checkpoint and finished: every item with both indexes, counted and verified
    _every_item_with_its_indexes(moto, items)
    record = stack_records(moto, engine).load("progress") or {}
    check = record["importCheck"]
    assert check["method"] == "write" and check["importedCount"] == check["expectedCount"] == ITEMS
    assert check["itemsWritten"] == ITEMS - 50
    assert record["verify"]["export"]["identical"] is True and record["completedStage"] == 2

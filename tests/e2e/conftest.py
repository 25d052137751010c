"""End-to-end fixtures: the example migration (MyTable Name:S → MyNewTable UUID:S) on the moto server,
driven through the engine double, with a seeded legacy table."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from migrator.core.ports import UPDATE
from migrator.data.dataplane import AwsDataPlane
from migrator.data.record_table import DynamoRecordStore
from migrator.orchestrate.migration import Migration
from tests.conftest import Moto
from tests.e2e.mock_engine import MockEngineStack, dead_pid, program_under_mocks

STACK = "e2e"  # not "dev": the migration lock file is per stack name, and other suites use "dev"
LEGACY = "MyTable"
NEW = "MyNewTable"
SEEDED_ITEMS = 2000


def example_config(endpoint: str) -> dict[str, Any]:
    """The README's example at stage 0: Name:S → UUID:S with UUID = uuid5(Name), all AWS calls to moto.

    In the offline mode (writes stopped for the migration, the drift check at cutover): these tests are
    its tests. The online mode's flow has tests of its own (test_online_*.py, with ``online_config``).
    """
    return {
        "aws:region": "us-east-1",
        "stage": "0",
        "online": False,
        "legacyTable": {"name": LEGACY, "partitionKey": {"name": "Name", "type": "S"}, "ttlAttribute": "ExpiresAt"},
        "newTable": {"name": NEW, "partitionKey": {"name": "UUID", "type": "S"}, "ttlAttribute": "ExpiresAt"},
        "derive": {"UUID": "uuid5(Name)"},
        "endpoint": endpoint,
    }


def legacy_item(i: int) -> dict[str, Any]:
    """Item ``i`` of the seeded legacy table, in DynamoDB JSON, with every attribute type over the set."""
    item: dict[str, Any] = {
        "Name": {"S": f"user-{i:05d}" if i % 7 else f"usér-{i:05d}-ünïcode-✓"},
        "Created": {"N": str(1_700_000_000 + i)},
        "Score": {"N": str(Decimal(i) / 8)},
    }
    extras = (
        # boto3 takes and returns raw bytes for B; the wire and the export carry base64.
        ("Blob", {"B": i.to_bytes(4, "big") + b"\x00\xff"}),
        ("Tags", {"SS": [f"t{i % 3}", f"t{i % 5 + 3}"]}),
        ("Nums", {"NS": [str(i), str(i + 0.5)]}),
        ("Active", {"BOOL": i % 2 == 0}),
        ("Gone", {"NULL": True}),
        ("Meta", {"M": {"depth": {"N": str(i % 10)}, "path": {"L": [{"S": "a"}, {"N": "1"}, {"BOOL": False}]}}}),
        ("Bins", {"BS": [bytes([i % 256, 1]), b"x"]}),
        # moto's import reads JSON without decoding escapes and misparses brackets inside strings:
        # free text here stays clear of quotes, backslashes, control characters and brackets.
        ("Note", {"S": f"note #{i} / a@b: ünïcode ✓ 日本 & more"}),
        ("ExpiresAt", {"N": str(4_000_000_000 + i)}),
    )
    for n, (name, value) in enumerate(extras):
        if (i + n) % 3:
            item[name] = value
    return item


def seed_legacy(dynamodb: Any, count: int) -> list[dict[str, Any]]:
    """Write ``count`` items to the legacy table; return them."""
    items = [legacy_item(i) for i in range(count)]
    for start in range(0, count, 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        pending: dict[str, Any] = {LEGACY: batch}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    return items


def scan_all(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    """Every item of ``table`` (DynamoDB JSON)."""
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        items.extend(page["Items"])
    return items


def count_items(dynamodb: Any, table: str) -> int:
    """How many items ``table`` holds (a counting scan: far cheaper on moto than reading them)."""
    pages = dynamodb.get_paginator("scan").paginate(TableName=table, Select="COUNT")
    return sum(page["Count"] for page in pages)


def expected_new_item(item: dict[str, Any]) -> dict[str, Any]:
    """What the example's derive makes of a legacy item: every attribute kept, plus UUID = uuid5(Name)."""
    return {**item, "UUID": {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, item["Name"]["S"]))}}


def canonical(value: Any) -> Any:
    """A DynamoDB JSON value with sets sorted and numbers normalised, so equal items compare equal."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "N":
                out[k] = str(Decimal(v).normalize())
            elif k == "NS":
                out[k] = sorted(str(Decimal(x).normalize()) for x in v)
            elif k in ("SS", "BS"):
                out[k] = sorted(v)
            else:
                out[k] = canonical(v)
        return out
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def missing_from_new(dynamodb: Any, legacy_items: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Legacy names whose derived item is not in the new table exactly, and new-table keys nobody expects."""
    new = {i["UUID"]["S"]: canonical(i) for i in scan_all(dynamodb, NEW)}
    wrong = []
    expected_keys = set()
    for item in legacy_items:
        want = canonical(expected_new_item(item))
        expected_keys.add(want["UUID"]["S"])
        if new.get(want["UUID"]["S"]) != want:
            wrong.append(item["Name"]["S"])
    return wrong, sorted(set(new) - expected_keys)


def both_identical(report: str) -> bool:
    """True when a final report (its text) has its two verification lines and both say identical."""
    verdicts = [line for line in report.splitlines() if line.strip().startswith("verify ")]
    return len(verdicts) == 2 and all(": identical" in line for line in verdicts)


def table_names(dynamodb: Any) -> set[str]:
    """The tables in moto."""
    return set(dynamodb.list_tables()["TableNames"])


def export_count(dynamodb: Any) -> int:
    """How many exports of the legacy table moto knows about."""
    arn = dynamodb.describe_table(TableName=LEGACY)["Table"]["TableArn"]
    return len(dynamodb.list_exports(TableArn=arn).get("ExportSummaries", []))


def moto_snapshot(moto: Moto) -> dict[str, Any]:
    """What is in moto now: tables with item counts and settings, buckets with object keys."""
    tables = {}
    for name in sorted(table_names(moto.dynamodb)):
        desc = moto.dynamodb.describe_table(TableName=name)["Table"]
        pitr = moto.dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        tables[name] = {
            "items": count_items(moto.dynamodb, name),
            "keys": desc["KeySchema"],
            "deletionProtection": desc.get("DeletionProtectionEnabled", False),
            "pitr": pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"],
        }
    buckets = {}
    for bucket in moto.s3.list_buckets().get("Buckets", []):
        pages = moto.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"])
        buckets[bucket["Name"]] = sorted(o["Key"] for page in pages for o in page.get("Contents", []))
    return {"tables": tables, "buckets": buckets}


@pytest.fixture
def config(moto: Moto) -> dict[str, Any]:
    """The example stack config at stage 0, pointed at the moto server."""
    return example_config(moto.endpoint)


@pytest.fixture
def engine(moto: Moto, config: dict[str, Any]) -> MockEngineStack:
    """An engine double for stack ``e2e`` holding the example config; nothing deployed yet."""
    return MockEngineStack(STACK, config, program_under_mocks)


@pytest.fixture
def seed() -> Callable[..., Any]:
    """``seed(engine, moto, count)``: deploy stage 0 through the double, then write ``count`` legacy items."""

    def deploy(engine: MockEngineStack, moto: Moto, count: int = SEEDED_ITEMS) -> list[dict[str, Any]]:
        engine.up()
        return seed_legacy(moto.dynamodb, count)

    return deploy


@pytest.fixture
def deployed(engine: MockEngineStack, moto: Moto, seed: Callable[..., Any]) -> list[dict[str, Any]]:
    """Stage 0 deployed through the double and the legacy table seeded with 2,000 items; returns the items."""
    return seed(engine, moto, SEEDED_ITEMS)


@pytest.fixture
def progress_lines() -> list[str]:
    """Every progress line the migrations of a test print."""
    return []


@pytest.fixture
def make_migration(
    engine: MockEngineStack, moto: Moto, tmp_path: Any, progress_lines: list[str]
) -> Callable[..., Migration]:
    """``make_migration(data=None)``: a Migration of the double's stack on moto, polling AWS every 50 ms.

    Each call is a new Migration, as a new process would be; ``data`` wraps or replaces the data plane.
    """

    def make(data: Any = None) -> Migration:
        return Migration(
            engine,
            aws=moto.settings,
            progress=progress_lines.append,
            data=data if data is not None else fast_data_plane(moto),
            lock_dir=tmp_path / "locks",
        )

    return make


def stack_records(moto: Moto, engine: MockEngineStack) -> DynamoRecordStore:
    """The record store every Migration of ``engine``'s stack uses by default (the record table in moto)."""
    return DynamoRecordStore(moto.settings, scope=f"{engine.project}/{engine.name}")


def fast_data_plane(moto: Moto) -> AwsDataPlane:
    """The real data plane on moto, polling every 50 ms instead of every 10 s."""
    return AwsDataPlane(moto.settings, poll_seconds=0.05)


def kill_the_run(moto: Moto, engine: MockEngineStack) -> None:
    """What a ``kill -9`` of the ``migrate`` process leaves behind, for a run killed in this test's process.

    The engine double already left its lock naming a dead pid; the run's update mark names this (live)
    process, so it is rewritten to name a dead one, as the killed process's mark would.
    """
    records = stack_records(moto, engine)
    mark = records.load(UPDATE)
    if mark is not None:
        records.save(UPDATE, {**mark, "pid": dead_pid()})

"""Adopting a table Pulumi does not manage (made by CDK, the console, Terraform): `migrate init --adopt`, then
stage 0 imports it, as it is, into the stack. Through the CLI, with the engine double behind the stack."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import migrator.cli.stack as cli_stack
from migrator.cli import app
from migrator.core.errors import StackNotFoundError
from tests.conftest import Moto
from tests.e2e.conftest import count_items
from tests.e2e.mock_engine import MockEngineStack, program_under_mocks
from tests.e2e.own_program import order

ORDERS = "Orders"
STACK = "shop"
TABLE = "aws:dynamodb/table:Table"


def make_live_orders(moto: Moto, items: int = 20) -> dict[str, Any]:
    """Orders as another tool made it: provisioned, two global indexes (one INCLUDE), tags, TTL, PITR, a stream."""
    dynamodb = moto.dynamodb
    dynamodb.create_table(
        TableName=ORDERS,
        KeySchema=[{"AttributeName": "Customer", "KeyType": "HASH"}, {"AttributeName": "Created", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": kind}
            for name, kind in (("Customer", "S"), ("Created", "N"), ("Status", "S"), ("Email", "S"))
        ],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 4},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByStatus",
                "KeySchema": [
                    {"AttributeName": "Status", "KeyType": "HASH"},
                    {"AttributeName": "Created", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["Total"]},
                "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 1},
            },
            {
                "IndexName": "ByEmail",
                "KeySchema": [{"AttributeName": "Email", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 3, "WriteCapacityUnits": 1},
            },
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        Tags=[{"Key": "team", "Value": "shop"}, {"Key": "made-by", "Value": "cdk"}],
    )
    dynamodb.update_time_to_live(
        TableName=ORDERS, TimeToLiveSpecification={"AttributeName": "ExpiresAt", "Enabled": True}
    )
    dynamodb.update_continuous_backups(
        TableName=ORDERS, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    for i in range(items):
        dynamodb.put_item(TableName=ORDERS, Item={**order(i), "Email": {"S": f"c{i % 7}@example.com"}})
    return live_table(moto)


def live_table(moto: Moto) -> dict[str, Any]:
    """What moto holds of Orders: its description (without counters), TTL, backups, tags and item count."""
    dynamodb = moto.dynamodb
    table = dynamodb.describe_table(TableName=ORDERS)["Table"]
    for volatile in ("ItemCount", "TableSizeBytes"):
        table.pop(volatile, None)
    return {
        "table": table,
        "ttl": dynamodb.describe_time_to_live(TableName=ORDERS)["TimeToLiveDescription"],
        "pitr": dynamodb.describe_continuous_backups(TableName=ORDERS)["ContinuousBackupsDescription"][
            "PointInTimeRecoveryDescription"
        ]["PointInTimeRecoveryStatus"],
        "tags": dynamodb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"],
        "items": count_items(dynamodb, ORDERS),
    }


class Stacks:
    """``open_stack`` for the CLI: one engine-double stack, made on first use; ``strict_import`` for old engines."""

    def __init__(self, moto: Moto, *, strict_import: bool = False) -> None:
        self.moto, self.strict_import = moto, strict_import
        self.stack: MockEngineStack | None = None

    def __call__(self, name: str, work_dir: Any, *, create: bool) -> MockEngineStack:
        if self.stack is None:
            if not create:
                raise StackNotFoundError(f"Stack {name!r} does not exist.", hint="Create it.")
            self.stack = MockEngineStack(
                name, {}, program_under_mocks, settings=self.moto.settings, strict_import=self.strict_import
            )
        return self.stack


@pytest.fixture
def stacks(moto: Moto, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Stacks:
    stacks = Stacks(moto)
    monkeypatch.setattr(cli_stack, "open_stack", stacks)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the migration's file lock
    return stacks


def migrate(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output + result.stderr, result.output + result.stderr
    return result


def init_adopted(moto: Moto, stacks: Stacks) -> MockEngineStack:
    """`migrate init --adopt` on Orders; the stack's AWS calls then go to moto (its endpoint in config)."""
    result = migrate(
        "init",
        "--table",
        ORDERS,
        "--stack",
        STACK,
        "--adopt",
        "--new-name",
        "OrdersV2",
        "--endpoint-url",
        moto.endpoint,
    )
    assert result.exit_code == 0, result.stderr
    assert "stage 0 imports Orders into the stack" in result.stdout
    assert stacks.stack is not None
    stacks.stack.set_config({"endpoint": moto.endpoint})
    return stacks.stack


def tables_in_state(engine: MockEngineStack) -> list[Any]:
    return [r for r in engine.resources() if r.type == TABLE]


def test_stage_0_imports_a_table_made_outside_pulumi_exactly_as_it_is(moto: Moto, stacks: Stacks) -> None:
    # Given Orders made with boto3 (indexes, tags, TTL, PITR, a stream, provisioned) and `migrate init --adopt`
    before = make_live_orders(moto)
    engine = init_adopted(moto, stacks)
    assert engine.get_config()["legacyTable"]["adopt"] is True

    # when `migrate plan --stage 0` runs, the preview shows the import and nothing refuses it
    plan = migrate("plan", "--stage", "0", "--stack", STACK)
    assert plan.exit_code == 0, plan.stderr
    assert "1 to import" in plan.stdout and "Orders (resource 'table-legacy')" in plan.stdout
    assert "Refusing" not in plan.stdout

    # and `migrate up --stage 0` runs: the stack takes the table over, protected and retained, unchanged in AWS
    up = migrate("up", "--stage", "0", "--stack", STACK)
    assert up.exit_code == 0, up.stderr
    (legacy,) = tables_in_state(engine)
    assert (legacy.name, legacy.physical_id, legacy.protect, legacy.retain_on_delete) == (
        "table-legacy",
        ORDERS,
        True,
        True,
    )
    assert live_table(moto) == before

    # then the next update has no diff, and a second `up --stage 0` changes nothing
    assert engine.preview().changes == ()
    updates = engine.updates
    again = migrate("up", "--stage", "0", "--stack", STACK)
    assert again.exit_code == 0, again.stderr
    assert engine.updates == updates and live_table(moto) == before


def test_a_declaration_that_does_not_match_the_live_table_is_refused_and_changes_nothing(
    moto: Moto, stacks: Stacks
) -> None:
    # Given an adopted Orders whose config no longer says what the table is (an index dropped, a tag changed)
    before = make_live_orders(moto)
    engine = init_adopted(moto, stacks)
    legacy = copy.deepcopy(engine.get_config()["legacyTable"])
    legacy["globalSecondaryIndexes"] = legacy["globalSecondaryIndexes"][:1]
    legacy["tags"] = {**legacy["tags"], "team": "platform"}
    engine.set_config({"legacyTable": legacy})

    # when stage 0 runs
    up = migrate("up", "--stage", "0", "--stack", STACK)

    # then it stops before the update (the import would have updated the live table), naming what differs
    assert up.exit_code == 2, up.stdout + up.stderr
    assert "does not match the live table Orders" in up.stderr
    assert "globalSecondaryIndexes" in up.stderr and "tags" in up.stderr
    assert "migrate init --table Orders --stack shop --force" in up.stderr
    assert engine.updates == 0 and tables_in_state(engine) == []
    assert live_table(moto) == before


def test_on_an_engine_before_3_174_the_mismatching_import_fails_and_changes_nothing(
    moto: Moto, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given an engine that fails an import whose inputs differ from the table (its preview only warns)
    stacks = Stacks(moto, strict_import=True)
    monkeypatch.setattr(cli_stack, "open_stack", stacks)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    before = make_live_orders(moto)
    engine = init_adopted(moto, stacks)
    engine.set_config({"legacyTable": {**engine.get_config()["legacyTable"], "ttlAttribute": "Expiry"}})

    up = migrate("up", "--stage", "0", "--stack", STACK)

    assert up.exit_code == 1, up.stdout + up.stderr
    assert "inputs to import do not match the existing resource (ttl)" in up.stderr
    assert tables_in_state(engine) == [] and live_table(moto) == before


def test_adopting_a_table_that_does_not_exist_is_bad_input(moto: Moto, stacks: Stacks) -> None:
    # Given a config that adopts Orders, which is not in the account
    make_live_orders(moto, items=0)
    engine = init_adopted(moto, stacks)
    moto.dynamodb.delete_table(TableName=ORDERS)

    up = migrate("up", "--stage", "0", "--stack", STACK)

    assert up.exit_code == 2, up.stdout + up.stderr
    assert "legacyTable.adopt: is true, but table Orders does not exist in us-east-1" in up.stderr
    assert engine.updates == 0 and ORDERS not in moto.dynamodb.list_tables()["TableNames"]

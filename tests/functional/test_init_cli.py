"""``migrate init`` against the moto server, with the engine double as the stack: a real table's whole spec
(two global indexes, one with an INCLUDE projection, a local index, provisioned billing, tags, TTL, PITR,
a KMS key, a stream) written to stack config that round-trips it, and the refusals that change nothing.

moto returns no TableClassSummary, so the table class is read from a canned description in
tests/unit/test_init.py instead.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

import migrator.cli.stack as cli_stack
from migrator.cli import app
from migrator.core.config import parse_config
from migrator.core.errors import StackNotFoundError
from migrator.core.ports import StateResource
from migrator.core.tablespec import (
    Billing,
    GlobalIndex,
    KeyAttribute,
    LocalIndex,
    Projection,
    Sse,
    TableSpec,
    spec_to_config,
)
from migrator.core.urns import TABLE_TYPE
from tests.e2e.mock_engine import MockEngineStack, program_under_mocks
from tests.stack.harness import run_program

# pulumi_aws warns about its own deprecated modules whenever the program imports them.
pytestmark = pytest.mark.filterwarnings(r"ignore:.*deprecated in favor of.*:DeprecationWarning")

TABLE = "Orders"


def make_orders(moto: Any, *, kms: bool = True) -> str | None:
    """The Orders table of the README's "Migrating your own table", made with boto3; returns its KMS key's ARN.

    ``kms=False`` keeps the AWS owned key: moto takes over a second to make a KMS key.
    """
    key = moto.settings.client("kms").create_key(Description="orders")["KeyMetadata"]["Arn"] if kms else None
    sse = {"SSESpecification": {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}} if kms else {}
    attributes = [("Customer", "S"), ("Created", "N"), ("Email", "S"), ("Status", "S"), ("Total", "N")]
    moto.dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "Customer", "KeyType": "HASH"}, {"AttributeName": "Created", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in attributes],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 5},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByEmail",
                "KeySchema": [{"AttributeName": "Email", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 4, "WriteCapacityUnits": 3},
            },
            {
                "IndexName": "ByStatus",
                "KeySchema": [
                    {"AttributeName": "Status", "KeyType": "HASH"},
                    {"AttributeName": "Created", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["Total", "Email"]},
                "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 1},
            },
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "ByTotal",
                "KeySchema": [
                    {"AttributeName": "Customer", "KeyType": "HASH"},
                    {"AttributeName": "Total", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        **sse,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        DeletionProtectionEnabled=True,
        Tags=[{"Key": "team", "Value": "payments"}, {"Key": "env", "Value": "prod"}],
    )
    moto.dynamodb.update_time_to_live(
        TableName=TABLE, TimeToLiveSpecification={"AttributeName": "ExpiresAt", "Enabled": True}
    )
    moto.dynamodb.update_continuous_backups(
        TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    return key


def expected_spec(key: str) -> TableSpec:
    return TableSpec(
        name=TABLE,
        partition_key=KeyAttribute("Customer", "S"),
        sort_key=KeyAttribute("Created", "N"),
        ttl_attribute="ExpiresAt",
        billing=Billing("PROVISIONED", read=10, write=5),
        global_indexes=(
            GlobalIndex("ByEmail", KeyAttribute("Email", "S"), None, Projection("ALL"), read=4, write=3),
            GlobalIndex(
                "ByStatus",
                KeyAttribute("Status", "S"),
                KeyAttribute("Created", "N"),
                Projection("INCLUDE", ("Total", "Email")),
                read=2,
                write=1,
            ),
        ),
        local_indexes=(LocalIndex("ByTotal", KeyAttribute("Total", "N"), Projection("KEYS_ONLY")),),
        table_class="STANDARD",
        sse=Sse(key),
        tags=(("env", "prod"), ("team", "payments")),
        stream="NEW_AND_OLD_IMAGES",
        deletion_protection=True,
        point_in_time_recovery=True,
    )


class Stacks:
    """``open_stack`` for the CLI: engine-double stacks by name, created only when asked to."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.stacks: dict[str, MockEngineStack] = {}
        self.calls: list[tuple[str, bool]] = []

    def __call__(self, name: str, work_dir: Any, *, create: bool) -> MockEngineStack:
        self.calls.append((name, create))
        if name not in self.stacks:
            if not create:
                raise StackNotFoundError(f"Stack {name!r} does not exist.", hint="Create it.")
            self.stacks[name] = MockEngineStack(name, {}, program_under_mocks)
        return self.stacks[name]


@pytest.fixture
def stacks(moto, monkeypatch) -> Stacks:
    stacks = Stacks(moto.endpoint)
    monkeypatch.setattr(cli_stack, "open_stack", stacks)
    return stacks


def init(moto, *args: str) -> Any:
    result = CliRunner().invoke(app, ["init", "--endpoint-url", moto.endpoint, *args])
    assert "Traceback" not in result.output + result.stderr
    return result


NEW_ARGS = (
    "--new-name",
    "OrdersV2",
    "--partition-key",
    "OrderId:S",
    "--sort-key",
    "Created:N",
    "--derive",
    "OrderId=uuid5(Customer)",
)


def test_init_writes_config_that_round_trips_the_live_table(moto, stacks):
    # Given the legacy table made with boto3 and no stack yet
    key = make_orders(moto)
    # when init runs
    result = init(moto, "--table", TABLE, "--stack", "orders", "--adopt", *NEW_ARGS, "--json")
    # then it created the stack after reading the table, and wrote the config
    assert result.exit_code == 0, result.stderr
    assert stacks.calls == [("orders", False), ("orders", True)]
    config = stacks.stacks["orders"].get_config()
    legacy = parse_config(config).legacy
    assert legacy == replace(expected_spec(key), adopt=True)  # every field found
    assert spec_to_config(legacy) == config["legacyTable"]  # and written as the parser reads it back
    assert config["newTable"] == {
        "name": "OrdersV2",
        "partitionKey": {"name": "OrderId", "type": "S"},
        "sortKey": {"name": "Created", "type": "N"},
        "load": "write",
    }
    assert config["derive"] == {"OrderId": "uuid5(Customer)"}
    assert (config["stage"], config["aws:region"]) == ("0", "us-east-1")
    out = orjson.loads(result.stdout)
    assert out["table"] == TABLE and out["stack"] == "orders"
    assert any("auto scaling" in n["what"] for n in out["notCarried"])
    # The new table inherits the whole spec (local index included, loaded by writing).
    new = parse_config({**config, "stage": "1"}).new
    assert new.global_indexes == legacy.global_indexes and new.local_indexes == legacy.local_indexes
    assert new.sse == Sse(key) and new.tag_map == {"env": "prod", "team": "payments"}
    # And the program, given that config, declares the table as found (stage 0: the live settings).
    inputs = run_program(config, 0).one("table-legacy").inputs
    assert [i["name"] for i in inputs["globalSecondaryIndexes"]] == ["ByEmail", "ByStatus"]
    assert inputs["localSecondaryIndexes"][0]["name"] == "ByTotal"
    assert inputs["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": key}
    assert inputs["deletionProtectionEnabled"] is True
    assert inputs["pointInTimeRecovery"] == {"enabled": True}


def test_text_says_what_it_found_and_what_it_did_not_carry(moto, stacks):
    make_orders(moto, kms=False)
    result = init(moto, "--table", TABLE, "--stack", "orders", "--adopt")
    assert result.exit_code == 0, result.stderr
    assert "globalSecondaryIndexes[ByStatus]: Status (S), Created (N); INCLUDE Total, Email" in result.stdout
    assert "the new table is named Orders-v2" in result.stdout
    assert "not carried:" in result.stdout and "contributor insights" in result.stdout


def test_an_existing_config_is_kept_without_force_and_replaced_with_it(moto, stacks):
    make_orders(moto, kms=False)
    assert init(moto, "--table", TABLE, "--stack", "orders", "--adopt", *NEW_ARGS).exit_code == 0
    before = stacks.stacks["orders"].get_config()

    again = init(moto, "--table", TABLE, "--stack", "orders", "--adopt", "--new-name", "Other")
    assert again.exit_code == 2
    assert "already has a migration config (legacyTable Orders)" in again.stderr and "--force" in again.stderr
    assert stacks.stacks["orders"].get_config() == before

    forced = init(moto, "--table", TABLE, "--stack", "orders", "--adopt", "--new-name", "Other", "--force", "--json")
    assert forced.exit_code == 0, forced.stderr
    config = stacks.stacks["orders"].get_config()
    assert config["newTable"]["name"] == "Other" and "derive" not in config  # the old derive went with it
    assert orjson.loads(forced.stdout)["replaced"] == ["legacyTable", "newTable", "derive"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--table", "Missing"), "table Missing does not exist"),
        (("--table", TABLE, "--partition-key", "OrderId"), "--partition-key UUID:S"),
        (("--table", TABLE, "--derive", "OrderId=md5(Customer)"), "--derive"),
        (("--table", TABLE, "--new-name", TABLE), "name of its own"),
        (("--table", TABLE, "--partition-key", "Email:N"), "inherited from legacyTable"),
        (("--table", TABLE, "--adopt", "--partition-key", "OrderId:S:N"), "--partition-key UUID:S"),
        (("--table", TABLE, "--adopt", "--partition-key", "OrderId:S"), "no --derive rule makes OrderId"),
        (("--table", TABLE), "pass --adopt"),
        (("--table", TABLE, "--adopt", "--new-name", "Taken"), "--new-name Taken: a table of that name exists"),
    ],
)
def test_bad_input_exits_2_and_creates_nothing(moto, stacks, args, words):
    make_orders(moto, kms=False)
    moto.dynamodb.create_table(
        TableName="Taken",
        KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "Id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    result = init(moto, "--stack", "orders", *args)
    assert result.exit_code == 2
    assert words in result.stderr
    assert stacks.stacks == {} and ("orders", True) not in stacks.calls


class DeployedStack(MockEngineStack):
    """A stack that a program of the user's has deployed Orders with (case 1 of "Migrating your own table"):
    its state holds the table as ``pulumi stack export`` shows it, a top-level ``aws:dynamodb/table:Table``
    whose id is the table's name."""

    def resources(self) -> list[StateResource]:
        urn = "urn:pulumi:orders::shop::aws:dynamodb/table:Table::orders"
        return [*super().resources(), StateResource(urn, TABLE_TYPE, "orders", False, False, TABLE)]


def test_a_table_the_stack_deploys_needs_no_adopt_and_one_it_does_not_names_adopt(moto, stacks):
    make_orders(moto, kms=False)
    # Given a stack that exists but does not manage Orders
    stacks.stacks["orders"] = MockEngineStack("orders", {}, program_under_mocks)
    refused = init(moto, "--table", TABLE, "--stack", "orders", *NEW_ARGS)
    assert refused.exit_code == 2
    assert "not in stack orders's state" in refused.stderr and "--adopt" in refused.stderr
    assert stacks.stacks["orders"].get_config() == {}  # nothing written
    # Given a stack whose state holds Orders: init writes the config, without adopt
    stacks.stacks["orders"] = DeployedStack("orders", {}, program_under_mocks)
    taken = init(moto, "--table", TABLE, "--stack", "orders", *NEW_ARGS)
    assert taken.exit_code == 0, taken.stderr
    assert "adopt" not in stacks.stacks["orders"].get_config()["legacyTable"]

"""``import_`` and ``refresh`` through the plugin's Read on the real engine.

A table made directly in moto, with a global index, tags and TTL, is brought under a stack by the
``import_`` resource option; what Read reports must then match what the program declares (after Check),
or every later preview would show an update. A table deleted behind the stack's back is dropped by
a refresh, because Read reports it gone.
"""

from __future__ import annotations

import pytest

from tests.real_engine.helpers import Project, RealEngine

pytestmark = pytest.mark.real_engine

TABLE = "aws:dynamodb/table:Table"
NAME = "Legacy"

PROGRAM = """
import pulumi
import pulumi_aws as aws

aws.dynamodb.Table(
    "legacy",
    name="Legacy",
    hash_key="Id",
    attributes=[
        aws.dynamodb.TableAttributeArgs(name="Id", type="S"),
        aws.dynamodb.TableAttributeArgs(name="Score", type="N"),
    ],
    billing_mode="PAY_PER_REQUEST",
    global_secondary_indexes=[aws.dynamodb.TableGlobalSecondaryIndexArgs(
        name="ByScore",
        key_schemas=[aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name="Score", key_type="HASH")],
        projection_type="KEYS_ONLY",
    )],
    tags={"team": "data", "env": "test"},
    ttl=aws.dynamodb.TableTtlArgs(attribute_name="ExpiresAt", enabled=True),
    opts=pulumi.ResourceOptions(import_="Legacy"),
)
"""


def make_legacy_table(engine: RealEngine) -> None:
    """The table as someone made it by hand, before any stack."""
    client = engine.client("dynamodb")
    arn = client.create_table(
        TableName=NAME,
        KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "Id", "AttributeType": "S"},
            {"AttributeName": "Score", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByScore",
                "KeySchema": [{"AttributeName": "Score", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        Tags=[{"Key": "team", "Value": "data"}, {"Key": "env", "Value": "test"}],
    )["TableDescription"]["TableArn"]
    client.update_time_to_live(TableName=NAME, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ExpiresAt"})
    assert arn


@pytest.fixture(scope="module")
def imported(real_engine: RealEngine) -> Project:
    """A stack whose program imports the hand-made table."""
    make_legacy_table(real_engine)
    return real_engine.project("imports", PROGRAM)


def test_an_imported_table_with_index_and_tags_then_previews_with_no_change(imported: Project) -> None:
    # Given a table made in moto and a program declaring it with import_, the preview imports it and
    # changes nothing (the other create is the new stack's own resource)
    assert imported.preview() == {"import": 1, "create": 1}

    # when the update imports it, the state holds it with what Read found
    imported.up()
    state = imported.resource(TABLE, "legacy")
    assert state is not None
    assert state["outputs"]["globalSecondaryIndexes"][0]["name"] == "ByScore"
    assert state["outputs"]["tags"] == {"team": "data", "env": "test"}

    # then Read's state matches the declaration after Check: nothing left to change.
    assert imported.preview() == {}


def test_a_refresh_drops_a_table_deleted_outside_the_stack(real_engine: RealEngine, imported: Project) -> None:
    # Given the imported table, when it is deleted behind the stack's back
    assert imported.resource(TABLE, "legacy") is not None
    real_engine.client("dynamodb").delete_table(TableName=NAME)

    # then a refresh finds it gone and drops it from the state
    result = imported.stack.refresh()
    assert result.summary.resource_changes.get("delete") == 1, result.summary.resource_changes
    assert imported.resource(TABLE, "legacy") is None

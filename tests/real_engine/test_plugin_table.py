"""The plugin's DynamoDB table on the real engine: what each update really changes in moto, and the
engine's rules (replace, protect, retainOnDelete, deletion protection) as pulumi-aws triggers them.

One stack is shared by the tests of this module, in order: each writes the program it needs.
"""

from __future__ import annotations

import pytest
from pulumi import automation as auto

from tests.real_engine.helpers import Project, RealEngine

pytestmark = pytest.mark.real_engine

TABLE = "aws:dynamodb/table:Table"

BASE = """
import pulumi
import pulumi_aws as aws

def orders(name="Orders", opts=None, **extra):
    return aws.dynamodb.Table(
        "orders",
        name=name,
        hash_key="Customer",
        range_key="Created",
        attributes=[
            aws.dynamodb.TableAttributeArgs(name="Customer", type="S"),
            aws.dynamodb.TableAttributeArgs(name="Created", type="N"),
            *extra.pop("more_attributes", []),
        ],
        billing_mode="PAY_PER_REQUEST",
        opts=opts,
        **extra,
    )
"""

PLAIN = (
    BASE
    + """
table = orders()
pulumi.export("streamArn", table.stream_arn)
"""
)

RICH = (
    BASE
    + """
table = orders(
    more_attributes=[aws.dynamodb.TableAttributeArgs(name="Status", type="S")],
    global_secondary_indexes=[aws.dynamodb.TableGlobalSecondaryIndexArgs(
        name="ByStatus",
        key_schemas=[aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name="Status", key_type="HASH")],
        projection_type="INCLUDE",
        non_key_attributes=["Total"],
    )],
    tags={"team": "shop"},
    ttl=aws.dynamodb.TableTtlArgs(attribute_name="ExpiresAt", enabled=True),
    stream_enabled=True,
    stream_view_type="%s",
    point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
)
pulumi.export("streamArn", table.stream_arn)
"""
)


PROTECTED = "table = orders(deletion_protection_enabled=True, opts=pulumi.ResourceOptions(%s))"


@pytest.fixture(scope="module")
def orders(real_engine: RealEngine) -> Project:
    """The shared stack, created with the plain table."""
    project = real_engine.project("tables", PLAIN)
    project.up()
    return project


def described(engine: RealEngine, name: str = "Orders") -> dict:
    """DescribeTable of ``name`` in moto."""
    return engine.client("dynamodb").describe_table(TableName=name)["Table"]


def test_a_created_table_has_the_declared_keys_and_billing_and_no_extras(
    real_engine: RealEngine, orders: Project
) -> None:
    table = described(real_engine)
    assert [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]] == [
        ("Customer", "HASH"),
        ("Created", "RANGE"),
    ]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert not table.get("GlobalSecondaryIndexes")
    assert not table.get("DeletionProtectionEnabled")
    # and the engine's state holds what Check filled in and what Read found
    state = orders.resource(TABLE, "orders")
    assert state is not None
    assert state["outputs"]["arn"] == table["TableArn"]
    assert state["outputs"]["streamEnabled"] is False


def test_an_update_adds_index_tags_ttl_stream_and_pitr_in_moto_then_nothing_is_left_to_change(
    real_engine: RealEngine, orders: Project
) -> None:
    # Given the plain table, when the program adds a GSI, tags, TTL, a stream and PITR
    result = orders.up(RICH % "NEW_AND_OLD_IMAGES")
    assert result.summary.resource_changes.get("update") == 1, result.summary.resource_changes

    # then moto has each of them
    client = real_engine.client("dynamodb")
    table = described(real_engine)
    index = table["GlobalSecondaryIndexes"][0]
    assert index["IndexName"] == "ByStatus"
    assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["Total"]}
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert result.outputs["streamArn"].value == table["LatestStreamArn"]
    tags = client.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]
    assert tags == [{"Key": "team", "Value": "shop"}]
    ttl = client.describe_time_to_live(TableName="Orders")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "ExpiresAt")
    backups = client.describe_continuous_backups(TableName="Orders")["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    # and what Read reports matches the declaration: a second preview has nothing to do.
    assert orders.preview() == {}


def test_a_new_stream_view_type_disables_the_stream_and_moto_then_refuses_another(
    real_engine: RealEngine, orders: Project
) -> None:
    # Given the table with a NEW_AND_OLD_IMAGES stream (the test before), when the view type changes,
    # the update disables the stream and enables a new one, as on AWS (which cannot change a view type
    # in place); moto refuses the second step: it keeps the disabled stream's label and enables no other
    # stream on that table, where AWS would.
    with pytest.raises(auto.CommandError, match="Cannot enable stream"):
        orders.up(RICH % "KEYS_ONLY")
    assert not described(real_engine).get("StreamSpecification", {}).get("StreamEnabled")

    # and a refresh brings the state in line with moto: the stream is off.
    orders.stack.refresh()
    state = orders.resource(TABLE, "orders")
    assert state is not None
    assert (state["outputs"]["streamEnabled"], state["outputs"]["streamViewType"]) == (False, "")


def test_a_new_table_name_previews_as_a_replacement(orders: Project) -> None:
    # Given the table, when the program renames it, the preview replaces it (the name is create-only)
    changes = orders.preview(PLAIN.replace("table = orders()", 'table = orders(name="OrdersRenamed")'))
    assert changes == {"replace": 1}


def test_protect_deletion_protection_and_retain_on_delete_each_keep_the_table(
    real_engine: RealEngine, orders: Project
) -> None:
    # Given the table protected (the engine's option) and with deletion protection on (DynamoDB's)
    orders.up(PLAIN.replace("table = orders()", PROTECTED % "protect=True"))
    assert described(real_engine)["DeletionProtectionEnabled"] is True

    # when the program drops it, the engine refuses, already in the preview
    with pytest.raises(auto.CommandError, match="protected"):
        orders.preview(BASE)

    # when only DynamoDB's protection is left, the delete reaches the plugin and DynamoDB refuses it
    orders.up(PLAIN.replace("table = orders()", PROTECTED % "protect=False"))
    with pytest.raises(auto.CommandError, match="deletion protection|DeletionProtection|ResourceInUse"):
        orders.up(BASE)
    assert orders.resource(TABLE, "orders") is not None

    # and when it is retained on delete, dropping it leaves the state and not moto.
    orders.up(PLAIN.replace("table = orders()", PROTECTED % "retain_on_delete=True"))
    orders.up(BASE)
    assert orders.resource(TABLE, "orders") is None
    assert described(real_engine)["TableName"] == "Orders"

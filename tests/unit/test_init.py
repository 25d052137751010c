"""``migrate init``'s pure parts: a DescribeTable response → spec and not-carried list, the config it plans,
and the refusals that keep an existing config or a migration under way safe."""

from __future__ import annotations

import pytest

from migrator.core.config import parse_config
from migrator.core.errors import BadInputError, ConfigError
from migrator.core.tablespec import Billing, KeyAttribute, Projection, Sse
from migrator.data.describe import LiveTable, spec_from_description
from migrator.orchestrate.stack_init import check_stack, check_tables, parse_key_option, plan_init

KMS = "arn:aws:kms:eu-west-1:123456789012:key/abcd"


def described(**changes):
    table = {
        "TableName": "Orders",
        "TableArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders",
        "KeySchema": [
            {"AttributeName": "Customer", "KeyType": "HASH"},
            {"AttributeName": "Created", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "Customer", "AttributeType": "S"},
            {"AttributeName": "Created", "AttributeType": "N"},
            {"AttributeName": "Email", "AttributeType": "S"},
            {"AttributeName": "Total", "AttributeType": "N"},
        ],
        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
        "ProvisionedThroughput": {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
        "OnDemandThroughput": {"MaxReadRequestUnits": 200, "MaxWriteRequestUnits": -1},
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "ByEmail",
                "KeySchema": [{"AttributeName": "Email", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["Total"]},
                "IndexStatus": "ACTIVE",
                "ProvisionedThroughput": {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
                "OnDemandThroughput": {"MaxReadRequestUnits": 50},
            }
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": "ByTotal",
                "KeySchema": [
                    {"AttributeName": "Customer", "KeyType": "HASH"},
                    {"AttributeName": "Total", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        "TableClassSummary": {"TableClass": "STANDARD_INFREQUENT_ACCESS"},
        "SSEDescription": {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": KMS},
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
        "DeletionProtectionEnabled": True,
        "Replicas": [{"RegionName": "us-west-2"}],
        "ItemCount": 12,
    }
    table.update(changes)
    return {k: v for k, v in table.items() if v is not None}


TTL = {"TimeToLiveStatus": "ENABLED", "AttributeName": "ExpiresAt"}
BACKUPS = {"PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "ENABLED", "RecoveryPeriodInDays": 7}}


def live(**changes) -> LiveTable:
    spec, notes = spec_from_description(described(**changes), TTL, BACKUPS, {"team": "payments"})
    return LiveTable(spec, notes, 12, "arn")


# --- reading a description -----------------------------------------------------------------------


def test_every_field_of_the_description_is_found():
    spec = live().spec
    assert spec.name == "Orders"
    assert spec.key_attributes == (KeyAttribute("Customer", "S"), KeyAttribute("Created", "N"))
    assert spec.billing == Billing("PAY_PER_REQUEST", max_read=200)  # -1: no cap
    (index,) = spec.global_indexes
    assert (index.name, index.partition_key, index.projection) == (
        "ByEmail",
        KeyAttribute("Email", "S"),
        Projection("INCLUDE", ("Total",)),
    )
    assert index.read is None and index.write is None  # on demand: 0 is not capacity
    assert spec.local_indexes[0].sort_key == KeyAttribute("Total", "N")
    assert spec.table_class == "STANDARD_INFREQUENT_ACCESS"
    assert spec.sse == Sse(KMS)
    assert spec.tag_map == {"team": "payments"}
    assert spec.ttl_attribute == "ExpiresAt" and spec.stream == "KEYS_ONLY"
    assert spec.deletion_protection is True and spec.point_in_time_recovery is True


def test_what_is_not_carried_is_listed_with_the_reason():
    notes = {n.what: n.reason for n in live().not_carried}
    assert "the on-demand throughput caps of index ByEmail" in notes
    assert "this region only" in notes["global table replicas (us-west-2)"]
    assert "default 35 days" in notes["a point-in-time recovery period of 7 days"]
    assert any("contributor insights" in what for what in notes)


def test_defaults_of_an_old_table_description():
    # No BillingModeSummary (created before on-demand existed), no class, no SSE, TTL and PITR off.
    table = described(
        BillingModeSummary=None,
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 4},
        OnDemandThroughput=None,
        TableClassSummary=None,
        SSEDescription=None,
        StreamSpecification=None,
        GlobalSecondaryIndexes=None,
        LocalSecondaryIndexes=None,
        Replicas=None,
        DeletionProtectionEnabled=None,
    )
    spec, notes = spec_from_description(table, {"TimeToLiveStatus": "DISABLED"}, {}, {})
    assert spec.billing == Billing("PROVISIONED", read=5, write=4)
    assert spec.table_class == "STANDARD" and spec.sse is None and spec.stream is None
    assert spec.ttl_attribute is None and spec.point_in_time_recovery is False and spec.deletion_protection is False
    assert any("auto scaling" in n.what for n in notes)


# --- planning the config -------------------------------------------------------------------------


def plan(table: LiveTable | None = None, **kwargs):
    args = {
        "new_name": None,
        "partition_key": None,
        "sort_key": None,
        "derive": (),
        "current": {},
        "region": "eu-west-1",
    }
    return plan_init(table or live(), **{**args, **kwargs})


def test_defaults_keep_the_keys_name_the_table_and_load_by_writing_for_local_indexes():
    result = plan()
    new = result.values["newTable"]
    assert new == {
        "name": "Orders-v2",
        "partitionKey": {"name": "Customer", "type": "S"},
        "sortKey": {"name": "Created", "type": "N"},
        "load": "write",
    }
    assert result.values["stage"] == "0" and result.values["aws:region"] == "eu-west-1"
    assert any("--new-name" in c for c in result.choices) and any("ImportTable" in c for c in result.choices)
    # The written config parses back to the live spec, and the new table inherits it.
    config = parse_config({**result.values, "stage": "1", "online": "false"})
    assert config.legacy == live().spec
    assert config.new.global_indexes == live().spec.global_indexes and config.new.stream == "KEYS_ONLY"


def test_new_keys_without_a_sort_key_drop_the_local_indexes_and_say_why():
    result = plan(new_name="OrdersV2", partition_key=KeyAttribute("OrderId", "S"), derive=("OrderId=uuid5(Customer)",))
    assert result.values["newTable"]["localSecondaryIndexes"] == []
    assert "load" not in result.values["newTable"]
    assert result.values["derive"] == {"OrderId": "uuid5(Customer)"}
    assert any(n.what == "local secondary indexes ByTotal" for n in result.not_carried)


def test_the_stack_s_own_stage_and_region_are_kept():
    result = plan(current={"stage": "0", "aws:region": "eu-west-1", "online": "false"})
    assert "stage" not in result.values and "aws:region" not in result.values


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"new_name": "Orders"}, BadInputError, "name of its own"),
        ({"derive": ("OrderId",)}, BadInputError, "--derive"),
        ({"derive": ("OrderId=md5(Customer)",)}, BadInputError, "--derive"),
        # a derived string into a number key is refused by the config's own rule, naming the key
        ({"partition_key": KeyAttribute("Id", "N"), "derive": ("Id=uuid5(Customer)",)}, ConfigError, "derive.Id"),
        # a GSI key of the legacy table keyed with another type in the new one
        ({"partition_key": KeyAttribute("Email", "N")}, ConfigError, "inherited from legacyTable"),
        # a new key nothing supplies: every item would be a reject at stage 1
        ({"partition_key": KeyAttribute("OrderId", "S")}, BadInputError, "no --derive rule makes OrderId"),
        (
            {"partition_key": KeyAttribute("OrderId", "S"), "derive": ("Other=uuid5(Customer)",)},
            BadInputError,
            "--derive 'OrderId=OrderId'",
        ),
        ({"sort_key": KeyAttribute("Placed", "N")}, BadInputError, "--sort-key Placed:N: no --derive rule"),
        # a legacy key attribute keyed with another type, copied as it is
        (
            {"partition_key": KeyAttribute("Customer", "N"), "sort_key": KeyAttribute("Created", "N")},
            BadInputError,
            "Orders keys Customer as type S",
        ),
    ],
)
def test_bad_input_is_refused(kwargs, error, words):
    with pytest.raises(error) as caught:
        plan(**kwargs)
    assert caught.value.exit_code == 2
    assert words in str(caught.value)


@pytest.mark.parametrize(("raw", "key"), [("UUID:S", KeyAttribute("UUID", "S")), (" id : n ", KeyAttribute("id", "N"))])
def test_key_options(raw, key):
    assert parse_key_option(raw, "--partition-key") == key


# "A:S:N" used to become the key "A:S" of type N: a typo, not a name with a colon
@pytest.mark.parametrize("raw", ["UUID", "UUID:X", ":S", "", "A:S:N", "UUID:S:", "UUID::S"])
def test_bad_key_options(raw):
    with pytest.raises(BadInputError) as caught:
        parse_key_option(raw, "--sort-key")
    assert "--sort-key UUID:S" in str(caught.value)


# --- what the stack must be --------------------------------------------------------------------


def test_an_existing_config_needs_force():
    current = {"legacyTable": {"name": "Other"}, "aws:region": "eu-west-1"}
    with pytest.raises(BadInputError) as caught:
        check_stack(current, stack="prod", region="eu-west-1", force=False)
    assert "legacyTable Other" in str(caught.value) and "--force" in str(caught.value)
    check_stack(current, stack="prod", region="eu-west-1", force=True)


@pytest.mark.parametrize("current", [{"stage": "2"}, {"stage": "1", "progress": {"completedStage": 0}}])
def test_a_migration_under_way_is_never_replaced(current):
    with pytest.raises(BadInputError) as caught:
        check_stack({**current, "legacyTable": {"name": "T"}}, stack="prod", region="us-east-1", force=True)
    assert "under way" in str(caught.value)


def test_the_table_must_be_read_in_the_stack_s_region():
    with pytest.raises(BadInputError) as caught:
        check_stack({"aws:region": "eu-west-1"}, stack="prod", region="us-east-1", force=False)
    assert "--region eu-west-1" in str(caught.value)


def test_adopt_writes_legacy_table_adopt_and_says_what_stage_0_will_do():
    adopted = plan(adopt=True)
    assert adopted.values["legacyTable"]["adopt"] is True
    assert adopted.legacy.adopt is True  # parsed back as the program will read it
    assert any("stage 0 imports" in choice for choice in adopted.choices)
    assert "adopt" not in plan().values["legacyTable"]


@pytest.mark.parametrize(
    ("partition", "derive"),
    [
        (KeyAttribute("OrderId", "S"), ("OrderId=uuid5(Customer)",)),  # derived
        (KeyAttribute("OrderId", "S"), ("OrderId=OrderId",)),  # held by every item, said with a copy
        (KeyAttribute("Email", "S"), ()),  # a legacy index key
        (KeyAttribute("Customer", "S"), ()),  # the legacy key itself
    ],
)
def test_a_new_key_a_rule_or_a_legacy_key_attribute_supplies_is_taken(partition, derive):
    assert plan(partition_key=partition, derive=derive).new.partition_key == partition


@pytest.mark.parametrize(
    ("in_stack", "adopt", "new_exists", "words"),
    [
        (False, False, False, "pass --adopt"),
        (True, False, True, "--new-name Orders-v2: a table of that name exists already"),
        (False, True, True, "exists already"),
    ],
)
def test_check_tables_refuses_an_unmanaged_table_without_adopt_and_a_taken_new_name(in_stack, adopt, new_exists, words):
    with pytest.raises(BadInputError) as caught:
        check_tables(
            table="Orders", stack="prod", in_stack=in_stack, adopt=adopt, new_name="Orders-v2", new_exists=new_exists
        )
    assert caught.value.exit_code == 2 and words in str(caught.value)


@pytest.mark.parametrize(("in_stack", "adopt"), [(True, False), (False, True)])
def test_check_tables_takes_a_managed_table_or_one_to_adopt(in_stack, adopt):
    check_tables(table="Orders", stack="prod", in_stack=in_stack, adopt=adopt, new_name="Orders-v2", new_exists=False)

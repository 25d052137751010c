"""The whole table spec on the program's declaration, under mocks.

moto 5.2.5 ignores SSESpecification in ImportTable, returns no TableClassSummary and ignores SSE and
class in UpdateTable, so encryption and class are checked here, on what the program declares.
"""

from __future__ import annotations

import pytest

from tests.stack.harness import Recorded, example_config, run_program

TABLE = "aws:dynamodb/table:Table"
KMS = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
GSIS = [
    {"name": "ByEmail", "partitionKey": {"name": "Email", "type": "S"}, "projection": "ALL"},
    {
        "name": "ByStatus",
        "partitionKey": {"name": "Status", "type": "S"},
        "sortKey": {"name": "Created", "type": "N"},
        "projection": {"include": ["Total"]},
        "read": 3,
        "write": 2,
    },
]
LSIS = [{"name": "ByTotal", "sortKey": {"name": "Total", "type": "N"}, "projection": "KEYS_ONLY"}]
LEGACY = {
    "name": "Orders",
    "partitionKey": {"name": "Name", "type": "S"},
    "sortKey": {"name": "Created", "type": "N"},
    "billing": {"mode": "PROVISIONED", "read": 10, "write": 5},
    "globalSecondaryIndexes": GSIS,
    "localSecondaryIndexes": LSIS,
    "tableClass": "STANDARD_INFREQUENT_ACCESS",
    "sse": {"type": "KMS", "kmsKeyArn": KMS},
    "tags": {"team": "payments"},
    "ttlAttribute": "ExpiresAt",
    "stream": "NEW_IMAGE",
    "deletionProtection": False,
    "pointInTimeRecovery": False,
}
# The new table sets only its name and keys (and drops the local index ImportTable cannot create).
NEW = {
    "name": "OrdersV2",
    "partitionKey": {"name": "UUID", "type": "S"},
    "sortKey": {"name": "Created", "type": "N"},
    "localSecondaryIndexes": [],
}

EXPECTED_GSIS = [
    {
        "name": "ByEmail",
        "keySchemas": [{"attributeName": "Email", "keyType": "HASH"}],
        "projectionType": "ALL",
        "readCapacity": 10,
        "writeCapacity": 5,
    },
    {
        "name": "ByStatus",
        "keySchemas": [
            {"attributeName": "Status", "keyType": "HASH"},
            {"attributeName": "Created", "keyType": "RANGE"},
        ],
        "projectionType": "INCLUDE",
        "nonKeyAttributes": ["Total"],
        "readCapacity": 3,
        "writeCapacity": 2,
    },
]


def config(**changes) -> dict:
    return {**example_config(), "legacyTable": LEGACY, "newTable": NEW, **changes}


@pytest.fixture(scope="module")
def runs() -> dict[int, Recorded]:
    return {stage: run_program(config(), stage) for stage in (0, 1, 2, 3)}


def _numbers(value):
    # The mock monitor hands numbers back as floats.
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return int(value) if isinstance(value, float) and value.is_integer() else value


def test_stage_0_declares_the_legacy_table_with_its_whole_spec(runs):
    legacy = _numbers(runs[0].one("table-legacy", type=TABLE).inputs)
    assert legacy["billingMode"] == "PROVISIONED"
    assert (legacy["readCapacity"], legacy["writeCapacity"]) == (10, 5)
    assert legacy["hashKey"] == "Name" and legacy["rangeKey"] == "Created"
    assert legacy["attributes"] == [
        {"name": "Name", "type": "S"},
        {"name": "Created", "type": "N"},
        {"name": "Email", "type": "S"},
        {"name": "Status", "type": "S"},
        {"name": "Total", "type": "N"},
    ]
    assert legacy["globalSecondaryIndexes"] == EXPECTED_GSIS
    assert legacy["localSecondaryIndexes"] == [{"name": "ByTotal", "rangeKey": "Total", "projectionType": "KEYS_ONLY"}]
    assert legacy["tableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert legacy["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": KMS}
    assert legacy["tags"] == {"team": "payments"}
    assert legacy["ttl"] == {"attributeName": "ExpiresAt", "enabled": True}
    assert (legacy["streamEnabled"], legacy["streamViewType"]) == (True, "NEW_IMAGE")
    # Stage 0 declares the live table as recorded: deletion protection and PITR off here.
    assert legacy["deletionProtectionEnabled"] is False
    assert legacy["pointInTimeRecovery"] == {"enabled": False}
    assert "importTable" not in legacy


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_from_stage_1_the_legacy_table_has_deletion_protection_and_pitr(runs, stage):
    legacy = runs[stage].one("table-legacy", type=TABLE).inputs
    assert legacy["deletionProtectionEnabled"] is True
    assert legacy["pointInTimeRecovery"] == {"enabled": True}
    assert _numbers(legacy["globalSecondaryIndexes"]) == EXPECTED_GSIS


def test_unrecorded_deletion_protection_is_declared_on_at_stage_0():
    legacy = {k: v for k, v in LEGACY.items() if k not in ("deletionProtection", "pointInTimeRecovery")}
    inputs = run_program(config(legacyTable=legacy), 0).one("table-legacy").inputs
    assert inputs["deletionProtectionEnabled"] is True
    assert "pointInTimeRecovery" not in inputs


def test_stage_2_new_table_inherits_indexes_billing_encryption_class_and_tags(runs):
    new = _numbers(runs[2].one("table-new", type=TABLE).inputs)
    assert new["name"] == "OrdersV2"
    assert new["hashKey"] == "UUID" and new["rangeKey"] == "Created"
    assert new["attributes"] == [
        {"name": "UUID", "type": "S"},
        {"name": "Created", "type": "N"},
        {"name": "Email", "type": "S"},
        {"name": "Status", "type": "S"},
    ]
    assert new["billingMode"] == "PROVISIONED"
    assert (new["readCapacity"], new["writeCapacity"]) == (10, 5)
    assert new["globalSecondaryIndexes"] == EXPECTED_GSIS
    assert "localSecondaryIndexes" not in new
    assert new["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": KMS}
    assert new["tableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert new["tags"] == {"team": "payments"}
    assert new["ttl"] == {"attributeName": "ExpiresAt", "enabled": True}
    # Online (the default): the new table's stream carries both images for the replay.
    assert (new["streamEnabled"], new["streamViewType"]) == (True, "NEW_AND_OLD_IMAGES")
    assert new["pointInTimeRecovery"] == {"enabled": True}
    assert new["deletionProtectionEnabled"] is False
    assert new["importTable"]["s3BucketSource"]["keyPrefix"] == "transformed/dev/MyNewTable/data/"


def test_at_cutover_the_new_table_gets_deletion_protection(runs):
    assert runs[3].one("table-new").inputs["deletionProtectionEnabled"] is True


def test_on_demand_new_table_with_caps_and_its_own_indexes():
    new = {
        **NEW,
        "billing": {"mode": "PAY_PER_REQUEST", "maxRead": 100, "maxWrite": 50},
        "globalSecondaryIndexes": [GSIS[0]],
        "sse": None,
        "tags": {},
        "tableClass": "STANDARD",
    }
    inputs = _numbers(run_program(config(newTable=new, online="false"), 2).one("table-new").inputs)
    assert inputs["billingMode"] == "PAY_PER_REQUEST"
    assert "readCapacity" not in inputs and "writeCapacity" not in inputs
    assert inputs["onDemandThroughput"] == {"maxReadRequestUnits": 100, "maxWriteRequestUnits": 50}
    assert inputs["globalSecondaryIndexes"] == [
        {"name": "ByEmail", "keySchemas": [{"attributeName": "Email", "keyType": "HASH"}], "projectionType": "ALL"}
    ]
    assert "serverSideEncryption" not in inputs and "tags" not in inputs
    assert inputs["tableClass"] == "STANDARD"
    assert inputs["streamViewType"] == "NEW_IMAGE"  # offline: inherited


def test_load_write_declares_the_local_index_and_no_import():
    new = {**NEW, "localSecondaryIndexes": LSIS, "load": "write"}
    inputs = run_program(config(newTable=new), 2).one("table-new").inputs
    assert inputs["localSecondaryIndexes"] == [{"name": "ByTotal", "rangeKey": "Total", "projectionType": "KEYS_ONLY"}]
    assert "importTable" not in inputs

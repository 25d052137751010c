"""The write path's cost estimate: item sizes and write units by DynamoDB's rules."""

from __future__ import annotations

import base64

from migrator.core.capacity import estimate_load, item_size, units, write_cost
from migrator.core.config import parse_config

SPEC = parse_config(
    {
        "legacyTable": {
            "name": "Orders",
            "partitionKey": {"name": "Id", "type": "S"},
            "sortKey": {"name": "At", "type": "N"},
            "billing": {"mode": "PROVISIONED", "read": 5, "write": 10},
            "globalSecondaryIndexes": [
                {"name": "ByEmail", "partitionKey": {"name": "Email", "type": "S"}, "projection": "ALL"},
                {"name": "ByState", "partitionKey": {"name": "State", "type": "S"}, "projection": "KEYS_ONLY"},
            ],
            "localSecondaryIndexes": [
                {"name": "ByTotal", "sortKey": {"name": "Total", "type": "N"}, "projection": "ALL"}
            ],
        }
    }
).legacy


def test_item_size_follows_dynamodb_rules():
    assert item_size({"Id": {"S": "abc"}}) == 2 + 3
    assert item_size({"N": {"N": "12345"}}) == 1 + 4  # (5 digits + 1) // 2 + 1
    assert item_size({"B": {"B": base64.b64encode(b"12345").decode()}}) == 1 + 5
    assert item_size({"F": {"BOOL": True}, "G": {"NULL": True}}) == 2 + 2
    assert item_size({"M": {"M": {"a": {"S": "xy"}}}}) == 1 + 3 + 1 + 2
    assert item_size({"L": {"L": [{"S": "xy"}, {"N": "1"}]}}) == 1 + 3 + (1 + 2) + (1 + 2)
    assert item_size({"S": {"SS": ["ab", "c"]}}) == 1 + 3


def test_units_per_started_kb():
    assert (units(1), units(1024), units(1025), units(0)) == (1, 1, 2, 1)


def test_write_cost_counts_the_indexes_that_hold_the_item():
    big = "x" * 1500
    item = {"Id": {"S": "a"}, "At": {"N": "1"}, "Email": {"S": "e"}, "Total": {"N": "2"}, "Body": {"S": big}}
    table, globals_ = write_cost(item, SPEC)
    assert table == 2 + 2  # the item (2 KB) and the ALL local index on it
    assert globals_ == 2  # ByEmail (ALL, 2 KB); no State, so not in ByState
    item["State"] = {"S": "open"}
    assert write_cost(item, SPEC)[1] == 2 + 1  # + ByState, keys only


def test_estimate_scales_the_sample_and_says_how_long_at_the_capacity():
    sample = [{"Id": {"S": f"i{n}"}, "At": {"N": "1"}} for n in range(10)]
    estimate = estimate_load(SPEC, sample, 6000)
    assert (estimate.table_units, estimate.index_units, estimate.total_units) == (6000, 0, 6000)
    assert estimate.seconds == 600
    assert "6000 write capacity units" in estimate.text() and "about 10 min" in estimate.text()
    empty = estimate_load(SPEC, [], 0)
    assert empty.total_units == 0 and empty.to_dict()["sampled"] == 0

"""The data plane end to end on moto: export → (transform) → import_table → check → verify."""

from __future__ import annotations

from typing import Any

import pytest

from migrator.core.derive import Deriver, parse_rules
from migrator.data.export.run import run_export
from migrator.data.load.import_check import check_import
from migrator.data.transform.run import DeriverSpec, transform_export
from migrator.data.verify.run import verify_export, verify_tables
from tests.functional.test_verify import every_type_item, legacy_item, make_table, new_item, put_items

BUCKET = "migration-bucket"


def legacy_table(moto: Any, name: str, keys: list[tuple[str, str]], items: list[dict[str, Any]]) -> None:
    make_table(moto.dynamodb, name, keys)
    put_items(moto.dynamodb, name, items)
    moto.dynamodb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )


def transform(moto: Any, layout: Any, rules: tuple[str, ...], key_names: tuple[str, ...]):
    """Transform an export into ``transformed/New/`` with one worker."""
    return transform_export(
        moto.settings,
        layout,
        dest_bucket=BUCKET,
        dest_prefix="transformed/New/",
        deriver_spec=DeriverSpec(rules=rules),
        key_names=key_names,
        workers=1,
    )


def export(moto: Any, table: str):
    moto.s3.create_bucket(Bucket=BUCKET)
    return run_export(moto.dynamodb, moto.s3, table=table, bucket=BUCKET, prefix=f"exports/{table}/", poll_seconds=0)


def import_table(moto: Any, name: str, keys: list[tuple[str, str]], bucket: str, data_prefix: str) -> str:
    """Create ``name`` with ImportTable from the ``data/`` folder, as stage 2 does; return the import ARN."""
    response = moto.dynamodb.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": data_prefix},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="GZIP",
        TableCreationParameters={
            "TableName": name,
            "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in keys],
            "KeySchema": [
                {"AttributeName": n, "KeyType": "HASH" if i == 0 else "RANGE"} for i, (n, _) in enumerate(keys)
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )
    return response["ImportTableDescription"]["ImportArn"]


def imported(moto: Any, table: str, import_arn: str, expected: int):
    """Wait for the import and check it (COMPLETED, no errors, every item)."""
    return check_import(moto.dynamodb, table=table, expected_items=expected, poll_seconds=0.05, import_arn=import_arn)


def test_pure_rename_imports_straight_from_the_export(moto):
    # Given a legacy table with composite keys, exported
    keys = [("Pk", "S"), ("Sk", "N")]
    items = [{**legacy_item(i), "Pk": {"S": f"p{i % 7}"}, "Sk": {"N": str(i)}} for i in range(400)]
    legacy_table(moto, "Legacy", keys, items)
    result = export(moto, "Legacy")
    # When a table of the same key schema is imported from the export's data/ folder
    arn = import_table(moto, "Renamed", keys, BUCKET, result.layout.data_prefix)
    check = imported(moto, "Renamed", arn, 400)
    # Then it holds every item: against the export and against the live legacy table
    assert check.imported_count == 400
    against_export = verify_export(moto.settings, result.layout, target_table="Renamed")
    assert against_export.identical and against_export.source_count == 400
    assert verify_tables(moto.settings, source_table="Legacy", target_table="Renamed").identical


def test_every_attribute_type_survives_the_round_trip(moto):
    # Given items holding every DynamoDB type (string keys: moto cannot segment-scan binary keys)
    keys = [("Name", "S")]
    # Two moto quirks AWS does not have: its import silently skips a line holding an empty map {}, and
    # its export writes non-ASCII as \uXXXX escapes that its import keeps as text (verify reports those
    # items as changed). So here nested maps are not empty and strings are ASCII.
    nested = {"M": {"a": {"L": []}, "b": {"NS": ["1", "2.5"]}, "c": {"M": {"z": {"NULL": True}}}}}
    items = [{**every_type_item(i), "Name": {"S": f"n{i}"}, "Map": nested, "S": {"S": "text"}} for i in range(50)]
    legacy_table(moto, "Legacy", keys, items)
    result = export(moto, "Legacy")
    # When imported into a renamed table and verified
    arn = import_table(moto, "Renamed", keys, BUCKET, result.layout.data_prefix)
    imported(moto, "Renamed", arn, 50)
    report = verify_tables(moto.settings, source_table="Legacy", target_table="Renamed")
    # Then every item is identical, and a nested change after the import is seen
    assert report.identical and report.target_count == 50
    changed = {**items[3], "Map": {"M": {"a": {"L": [{"NULL": True}]}}}}
    moto.dynamodb.put_item(TableName="Renamed", Item=changed)
    report = verify_export(moto.settings, result.layout, target_table="Renamed")
    assert report.changed_count == 1 and report.samples["changed"] == [{"Name": "n3"}]


def test_writes_after_the_export_are_drift(moto):
    # Given a renamed copy imported from an export, and writes to the legacy table after the export
    keys = [("Name", "S")]
    items = [legacy_item(i) for i in range(100)]
    legacy_table(moto, "Legacy", keys, items)
    result = export(moto, "Legacy")
    arn = import_table(moto, "Renamed", keys, BUCKET, result.layout.data_prefix)
    imported(moto, "Renamed", arn, 100)
    moto.dynamodb.put_item(TableName="Legacy", Item=legacy_item(500))
    moto.dynamodb.delete_item(TableName="Legacy", Key={"Name": {"S": "user-00001"}})
    # When the live tables are verified, the drift shows as missing and extra items
    report = verify_tables(moto.settings, source_table="Legacy", target_table="Renamed")
    assert (report.missing_count, report.extra_count) == (1, 1)
    assert report.samples == {"missing": [{"Name": "user-00500"}], "extra": [{"Name": "user-00001"}], "changed": []}


@pytest.mark.parametrize("sort_key", [None, ("Created", "N")])
def test_export_transform_import_verify_with_a_new_key(moto, sort_key):
    # Given the example schema: legacy keyed by Name (optionally + Created), new keyed by UUID = uuid5(Name)
    legacy_keys = [("Name", "S")] + ([sort_key] if sort_key else [])
    new_keys = [("UUID", "S")] + ([sort_key] if sort_key else [])
    items = [{**legacy_item(i), "Created": {"N": str(1_700_000_000 + i)}} for i in range(300)]
    legacy_table(moto, "Legacy", legacy_keys, items)
    result = export(moto, "Legacy")
    rules = ("UUID=uuid5(Name)",)
    # When the export is transformed, the new table imported from the transformed data/ and checked
    transformed = transform(moto, result.layout, rules, tuple(n for n, _ in new_keys))
    assert transformed.items_out == 300
    arn = import_table(moto, "New", new_keys, BUCKET, transformed.layout.data_prefix)
    imported(moto, "New", arn, 300)
    # Then the new table matches the export and the live legacy table through the derive rule
    deriver = Deriver(parse_rules(list(rules)))
    assert verify_export(moto.settings, result.layout, target_table="New", deriver=deriver).identical
    live = verify_tables(moto.settings, source_table="Legacy", target_table="New", deriver=deriver)
    assert live.identical and live.source_count == live.target_count == 300
    # And the new table's items are the legacy items plus UUID
    got = moto.dynamodb.get_item(
        TableName="New",
        Key={"UUID": new_item(items[5])["UUID"], **({"Created": items[5]["Created"]} if sort_key else {})},
    )["Item"]
    assert got["Name"] == items[5]["Name"]


def test_every_attribute_type_through_the_transform(moto):
    # Given items holding every DynamoDB type, non-ASCII text included (the transform writes plain UTF-8)
    nested = {"M": {"a": {"L": []}, "b": {"NS": ["1", "2.5"]}, "c": {"M": {"z": {"NULL": True}}}}}
    items = [{**every_type_item(i), "Name": {"S": f"n{i} ✓"}, "Map": nested} for i in range(40)]
    legacy_table(moto, "Legacy", [("Name", "S")], items)
    result = export(moto, "Legacy")
    rules = ("UUID=uuid5(Name)",)
    # When transformed, imported and checked
    transformed = transform(moto, result.layout, rules, ("UUID",))
    arn = import_table(moto, "New", [("UUID", "S")], BUCKET, transformed.layout.data_prefix)
    imported(moto, "New", arn, 40)
    # Then the new table equals the transformed export as is, and the legacy table through the rule
    assert verify_export(moto.settings, transformed.layout, target_table="New").identical
    deriver = Deriver(parse_rules(list(rules)))
    live = verify_tables(moto.settings, source_table="Legacy", target_table="New", deriver=deriver)
    assert live.identical and live.target_count == 40

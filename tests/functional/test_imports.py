"""check_import against tables that moto creates with ImportTable from files we write to its S3.

moto 5.2 has no ListImports, so finding the import by table is tested with a client that adds
ListImports (answering like AWS) in front of the real moto client.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from types import SimpleNamespace

import orjson
import pytest

from migrator.core.errors import ImportFailedError, NotFoundError
from migrator.data.load.import_check import LOG_GROUP, check_import

BUCKET = "import-bucket"


def write_source(s3, prefix: str, items: list[dict]) -> None:
    body = gzip.compress(b"".join(orjson.dumps({"Item": it}) + b"\n" for it in items))
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}data/part-0.json.gz", Body=body)


def import_table(dynamodb, name: str, prefix: str) -> str:
    response = dynamodb.import_table(
        S3BucketSource={"S3Bucket": BUCKET, "S3KeyPrefix": f"{prefix}data/"},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="GZIP",
        TableCreationParameters={
            "TableName": name,
            "KeySchema": [{"AttributeName": "UUID", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "UUID", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )
    return str(response["ImportTableDescription"]["ImportArn"])


def items(n: int) -> list[dict]:
    return [{"UUID": {"S": f"u{i}"}, "Name": {"S": f"n{i}"}} for i in range(n)]


class AwsLikeDynamoDB:
    """The real moto client, plus ListImports answered from the given summaries, at an AWS endpoint."""

    def __init__(self, real, summaries: list[dict]) -> None:
        self._real = real
        self._summaries = summaries
        self.meta = SimpleNamespace(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    def list_imports(self, TableArn: str, **_: object) -> dict:
        return {"ImportSummaryList": [s for s in self._summaries if s["TableArn"] == TableArn]}

    def __getattr__(self, name: str):
        return getattr(self._real, name)


@pytest.fixture
def s3(moto):
    moto.s3.create_bucket(Bucket=BUCKET)
    return moto.s3


def test_a_completed_import_of_every_item_passes(moto, s3):
    # Given a table imported from 5 items
    write_source(s3, "ok/", items(5))
    arn = import_table(moto.dynamodb, "NewTable", "ok/")
    lines: list[str] = []

    # When its import is checked
    check = check_import(
        moto.dynamodb, table="NewTable", expected_items=5, import_arn=arn, progress=lines.append, poll_seconds=0.01
    )

    # Then AWS's counts are reported
    assert (check.import_arn, check.status, check.imported_count, check.error_count) == (arn, "COMPLETED", 5, 0)
    assert check.processed_count == 5 and check.note is None
    assert any("COMPLETED, 5 items imported" in line for line in lines)


def test_an_item_count_mismatch_fails_naming_table_and_counts(moto, s3):
    # Given a table imported from 4 items, where 5 were expected
    write_source(s3, "short/", items(4))
    arn = import_table(moto.dynamodb, "NewTable", "short/")

    # When checked, then the error names the table, the status and both counts
    with pytest.raises(ImportFailedError) as caught:
        check_import(moto.dynamodb, table="NewTable", expected_items=5, import_arn=arn)
    message = str(caught.value)
    assert "table NewTable" in message and "ended COMPLETED" in message and "4 of 5 expected" in message
    assert "duplicate keys" in message and caught.value.exit_code == 1


def test_a_failed_import_carries_aws_message_and_the_log_group(moto, s3):
    # Given a source where one item lacks the key attribute (moto then fails the import)
    write_source(s3, "bad/", [*items(3), {"Name": {"S": "no key"}}])
    arn = import_table(moto.dynamodb, "NewTable", "bad/")

    # When checked
    with pytest.raises(ImportFailedError) as caught:
        check_import(moto.dynamodb, table="NewTable", expected_items=4, import_arn=arn)

    # Then the status, the counts, AWS's message and where the errors are logged are named
    message = str(caught.value)
    assert "ended FAILED" in message and "3 of 4 expected" in message and "1 errors" in message
    assert "Missing the key UUID" in message and LOG_GROUP in message


def test_the_newest_import_of_the_table_is_found_by_list_imports(moto, s3):
    # Given two imports listed for the table, the newer one importing every item
    write_source(s3, "ok/", items(3))
    arn = import_table(moto.dynamodb, "NewTable", "ok/")
    table_arn = moto.dynamodb.describe_table(TableName="NewTable")["Table"]["TableArn"]
    summaries = [
        {
            "ImportArn": arn,
            "TableArn": table_arn,
            "ImportStatus": "COMPLETED",
            "StartTime": datetime(2026, 1, 2, tzinfo=UTC),
        },
        {
            "ImportArn": "arn:old",
            "TableArn": table_arn,
            "ImportStatus": "FAILED",
            "StartTime": datetime(2026, 1, 1, tzinfo=UTC),
        },
    ]

    # When checked without an import ARN
    check = check_import(AwsLikeDynamoDB(moto.dynamodb, summaries), table="NewTable", expected_items=3)

    # Then the newer import was described and checked
    assert check.import_arn == arn and check.status == "COMPLETED"


def test_a_table_not_created_by_an_import_is_named(moto, s3):
    moto.dynamodb.create_table(
        TableName="Plain",
        KeySchema=[{"AttributeName": "UUID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "UUID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(NotFoundError, match="No import created table Plain"):
        check_import(AwsLikeDynamoDB(moto.dynamodb, []), table="Plain", expected_items=0)


def test_unknown_table_is_not_found(moto):
    with pytest.raises(NotFoundError, match="table Nope does not exist"):
        check_import(moto.dynamodb, table="Nope", expected_items=1)


def test_without_list_imports_the_table_items_are_counted_and_said_so(moto, s3):
    # Given an imported table on moto (no ListImports) and no import ARN
    write_source(s3, "ok/", items(6))
    import_table(moto.dynamodb, "NewTable", "ok/")
    lines: list[str] = []

    # When checked, then the items are counted and the result says how it was checked
    check = check_import(moto.dynamodb, table="NewTable", expected_items=6, progress=lines.append)
    assert (check.import_arn, check.status, check.imported_count) == (None, "COUNTED", 6)
    assert check.note and "no ListImports" in check.note and check.note in lines

    # And a count that differs fails
    with pytest.raises(ImportFailedError, match="holds 6 items, 7 expected"):
        check_import(moto.dynamodb, table="NewTable", expected_items=7)


class ScriptedImports:
    """describe_import walks through scripted descriptions; at an AWS endpoint."""

    meta = SimpleNamespace(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    def __init__(self, steps: list[dict]) -> None:
        self.steps = steps

    def describe_import(self, ImportArn: str) -> dict:
        return {"ImportTableDescription": self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]}


def test_an_import_in_progress_is_waited_on_with_progress(monkeypatch):
    # Given an import that is IN_PROGRESS twice, then COMPLETED
    running = {"ImportArn": "arn:i", "ImportStatus": "IN_PROGRESS", "ProcessedItemCount": 10}
    done = {"ImportArn": "arn:i", "ImportStatus": "COMPLETED", "ImportedItemCount": 20, "ProcessedItemCount": 20}
    sleeps: list[float] = []
    monkeypatch.setattr("migrator.data.load.import_check.time.sleep", sleeps.append)
    lines: list[str] = []

    # When checked
    check = check_import(
        ScriptedImports([running, running, done]),
        table="NewTable",
        expected_items=20,
        import_arn="arn:i",
        progress=lines.append,
        poll_seconds=2,
    )

    # Then it polled with backoff, printing a line each time, and passed
    assert sleeps == [2, 4] and check.imported_count == 20
    assert sum("IN_PROGRESS, 10 items processed" in line for line in lines) == 2

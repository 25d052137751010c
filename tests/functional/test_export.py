"""run_export against a real moto server: start, reuse, resume, PITR and unknown names, moto's FAILED export."""

from __future__ import annotations

import gzip

import orjson
import pytest

from migrator.core.errors import BadInputError, ExportFailedError, NotFoundError
from migrator.data.export.run import default_client_token, run_export

BUCKET = "export-bucket"


def make_table(dynamodb, name: str, items: int, *, pitr: bool = True) -> None:
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "Name", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "Name", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(items):
        dynamodb.put_item(TableName=name, Item={"Name": {"S": f"n{i}"}, "Count": {"N": str(i)}})
    if pitr:
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )


def read_items(s3, bucket: str, keys) -> list[dict]:
    lines = []
    for key in keys:
        body = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        lines.extend(orjson.loads(line) for line in body.splitlines() if line.strip())
    return lines


@pytest.fixture
def legacy(moto):
    make_table(moto.dynamodb, "Legacy", 7)
    moto.s3.create_bucket(Bucket=BUCKET)
    return moto


def test_export_of_a_pitr_table_writes_every_item_as_dynamodb_json(legacy):
    # Given a PITR-enabled table of 7 items and a bucket
    lines, started = [], []

    # When it is exported
    result = run_export(
        legacy.dynamodb,
        legacy.s3,
        table="Legacy",
        bucket=BUCKET,
        prefix="exports/dev/Legacy/",
        progress=lines.append,
        poll_seconds=0.01,
        on_started=started.append,
    )

    # Then the result names the export, its count and one data folder under the prefix
    assert started == [result.export_arn]
    assert result.item_count == 7 and not result.reused
    layout = result.layout
    assert layout.bucket == BUCKET and layout.data_prefix.startswith("exports/dev/Legacy/AWSDynamoDB/")
    assert layout.data_prefix.endswith("/data/") and not layout.has_manifest
    assert all(f.key.startswith(layout.data_prefix) for f in layout.files)
    # and every line is {"Item": {...}} in DynamoDB JSON, each item once
    items = read_items(legacy.s3, BUCKET, [f.key for f in layout.files])
    assert all(set(line) == {"Item"} for line in items)
    assert sorted(line["Item"]["Name"]["S"] for line in items) == [f"n{i}" for i in range(7)]
    assert any("starting a point-in-time export of Legacy" in line for line in lines)
    assert result.to_dict()["export_time"] == result.export_time.isoformat()


def test_a_second_run_reuses_the_first_export(legacy):
    # Given a completed export
    first = run_export(legacy.dynamodb, legacy.s3, table="Legacy", bucket=BUCKET, prefix="p/", poll_seconds=0.01)
    lines: list[str] = []

    # When the export runs again to the same bucket and prefix
    second = run_export(
        legacy.dynamodb, legacy.s3, table="Legacy", bucket=BUCKET, prefix="p", progress=lines.append, poll_seconds=0.01
    )

    # Then no second export exists, and the run said it reused the first
    arn = legacy.dynamodb.describe_table(TableName="Legacy")["Table"]["TableArn"]
    assert len(legacy.dynamodb.list_exports(TableArn=arn)["ExportSummaries"]) == 1
    assert second.export_arn == first.export_arn and second.reused
    assert second.layout.files == first.layout.files and second.item_count == 7
    assert any("reusing completed export" in line and "no new export" in line for line in lines)


def test_another_prefix_gets_its_own_export(legacy):
    # Given an export to one prefix
    first = run_export(legacy.dynamodb, legacy.s3, table="Legacy", bucket=BUCKET, prefix="a/", poll_seconds=0.01)

    # When exporting to another prefix
    second = run_export(legacy.dynamodb, legacy.s3, table="Legacy", bucket=BUCKET, prefix="b/", poll_seconds=0.01)

    # Then that is a new export, and each finds only its own files
    assert second.export_arn != first.export_arn and not second.reused
    assert first.layout.data_prefix.startswith("a/") and second.layout.data_prefix.startswith("b/")


def test_resume_from_a_recorded_export_arn(legacy):
    # Given an export whose ARN was recorded
    recorded: list[str] = []
    run_export(
        legacy.dynamodb,
        legacy.s3,
        table="Legacy",
        bucket=BUCKET,
        prefix="p/",
        poll_seconds=0.01,
        on_started=recorded.append,
    )

    # When the run resumes from that ARN
    lines: list[str] = []
    result = run_export(
        legacy.dynamodb,
        legacy.s3,
        table="Legacy",
        bucket=BUCKET,
        prefix="p/",
        export_arn=recorded[0],
        progress=lines.append,
        poll_seconds=0.01,
    )

    # Then it waits on that export and starts none
    arn = legacy.dynamodb.describe_table(TableName="Legacy")["Table"]["TableArn"]
    assert result.export_arn == recorded[0] and result.item_count == 7
    assert len(legacy.dynamodb.list_exports(TableArn=arn)["ExportSummaries"]) == 1
    assert lines[0].startswith("resuming export")


def test_resume_with_the_wrong_bucket_is_refused(legacy):
    # Given an export to p/ and another bucket
    first = run_export(legacy.dynamodb, legacy.s3, table="Legacy", bucket=BUCKET, prefix="p/", poll_seconds=0.01)
    legacy.s3.create_bucket(Bucket="other-bucket")

    # When resuming it with another bucket, then the mismatch is named
    with pytest.raises(BadInputError, match="wrote to s3://export-bucket/p/"):
        run_export(
            legacy.dynamodb, legacy.s3, table="Legacy", bucket="other-bucket", prefix="p/", export_arn=first.export_arn
        )


def test_resume_with_another_table_s_export_is_refused(legacy):
    # Given an export of another table
    make_table(legacy.dynamodb, "Other", 1)
    other = run_export(legacy.dynamodb, legacy.s3, table="Other", bucket=BUCKET, prefix="p/", poll_seconds=0.01)

    # When resuming Legacy's export from it, then the mismatch is named
    with pytest.raises(BadInputError, match="not of table Legacy"):
        run_export(legacy.dynamodb, legacy.s3, table="Legacy", bucket=BUCKET, prefix="p/", export_arn=other.export_arn)


def test_pitr_off_is_bad_input_that_says_how_to_turn_it_on(moto):
    # Given a table without point-in-time recovery
    make_table(moto.dynamodb, "NoPitr", 2, pitr=False)
    moto.s3.create_bucket(Bucket=BUCKET)

    # When exporting it, then the error names the fix and no export was started
    with pytest.raises(BadInputError) as caught:
        run_export(moto.dynamodb, moto.s3, table="NoPitr", bucket=BUCKET, prefix="p/")
    assert caught.value.exit_code == 2
    assert "update-continuous-backups" in str(caught.value) and "stage 1" in str(caught.value)
    arn = moto.dynamodb.describe_table(TableName="NoPitr")["Table"]["TableArn"]
    assert moto.dynamodb.list_exports(TableArn=arn)["ExportSummaries"] == []


def test_unknown_table_and_unknown_bucket_are_not_found(legacy):
    with pytest.raises(NotFoundError, match="table Nope does not exist"):
        run_export(legacy.dynamodb, legacy.s3, table="Nope", bucket=BUCKET, prefix="p/")
    with pytest.raises(NotFoundError, match="bucket no-such-bucket does not exist"):
        run_export(legacy.dynamodb, legacy.s3, table="Legacy", bucket="no-such-bucket", prefix="p/")


def test_empty_prefix_is_refused(legacy):
    with pytest.raises(BadInputError, match="non-empty S3 prefix"):
        run_export(legacy.dynamodb, legacy.s3, table="Legacy", bucket=BUCKET, prefix="/")


def test_a_failed_export_raises_with_aws_reason_and_is_not_reused(moto):
    # Given an export that moto failed (its bucket did not exist when it ran), and the bucket made later
    make_table(moto.dynamodb, "Legacy", 3)
    arn = moto.dynamodb.describe_table(TableName="Legacy")["Table"]["TableArn"]
    failed = moto.dynamodb.export_table_to_point_in_time(
        TableArn=arn, S3Bucket=BUCKET, S3Prefix="p", ExportFormat="DYNAMODB_JSON"
    )["ExportDescription"]["ExportArn"]
    moto.s3.create_bucket(Bucket=BUCKET)

    # When resuming that export, then AWS's failure code and message are in the error
    with pytest.raises(ExportFailedError) as caught:
        run_export(moto.dynamodb, moto.s3, table="Legacy", bucket=BUCKET, prefix="p/", export_arn=failed)
    assert "S3NoSuchBucket" in str(caught.value) and "The specified bucket does not exist" in str(caught.value)
    assert caught.value.exit_code == 1 and caught.value.code == "S3NoSuchBucket"

    # And a run without the ARN starts a fresh export instead of reusing the failed one
    result = run_export(moto.dynamodb, moto.s3, table="Legacy", bucket=BUCKET, prefix="p/", poll_seconds=0.01)
    assert result.export_arn != failed and result.item_count == 3


def test_client_token_is_deterministic_and_depends_on_the_destination():
    arn = "arn:aws:dynamodb:us-east-1:1:table/T"
    assert default_client_token(arn, "b", "p/") == default_client_token(arn, "b", "/p")
    assert default_client_token(arn, "b", "p") != default_client_token(arn, "b", "q")
    assert default_client_token(arn, "b", "p") != default_client_token(arn, "b", "p", attempt=1)
    assert len(default_client_token(arn, "b", "p")) <= 64

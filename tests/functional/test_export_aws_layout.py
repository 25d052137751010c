"""Exports in the real AWS layout (manifests, MD5s), written by hand into moto S3, and run_export's waiting.

moto writes neither manifests nor export-id folders and never leaves an export IN_PROGRESS or FAILED
on its own, so these tests give run_export a small fake DynamoDB client that answers like AWS.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from datetime import UTC, datetime

import orjson
import pytest
from botocore.exceptions import ClientError

from migrator.core.errors import BadInputError, ExportFailedError
from migrator.data.export.files import check_files, locate_export
from migrator.data.export.run import run_export

BUCKET = "export-bucket"
TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/Legacy"
EXPORT_TIME = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)


def item(i: int) -> dict:
    return {"Name": {"S": f"n{i}"}, "Count": {"N": str(i)}}


def write_aws_export(s3, prefix: str, export_id: str, files: list[list[dict]]) -> str:
    """Write what a real DynamoDB export writes; return its root folder (with a trailing ``/``)."""
    root = f"{prefix}/AWSDynamoDB/{export_id}"
    s3.put_object(Bucket=BUCKET, Key=f"{root}/_started", Body=b"")
    entries = []
    for n, items in enumerate(files):
        body = gzip.compress(b"".join(orjson.dumps({"Item": it}) + b"\n" for it in items))
        key = f"{root}/data/file{n:03d}.json.gz"
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        entries.append({"itemCount": len(items), "md5Checksum": md5, "etag": "x", "dataFileS3Key": key})
    s3.put_object(
        Bucket=BUCKET, Key=f"{root}/manifest-files.json", Body=b"".join(orjson.dumps(e) + b"\n" for e in entries)
    )
    summary = {
        "version": "2020-06-30",
        "exportArn": f"{TABLE_ARN}/export/{export_id}",
        "exportTime": EXPORT_TIME.isoformat(),
        "s3Bucket": BUCKET,
        "s3Prefix": prefix,
        "manifestFilesS3Key": f"{root}/manifest-files.json",
        "itemCount": sum(len(items) for items in files),
        "outputFormat": "DYNAMODB_JSON",
        "exportType": "FULL_EXPORT",
    }
    s3.put_object(Bucket=BUCKET, Key=f"{root}/manifest-summary.json", Body=orjson.dumps(summary))
    return root + "/"


class FakeDynamoDB:
    """Answers run_export's DynamoDB calls like AWS; describe_export walks through scripted statuses."""

    def __init__(self, exports: dict[str, list[dict]] | None = None, *, pitr: bool = True) -> None:
        self.scripts = {arn: list(steps) for arn, steps in (exports or {}).items()}
        self.pitr = pitr
        self.started: list[dict] = []
        self.next_on_start: list[dict] = []

    def describe_table(self, TableName: str) -> dict:
        if TableName != "Legacy":
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "nope"}}, "DescribeTable")
        return {"Table": {"TableName": TableName, "TableArn": TABLE_ARN}}

    def describe_continuous_backups(self, TableName: str) -> dict:
        status = "ENABLED" if self.pitr else "DISABLED"
        return {
            "ContinuousBackupsDescription": {"PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": status}}
        }

    def list_exports(self, TableArn: str, **_: object) -> dict:
        return {
            "ExportSummaries": [
                {"ExportArn": arn, "ExportStatus": steps[0]["ExportStatus"], "ExportType": "FULL_EXPORT"}
                for arn, steps in self.scripts.items()
            ]
        }

    def describe_export(self, ExportArn: str) -> dict:
        steps = self.scripts[ExportArn]
        return {"ExportDescription": steps.pop(0) if len(steps) > 1 else steps[0]}

    def export_table_to_point_in_time(self, **kwargs: object) -> dict:
        self.started.append(kwargs)
        steps = self.next_on_start
        self.scripts[steps[0]["ExportArn"]] = steps
        return {"ExportDescription": steps[0]}


def described(export_id: str, status: str, prefix: str = "exports/Legacy", **extra: object) -> dict:
    return {
        "ExportArn": f"{TABLE_ARN}/export/{export_id}",
        "ExportStatus": status,
        "TableArn": TABLE_ARN,
        "S3Bucket": BUCKET,
        "S3Prefix": prefix,
        "ExportFormat": "DYNAMODB_JSON",
        "ExportType": "FULL_EXPORT",
        **extra,
    }


@pytest.fixture
def s3(moto):
    moto.s3.create_bucket(Bucket=BUCKET)
    return moto.s3


def test_locate_export_reads_the_manifest_and_md5s_match(s3):
    # Given a real-layout export of 5 items in two files
    root = write_aws_export(
        s3, "exports/Legacy", "01700000000000-abcdef12", [[item(0), item(1), item(2)], [item(3), item(4)]]
    )

    # When it is located and checked
    layout = locate_export(s3, BUCKET, root)
    checked = check_files(s3, layout)

    # Then the manifest gives the files, counts and the data folder, and every MD5 matches
    assert layout.has_manifest and layout.item_count == 5 and checked == 2
    assert layout.data_prefix == root + "data/"
    assert [f.item_count for f in layout.files] == [3, 2]


def test_a_corrupted_data_file_is_caught_by_its_md5(s3):
    # Given a real-layout export whose second file was altered after the export
    root = write_aws_export(s3, "exports/Legacy", "01700000000000-abcdef12", [[item(0)], [item(1)]])
    s3.put_object(Bucket=BUCKET, Key=f"{root}data/file001.json.gz", Body=gzip.compress(b'{"Item": {}}\n'))

    # When checked, then that file is named
    layout = locate_export(s3, BUCKET, root)
    with pytest.raises(ExportFailedError, match="file001.json.gz does not match its manifest"):
        check_files(s3, layout)


def test_a_missing_data_file_and_a_count_mismatch_are_export_failures(s3):
    root = write_aws_export(s3, "exports/Legacy", "01700000000000-abcdef12", [[item(0)], [item(1)]])
    s3.delete_object(Bucket=BUCKET, Key=f"{root}data/file000.json.gz")
    with pytest.raises(ExportFailedError, match="file000.json.gz, which is missing"):
        locate_export(s3, BUCKET, root)

    other = write_aws_export(s3, "exports/Other", "01700000000000-00000001", [[item(0), item(1)]])
    summary = orjson.loads(s3.get_object(Bucket=BUCKET, Key=f"{other}manifest-summary.json")["Body"].read())
    s3.put_object(Bucket=BUCKET, Key=f"{other}manifest-summary.json", Body=orjson.dumps({**summary, "itemCount": 3}))
    with pytest.raises(ExportFailedError, match="counts 3 items in manifest-summary.json but 2"):
        locate_export(s3, BUCKET, other)


def test_two_exports_under_one_prefix_need_an_export_folder(s3):
    write_aws_export(s3, "exports/Legacy", "01600000000000-00000000", [[item(9)]])
    write_aws_export(s3, "exports/Legacy", "01700000000000-abcdef12", [[item(0)]])
    with pytest.raises(BadInputError, match="holds 2 exports"):
        locate_export(s3, BUCKET, "exports/Legacy/")


def test_run_export_finds_its_own_files_among_older_exports_and_checks_them(s3):
    # Given an older export and this export's files under the same prefix, and AWS reporting it COMPLETED
    write_aws_export(s3, "exports/Legacy", "01600000000000-00000000", [[item(9)]])
    write_aws_export(s3, "exports/Legacy", "01700000000000-abcdef12", [[item(0), item(1)], [item(2)]])
    dynamodb = FakeDynamoDB()
    dynamodb.next_on_start = [described("01700000000000-abcdef12", "COMPLETED", ExportTime=EXPORT_TIME, ItemCount=3)]

    # When the export runs
    result = run_export(dynamodb, s3, table="Legacy", bucket=BUCKET, prefix="exports/Legacy/", poll_seconds=0.01)

    # Then it started one export with an explicit prefix and token, and read this export's files only
    (call,) = dynamodb.started
    assert call["S3Prefix"] == "exports/Legacy" and call["ExportFormat"] == "DYNAMODB_JSON"
    assert str(call["ClientToken"]).startswith("migrate-")
    assert result.item_count == 3 and result.export_time == EXPORT_TIME
    assert result.layout.data_prefix == "exports/Legacy/AWSDynamoDB/01700000000000-abcdef12/data/"
    assert len(result.layout.files) == 2


def test_run_export_catches_a_corrupted_file_of_its_export(s3):
    root = write_aws_export(s3, "exports/Legacy", "01700000000000-abcdef12", [[item(0)]])
    s3.put_object(Bucket=BUCKET, Key=f"{root}data/file000.json.gz", Body=b"not what AWS wrote")
    dynamodb = FakeDynamoDB()
    dynamodb.next_on_start = [described("01700000000000-abcdef12", "COMPLETED", ExportTime=EXPORT_TIME, ItemCount=1)]
    with pytest.raises(ExportFailedError, match="does not match its manifest"):
        run_export(dynamodb, s3, table="Legacy", bucket=BUCKET, prefix="exports/Legacy/")


def test_an_export_in_progress_is_waited_on_with_backoff_not_started_again(s3, monkeypatch):
    # Given an export of the table to the same place that AWS reports IN_PROGRESS twice, then COMPLETED
    write_aws_export(s3, "exports/Legacy", "01700000000000-abcdef12", [[item(0), item(1)]])
    running = described("01700000000000-abcdef12", "IN_PROGRESS")
    done = described("01700000000000-abcdef12", "COMPLETED", ExportTime=EXPORT_TIME, ItemCount=2)
    dynamodb = FakeDynamoDB({running["ExportArn"]: [running, running, running, done]})
    sleeps: list[float] = []
    monkeypatch.setattr("migrator.data.export.run.time.sleep", sleeps.append)
    lines: list[str] = []
    started: list[str] = []

    # When the export runs
    result = run_export(
        dynamodb,
        s3,
        table="Legacy",
        bucket=BUCKET,
        prefix="exports/Legacy",
        progress=lines.append,
        poll_seconds=20,
        on_started=started.append,
    )

    # Then it started nothing, reported the ARN, printed a line per poll and backed off exponentially up to a minute
    assert dynamodb.started == [] and started == [running["ExportArn"]]
    assert result.reused and result.item_count == 2
    assert sleeps == [20, 40, 60]
    assert "is in progress: waiting on it" in lines[0]
    assert sum(": in progress," in line for line in lines) == 3


def test_a_failed_export_names_aws_code_and_message(s3, monkeypatch):
    # Given AWS failing the export it starts
    monkeypatch.setattr("migrator.data.export.run.time.sleep", lambda _s: None)
    dynamodb = FakeDynamoDB()
    arn_id = "01700000000000-deadbeef"
    dynamodb.next_on_start = [
        described(arn_id, "IN_PROGRESS"),
        described(arn_id, "FAILED", FailureCode="S3AccessDenied", FailureMessage="Access Denied to bucket"),
    ]

    # When the export runs, then the error carries AWS's reason and what to do
    with pytest.raises(ExportFailedError) as caught:
        run_export(dynamodb, s3, table="Legacy", bucket=BUCKET, prefix="exports/Legacy/", poll_seconds=1)
    message = str(caught.value)
    assert "ended FAILED: S3AccessDenied: Access Denied to bucket" in message
    assert "run the export again" in message and caught.value.exit_code == 1


def test_pitr_checked_only_when_an_export_must_start(s3):
    # Given PITR off, and no export yet: refused
    dynamodb = FakeDynamoDB(pitr=False)
    with pytest.raises(BadInputError, match="Point-in-time recovery is DISABLED"):
        run_export(dynamodb, s3, table="Legacy", bucket=BUCKET, prefix="exports/Legacy/")
    assert dynamodb.started == []

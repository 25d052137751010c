"""Damaged exports on S3: corrupt gzip files, missing manifests, reused exports that changed since.

Both layouts: AWS's (``_started``, manifests with MD5s, written by hand) and moto's (``data/<uuid>.gz``,
no manifest). Every damage is exit 1 with the file's key and what is wrong with it, never a traceback
or click's bare ``Aborted.``.
"""

from __future__ import annotations

import gzip
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from migrator.cli import app
from migrator.core.errors import BadInputError, ExportFailedError
from migrator.data.export.files import locate_export
from migrator.data.export.run import run_export
from tests.cli_result import exited
from tests.functional.test_export import make_table as make_legacy_table
from tests.functional.test_export_aws_layout import TABLE_ARN, FakeDynamoDB, described, write_aws_export
from tests.functional.test_verify import make_table

BUCKET = "export-bucket"  # write_aws_export's bucket
PREFIX = "exports/Legacy"
EXPORT_ID = "01700000000000-abcdef12"
ITEMS = [{"Name": {"S": f"n{i:03d}"}, "Count": {"N": str(i)}} for i in range(40)]


def write_moto_export(s3: Any, files: list[list[dict[str, Any]]]) -> list[str]:
    """What moto's export writes: ``<prefix>/AWSDynamoDB/<uuid>/data/<uuid>.gz``, no manifest; the data keys."""
    folder = f"{PREFIX}/AWSDynamoDB/{uuid.uuid4()}/data"
    keys = []
    for items in files:
        key = f"{folder}/{uuid.uuid4()}.gz"
        s3.put_object(
            Bucket=BUCKET, Key=key, Body=gzip.compress(b"".join(orjson.dumps({"Item": i}) + b"\n" for i in items))
        )
        keys.append(key)
    return keys


def write_export(s3: Any, layout: str) -> list[str]:
    """Two files of 20 items in ``layout`` ("aws" or "moto"); their data keys."""
    s3.create_bucket(Bucket=BUCKET)
    if layout == "moto":
        return write_moto_export(s3, [ITEMS[:20], ITEMS[20:]])
    root = write_aws_export(s3, PREFIX, EXPORT_ID, [ITEMS[:20], ITEMS[20:]])
    return [f"{root}data/file000.json.gz", f"{root}data/file001.json.gz"]


def damage(s3: Any, key: str, how: str) -> None:
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    if how == "truncated":
        body = body[: len(body) // 2]
    elif how == "not gzip":
        body = b'{"Item":{"Name":{"S":"plain text, never compressed"}}}\n'
    else:  # CRC mismatch: the CRC-32 is the trailer's first four bytes
        body = body[:-8] + bytes([body[-8] ^ 0xFF]) + body[-7:]
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def transform(moto: Any, *extra: str):
    return cli(
        "transform",
        "--source",
        f"s3://{BUCKET}/{PREFIX}/",
        "--dest",
        f"s3://{BUCKET}/transformed/New/",
        "--derive",
        "UUID=uuid5(Name)",
        "--endpoint-url",
        moto.endpoint,
        *extra,
    )


def verify(moto: Any):
    make_table(moto.dynamodb, "New", [("UUID", "S")])
    args = ["--source-export", f"s3://{BUCKET}/{PREFIX}/", "--target-table", "New", "--derive", "UUID=uuid5(Name)"]
    return cli("verify", *args, "--endpoint-url", moto.endpoint)


def assert_data_error(result, *needles: str) -> None:
    exited(result, 1)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stderr.strip().splitlines()[-1].startswith("error: ") and "Aborted" not in result.output
    for needle in needles:
        assert needle in result.stderr, result.stderr


# --- item 2: a corrupt gzip data file ----------------------------------------------------------------

DAMAGES = ["truncated", "not gzip", "CRC mismatch"]


@pytest.mark.parametrize("layout", ["aws", "moto"])
@pytest.mark.parametrize("how", DAMAGES)
def test_corrupt_gzip_in_transform_names_the_file_and_the_damage(moto, layout: str, how: str) -> None:
    keys = write_export(moto.s3, layout)
    damage(moto.s3, keys[1], how)
    result = transform(moto, "--workers", "1")
    assert_data_error(result, keys[1], how, "export")


@pytest.mark.parametrize("layout", ["aws", "moto"])
@pytest.mark.parametrize("how", DAMAGES)
def test_corrupt_gzip_in_verify_source_export_names_the_file_and_the_damage(moto, layout: str, how: str) -> None:
    keys = write_export(moto.s3, layout)
    damage(moto.s3, keys[0], how)
    assert_data_error(verify(moto), keys[0], how, "export")


def test_corrupt_gzip_in_a_transform_worker_process_reaches_the_parent_with_its_message(moto) -> None:
    keys = write_export(moto.s3, "moto")
    damage(moto.s3, keys[0], "truncated")
    assert_data_error(transform(moto, "--workers", "2"), keys[0], "truncated")


# --- item 3: an AWS export folder without its manifests ------------------------------------------------


def test_aws_export_without_manifests_and_a_file_gone_is_refused_not_read_as_complete(moto) -> None:
    keys = write_export(moto.s3, "aws")
    root = keys[0].rsplit("data/", 1)[0]
    for name in ("manifest-summary.json", "manifest-files.json"):
        moto.s3.delete_object(Bucket=BUCKET, Key=root + name)
    moto.s3.delete_object(Bucket=BUCKET, Key=keys[1])
    assert_data_error(transform(moto, "--workers", "1"), "incomplete or damaged")
    assert "Contents" not in moto.s3.list_objects_v2(Bucket=BUCKET, Prefix="transformed/")


def test_aws_export_missing_only_its_summary_is_incomplete_not_two_folders(moto) -> None:
    keys = write_export(moto.s3, "aws")
    moto.s3.delete_object(Bucket=BUCKET, Key=keys[0].rsplit("data/", 1)[0] + "manifest-summary.json")
    result = transform(moto, "--workers", "1")
    assert_data_error(result, "incomplete or damaged", "manifest-summary.json")
    assert "folders" not in result.stderr


def test_aws_export_missing_its_files_manifest_is_a_data_error_not_bad_input(moto) -> None:
    keys = write_export(moto.s3, "aws")
    moto.s3.delete_object(Bucket=BUCKET, Key=keys[0].rsplit("data/", 1)[0] + "manifest-files.json")
    assert_data_error(transform(moto, "--workers", "1"), "incomplete or damaged", "manifest-files.json")


def test_manifest_files_json_is_never_taken_for_a_data_file(moto) -> None:
    # Given an export folder whose summary and _started marker are gone, leaving manifest-files.json
    keys = write_export(moto.s3, "aws")
    root = keys[0].rsplit("data/", 1)[0]
    for name in ("manifest-summary.json", "_started"):
        moto.s3.delete_object(Bucket=BUCKET, Key=root + name)
    # When located as an export without manifest, then only the two data files are data
    layout = locate_export(moto.s3, BUCKET, PREFIX + "/")
    assert [f.key for f in layout.files] == keys


def test_an_export_folder_with_no_data_file_at_all_stays_bad_input(moto) -> None:
    moto.s3.create_bucket(Bucket=BUCKET)
    with pytest.raises(BadInputError, match="No export data files"):
        locate_export(moto.s3, BUCKET, PREFIX + "/")


# --- item 9: a rerun of `migrate export` checks the export it reuses -------------------------------------


def export_cli(moto: Any, *extra: str):
    args = ["export", "--table", "Legacy", "--bucket", BUCKET, "--prefix", PREFIX + "/", "--poll-seconds", "0"]
    return cli(*args, "--endpoint-url", moto.endpoint, *extra)


@pytest.fixture
def exported(moto) -> Any:
    """Legacy (40 items, PITR on) exported once by `migrate export` to s3://export-bucket/exports/Legacy/."""
    make_legacy_table(moto.dynamodb, "Legacy", 40)
    moto.s3.create_bucket(Bucket=BUCKET)
    first = export_cli(moto, "--json")
    exited(first, 0)
    moto.first = orjson.loads(first.stdout)
    return moto


def data_keys(s3: Any) -> list[str]:
    return [
        o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX + "/")["Contents"] if "/data/" in o["Key"]
    ]


def test_rerun_of_export_checks_a_reused_export_without_manifest_for_a_truncated_file(exported) -> None:
    (key,) = data_keys(exported.s3)
    damage(exported.s3, key, "truncated")
    result = export_cli(exported)
    assert_data_error(result, key, "truncated", f"--prefix {PREFIX}-")
    assert "reusing completed export" in result.stderr


def test_rerun_of_export_after_its_data_file_was_deleted_says_export_again_to_a_fresh_prefix(exported) -> None:
    (key,) = data_keys(exported.s3)
    exported.s3.delete_object(Bucket=BUCKET, Key=key)
    result = export_cli(exported)
    assert_data_error(result, "--prefix", f"{PREFIX}-")
    assert "run `migrate export` first" not in result.stderr


def test_a_fresh_prefix_from_the_hint_gives_a_new_complete_export(exported) -> None:
    (key,) = data_keys(exported.s3)
    damage(exported.s3, key, "not gzip")
    hint = export_cli(exported).stderr
    fresh = hint.split("--prefix ", 1)[1].split()[0].strip("`.;,")
    again = cli(
        "export",
        "--table",
        "Legacy",
        "--bucket",
        BUCKET,
        "--prefix",
        fresh,
        "--poll-seconds",
        "0",
        "--endpoint-url",
        exported.endpoint,
        "--json",
    )
    exited(again, 0)
    assert orjson.loads(again.stdout)["reused"] is False and orjson.loads(again.stdout)["item_count"] == 40


def test_reused_export_prints_the_exports_own_time_not_the_reruns(exported, monkeypatch) -> None:
    # Given the rerun happening a day later
    class Later(datetime):
        @classmethod
        def now(cls, tz=None):  # noqa: ANN001
            return datetime.now(tz) + timedelta(days=1)

    monkeypatch.setattr("migrator.data.export.run.datetime", Later)
    again = export_cli(exported, "--json")
    exited(again, 0)
    # Then the reused export's time is the first run's (the export's own), in JSON and on stderr
    first_time = exported.first["export_time"]
    assert orjson.loads(again.stdout)["export_time"] == first_time
    assert first_time in again.stderr


def test_rerun_of_an_aws_export_whose_file_was_truncated_fails_on_its_md5_with_a_fresh_prefix(moto) -> None:
    keys = write_export(moto.s3, "aws")
    damage(moto.s3, keys[0], "truncated")
    done = described(EXPORT_ID, "COMPLETED", prefix=PREFIX, ExportTime=datetime(2026, 1, 2, tzinfo=UTC), ItemCount=40)
    dynamodb = FakeDynamoDB({done["ExportArn"]: [done]})
    with pytest.raises(ExportFailedError) as caught:
        run_export(dynamodb, moto.s3, table="Legacy", bucket=BUCKET, prefix=PREFIX)
    assert keys[0] in str(caught.value) and f"{PREFIX}-" in caught.value.hint and dynamodb.started == []


def test_rerun_of_an_aws_export_whose_file_was_deleted_fails_with_a_fresh_prefix(moto) -> None:
    keys = write_export(moto.s3, "aws")
    moto.s3.delete_object(Bucket=BUCKET, Key=keys[1])
    done = described(EXPORT_ID, "COMPLETED", prefix=PREFIX, ExportTime=datetime(2026, 1, 2, tzinfo=UTC), ItemCount=40)
    dynamodb = FakeDynamoDB({done["ExportArn"]: [done]})
    with pytest.raises(ExportFailedError) as caught:
        run_export(dynamodb, moto.s3, table="Legacy", bucket=BUCKET, prefix=PREFIX)
    assert keys[1] in str(caught.value) and f"{PREFIX}-" in caught.value.hint
    assert TABLE_ARN in done["ExportArn"]

"""``migrate transform`` through typer's CliRunner against the moto server: exit codes, JSON, messages."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
from typer.testing import CliRunner

from migrator.cli import app
from tests.cli_result import exited

BUCKET = "exports"
SOURCE = f"s3://{BUCKET}/exports/Legacy/"
DEST = f"s3://{BUCKET}/transformed/New/"


def put_export(s3: Any, items: list[dict[str, Any]]) -> None:
    s3.create_bucket(Bucket=BUCKET)
    body = b"".join(orjson.dumps({"Item": i}) + b"\n" for i in items)
    s3.put_object(Bucket=BUCKET, Key="exports/Legacy/data/f.json.gz", Body=gzip.compress(body))


def migrate(moto: Any, *args: str):
    base = ["transform", "--source", SOURCE, "--dest", DEST, "--endpoint-url", moto.endpoint, "--workers", "1"]
    return CliRunner().invoke(app, [*base, *args])


def test_transform_prints_one_json_object_and_exits_0(moto: Any) -> None:
    # Given an export of two items
    put_export(moto.s3, [{"Name": {"S": "a"}}, {"Name": {"S": "b"}}])
    # When transformed with --json
    result = migrate(moto, "--derive", "UUID=uuid5(Name)", "--json")
    # Then stdout is one JSON object with the counts and the data prefix
    exited(result, 0)
    document = orjson.loads(result.stdout)
    assert document["items_out"] == 2 and document["data_prefix"] == "transformed/New/data/"


def test_text_output_names_where_the_data_went(moto: Any) -> None:
    put_export(moto.s3, [{"Name": {"S": "a"}}])
    result = migrate(moto, "--derive", "UUID=uuid5(Name)")
    exited(result, 0)
    assert "s3://exports/transformed/New/data/" in result.stdout


def test_rejects_exit_1_with_counts_in_json(moto: Any) -> None:
    # Given an item without the source attribute
    put_export(moto.s3, [{"Name": {"S": "a"}}, {"Other": {"S": "b"}}])
    # When transformed
    result = migrate(moto, "--derive", "UUID=uuid5(Name)", "--json")
    # Then exit 1, the JSON gives the count and place, stderr the reason, no traceback
    exited(result, 1)
    document = orjson.loads(result.stdout)
    assert document["rejects"] == 1 and document["rejects_prefix"] == f"{DEST}rejects/"
    assert document["reasons"] == ["missing attribute Name"]
    assert "missing attribute Name" in result.stderr


def test_max_rejects_allows_them(moto: Any) -> None:
    put_export(moto.s3, [{"Name": {"S": "a"}}, {"Other": {"S": "b"}}])
    result = migrate(moto, "--derive", "UUID=uuid5(Name)", "--max-rejects", "1", "--json")
    exited(result, 0)
    assert orjson.loads(result.stdout)["rejects"] == 1


def test_duplicate_keys_exit_1_with_samples(moto: Any) -> None:
    # Given two items with the same value of the attribute the key is copied from
    put_export(moto.s3, [{"Name": {"S": "a"}, "G": {"S": "g"}}, {"Name": {"S": "b"}, "G": {"S": "g"}}])
    # When the new key is that copy
    result = migrate(moto, "--derive", "UUID=G", "--json")
    # Then exit 1 with the duplicated key as plain JSON
    exited(result, 1)
    assert orjson.loads(result.stdout)["samples"] == [{"UUID": "g"}]
    assert "more than one item" in result.stderr


def test_key_option_checks_a_kept_attribute(moto: Any) -> None:
    # Given items sharing Name, when the new key is Name itself (--key), then duplicates are found
    put_export(moto.s3, [{"Name": {"S": "a"}}, {"Name": {"S": "a"}}])
    result = migrate(moto, "--derive", "UUID=uuid5(Name)", "--key", "Name")
    exited(result, 1)
    assert '{"Name":"a"}' in result.stderr


def test_bad_derive_exits_2_with_one_line(moto: Any) -> None:
    put_export(moto.s3, [{"Name": {"S": "a"}}])
    result = migrate(moto, "--derive", "UUID=sha1(Name)")
    exited(result, 2)
    assert "does not parse" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_hook_exits_2(moto: Any) -> None:
    put_export(moto.s3, [{"Name": {"S": "a"}}])
    result = migrate(moto, "--python", "no_such_module_here:derive", "--key", "Name")
    exited(result, 2)
    assert "cannot import" in result.stderr


def test_no_key_to_check_exits_2(moto: Any) -> None:
    put_export(moto.s3, [{"Name": {"S": "a"}}])
    result = migrate(moto, "--python", "json:loads")
    exited(result, 2)
    assert "--key" in result.stderr


def test_unknown_bucket_exits_2(moto: Any) -> None:
    result = migrate(moto, "--derive", "UUID=uuid5(Name)")
    exited(result, 2)
    assert "does not exist" in result.stderr


def test_missing_export_exits_2(moto: Any) -> None:
    moto.s3.create_bucket(Bucket=BUCKET)
    result = migrate(moto, "--derive", "UUID=uuid5(Name)")
    exited(result, 2)
    assert "No export data files" in result.stderr


def test_bad_url_exits_2(moto: Any) -> None:
    result = CliRunner().invoke(app, ["transform", "--source", "exports/x", "--dest", DEST, "--derive", "U=V"])
    exited(result, 2)
    assert "s3://" in result.stderr


def test_invalid_dynamodb_json_is_a_reject_not_passed_on_to_the_import(moto: Any) -> None:
    # Given an export whose second item holds a number that is not a number (written raw, as a broken file would)
    moto.s3.create_bucket(Bucket=BUCKET)
    lines = b'{"Item":{"Name":{"S":"a"}}}\n{"Item":{"Name":{"S":"b"},"Count":{"N":"abc"}}}\n'
    moto.s3.put_object(Bucket=BUCKET, Key="exports/Legacy/data/f.json.gz", Body=gzip.compress(lines))
    # When transformed with the common derive (the batch path)
    result = migrate(moto, "--derive", "UUID=uuid5(Name)", "--json")
    # Then it is a reject with the reason, exit 1, and the written file holds only the valid item
    exited(result, 1)
    assert orjson.loads(result.stdout)["reasons"] == ["not valid DynamoDB JSON: attribute Count: 'abc' is not a number"]
    written = gzip.decompress(moto.s3.get_object(Bucket=BUCKET, Key="transformed/New/data/f.json.gz")["Body"].read())
    assert [orjson.loads(x)["Item"]["Name"]["S"] for x in written.splitlines()] == ["a"]

"""Verification reports that say why: unreadable items with their key, duplicate keys, rejects, a short export.

Against the moto server; exports written by hand (moto's layout, or AWS's with manifests).
"""

from __future__ import annotations

import gzip
import uuid
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from migrator.cli import app
from tests.cli_result import exited
from tests.functional.test_export_aws_layout import write_aws_export
from tests.functional.test_verify import make_table, put_items

BUCKET = "export-bucket"


def new_item(name: str, **extra: Any) -> dict[str, Any]:
    return {"UUID": {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, name))}, "Name": {"S": name}, **extra}


def put_lines(s3: Any, lines: list[bytes], prefix: str = "exports/Legacy") -> None:
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/data/file-0.json.gz", Body=gzip.compress(b"\n".join(lines) + b"\n"))


def verify(moto: Any, *args: str, source: str = f"s3://{BUCKET}/exports/Legacy/"):
    base = ["verify", "--target-table", "New", "--endpoint-url", moto.endpoint]
    if not any(a.startswith("--source") for a in args):
        base += ["--source-export", source]
    return CliRunner().invoke(app, [*base, *args])


def assert_no_crash(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)


@pytest.fixture
def new_table(moto) -> Any:
    make_table(moto.dynamodb, "New", [("UUID", "S")])
    return moto


# --- item 4: unreadable items -------------------------------------------------------------------------


def test_an_export_item_whose_value_is_not_an_object_is_reported_unreadable_with_its_key(new_table) -> None:
    # Given an export of three items, one with an attribute whose value is a bare string, one with an
    # empty map key holding a bare string, and the new table holding the three as they should be
    good = [new_item(n) for n in ("a", "b", "c")]
    put_items(new_table.dynamodb, "New", good)
    lines = [
        orjson.dumps({"Item": {"Name": {"S": "a"}}}),
        orjson.dumps({"Item": {"Name": {"S": "b"}, "Bad": "zz"}}),
        orjson.dumps({"Item": {"Name": {"S": "c"}, "Map": {"M": {"": "zz"}}}}),
    ]
    put_lines(new_table.s3, lines)
    # When verified (as JSON, then as text)
    result = verify(new_table, "--derive", "UUID=uuid5(Name)", "--json")
    text = verify(new_table, "--derive", "UUID=uuid5(Name)")
    # Then no crash: exit 1, the two items are unreadable, named by key, with what is wrong
    assert_no_crash(result)
    exited(result, 1)
    report = orjson.loads(result.stdout)
    assert report["identical"] is False and report["unreadable_count"] == 2
    samples = {orjson.dumps(s["key"]).decode(): s for s in report["unreadable_samples"]}
    assert set(samples) == {'{"Name":"b"}', '{"Name":"c"}'}
    assert samples['{"Name":"b"}']["side"] == "source" and "attribute Bad" in samples['{"Name":"b"}']["reason"]
    assert "attribute Map." in samples['{"Name":"c"}']["reason"]
    exited(text, 1)
    assert "unreadable 2" in text.stdout and '{"Name":"b"}' in text.stdout


def test_an_item_with_an_empty_map_key_that_moto_mangles_is_unreadable_not_a_crash(new_table) -> None:
    # Given a target item with an empty map key: moto's Scan gives it back as {"M": {"S": "v"}}, a map
    # entry whose value is not an object (the crash the red-team run found), while the export has it right
    item = new_item("a", Map={"M": {"": {"S": "v"}}})
    put_items(new_table.dynamodb, "New", [item])
    put_lines(new_table.s3, [orjson.dumps({"Item": {k: v for k, v in item.items() if k != "UUID"}})])
    # When verified
    result = verify(new_table, "--derive", "UUID=uuid5(Name)", "--json")
    # Then the target item is unreadable, named by its key; the export's item is readable
    assert_no_crash(result)
    exited(result, 1)
    (sample,) = orjson.loads(result.stdout)["unreadable_samples"]
    assert sample["side"] == "target" and sample["key"] == {"UUID": item["UUID"]["S"]}
    assert "attribute Map.S: value 'v' is not an object" in sample["reason"]


def test_a_line_that_is_not_json_is_unreadable_and_named_by_file_and_line(new_table) -> None:
    put_items(new_table.dynamodb, "New", [new_item("a")])
    put_lines(new_table.s3, [orjson.dumps({"Item": {"Name": {"S": "a"}}}), b'{"Item":{"Name":{"S":"tr'])
    result = verify(new_table, "--derive", "UUID=uuid5(Name)", "--json")
    assert_no_crash(result)
    exited(result, 1)
    (sample,) = orjson.loads(result.stdout)["unreadable_samples"]
    assert sample["key"] is None and "file-0.json.gz line 2" in sample["reason"] and "not JSON" in sample["reason"]


def test_a_number_that_is_not_a_number_is_unreadable_not_a_crash(new_table) -> None:
    put_items(new_table.dynamodb, "New", [new_item("a")])
    put_lines(new_table.s3, [b'{"Item":{"Name":{"S":"a"},"Count":{"N":"abc"}}}'])
    result = verify(new_table, "--derive", "UUID=uuid5(Name)", "--json")
    assert_no_crash(result)
    exited(result, 1)
    (sample,) = orjson.loads(result.stdout)["unreadable_samples"]
    assert sample["key"] == {"Name": "a"} and "'abc' is not a number" in sample["reason"]


# --- item 7: reports that say why -----------------------------------------------------------------------


def test_two_source_items_deriving_one_key_are_named_as_duplicates(new_table) -> None:
    # Given a live source where two items copy the same G into the new key, and a target holding one
    make_table(new_table.dynamodb, "Legacy", [("Name", "S")])
    put_items(
        new_table.dynamodb, "Legacy", [{"Name": {"S": "a"}, "G": {"S": "g"}}, {"Name": {"S": "b"}, "G": {"S": "g"}}]
    )
    put_items(new_table.dynamodb, "New", [{"UUID": {"S": "g"}, "Name": {"S": "a"}, "G": {"S": "g"}}])
    # When verified with the rule that makes the duplicate
    result = verify(new_table, "--source-table", "Legacy", "--derive", "UUID=G", "--json")
    text = verify(new_table, "--source-table", "Legacy", "--derive", "UUID=G")
    # Then the report names the duplicated key, not just "DIFFERENT, 0 missing, 0 extra, 0 changed"
    exited(result, 1)
    report = orjson.loads(result.stdout)
    assert report["duplicate_count"] == 1 and report["duplicate_samples"] == [{"UUID": "g"}]
    assert (
        "duplicate keys 1" in text.stdout
        and '{"UUID":"g"}' in text.stdout
        and "more than one source item" in text.stdout
    )


def test_an_export_with_a_duplicated_line_names_the_duplicate(new_table) -> None:
    item = new_item("a")
    put_items(new_table.dynamodb, "New", [item])
    line = orjson.dumps({"Item": {"Name": {"S": "a"}}})
    put_lines(new_table.s3, [line, line])
    result = verify(new_table, "--derive", "UUID=uuid5(Name)", "--json")
    exited(result, 1)
    report = orjson.loads(result.stdout)
    assert report["duplicate_count"] == 1 and report["duplicate_samples"] == [{"UUID": item["UUID"]["S"]}]


def test_rejects_alone_read_identical_apart_from_the_rejects(new_table) -> None:
    make_table(new_table.dynamodb, "Legacy", [("Name", "S")])
    put_items(new_table.dynamodb, "Legacy", [{"Name": {"S": "a"}}, {"Name": {"S": "b"}, "Other": {"S": "x"}}])
    result = verify(new_table, "--source-table", "Legacy", "--derive", "UUID=Nick")
    exited(result, 1)
    first = result.stdout.splitlines()[0]
    assert first.endswith("identical apart from 2 rejects"), result.stdout


def test_rejects_alone_read_identical_apart_from_one_reject(new_table) -> None:
    make_table(new_table.dynamodb, "Legacy", [("Name", "S")])
    put_items(new_table.dynamodb, "Legacy", [{"Name": {"S": "a"}, "Nick": {"S": "n"}}, {"Name": {"S": "b"}}])
    put_items(new_table.dynamodb, "New", [{"Name": {"S": "a"}, "Nick": {"S": "n"}, "UUID": {"S": "n"}}])
    result = verify(new_table, "--source-table", "Legacy", "--derive", "UUID=Nick")
    exited(result, 1)
    assert result.stdout.splitlines()[0].endswith("identical apart from 1 reject")


def test_verify_source_export_says_when_the_export_is_short_of_its_manifest(new_table) -> None:
    # Given an AWS-layout export whose manifest counts one item more than its files hold
    new_table.s3.create_bucket(Bucket=BUCKET)
    items = [{"Name": {"S": f"n{i}"}} for i in range(5)]
    root = write_aws_export(new_table.s3, "exports/Legacy", "01700000000000-abcdef12", [items])
    for name, field in (("manifest-files.json", "itemCount"), ("manifest-summary.json", "itemCount")):
        body = new_table.s3.get_object(Bucket=BUCKET, Key=root + name)["Body"].read()
        entries = [orjson.loads(x) for x in body.splitlines() if x]
        fixed = b"\n".join(orjson.dumps({**e, field: e[field] + 1}) for e in entries)
        new_table.s3.put_object(Bucket=BUCKET, Key=root + name, Body=fixed)
    # and the new table holding exactly the five items the files hold
    put_items(new_table.dynamodb, "New", [new_item(i["Name"]["S"]) for i in items])
    # When verified against the export
    result = verify(new_table, "--derive", "UUID=uuid5(Name)", "--json", source=f"s3://{BUCKET}/{root}")
    text = verify(new_table, "--derive", "UUID=uuid5(Name)", source=f"s3://{BUCKET}/{root}")
    # Then exit 1, and the report says the export itself is short
    exited(result, 1)
    report = orjson.loads(result.stdout)
    assert report["source_count"] == 5 and report["export_item_count"] == 6
    assert "the export itself is short" in text.stdout and "manifest counts 6" in text.stdout

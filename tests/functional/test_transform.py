"""transform_export against a real moto S3 server: layout, rejects, duplicates, reruns, refusals."""

from __future__ import annotations

import gzip
import time
import uuid
from typing import Any

import orjson
import pytest

from migrator.core.errors import (
    BadInputError,
    DeriveSyntaxError,
    DuplicateKeysError,
    ExportFailedError,
    NotFoundError,
    RejectsError,
)
from migrator.data.export.files import locate_export
from migrator.data.transform.dupes import DuplicateKeysFound
from migrator.data.transform.run import DeriverSpec, RejectsFound, transform_export

BUCKET = "exports"
SOURCE = "exports/stack/Legacy/AWSDynamoDB/01234-abcd/"
DEST = "transformed/stack/New/"
UUID5 = DeriverSpec(("UUID=uuid5(Name)",))


def item(name: str, **extra: Any) -> dict[str, Any]:
    return {"Name": {"S": name}, "Count": {"N": "1"}, **extra}


def put_export(s3: Any, files: list[list[dict[str, Any]]], *, prefix: str = SOURCE) -> None:
    """An export as moto writes one: gzip JSON lines ``{"Item": …}`` under ``data/``, no manifest."""
    s3.create_bucket(Bucket=BUCKET)
    for n, items in enumerate(files):
        body = b"".join(orjson.dumps({"Item": i}) + b"\n" for i in items)
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}data/file-{n}.json.gz", Body=gzip.compress(body))


def read_lines(s3: Any, key: str) -> list[dict[str, Any]]:
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    data = gzip.decompress(body) if key.endswith(".gz") else body
    return [orjson.loads(line) for line in data.splitlines() if line]


def keys_under(s3: Any, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def run(moto: Any, **kwargs: Any):
    layout = locate_export(moto.s3, BUCKET, SOURCE)
    args = {"dest_bucket": BUCKET, "dest_prefix": DEST, "deriver_spec": UUID5, "key_names": ("UUID",), "workers": 1}
    return transform_export(moto.settings, layout, **{**args, **kwargs})


def test_transform_writes_one_file_per_source_file_under_data(moto: Any) -> None:
    # Given an export of two files
    put_export(moto.s3, [[item("a"), item("b")], [item("c", Tags={"SS": ["x"]})]])
    # When it is transformed
    result = run(moto)
    # Then every item is written with its derived key, under <dest>data/, one file per source file
    assert (result.items_in, result.items_out, result.rejects) == (3, 3, 0)
    assert result.layout.data_prefix == DEST + "data/"
    assert keys_under(moto.s3, DEST + "data/") == [DEST + "data/file-0.json.gz", DEST + "data/file-1.json.gz"]
    items = [line["Item"] for f in keys_under(moto.s3, DEST + "data/") for line in read_lines(moto.s3, f)]
    assert sorted(i["UUID"]["S"] for i in items) == sorted(
        str(uuid.uuid5(uuid.NAMESPACE_URL, n)) for n in ("a", "b", "c")
    )
    assert all("Name" in i and i["Count"] == {"N": "1"} for i in items)
    # and the layout is what an import (and locate_export) sees there
    again = locate_export(moto.s3, BUCKET, DEST)
    assert again.data_prefix == result.layout.data_prefix
    assert [f.key for f in again.files] == [f.key for f in result.layout.files]
    marker = orjson.loads(moto.s3.get_object(Bucket=BUCKET, Key=DEST + "_transform.json")["Body"].read())
    assert marker["complete"] is True and marker["counts"]["itemsOut"] == 3


def test_rejects_are_written_aside_and_fail_unless_allowed(moto: Any) -> None:
    # Given an export where one item lacks the source attribute
    put_export(moto.s3, [[item("a"), {"Other": {"S": "x"}}]])
    # When it is transformed with no rejects allowed
    with pytest.raises(RejectsError) as caught:
        run(moto)
    # Then it fails naming the count, the place and the reason, and the reject is written aside
    assert isinstance(caught.value, RejectsFound) and caught.value.rejects == 1
    assert "missing attribute Name" in str(caught.value) and f"s3://{BUCKET}/{DEST}rejects/" in str(caught.value)
    (reject,) = read_lines(moto.s3, DEST + "rejects/file-0.jsonl")
    assert reject == {"reason": "missing attribute Name", "item": {"Other": {"S": "x"}}}
    marker = orjson.loads(moto.s3.get_object(Bucket=BUCKET, Key=DEST + "_transform.json")["Body"].read())
    assert marker["complete"] is False
    # When the same transform is rerun allowing one reject
    result = run(moto, max_rejects=1)
    # Then it succeeds, counting it
    assert (result.items_in, result.items_out, result.rejects) == (2, 1, 1)
    assert result.rejects_prefix == f"s3://{BUCKET}/{DEST}rejects/"


def test_duplicate_new_keys_fail_with_samples(moto: Any) -> None:
    # Given two files whose items derive the same new key (a copy of a non-unique attribute)
    put_export(moto.s3, [[item("a", G={"S": "same"})], [item("b", G={"S": "same"}), item("c", G={"S": "own"})]])
    # When they are transformed with UUID copied from G
    with pytest.raises(DuplicateKeysError) as caught:
        run(moto, deriver_spec=DeriverSpec(("UUID=G",)))
    # Then the step fails naming the duplicated key as plain JSON
    assert isinstance(caught.value, DuplicateKeysFound)
    assert caught.value.duplicate_keys == 1 and caught.value.samples == [{"UUID": "same"}]
    assert '{"UUID":"same"}' in str(caught.value)


def test_rerun_overwrites_its_own_files(moto: Any) -> None:
    # Given a finished transform
    put_export(moto.s3, [[item("a")], [item("b")]])
    first = run(moto)
    before = keys_under(moto.s3, DEST)
    # When it runs again, with two workers
    second = run(moto, workers=2)
    # Then the same keys hold the same items: nothing added
    assert keys_under(moto.s3, DEST) == before
    assert (second.items_in, second.items_out) == (first.items_in, first.items_out)


def test_foreign_files_in_dest_are_refused(moto: Any) -> None:
    # Given a destination that holds a file this transform did not write
    put_export(moto.s3, [[item("a")]])
    moto.s3.put_object(Bucket=BUCKET, Key=DEST + "data/other.json.gz", Body=b"x")
    # When transforming into it
    with pytest.raises(BadInputError) as caught:
        run(moto)
    # Then it refuses and says how to fix it, leaving the file alone
    assert "Use an empty --dest prefix" in str(caught.value)
    assert keys_under(moto.s3, DEST) == [DEST + "data/other.json.gz"]


def test_other_rules_into_the_same_dest_are_refused(moto: Any) -> None:
    # Given a finished transform with one rule
    put_export(moto.s3, [[item("a")]])
    run(moto)
    # When a different rule targets the same destination
    with pytest.raises(BadInputError, match="another transform"):
        run(moto, deriver_spec=DeriverSpec(("UUID=Name",)))


def test_dest_inside_the_export_is_refused(moto: Any) -> None:
    put_export(moto.s3, [[item("a")]])
    with pytest.raises(BadInputError, match="overlaps"):
        run(moto, dest_prefix=SOURCE + "data/out/")


def test_unknown_dest_bucket_is_not_found(moto: Any) -> None:
    put_export(moto.s3, [[item("a")]])
    with pytest.raises(NotFoundError):
        run(moto, dest_bucket="no-such-bucket")


def test_bad_rule_fails_before_writing(moto: Any) -> None:
    put_export(moto.s3, [[item("a")]])
    with pytest.raises(DeriveSyntaxError):
        run(moto, deriver_spec=DeriverSpec(("UUID=md5(Name)",)))
    assert keys_under(moto.s3, DEST) == []


def put_aws_export(s3: Any, items: list[dict[str, Any]], *, claimed: int) -> str:
    """An export laid out as real DynamoDB writes one: manifests beside ``data/``."""
    s3.create_bucket(Bucket=BUCKET)
    root = "exports/stack/Legacy/AWSDynamoDB/01700000000000-abcdef12"
    key = f"{root}/data/abc.json.gz"
    s3.put_object(
        Bucket=BUCKET, Key=key, Body=gzip.compress(b"".join(orjson.dumps({"Item": i}) + b"\n" for i in items))
    )
    s3.put_object(
        Bucket=BUCKET,
        Key=f"{root}/manifest-files.json",
        Body=orjson.dumps({"itemCount": claimed, "dataFileS3Key": key}),
    )
    summary = {"itemCount": claimed, "manifestFilesS3Key": f"{root}/manifest-files.json"}
    s3.put_object(Bucket=BUCKET, Key=f"{root}/manifest-summary.json", Body=orjson.dumps(summary))
    return root


def test_export_with_manifest_is_transformed_and_counted(moto: Any) -> None:
    # Given a real-layout export whose manifest counts its two items
    root = put_aws_export(moto.s3, [item("a"), item("b")], claimed=2)
    layout = locate_export(moto.s3, BUCKET, "exports/stack/Legacy/")
    # When transformed
    result = transform_export(
        moto.settings, layout, dest_bucket=BUCKET, dest_prefix=DEST, deriver_spec=UUID5, key_names=("UUID",)
    )
    # Then the manifests are not read as items and the output is the data folder alone
    assert result.items_out == 2 and layout.data_prefix == f"{root}/data/"
    assert keys_under(moto.s3, DEST + "data/") == [DEST + "data/abc.json.gz"]


def test_manifest_count_that_does_not_match_the_files_fails(moto: Any) -> None:
    put_aws_export(moto.s3, [item("a"), item("b")], claimed=3)
    layout = locate_export(moto.s3, BUCKET, "exports/stack/Legacy/")
    with pytest.raises(ExportFailedError, match="counts 3 items but its files hold 2"):
        transform_export(
            moto.settings, layout, dest_bucket=BUCKET, dest_prefix=DEST, deriver_spec=UUID5, key_names=("UUID",)
        )


def test_hook_runs_in_the_transform(moto: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a hook module on the path that derives the key
    (tmp_path / "transform_hook_mod.py").write_text(
        "def derive(item):\n    return {**item, 'PK': {'S': item['Name']['S'] * 2}}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    put_export(moto.s3, [[item("a"), item("b")]])
    # When transformed with it
    result = run(moto, deriver_spec=DeriverSpec((), "transform_hook_mod:derive"), key_names=("PK",))
    # Then its items are written
    (data,) = keys_under(moto.s3, DEST + "data/")
    assert result.items_out == 2 and sorted(i["Item"]["PK"]["S"] for i in read_lines(moto.s3, data)) == ["aa", "bb"]


def test_output_imports_into_a_new_table(moto: Any) -> None:
    # Given a transformed export with nested, unicode and binary values
    items = [
        item("ä-1", Map={"M": {"Name": {"S": "inner"}}}),
        item("b", Bin={"B": "AAE="}, L={"L": [{"N": "1"}]}),
        item("東"),
    ]
    put_export(moto.s3, [items])
    result = run(moto)
    # When a table is imported from its data prefix
    described = moto.dynamodb.import_table(
        S3BucketSource={"S3Bucket": BUCKET, "S3KeyPrefix": result.layout.data_prefix},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="GZIP",
        TableCreationParameters={
            "TableName": "New",
            "AttributeDefinitions": [{"AttributeName": "UUID", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "UUID", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )["ImportTableDescription"]
    # Then every item is there under its derived key, values intact
    for _ in range(100):  # moto imports in a thread
        status = moto.dynamodb.describe_import(ImportArn=described["ImportArn"])["ImportTableDescription"]
        if status["ImportStatus"] != "IN_PROGRESS":
            break
        time.sleep(0.1)
    assert status["ImportStatus"] == "COMPLETED" and status.get("ErrorCount", 0) == 0
    scanned = moto.dynamodb.scan(TableName="New")["Items"]
    assert sorted(i["Name"]["S"] for i in scanned) == ["b", "ä-1", "東"]
    first = next(i for i in scanned if i["Name"]["S"] == "ä-1")
    assert (
        first["UUID"]["S"] == str(uuid.uuid5(uuid.NAMESPACE_URL, "ä-1")) and first["Map"]["M"]["Name"]["S"] == "inner"
    )

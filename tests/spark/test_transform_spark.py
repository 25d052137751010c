"""The transform on Spark keeps the transform's contract; its output imports on moto and passes the import check."""

from __future__ import annotations

import gzip
import uuid
from typing import Any

import orjson
import pytest

from migrator.data.export.files import DamagedFilesError, locate_export
from migrator.data.load.import_check import check_import
from migrator.data.spark.job import transform_spark
from migrator.data.transform.dupes import DuplicateKeysFound
from migrator.data.transform.run import DeriverSpec, RejectsFound
from migrator.data.verify.exports import verify_exports

pytestmark = pytest.mark.spark

BUCKET = "spark-bucket"
SOURCE = "exports/Legacy/"
DEST = "transformed/New/"


def item(name: str, **extra: Any) -> dict[str, Any]:
    return {"Name": {"S": name}, **extra}


def put_export(s3: Any, files: list[list[Any]]) -> None:
    s3.create_bucket(Bucket=BUCKET)
    for n, items in enumerate(files):
        lines = [i if isinstance(i, bytes) else orjson.dumps({"Item": i}) for i in items]
        s3.put_object(Bucket=BUCKET, Key=f"{SOURCE}data/f{n}.json.gz", Body=gzip.compress(b"\n".join(lines) + b"\n"))


def run(moto: Any, spark: Any, **kwargs: Any) -> Any:
    layout = locate_export(moto.s3, BUCKET, SOURCE)
    options: dict[str, Any] = {"deriver_spec": DeriverSpec(("UUID=uuid5(Name)",)), "key_names": ("UUID",)}
    return transform_spark(moto.settings, layout, dest_bucket=BUCKET, dest_prefix=DEST, spark=spark, **options | kwargs)


def keys_under(s3: Any, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def test_the_output_imports_and_passes_the_import_check(spark: Any, moto: Any) -> None:
    # Given an export of three files with nested, unicode, binary and numeric values
    files = [
        [item(f"a{i}", Map={"M": {"k": {"NS": ["2", "1"]}}}) for i in range(40)],
        [item(f"ä{i}", Bin={"B": "AAE="}, L={"L": [{"N": "1.50"}]}) for i in range(30)],
        [item(f"東{i}") for i in range(20)],
    ]
    put_export(moto.s3, files)
    # When it is transformed on Spark and imported into a new table
    result = run(moto, spark)
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
    check = check_import(
        moto.dynamodb, table="New", expected_items=result.items_out, import_arn=described["ImportArn"], poll_seconds=0.1
    )
    # Then the import completed with every item, and data/ holds the gzip files only
    assert check.status == "COMPLETED" and check.imported_count == result.items_out == 90 and check.error_count == 0
    assert keys_under(moto.s3, DEST + "data/") == [f"{DEST}data/f{n}.json.gz" for n in range(3)]
    assert keys_under(moto.s3, DEST) == [f"{DEST}_transform.json", *keys_under(moto.s3, DEST + "data/")]
    marker = orjson.loads(moto.s3.get_object(Bucket=BUCKET, Key=DEST + "_transform.json")["Body"].read())
    assert marker["complete"] and marker["counts"] == {"itemsIn": 90, "itemsOut": 90, "rejects": 0}
    got = moto.dynamodb.get_item(TableName="New", Key={"UUID": {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, "ä3"))}})
    assert got["Item"]["Bin"]["B"] == b"\x00\x01"
    # and the output holds exactly the source's items through the rules
    source = locate_export(moto.s3, BUCKET, SOURCE)
    assert verify_exports(source, result.layout, ["UUID=uuid5(Name)"], ["UUID"], store=moto.settings).identical


def test_rejects_are_written_aside_and_fail_unless_allowed(spark: Any, moto: Any) -> None:
    # Given an export with two items the rules cannot map and a line that is not JSON
    put_export(moto.s3, [[item("a"), {"Other": {"S": "x"}}], [item("b"), {"Name": {"N": "abc"}}, b"{nope"]])
    # When transformed without rejects allowed, then with three allowed
    with pytest.raises(RejectsFound) as refused:
        run(moto, spark)
    allowed = run(moto, spark, max_rejects=3)
    # Then the first run fails naming the rejects, the second writes them under rejects/, never under data/
    assert refused.value.rejects == 3 and refused.value.location == f"s3://{BUCKET}/{DEST}rejects/"
    assert allowed.items_out == 2 and allowed.rejects == 3
    assert keys_under(moto.s3, DEST + "rejects/") == [f"{DEST}rejects/f0.jsonl", f"{DEST}rejects/f1.jsonl"]
    assert all(k.endswith(".json.gz") for k in keys_under(moto.s3, DEST + "data/"))


def test_duplicate_derived_keys_are_refused_before_the_output_is_complete(spark: Any, moto: Any) -> None:
    # Given two files whose items derive the same key twice (same Name, different other values)
    put_export(moto.s3, [[item("same", V={"N": "1"}), item("x")], [item("same", V={"N": "2"}), item("y")]])
    # When transformed on Spark
    with pytest.raises(DuplicateKeysFound) as found:
        run(moto, spark)
    # Then the duplicate is named, and the marker still says incomplete (nothing may import it)
    assert found.value.duplicate_keys == 1
    assert found.value.samples == [{"UUID": str(uuid.uuid5(uuid.NAMESPACE_URL, "same"))}]
    marker = orjson.loads(moto.s3.get_object(Bucket=BUCKET, Key=DEST + "_transform.json")["Body"].read())
    assert marker["complete"] is False


def test_a_damaged_file_fails_with_the_single_process_error(spark: Any, moto: Any) -> None:
    # Given an export whose second file is truncated gzip
    put_export(moto.s3, [[item("a")]])
    whole = gzip.compress(orjson.dumps({"Item": item("b")}) * 50)
    moto.s3.put_object(Bucket=BUCKET, Key=f"{SOURCE}data/f1.json.gz", Body=whole[: len(whole) // 2])
    # When transformed on Spark, then the executor's error reaches the caller as ours, naming the file
    with pytest.raises(DamagedFilesError, match=r"f1\.json\.gz is truncated") as raised:
        run(moto, spark)
    assert raised.value.exit_code == 1 and "Export the table again" in raised.value.hint

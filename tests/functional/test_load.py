"""The write path (``newTable.load: write``) against the moto server: a table with a local and two global
indexes filled from transformed data files, every item and index in place; unprocessed items retried;
resumed after a crash and after a kill."""

from __future__ import annotations

import base64
import gzip
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import orjson
import pytest

from migrator.core.errors import AwsError, ImportFailedError, NotFoundError
from migrator.data.export.files import locate_export
from migrator.data.load.write import MAX_QUIET_RETRIES, checkpoint_prefix, load_export
from migrator.data.verify.run import verify_export

BUCKET = "exports"
PREFIX = "transformed/dev/OrdersV2/"
TABLE = "OrdersV2"
FILES, PER_FILE = 3, 40
ROOT = Path(__file__).resolve().parents[2]


def item(n: int) -> dict[str, Any]:
    """Item ``n`` as an export line holds it (DynamoDB JSON, B as base64); every 4th has no Email (sparse index)."""
    value: dict[str, Any] = {
        "OrderId": {"S": f"order-{n:04d}"},
        "Created": {"N": str(1_700_000_000 + n)},
        "Status": {"S": ("open", "paid", "sent")[n % 3]},
        "Total": {"N": str(n * 1.5)},
        "Blob": {"B": base64.b64encode(bytes([n % 256, 0, 255])).decode()},
        "Meta": {"M": {"bin": {"B": base64.b64encode(b"\x00x").decode()}, "list": {"L": [{"N": "1"}, {"S": "a"}]}}},
        "Bins": {"BS": [base64.b64encode(b"a").decode(), base64.b64encode(b"#%d" % n).decode()]},
        "Tags": {"SS": ["x", f"t{n % 5}"]},
    }
    if n % 4:
        value["Email"] = {"S": f"user{n}@example.com"}
    return value


def make_target(moto: Any) -> None:
    moto.dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "OrderId", "KeyType": "HASH"}, {"AttributeName": "Created", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": t}
            for n, t in (("OrderId", "S"), ("Created", "N"), ("Email", "S"), ("Status", "S"), ("Total", "N"))
        ],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByEmail",
                "KeySchema": [{"AttributeName": "Email", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
            },
            {
                "IndexName": "ByStatus",
                "KeySchema": [
                    {"AttributeName": "Status", "KeyType": "HASH"},
                    {"AttributeName": "Created", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["Total"]},
                "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
            },
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "ByTotal",
                "KeySchema": [
                    {"AttributeName": "OrderId", "KeyType": "HASH"},
                    {"AttributeName": "Total", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )


def write_files(moto: Any, files: int = FILES, per_file: int = PER_FILE) -> None:
    moto.s3.create_bucket(Bucket=BUCKET)
    for f in range(files):
        lines = b"\n".join(orjson.dumps({"Item": item(f * per_file + i)}) for i in range(per_file)) + b"\n"
        moto.s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}data/part-{f}.json.gz", Body=gzip.compress(lines))
    moto.s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}_transform.json", Body=b"{}")


@pytest.fixture
def world(moto):
    make_target(moto)
    write_files(moto)
    return moto


def layout(moto):
    return locate_export(moto.s3, BUCKET, PREFIX)


def load(moto, *, client=None, messages=None, **kwargs):
    return load_export(
        client or moto.dynamodb,
        moto.s3,
        layout(moto),
        table=TABLE,
        expected_items=kwargs.pop("expected_items", FILES * PER_FILE),
        progress=(messages.append if messages is not None else None),
        **kwargs,
    )


def assert_everything_in_place(moto) -> None:
    report = verify_export(moto.settings, layout(moto), target_table=TABLE)
    assert report.identical, report.to_dict()
    # the indexes answer: a global one by a non-key attribute, the sparse one, the local one
    by_email = moto.dynamodb.query(
        TableName=TABLE,
        IndexName="ByEmail",
        KeyConditionExpression="Email = :e",
        ExpressionAttributeValues={":e": {"S": "user5@example.com"}},
    )["Items"]
    assert [i["OrderId"]["S"] for i in by_email] == ["order-0005"]
    assert by_email[0]["Blob"] == {"B": bytes([5, 0, 255])}
    paid = moto.dynamodb.query(
        TableName=TABLE,
        IndexName="ByStatus",
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "Status"},
        ExpressionAttributeValues={":s": {"S": "paid"}},
    )["Items"]
    assert len(paid) == len([n for n in range(FILES * PER_FILE) if n % 3 == 1])
    assert set(paid[0]) == {"Status", "Created", "OrderId", "Total"}  # INCLUDE Total
    by_total = moto.dynamodb.query(
        TableName=TABLE,
        IndexName="ByTotal",
        KeyConditionExpression="OrderId = :o AND Total > :t",
        ExpressionAttributeValues={":o": {"S": "order-0007"}, ":t": {"N": "10"}},
    )["Items"]
    assert by_total == [{"OrderId": {"S": "order-0007"}, "Created": {"N": "1700000007"}, "Total": {"N": "10.5"}}]


def test_every_item_and_index_in_place(world):
    messages: list[str] = []
    result = load(world, messages=messages, workers=3)
    assert result.items_written == result.table_items == FILES * PER_FILE
    assert (result.files, result.files_skipped, result.lines_resumed) == (FILES, 0, 0)
    assert result.requests == FILES * -(-PER_FILE // 25)
    assert_everything_in_place(world)
    # the estimate comes first, before any file is written
    assert "will consume about" in messages[0] and "WCU" in messages[0]
    assert result.estimate.items == FILES * PER_FILE and result.estimate.index_units > 0
    assert any("holds 120 items, as expected" in m for m in messages)


class Throttling:
    """A DynamoDB client whose BatchWriteItem writes only the first ``per_call`` items and returns the rest
    as UnprocessedItems (what DynamoDB does under throttling); ``stuck`` makes it write none."""

    def __init__(self, client: Any, *, per_call: int = 7, stuck: bool = False) -> None:
        self._client, self.per_call, self.stuck, self.calls = client, per_call, stuck, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: dict[str, Any], **kwargs: Any) -> dict[str, Any]:  # noqa: N803
        self.calls += 1
        ((table, requests),) = RequestItems.items()
        take = 0 if self.stuck else self.per_call
        if requests[:take]:
            self._client.batch_write_item(RequestItems={table: requests[:take]})
        rest = requests[take:]
        return {"UnprocessedItems": {table: rest} if rest else {}}


def test_unprocessed_items_are_retried_with_backoff_and_none_dropped(world):
    sleeps: list[float] = []
    client = Throttling(world.dynamodb, per_call=7)
    result = load(world, client=client, sleep=sleeps.append, workers=1)
    assert result.table_items == FILES * PER_FILE and result.retries > 0
    assert len(sleeps) == result.retries and all(0 < s <= 30 for s in sleeps)
    assert_everything_in_place(world)


def test_a_table_that_keeps_refusing_stops_the_load_with_the_fix_and_no_checkpoint(world):
    sleeps: list[float] = []
    with pytest.raises(AwsError) as caught:
        load(world, client=Throttling(world.dynamodb, stuck=True), sleep=sleeps.append, workers=1)
    assert "Raise the table's write capacity" in str(caught.value) and caught.value.exit_code == 1
    assert len(sleeps) == MAX_QUIET_RETRIES and sleeps[-1] > sleeps[0]  # backoff grows
    marks = world.s3.list_objects_v2(Bucket=BUCKET, Prefix=checkpoint_prefix(layout(world), TABLE)).get("KeyCount")
    assert not marks  # nothing claimed as written


class Crash(Exception):
    pass


class CrashAfter:
    """A client that stops the process (raises) on its ``n``-th BatchWriteItem, after writing ``n - 1``."""

    def __init__(self, client: Any, n: int) -> None:
        self._client, self.n, self.calls = client, n, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls >= self.n:
            raise Crash
        return self._client.batch_write_item(**kwargs)


def test_a_rerun_after_a_crash_resumes_within_a_file_and_skips_finished_files(world):
    # Given a load that crashed on its 4th request (files of 2 requests), one file at a time, checkpoints every 25 lines
    with pytest.raises(Crash):
        load(world, client=CrashAfter(world.dynamodb, 4), workers=1, checkpoint_every=25)
    # when it is run again
    counting = CrashAfter(world.dynamodb, 10_000)
    result = load(world, client=counting, workers=1, checkpoint_every=25)
    # then the first file (2 requests) is skipped, the second resumes after its first 25 lines
    assert result.files_skipped == 1 and result.lines_resumed == PER_FILE + 25
    assert result.items_written == FILES * PER_FILE - (PER_FILE + 25)
    assert counting.calls == 1 + 2  # the rest of file 2, all of file 3
    assert_everything_in_place(world)


def test_a_rewritten_data_file_is_loaded_again_from_its_start(world):
    load(world)
    # Given the second file rewritten (a new ETag) after the load
    body = gzip.compress(b"\n".join(orjson.dumps({"Item": item(PER_FILE + i)}) for i in range(PER_FILE)))
    world.s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}data/part-1.json.gz", Body=body)
    result = load(world)
    assert result.files_skipped == FILES - 1 and result.items_written == PER_FILE


def test_the_count_check_fails_when_the_table_holds_other_items(world):
    world.dynamodb.put_item(TableName=TABLE, Item={"OrderId": {"S": "stray"}, "Created": {"N": "1"}})
    with pytest.raises(ImportFailedError) as caught:
        load(world)
    assert "holds 121 items after the load, but 120 were expected" in str(caught.value)


def test_a_missing_table_is_bad_input(moto):
    write_files(moto, files=1, per_file=2)
    with pytest.raises(NotFoundError) as caught:
        load(moto, expected_items=2)
    assert caught.value.exit_code == 2 and "create it first" in str(caught.value)


KILLED_LOAD = textwrap.dedent(
    """
    import sys, time
    from migrator.data.aws import AwsSettings
    from migrator.data.export.files import locate_export
    from migrator.data.load.write import load_export

    settings = AwsSettings(region="us-east-1", endpoint_url=sys.argv[1])
    dynamodb, s3 = settings.client("dynamodb"), settings.client("s3")

    class Slow:
        # Each request takes a while, so the parent sees a finished file before the load ends.
        def __getattr__(self, name):
            return getattr(dynamodb, name)

        def batch_write_item(self, **kwargs):
            time.sleep(0.3)
            return dynamodb.batch_write_item(**kwargs)

    load_export(Slow(), s3, locate_export(s3, "{bucket}", "{prefix}"), table="{table}", expected_items={items},
                workers=1, progress=lambda m: print(m, flush=True))
    """
)


def test_a_killed_load_resumes_on_rerun(world):
    # Given a load in another process, killed (SIGKILL) once its first file is written
    script = KILLED_LOAD.format(bucket=BUCKET, prefix=PREFIX, table=TABLE, items=FILES * PER_FILE)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", script, world.endpoint], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if b"written (1/3 files" in line:
                child.send_signal(signal.SIGKILL)
                break
        else:
            raise AssertionError("the load ended before its first file: " + child.stderr.read().decode())
    finally:
        child.kill()
        child.wait(timeout=30)
    # when it is run again
    result = load(world, workers=1)
    # then the written file is not written again, and every item and index is in place
    assert result.files_skipped >= 1 and result.items_written <= FILES * PER_FILE - PER_FILE
    assert_everything_in_place(world)

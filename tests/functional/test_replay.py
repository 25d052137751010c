"""The replayer against a moto server over HTTP: forward and reverse, view types, checkpoints, retries, rejects.

moto gives every table one stream shard that never splits; reading several shards in order is tested
with a fake stream in test_replay_shards.py.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
import pytest

from migrator.core.derive import parse_rules
from migrator.core.errors import AwsError, ReplayImpossibleError
from migrator.core.replay_map import forward_map, reverse_map
from migrator.data.rejects import S3Rejects
from migrator.data.verify.run import verify_tables
from tests.functional.test_verify import make_table
from tests.support.tables import make_replayer, scan_all, stream_table

RULES = parse_rules({"UUID": "uuid5(Name)"})
FORWARD = forward_map(RULES, ("Name",), ("UUID",))


def u5(text: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, text))


def person(name: str, **attrs: Any) -> dict[str, Any]:
    values = {k: ({"N": str(v)} if isinstance(v, int) else {"S": v}) for k, v in attrs.items()}
    return {"Name": {"S": name}, **values}


def legacy_and_new(moto: Any, view: str = "NEW_AND_OLD_IMAGES") -> None:
    stream_table(moto.dynamodb, "Legacy", [("Name", "S")], view)
    make_table(moto.dynamodb, "New", [("UUID", "S")])


def identical(moto: Any, rules=RULES) -> bool:
    from migrator.core.derive import Deriver

    return verify_tables(moto.settings, source_table="Legacy", target_table="New", deriver=Deriver(rules)).identical


def test_inserts_modifies_and_removes_reach_the_new_table(moto):
    # Given a legacy table with a stream and writes of every kind (a no-op put included), B values too
    legacy_and_new(moto)
    db = moto.dynamodb
    for n in range(30):
        db.put_item(TableName="Legacy", Item={**person(f"p{n}", Age=n), "Photo": {"B": bytes([n, 255])}})
    db.put_item(TableName="Legacy", Item=person("p3", Age=99))
    db.put_item(TableName="Legacy", Item=person("p3", Age=99))  # moto: a no-op put is a MODIFY
    db.delete_item(TableName="Legacy", Key={"Name": {"S": "p4"}})
    db.update_item(
        TableName="Legacy",
        Key={"Name": {"S": "p5"}},
        UpdateExpression="SET Tags = :t",
        ExpressionAttributeValues={":t": {"SS": ["x", "y"]}},
    )
    # When one pass is replayed
    saved = []
    replayer = make_replayer(moto, "Legacy", "New", FORWARD, on_checkpoint=lambda s, q: saved.append((s, q)))
    done = replayer.run_pass()
    replayer.flush()
    # Then the new table is the legacy table through the derive rules, item for item
    assert identical(moto)
    assert (done.records, done.puts, done.deletes, done.rejects) == (34, 29, 1, 0)
    assert db.get_item(TableName="New", Key={"UUID": {"S": u5("p7")}})["Item"]["Photo"] == {"B": bytes([7, 255])}
    # And the checkpoint is the last record's sequence number
    assert saved and saved[-1] == tuple(replayer.checkpoints.items())[0]
    assert int(saved[-1][1]) > 0


def test_a_rerun_resumes_after_its_checkpoint(moto):
    legacy_and_new(moto)
    for n in range(10):
        moto.dynamodb.put_item(TableName="Legacy", Item=person(f"p{n}"))
    first = make_replayer(moto, "Legacy", "New", FORWARD)
    assert first.run_pass().records == 10
    checkpoints = first.checkpoints
    # When more is written and a new replayer starts from the recorded checkpoints
    moto.dynamodb.put_item(TableName="Legacy", Item=person("p10"))
    moto.dynamodb.delete_item(TableName="Legacy", Key={"Name": {"S": "p0"}})
    again = make_replayer(moto, "Legacy", "New", FORWARD, checkpoints=checkpoints)
    done = again.run_pass()
    # Then only the two new records are read
    assert (done.records, done.puts, done.deletes) == (2, 1, 1)
    assert identical(moto)


class FailingWrites:
    """The moto client, except that BatchWriteItem fails while ``failing`` is set (an outage mid-replay)."""

    def __init__(self, client: Any) -> None:
        self.client, self.failing = client, True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def batch_write_item(self, **kwargs: Any) -> Any:
        if self.failing:
            from botocore.exceptions import ClientError

            error = {"Error": {"Code": "InternalServerError", "Message": "simulated outage"}}
            raise ClientError(error, "BatchWriteItem")
        return self.client.batch_write_item(**kwargs)


def test_no_checkpoint_before_the_write_succeeded(moto):
    legacy_and_new(moto)
    for n in range(5):
        moto.dynamodb.put_item(TableName="Legacy", Item=person(f"p{n}"))
    failing = FailingWrites(moto.dynamodb)
    saved: list[tuple[str, str]] = []
    replayer = make_replayer(moto, "Legacy", "New", FORWARD, dynamodb=failing, on_checkpoint=lambda *a: saved.append(a))
    with pytest.raises(AwsError, match="simulated outage"):
        replayer.run_pass()
    replayer.flush()
    assert saved == [] and replayer.checkpoints == {}
    # A rerun from the (empty) checkpoints applies everything once the writes work again
    failing.failing = False
    assert make_replayer(moto, "Legacy", "New", FORWARD, dynamodb=failing).run_pass().puts == 5
    assert identical(moto)


class Clock:
    """A clock that moves ``step`` seconds at every reading, and by what ``sleep`` asks."""

    def __init__(self, start: float = 1_000.0, step: float = 0.0) -> None:
        self.now, self.step = start, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_checkpoints_are_handed_over_at_most_once_a_second(moto):
    # Given 40 records read 4 per page, on a clock that moves 0.3 s at every reading
    legacy_and_new(moto)
    for n in range(40):
        moto.dynamodb.put_item(TableName="Legacy", Item=person(f"p{n}"))
    clock = Clock(step=0.3)
    saved: list[tuple[float, str]] = []
    replayer = make_replayer(
        moto,
        "Legacy",
        "New",
        FORWARD,
        page_limit=4,
        clock=clock,
        on_checkpoint=lambda shard, seq: saved.append((clock.now, seq)),
    )
    replayer.run_pass()
    # Then fewer checkpoints than pages were handed over, at least a second apart, each after the last
    times = [t for t, _ in saved]
    assert 1 < len(saved) < 10
    assert all(b - a >= 1.0 for a, b in zip(times, times[1:], strict=False))
    assert [int(q) for _, q in saved] == sorted(int(q) for _, q in saved)
    # And the flush at the end hands over the very last position
    replayer.flush()
    assert saved[-1][1] == next(iter(replayer.checkpoints.values()))


class Unprocessing:
    """The moto client, but BatchWriteItem leaves its last half unprocessed ``times`` times (throttling)."""

    def __init__(self, client: Any, times: int) -> None:
        self.client, self.times = client, times

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def batch_write_item(self, RequestItems: dict[str, list]) -> dict[str, Any]:  # noqa: N803 (boto3's name)
        ((table, requests),) = RequestItems.items()
        if self.times > 0:
            self.times -= 1
            half = len(requests) // 2
            if half:
                self.client.batch_write_item(RequestItems={table: requests[:half]})
            return {"UnprocessedItems": {table: requests[half:]}}
        return self.client.batch_write_item(RequestItems=RequestItems)


def test_unprocessed_items_are_sent_again_with_backoff(moto):
    legacy_and_new(moto)
    for n in range(20):
        moto.dynamodb.put_item(TableName="Legacy", Item=person(f"p{n}"))
    clock = Clock()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    replayer = make_replayer(moto, "Legacy", "New", FORWARD, dynamodb=Unprocessing(moto.dynamodb, 3), sleep=sleep)
    replayer.clock = clock
    assert replayer.run_pass().puts == 20
    assert identical(moto)
    assert sleeps == [0.05, 0.1, 0.2]  # exponential backoff between the attempts


def test_endless_throttling_stops_with_an_error_and_no_checkpoint(moto):
    legacy_and_new(moto)
    moto.dynamodb.put_item(TableName="Legacy", Item=person("a"))
    moto.dynamodb.put_item(TableName="Legacy", Item=person("b"))
    throttled = Unprocessing(moto.dynamodb, 99)
    replayer = make_replayer(moto, "Legacy", "New", FORWARD, dynamodb=throttled, sleep=lambda s: None)
    with pytest.raises(AwsError, match="unprocessed after 10 attempts") as caught:
        replayer.run_pass()
    assert "resumes from its last checkpoint" in str(caught.value)
    assert replayer.checkpoints == {}


def test_a_changed_derived_key_removes_the_old_new_item(moto):
    # Given rules whose new key comes from a non-key attribute, and an item whose Email changes
    rules = parse_rules({"UUID": "uuid5(Email)"})
    legacy_and_new(moto)
    moto.dynamodb.put_item(TableName="Legacy", Item=person("a", Email="old@x"))
    replayer = make_replayer(moto, "Legacy", "New", forward_map(rules, ("Name",), ("UUID",)))
    replayer.run_pass()
    moto.dynamodb.put_item(TableName="Legacy", Item=person("a", Email="new@x"))
    replayer.run_pass()
    # Then the new table holds the item under its new key only
    items = scan_all(moto.dynamodb, "New")
    assert [i["UUID"]["S"] for i in items] == [u5("new@x")]
    assert identical(moto, rules)


def test_a_guarded_delete_spares_an_item_that_now_belongs_to_another_source_item(moto):
    # Given new key = Group: a leaves group g in one page, b moved onto g in an earlier one
    rules = parse_rules({"G": "Group"})
    stream_table(moto.dynamodb, "Legacy", [("Name", "S")])
    make_table(moto.dynamodb, "New", [("G", "S")])
    replayer = make_replayer(moto, "Legacy", "New", forward_map(rules, ("Name",), ("G",)))
    moto.dynamodb.put_item(TableName="Legacy", Item=person("a", Group="g"))
    replayer.run_pass()
    moto.dynamodb.put_item(TableName="Legacy", Item=person("a", Group="h"))
    moto.dynamodb.put_item(TableName="New", Item={**person("b", Group="g"), "G": {"S": "g"}})  # b got there first
    done = replayer.run_pass()
    # Then a's stale key g is not deleted, since the item there is b's
    assert done.skipped_deletes == 1
    got = {i["G"]["S"]: i["Name"]["S"] for i in scan_all(moto.dynamodb, "New")}
    assert got == {"g": "b", "h": "a"}


def test_rejects_and_duplicates_are_counted_and_written_aside(moto):
    # Given rules G=Group: one item lacks Group, two items share group g
    rules = parse_rules({"G": "Group"})
    stream_table(moto.dynamodb, "Legacy", [("Name", "S")])
    make_table(moto.dynamodb, "New", [("G", "S")])
    moto.s3.create_bucket(Bucket="rejects-bucket")
    for item in (person("a", Group="g"), person("b", Group="g"), person("c"), person("d", Group="k")):
        moto.dynamodb.put_item(TableName="Legacy", Item=item)
    sink = S3Rejects(moto.s3, "rejects-bucket", "replay/rejects")
    replayer = make_replayer(moto, "Legacy", "New", forward_map(rules, ("Name",), ("G",)), rejects=sink)
    # When replayed
    result = replayer.catch_up(in_a_row=1, poll_seconds=0)
    # Then only d is written; a and b are duplicates, c a reject, all of them in the rejects file
    assert [i["G"]["S"] for i in scan_all(moto.dynamodb, "New")] == ["k"]
    assert (result.rejects, result.duplicates, result.clean) == (3, 2, False)
    assert "missing attribute Group" in result.reject_reasons
    assert sink.location == "s3://rejects-bucket/replay/rejects/"
    (obj,) = moto.s3.list_objects_v2(Bucket="rejects-bucket", Prefix="replay/rejects/")["Contents"]
    body = moto.s3.get_object(Bucket="rejects-bucket", Key=obj["Key"])["Body"].read()
    lines = [orjson.loads(x) for x in body.splitlines()]
    assert sorted(line["keys"]["Name"]["S"] for line in lines) == ["a", "b", "c"]
    assert result.to_dict()["rejects"] == 3


@pytest.mark.parametrize("view", ["NEW_IMAGE", "KEYS_ONLY", "OLD_IMAGE"])
def test_streams_without_both_images(moto, view):
    # Given a legacy stream of another view type (the key follows from the legacy key: uuid5(Name))
    legacy_and_new(moto, view)
    db = moto.dynamodb
    for n in range(12):
        db.put_item(TableName="Legacy", Item=person(f"p{n}", Age=n))
    db.put_item(TableName="Legacy", Item=person("p1", Age=100))
    db.delete_item(TableName="Legacy", Key={"Name": {"S": "p2"}})
    db.put_item(TableName="Legacy", Item=person("p3", Age=7))
    db.delete_item(TableName="Legacy", Key={"Name": {"S": "p3"}})
    # When replayed (KEYS_ONLY and OLD_IMAGE read each key back with a consistent read)
    replayer = make_replayer(moto, "Legacy", "New", FORWARD)
    assert replayer.mode.read_back is (view != "NEW_IMAGE")
    replayer.run_pass()
    # Then the new table matches the legacy table
    assert identical(moto)
    assert len(scan_all(db, "New")) == 10


@pytest.mark.parametrize("view", ["NEW_IMAGE", "KEYS_ONLY"])
def test_a_stream_without_old_images_is_refused_when_the_key_reads_other_attributes(moto, view):
    legacy_and_new(moto, view)
    by_email = forward_map(parse_rules({"UUID": "uuid5(Email)"}), ("Name",), ("UUID",))
    with pytest.raises(ReplayImpossibleError, match=f"is {view}") as caught:
        make_replayer(moto, "Legacy", "New", by_email)
    assert caught.value.exit_code == 2


def test_reverse_replay_carries_new_table_writes_back(moto):
    # Given both tables in step, and the new table's own stream (declared from stage 2)
    make_table(moto.dynamodb, "Legacy", [("Name", "S")])
    stream_table(moto.dynamodb, "New", [("UUID", "S")])
    for name in ("a", "b"):
        moto.dynamodb.put_item(TableName="Legacy", Item=person(name, Age=1))
    back = reverse_map(RULES, ("Name",), ("UUID",))
    replayer = make_replayer(moto, "New", "Legacy", back)
    # When the consumer, after cutover, writes and deletes on the new table
    moto.dynamodb.put_item(TableName="New", Item={**person("a", Age=2), "UUID": {"S": u5("a")}})
    moto.dynamodb.put_item(TableName="New", Item={**person("c", Age=3), "UUID": {"S": u5("c")}})
    moto.dynamodb.put_item(TableName="New", Item={**person("b", Age=1), "UUID": {"S": u5("b")}})
    moto.dynamodb.delete_item(TableName="New", Key={"UUID": {"S": u5("b")}})
    moto.dynamodb.put_item(TableName="New", Item={"UUID": {"S": "no-name"}})  # lacks the legacy key
    done = replayer.drain(poll_seconds=0)
    # Then the legacy table holds the new items minus UUID, b is gone, and the keyless item is a reject
    got = {i["Name"]["S"]: i for i in scan_all(moto.dynamodb, "Legacy")}
    assert set(got) == {"a", "c"}
    assert got["a"] == {"Name": {"S": "a"}, "Age": {"N": "2"}}
    assert (done.rejects, done.reject_reasons) == (1, ("lacks legacy key attribute(s) Name",))
    assert replayer.rejects.lines[0]["item"] == {"UUID": {"S": "no-name"}}


def test_advance_to_end_moves_the_checkpoint_without_writing(moto):
    legacy_and_new(moto)
    moto.dynamodb.put_item(TableName="Legacy", Item=person("a"))
    replayer = make_replayer(moto, "Legacy", "New", FORWARD)
    skipped = replayer.advance_to_end()
    assert (skipped.records, skipped.skipped, skipped.to_dict()["recordsReplayed"]) == (1, 1, 0)
    assert scan_all(moto.dynamodb, "New") == []
    moto.dynamodb.put_item(TableName="Legacy", Item=person("b"))
    assert replayer.run_pass().puts == 1
    assert [i["Name"]["S"] for i in scan_all(moto.dynamodb, "New")] == ["b"]


def test_lag_is_how_long_records_waited(moto):
    legacy_and_new(moto)
    moto.dynamodb.put_item(TableName="Legacy", Item=person("a"))
    clock = Clock(start=time.time() + 5)  # five seconds after the write
    replayer = make_replayer(moto, "Legacy", "New", FORWARD, clock=clock)
    assert 4.5 < replayer.run_pass().lag_seconds < 7
    assert replayer.run_pass().lag_seconds == 0  # nothing left to read


def test_catch_up_stops_after_passes_under_the_lag_and_drain_after_empty_passes(moto):
    legacy_and_new(moto)
    for n in range(5):
        moto.dynamodb.put_item(TableName="Legacy", Item=person(f"p{n}"))
    clock = Clock(start=time.time() + 60)
    replayer = make_replayer(moto, "Legacy", "New", FORWARD, clock=clock, sleep=clock.sleep)
    # The records are a minute old on this clock: the first pass lags, then three quiet passes
    caught = replayer.catch_up(max_lag=2, in_a_row=3, poll_seconds=0.25)
    assert caught.caught_up and caught.passes == 4 and caught.records == 5 and caught.lag_seconds == 0
    drained = replayer.drain(empty_passes=2, poll_seconds=0.1)
    assert (drained.passes, drained.records, drained.caught_up) == (2, 0, True)
    assert caught.then(drained).passes == 6


def test_catch_up_gives_up_after_its_timeout(moto):
    legacy_and_new(moto)
    moto.dynamodb.put_item(TableName="Legacy", Item=person("a"))
    clock = Clock()
    replayer = make_replayer(moto, "Legacy", "New", FORWARD, clock=clock, sleep=clock.sleep)
    # max_lag 0: never caught up
    result = replayer.catch_up(max_lag=0, in_a_row=3, timeout=1.0, poll_seconds=0.25)
    assert not result.caught_up and result.passes >= 4


def test_a_quiet_probe_says_quiet_once_no_record_came_for_the_quiet_time(moto):
    legacy_and_new(moto)
    clock = Clock()
    replayer = make_replayer(moto, "Legacy", "New", FORWARD, clock=clock)
    probe = replayer.quiet_probe(1.0)
    moto.dynamodb.put_item(TableName="Legacy", Item=person("a"))
    assert probe() is False
    clock.sleep(0.6)
    assert probe() is False
    clock.sleep(0.6)
    assert probe() is True
    assert probe.result.records == 1 and probe.result.passes == 3

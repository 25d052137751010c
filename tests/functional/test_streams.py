"""Finding, waiting for and reading a table's stream on moto, and the gaps that mean "export again"."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from migrator.core.derive import parse_rules
from migrator.core.errors import MigrationError, NotFoundError, StreamGapError
from migrator.core.replay_map import forward_map
from migrator.data.stream.reader import (
    StreamInfo,
    check_covers,
    describe_stream,
    get_records,
    shard_iterator,
    streams_client,
    table_stream,
    wait_enabled,
)
from tests.functional.test_verify import make_table
from tests.support.tables import make_replayer, scan_all, stream_table

FORWARD = forward_map(parse_rules({"UUID": "uuid5(Name)"}), ("Name",), ("UUID",))


def test_a_table_without_a_stream_has_none(moto):
    make_table(moto.dynamodb, "Plain", [("Name", "S")])
    assert table_stream(moto.dynamodb, "Plain") is None
    with pytest.raises(NotFoundError, match="no stream enabled"):
        wait_enabled(moto.dynamodb, streams_client(moto.settings), "Plain")


def test_the_stream_is_found_and_described(moto):
    arn = stream_table(moto.dynamodb, "Legacy", [("Name", "S")], "NEW_IMAGE")
    info = wait_enabled(moto.dynamodb, streams_client(moto.settings), "Legacy")
    assert (info.arn, info.table, info.view_type, info.status) == (arn, "Legacy", "NEW_IMAGE", "ENABLED")
    assert info.created is not None and abs(info.created - time.time()) < 60
    _, shards = describe_stream(streams_client(moto.settings), arn)
    assert len(shards) == 1 and shards[0].parent_id is None and not shards[0].closed


class Enabling:
    """moto's streams client, except that DescribeStream says ENABLING the first ``times`` times."""

    def __init__(self, client: Any, times: int) -> None:
        self.client, self.times = client, times

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def describe_stream(self, **kwargs: Any) -> Any:
        answer = self.client.describe_stream(**kwargs)
        if self.times > 0:
            self.times -= 1
            answer["StreamDescription"]["StreamStatus"] = "ENABLING"
        return answer


def test_waiting_for_an_enabling_stream(moto):
    stream_table(moto.dynamodb, "Legacy", [("Name", "S")])
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    streams = Enabling(streams_client(moto.settings), 2)
    info = wait_enabled(moto.dynamodb, streams, "Legacy", poll_seconds=5, clock=lambda: now[0], sleep=sleep)
    assert info.status == "ENABLED" and sleeps == [5, 5]
    with pytest.raises(MigrationError, match="still ENABLING after 10 s"):
        still = Enabling(streams, 99)
        wait_enabled(moto.dynamodb, still, "Legacy", timeout=10, poll_seconds=5, clock=lambda: now[0], sleep=sleep)


def test_a_stream_started_after_the_export_is_a_gap():
    info = StreamInfo("arn", "Legacy", "NEW_AND_OLD_IMAGES", "ENABLED", created=1_000.0)
    check_covers(info, export_time=1_000.5)
    with pytest.raises(StreamGapError, match="after the export's time"):
        check_covers(info, export_time=999.0)


def test_a_stream_requested_within_the_export_s_second_covers_it():
    # The export time is recorded to the second; the stream's request time has a fraction.
    info = StreamInfo("arn", "Legacy", "NEW_AND_OLD_IMAGES", "ENABLED", created=1_000.4)
    check_covers(info, export_time=1_000.0)
    with pytest.raises(StreamGapError):
        check_covers(info, export_time=999.0)


def test_a_disabled_stream_is_a_gap(moto):
    stream_table(moto.dynamodb, "Legacy", [("Name", "S")])
    make_table(moto.dynamodb, "New", [("UUID", "S")])
    replayer = make_replayer(moto, "Legacy", "New", FORWARD)
    moto.dynamodb.update_table(TableName="Legacy", StreamSpecification={"StreamEnabled": False})
    with pytest.raises(StreamGapError, match="now has no stream"):
        replayer.run_pass()


@pytest.mark.parametrize(("age_hours", "gap"), [(1, False), (23.5, True)])
def test_an_export_older_than_the_retention_needs_a_record_from_before_it(moto, age_hours, gap):
    # Given a stream whose oldest record was written now, and an export made age_hours ago
    stream_table(moto.dynamodb, "Legacy", [("Name", "S")])
    make_table(moto.dynamodb, "New", [("UUID", "S")])
    moto.dynamodb.put_item(TableName="Legacy", Item={"Name": {"S": "a"}})
    export_time = time.time() - age_hours * 3600
    replayer = make_replayer(moto, "Legacy", "New", FORWARD, export_time=export_time)
    if gap:
        # then records written between the export and the oldest record may have been trimmed
        with pytest.raises(StreamGapError, match="more than a day old"):
            replayer.run_pass()
        assert scan_all(moto.dynamodb, "New") == []
    else:
        assert replayer.run_pass().puts == 1


def test_an_old_export_is_fine_when_the_stream_holds_a_record_from_before_it(moto):
    stream_table(moto.dynamodb, "Legacy", [("Name", "S")])
    make_table(moto.dynamodb, "New", [("UUID", "S")])
    moto.dynamodb.put_item(TableName="Legacy", Item={"Name": {"S": "a"}})
    export_time = time.time() + 1  # the record is older than the export; the clock is a day later
    replayer = make_replayer(moto, "Legacy", "New", FORWARD, export_time=export_time, clock=lambda: export_time + 86400)
    assert replayer.run_pass().puts == 1


def test_records_through_a_parsed_client_are_the_same(moto):
    # A client without the raw-body hook (botocore's parser: B as bytes, datetimes) gives the same records
    arn = stream_table(moto.dynamodb, "Legacy", [("Name", "S")])
    moto.dynamodb.put_item(TableName="Legacy", Item={"Name": {"S": "a"}, "B": {"B": b"\x00\xff"}})
    raw, parsed = streams_client(moto.settings), moto.settings.client("dynamodbstreams")
    _, (shard,) = describe_stream(raw, arn)
    pages = [get_records(c, shard_iterator(c, arn, shard.shard_id, None)) for c in (raw, parsed)]
    for page in pages:
        (record,) = page.records
        assert record["dynamodb"]["NewImage"] == {"Name": {"S": "a"}, "B": {"B": "AP8="}}
        assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
    assert abs(pages[0].records[0]["dynamodb"]["ApproximateCreationDateTime"] - time.time()) < 60


class Trimming:
    """moto's streams client, except that GetRecords answers TrimmedDataAccessException (as AWS documents)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def get_records(self, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "TrimmedDataAccessException", "Message": "trimmed"}}, "GetRecords")


def test_records_trimmed_while_reading_are_a_gap(moto):
    arn = stream_table(moto.dynamodb, "Legacy", [("Name", "S")])
    streams = Trimming(streams_client(moto.settings))
    _, (shard,) = describe_stream(streams, arn)
    with pytest.raises(StreamGapError, match="trimmed records before they were read"):
        get_records(streams, shard_iterator(streams, arn, shard.shard_id, None))

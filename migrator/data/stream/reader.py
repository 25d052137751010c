"""A table's DynamoDB stream: find it, wait until it is enabled, list its shards, read its records.

GetRecords bodies skip botocore's parser (as Scan bodies do in :mod:`migrator.data.verify.read`):
``orjson`` parses them into the DynamoDB JSON the derive rules read (B as base64 text), several times
faster. A client without that hook (a test double) gives parsed records, which are converted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from migrator.core.errors import MigrationError, NotFoundError, StreamGapError
from migrator.core.replay_plan import epoch_seconds
from migrator.core.shards import Shard
from migrator.data.aws import AwsSettings, aws_errors
from migrator.data.wire import from_wire

Clock = Callable[[], float]
Sleep = Callable[[float], None]
Record = dict[str, Any]

_RAW_BODY = "RawBody"
_HOOK_ID = "table-migration-raw-get-records"
TRIMMED = "TrimmedDataAccessException"
EXPIRED = "ExpiredIteratorException"


@dataclass(frozen=True)
class StreamInfo:
    """A table's current stream: ARN, view type, status and when it was requested (epoch seconds)."""

    arn: str
    table: str
    view_type: str
    status: str
    created: float | None = None


@dataclass(frozen=True)
class Page:
    """One GetRecords answer: its records, the iterator for the next one (None at a closed shard's end)."""

    records: list[Record]
    next_iterator: str | None
    millis_behind: int | None = None


def _keep_raw_body(response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any) -> None:
    # Errors are left to botocore, so its retries and error parsing see them as usual.
    if response_dict.get("status_code", 500) < 300:
        customized_response_dict[_RAW_BODY] = response_dict["body"]
        response_dict["body"] = b"{}"


def streams_client(settings: AwsSettings) -> Any:
    """A new DynamoDB Streams client whose GetRecords answers are parsed by orjson (see the module docstring)."""
    client = settings.client("dynamodbstreams")
    client.meta.events.register("before-parse.dynamodbstreams.GetRecords", _keep_raw_body, unique_id=_HOOK_ID)
    return client


def table_stream(dynamodb: Any, table: str) -> StreamInfo | None:
    """The table's enabled stream from DescribeTable (status not read), or None when it has none."""
    with aws_errors(f"describe table {table}", what=f"table {table}"):
        described = dynamodb.describe_table(TableName=table)["Table"]
    spec = described.get("StreamSpecification") or {}
    arn = described.get("LatestStreamArn")
    if not spec.get("StreamEnabled") or not arn:
        return None
    return StreamInfo(arn, table, str(spec.get("StreamViewType", "")), "UNKNOWN")


def describe_stream(streams: Any, arn: str) -> tuple[StreamInfo, list[Shard]]:
    """The stream's description and every shard, following DescribeStream's pages."""
    shards: list[Shard] = []
    kwargs: dict[str, Any] = {"StreamArn": arn}
    while True:
        with aws_errors(f"describe stream {arn}", what=f"stream {arn}"):
            described = streams.describe_stream(**kwargs)["StreamDescription"]
        for s in described.get("Shards", []):
            numbers = s.get("SequenceNumberRange") or {}
            shards.append(
                Shard(
                    s["ShardId"],
                    s.get("ParentShardId"),
                    numbers.get("StartingSequenceNumber"),
                    numbers.get("EndingSequenceNumber"),
                )
            )
        last = described.get("LastEvaluatedShardId")
        if not last:
            break
        kwargs["ExclusiveStartShardId"] = last
    created = described.get("CreationRequestDateTime")
    info = StreamInfo(
        arn,
        str(described.get("TableName", "")),
        str(described.get("StreamViewType", "")),
        str(described.get("StreamStatus", "")),
        epoch_seconds(created) if created is not None else None,
    )
    return info, shards


def wait_enabled(
    dynamodb: Any,
    streams: Any,
    table: str,
    *,
    timeout: float = 600.0,
    poll_seconds: float = 2.0,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> StreamInfo:
    """Wait until the table's stream is ENABLED; return it. NotFoundError when the table has no stream."""
    deadline = clock() + timeout
    while True:
        found = table_stream(dynamodb, table)
        if found is None:
            raise NotFoundError(
                f"Table {table} has no stream enabled.",
                hint="The stage that declares the stream must be applied first; rerun its `migrate up`.",
            )
        info, _ = describe_stream(streams, found.arn)
        if info.status == "ENABLED":
            return info
        if clock() >= deadline:
            raise MigrationError(
                f"The stream of table {table} is still {info.status} after {timeout:.0f} s.",
                hint="Rerun the step in a few minutes; it waits for the stream again.",
            )
        sleep(poll_seconds)


def check_covers(info: StreamInfo, export_time: float) -> None:
    """Refuse when the stream was requested after ``export_time``: writes in between are in neither.

    Export times are known to the second only (the record keeps them so, and S3 and moto give them so),
    while a stream's request time has a fraction: a stream requested within the export's second counts
    as covering it. The migrator requests its exports only once the stream is enabled, so the fraction
    never hides a gap of its own making.
    """
    if info.created is not None and math.floor(info.created) > math.floor(export_time):
        raise StreamGapError(
            f"The stream of table {info.table} started at {_when(info.created)}, after the export's time "
            f"{_when(export_time)}: writes made in between are in neither the export nor the stream."
        )


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="seconds")


def shard_iterator(streams: Any, arn: str, shard_id: str, after: str | None) -> str:
    """An iterator at the shard's start (``after`` None) or just after sequence number ``after``.

    A position the stream no longer holds (trimmed after 24 hours, or a shard gone) is a StreamGapError.
    """
    kwargs: dict[str, Any] = {"StreamArn": arn, "ShardId": shard_id}
    if after is None:
        kwargs["ShardIteratorType"] = "TRIM_HORIZON"
    else:
        kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
    try:
        with aws_errors(f"read shard {shard_id} of stream {arn}", what=f"shard {shard_id}"):
            return streams.get_shard_iterator(**kwargs)["ShardIterator"]
    except MigrationError as e:
        if e.code == TRIMMED or (after is not None and isinstance(e, NotFoundError)):
            raise StreamGapError(
                f"The stream no longer holds shard {shard_id} after sequence number {after}: "
                "records written since the last replay were trimmed (streams keep them 24 hours)."
            ) from e
        raise


def get_records(streams: Any, iterator: str, *, limit: int = 1000) -> Page:
    """One page of records (DynamoDB JSON, B as base64 text, ApproximateCreationDateTime as epoch seconds).

    Raise StreamGapError when the records were trimmed, and MigrationError with code
    ``ExpiredIteratorException`` for an iterator older than 15 minutes (get a new one).
    """
    try:
        with aws_errors("read stream records"):
            response = streams.get_records(ShardIterator=iterator, Limit=limit)
    except MigrationError as e:
        if e.code == TRIMMED:
            raise StreamGapError(
                "The stream trimmed records before they were read (streams keep them 24 hours)."
            ) from e
        raise
    body = response.pop(_RAW_BODY, None)
    if body is not None:
        parsed = orjson.loads(body)
        records = parsed.get("Records", [])
    else:  # a parsed answer: B as bytes, times as datetimes
        parsed = response
        records = [_from_parsed(r) for r in response.get("Records", [])]
    millis = parsed.get("MillisBehindLatest")
    return Page(records, parsed.get("NextShardIterator"), int(millis) if millis is not None else None)


def _from_parsed(record: Record) -> Record:
    body = dict(record["dynamodb"])
    for image in ("Keys", "NewImage", "OldImage"):
        if image in body:
            body[image] = from_wire(body[image])
    if "ApproximateCreationDateTime" in body:
        body["ApproximateCreationDateTime"] = epoch_seconds(body["ApproximateCreationDateTime"])
    return {**record, "dynamodb": body}

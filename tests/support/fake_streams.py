"""An in-memory DynamoDB Streams API for one stream of several shards.

moto gives a table one shard that never splits, so reading a tree of shards (parents before
children), DescribeStream's pages and trimmed positions cannot be seen on it. This double answers
DescribeStream (``Limit`` shards per page, ``LastEvaluatedShardId``), GetShardIterator
(``TRIM_HORIZON``, ``AFTER_SEQUENCE_NUMBER``; ``TrimmedDataAccessException`` before a shard's trim
point) and GetRecords (``NextShardIterator`` absent at a closed shard's end), with records in the
wire format. What it models is AWS's documented behaviour; the writes still go to moto.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError


def _error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"simulated {code}"}}, operation)


@dataclass
class FakeShard:
    shard_id: str
    parent_id: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False
    trimmed_before: int | None = None  # sequence numbers below this are gone


class FakeStreams:
    """The streams client double; ``calls`` records (operation, shard id) for the order of reads."""

    def __init__(self, arn: str, shards: list[FakeShard], *, page_size: int = 1, view: str = "NEW_AND_OLD_IMAGES"):
        self.arn, self.shards, self.page_size, self.view = arn, {s.shard_id: s for s in shards}, page_size, view
        self.sequence = itertools.count(1000)
        self.iterators: dict[str, tuple[str, int]] = {}
        self.calls: list[tuple[str, str]] = []
        self.expire_next = False

    # --- building ------------------------------------------------------------------------------

    def add(self, shard_id: str, event: str, keys: dict, new: dict | None = None, old: dict | None = None) -> str:
        seq = str(next(self.sequence))
        body: dict[str, Any] = {"Keys": keys, "SequenceNumber": seq, "ApproximateCreationDateTime": 1.0}
        if new is not None:
            body["NewImage"] = new
        if old is not None:
            body["OldImage"] = old
        self.shards[shard_id].records.append({"eventName": event, "dynamodb": body})
        return seq

    # --- the API -------------------------------------------------------------------------------

    def describe_stream(self, StreamArn: str, ExclusiveStartShardId: str | None = None) -> dict:  # noqa: N803
        self.calls.append(("DescribeStream", ExclusiveStartShardId or ""))
        ids = list(self.shards)
        start = ids.index(ExclusiveStartShardId) + 1 if ExclusiveStartShardId else 0
        page = ids[start : start + self.page_size]
        shards = []
        for shard_id in page:
            shard = self.shards[shard_id]
            sequences = [r["dynamodb"]["SequenceNumber"] for r in shard.records] or ["1"]
            numbers = {"StartingSequenceNumber": sequences[0]}
            if shard.closed:
                numbers["EndingSequenceNumber"] = sequences[-1]
            entry = {"ShardId": shard_id, "SequenceNumberRange": numbers}
            if shard.parent_id:
                entry["ParentShardId"] = shard.parent_id
            shards.append(entry)
        description: dict[str, Any] = {
            "StreamArn": StreamArn,
            "StreamStatus": "ENABLED",
            "StreamViewType": self.view,
            "TableName": "Legacy",
            "Shards": shards,
        }
        if start + self.page_size < len(ids):
            description["LastEvaluatedShardId"] = page[-1]
        return {"StreamDescription": description}

    def get_shard_iterator(self, StreamArn, ShardId, ShardIteratorType, SequenceNumber=None) -> dict:  # noqa: N803
        self.calls.append(("GetShardIterator", ShardId))
        if ShardId not in self.shards:
            raise _error("ResourceNotFoundException", "GetShardIterator")
        shard = self.shards[ShardId]
        if ShardIteratorType == "TRIM_HORIZON":
            index = 0
        else:
            after = int(SequenceNumber)
            if shard.trimmed_before is not None and after < shard.trimmed_before:
                raise _error("TrimmedDataAccessException", "GetShardIterator")
            index = sum(1 for r in shard.records if int(r["dynamodb"]["SequenceNumber"]) <= after)
        token = f"it-{len(self.iterators)}"
        self.iterators[token] = (ShardId, index)
        return {"ShardIterator": token}

    def get_records(self, ShardIterator: str, Limit: int = 1000) -> dict:  # noqa: N803
        shard_id, index = self.iterators[ShardIterator]
        self.calls.append(("GetRecords", shard_id))
        if self.expire_next:
            self.expire_next = False
            raise _error("ExpiredIteratorException", "GetRecords")
        shard = self.shards[shard_id]
        records = shard.records[index : index + Limit]
        end = index + len(records)
        answer: dict[str, Any] = {"Records": records}
        if not (shard.closed and end >= len(shard.records)):
            token = f"it-{len(self.iterators)}"
            self.iterators[token] = (shard_id, end)
            answer["NextShardIterator"] = token
        return answer

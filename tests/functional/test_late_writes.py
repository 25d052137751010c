"""Late writes after the flip, on a moto server: applied only onto items unchanged since the flip.

The legacy table's stream is replayed onto the new table with a :class:`LateWriteGuard`, as the
cutover does after the writers were flipped. A slow writer's write (read before the freeze, written
after the flip) must not overwrite a newer write that reached the new table since the flip, whichever
lands first, nor one that lands between the guard's check and its write.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from migrator.core.conflicts import Conflict
from migrator.core.derive import parse_rules
from migrator.core.replay_map import forward_map
from migrator.data.stream.conflict_store import MemoryConflicts, S3Conflicts
from migrator.data.stream.late_writes import CHANGED_SINCE_FLIP, NOT_THE_OLD_IMAGE, RACE, LateWriteGuard
from migrator.data.stream.reader import streams_client, table_stream
from migrator.data.stream.watch import StreamWatch, end_positions
from tests.support.tables import make_replayer, stream_table

FORWARD = forward_map(parse_rules({"UUID": "uuid5(Name)"}), ("Name",), ("UUID",))


def u5(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def legacy_item(name: str, score: int) -> dict[str, Any]:
    return {"Name": {"S": name}, "Score": {"N": str(score)}}


def new_item(name: str, score: int) -> dict[str, Any]:
    return {"UUID": {"S": u5(name)}, **legacy_item(name, score)}


def new_score(moto: Any, name: str) -> int | None:
    item = moto.dynamodb.get_item(TableName="New", Key={"UUID": {"S": u5(name)}}, ConsistentRead=True).get("Item")
    return int(item["Score"]["N"]) if item else None


@pytest.fixture
def flipped(moto):
    """Both tables with streams, the new one a copy of the legacy one, and the new table's stream end at the flip."""
    stream_table(moto.dynamodb, "Legacy", [("Name", "S")])
    stream_table(moto.dynamodb, "New", [("UUID", "S")])
    for name in ("slow", "calm", "racy", "gone"):
        moto.dynamodb.put_item(TableName="Legacy", Item=legacy_item(name, 1))
    before = make_replayer(moto, "Legacy", "New", FORWARD)
    before.drain(empty_passes=1, poll_seconds=0)  # the freeze's drain: the tables are equal
    streams = streams_client(moto.settings)
    new_arn = table_stream(moto.dynamodb, "New").arn
    return before.checkpoints, end_positions(streams, new_arn, ("UUID",)), new_arn


def guarded(moto, flipped, store, dynamodb=None):
    legacy_positions, flip_positions, new_arn = flipped
    watch = StreamWatch(streams_client(moto.settings), new_arn, flip_positions, ("UUID",))
    db = dynamodb or moto.dynamodb
    guard = LateWriteGuard(db, "New", FORWARD, store, lambda: "2025-01-01T00:00:00Z", watch=watch)
    return make_replayer(moto, "Legacy", "New", FORWARD, checkpoints=legacy_positions, guard=guard, dynamodb=db)


def test_a_late_write_never_overwrites_a_newer_write_made_since_the_flip(moto, flipped):
    db = moto.dynamodb
    # Given the flip; a fast writer then writes "slow" on the new table (the writers use it now)
    db.put_item(TableName="New", Item=new_item("slow", 2))
    # and a slow invocation that read "slow" before the freeze writes it to the legacy table only now
    db.put_item(TableName="Legacy", Item=legacy_item("slow", 100))
    # and another late write whose key nobody wrote since the flip
    db.put_item(TableName="Legacy", Item=legacy_item("calm", 7))
    store = MemoryConflicts()
    # When the legacy table's writes after the flip are replayed
    result = guarded(moto, flipped, store).drain(empty_passes=1, poll_seconds=0)
    # Then the newer write stays, the late one is a conflict with both images kept; the other is applied
    assert new_score(moto, "slow") == 2
    assert new_score(moto, "calm") == 7
    assert result.conflicts == 1 and result.conflict_keys == ({"UUID": u5("slow")},)
    (conflict,) = store.all()
    assert conflict.key == {"UUID": u5("slow")} and conflict.source_key == {"Name": "slow"}
    assert conflict.late["Score"] == {"N": "100"} and conflict.current["Score"] == {"N": "2"}
    assert conflict.reason in (CHANGED_SINCE_FLIP, NOT_THE_OLD_IMAGE) and conflict.open


def test_a_newer_write_after_the_late_one_is_kept_too(moto, flipped):
    db = moto.dynamodb
    # Given a late write to the legacy table, then a newer write to the same key on the new table
    db.put_item(TableName="Legacy", Item=legacy_item("slow", 100))
    db.put_item(TableName="New", Item=new_item("slow", 3))
    db.delete_item(TableName="Legacy", Key={"Name": {"S": "gone"}})  # a late delete of an untouched key
    store = MemoryConflicts()
    # When replayed
    result = guarded(moto, flipped, store).drain(empty_passes=1, poll_seconds=0)
    # Then the new table keeps the newer write; the late delete of the untouched key is applied
    assert new_score(moto, "slow") == 3
    assert new_score(moto, "gone") is None
    assert result.conflicts == 1 and [c.key for c in store.all()] == [{"UUID": u5("slow")}]


class _RacingClient:
    """A DynamoDB client whose first conditional put on ``New`` lets another writer write that key first.

    It stands for a writer landing between the guard's check (its consistent read and stream read) and
    its write: only the write's own condition can catch that one.
    """

    def __init__(self, real: Any, name: str) -> None:
        self._real, self._name, self.raced = real, name, False

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._real, attr)

    def put_item(self, **kwargs: Any) -> Any:
        if kwargs.get("TableName") == "New" and "ConditionExpression" in kwargs and not self.raced:
            self.raced = True
            self._real.put_item(TableName="New", Item=new_item(self._name, 55))
        return self._real.put_item(**kwargs)


def test_a_write_landing_between_the_check_and_the_write_is_not_overwritten(moto, flipped):
    db = moto.dynamodb
    # Given a late write whose key nobody wrote since the flip, as the check will see it
    db.put_item(TableName="Legacy", Item=legacy_item("racy", 9))
    racing = _RacingClient(db, "racy")
    store = MemoryConflicts()
    # When a newer write lands between the check and the conditional write
    result = guarded(moto, flipped, store, dynamodb=racing).drain(empty_passes=1, poll_seconds=0)
    # Then the condition fails: the newer write stays, and the late one is a conflict
    assert racing.raced
    assert new_score(moto, "racy") == 55
    assert result.conflicts == 1
    (conflict,) = store.all()
    assert conflict.reason == RACE and conflict.current["Score"] == {"N": "55"}


def test_a_second_late_write_to_the_same_key_follows_the_first(moto, flipped):
    db = moto.dynamodb
    # Given two late writes to one key, replayed in two runs (the first is applied, then the second)
    db.put_item(TableName="Legacy", Item=legacy_item("calm", 5))
    store = MemoryConflicts()
    replayer = guarded(moto, flipped, store)
    replayer.drain(empty_passes=1, poll_seconds=0)
    db.put_item(TableName="Legacy", Item=legacy_item("calm", 6))
    result = replayer.drain(empty_passes=1, poll_seconds=0)
    # Then the replay's own first write is not taken for a newer one: both are applied, no conflict
    assert new_score(moto, "calm") == 6
    assert result.conflicts == 0 and store.all() == []


def test_conflicts_are_kept_in_the_bucket_and_read_back(moto):
    # Given a bucket and a conflict kept there
    moto.s3.create_bucket(Bucket="exports")
    store = S3Conflicts(moto.s3, "exports", "replay-conflicts/dev/Legacy")
    conflict = Conflict({"UUID": "u"}, {"Name": "n"}, "12", {"UUID": {"S": "u"}}, None, RACE, "t1")
    store.put(conflict)
    # When read back, resolved, and read again
    assert store.all() == [conflict] and store.get(conflict.id) == conflict
    store.put(conflict.resolved("dropped", "t2"))
    # Then the object records the resolution
    assert store.get(conflict.id).status == "dropped" and store.get(conflict.id).resolved_at == "t2"
    assert store.get("nothere") is None

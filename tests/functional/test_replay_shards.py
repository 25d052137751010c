"""The replayer over a tree of shards (a fake stream, see tests/support/fake_streams.py), writing to moto."""

from __future__ import annotations

import uuid

import pytest

from migrator.core.derive import parse_rules
from migrator.core.errors import StreamGapError
from migrator.core.replay_map import forward_map
from migrator.core.shards import SHARD_END
from tests.functional.test_verify import make_table
from tests.support.fake_streams import FakeShard, FakeStreams
from tests.support.tables import make_replayer, scan_all, stream_table

FORWARD = forward_map(parse_rules({"UUID": "uuid5(Name)"}), ("Name",), ("UUID",))


def person(name: str, version: int) -> dict:
    return {"Name": {"S": name}, "V": {"N": str(version)}}


def key(name: str) -> dict:
    return {"Name": {"S": name}}


def new_items(moto) -> dict[str, int]:
    return {i["Name"]["S"]: int(i["V"]["N"]) for i in scan_all(moto.dynamodb, "New")}


@pytest.fixture
def split(moto):
    """A parent shard that split in two; listed children first, one shard per DescribeStream page."""
    arn = stream_table(moto.dynamodb, "Legacy", [("Name", "S")])
    make_table(moto.dynamodb, "New", [("UUID", "S")])
    fake = FakeStreams(arn, [FakeShard("child-1", "parent"), FakeShard("child-2", "parent"), FakeShard("parent")])
    fake.add("parent", "INSERT", key("a"), new=person("a", 1))
    fake.add("parent", "INSERT", key("b"), new=person("b", 1))
    fake.add("child-1", "MODIFY", key("a"), new=person("a", 2), old=person("a", 1))
    fake.add("child-2", "REMOVE", key("b"), old=person("b", 1))
    fake.shards["parent"].closed = True
    return fake


def test_parents_are_read_before_children_across_describe_pages(moto, split):
    replayer = make_replayer(moto, "Legacy", "New", FORWARD, streams=split)
    done = replayer.run_pass()
    # Had a child come first, a would be back at version 1 and b would exist
    assert new_items(moto) == {"a": 2}
    assert done.records == 4
    reads = [shard for call, shard in split.calls if call == "GetRecords"]
    assert reads[0] == "parent"
    assert replayer.checkpoints["parent"] == SHARD_END
    assert {k for k, v in replayer.checkpoints.items() if v != SHARD_END} == {"child-1", "child-2"}


def test_children_wait_until_their_parent_is_read_to_its_end(moto, split):
    # Given the parent still open (AWS lists children only after it closes; the rule must hold anyway)
    split.shards["parent"].closed = False
    replayer = make_replayer(moto, "Legacy", "New", FORWARD, streams=split)
    replayer.run_pass()
    assert new_items(moto) == {"a": 1, "b": 1}
    # When the parent closes, the next pass finishes it and reads the children
    split.shards["parent"].closed = True
    replayer.run_pass()
    assert new_items(moto) == {"a": 2}


def test_a_rerun_resumes_every_shard_from_its_checkpoint(moto, split):
    first = make_replayer(moto, "Legacy", "New", FORWARD, streams=split)
    first.run_pass()
    split.add("child-1", "MODIFY", key("a"), new=person("a", 3), old=person("a", 2))
    split.calls.clear()
    again = make_replayer(moto, "Legacy", "New", FORWARD, streams=split, checkpoints=first.checkpoints)
    done = again.run_pass()
    assert done.records == 1 and new_items(moto) == {"a": 3}
    assert "parent" not in {shard for call, shard in split.calls if call == "GetRecords"}


def test_an_expired_iterator_is_renewed_from_the_last_position(moto, split):
    replayer = make_replayer(moto, "Legacy", "New", FORWARD, streams=split, page_limit=1)
    split.expire_next = True
    assert replayer.run_pass().records == 4
    assert new_items(moto) == {"a": 2}


def test_a_trimmed_checkpoint_is_a_gap_that_says_to_export_again(moto, split):
    first = make_replayer(moto, "Legacy", "New", FORWARD, streams=split)
    first.run_pass()
    # The stream trimmed child-1 past the checkpoint (24 h without a replay)
    split.shards["child-1"].trimmed_before = 10**9
    again = make_replayer(moto, "Legacy", "New", FORWARD, streams=split, checkpoints=first.checkpoints)
    with pytest.raises(StreamGapError, match="no longer holds shard child-1") as caught:
        again.run_pass()
    assert caught.value.exit_code == 1
    assert "new export" in str(caught.value) and "at least daily" in str(caught.value)


def test_a_checkpointed_shard_gone_from_the_stream_is_a_gap(moto, split):
    checkpoints = {"parent": SHARD_END, "child-1": "1002", "child-2": "1003", "vanished": "17"}
    replayer = make_replayer(moto, "Legacy", "New", FORWARD, streams=split, checkpoints=checkpoints)
    with pytest.raises(StreamGapError, match="shard vanished was trimmed"):
        replayer.run_pass()


def test_a_new_shard_whose_parent_was_never_read_is_a_gap(moto, split):
    split.shards["orphan"] = FakeShard("orphan", "never-seen")
    checkpoints = {"parent": SHARD_END, "child-1": "1002", "child-2": "1003"}
    replayer = make_replayer(moto, "Legacy", "New", FORWARD, streams=split, checkpoints=checkpoints)
    with pytest.raises(StreamGapError, match="continues shard never-seen"):
        replayer.run_pass()


def test_the_first_pass_accepts_parents_trimmed_before_the_export(moto, split):
    # A first pass (no checkpoint): a root whose parent is gone is fine when the export is recent
    split.shards["orphan"] = FakeShard("orphan", "long-gone")
    split.add("orphan", "INSERT", key("c"), new=person("c", 1))
    replayer = make_replayer(moto, "Legacy", "New", FORWARD, streams=split, export_time=0.5, clock=lambda: 3600.0)
    replayer.run_pass()
    assert new_items(moto) == {"a": 2, "c": 1}
    assert str(uuid.uuid5(uuid.NAMESPACE_URL, "c")) in {i["UUID"]["S"] for i in scan_all(moto.dynamodb, "New")}


def test_quiet_passes_reuse_the_shard_list_and_the_iterators(moto, split):
    # Given a replayer that has read everything (the pass after a shard ended lists the shards again)
    now = [0.0]
    replayer = make_replayer(moto, "Legacy", "New", FORWARD, streams=split, clock=lambda: now[0], describe_every=10)
    replayer.run_pass()
    replayer.run_pass()
    listing = [("DescribeStream", s) for s in ("", "child-1", "child-2")]  # three pages of one shard
    assert [c for c in split.calls if c[0] == "DescribeStream"] == listing * 2
    split.calls.clear()
    # When two more passes find nothing new within the listing's lifetime
    replayer.run_pass()
    now[0] = 5.0
    replayer.run_pass()
    # Then each open shard costs one GetRecords per pass and nothing else
    assert sorted(split.calls) == sorted([("GetRecords", "child-1"), ("GetRecords", "child-2")] * 2)
    # And a record that arrives meanwhile is read from the kept iterator
    split.add("child-2", "INSERT", key("d"), new=person("d", 1))
    assert replayer.run_pass().records == 1 and new_items(moto) == {"a": 2, "d": 1}
    # After the listing's lifetime the shards are listed again
    split.calls.clear()
    now[0] = 11.0
    replayer.run_pass()
    assert [c for c in split.calls if c[0] == "DescribeStream"]

"""Shard order, start positions and what checkpoints prove about trimmed records (pure)."""

from __future__ import annotations

from migrator.core.shards import SEEN, SHARD_END, Shard, gaps, order_shards, prune, start_after


def shard(shard_id: str, parent: str | None = None, start: int = 0, end: int | None = None) -> Shard:
    return Shard(shard_id, parent, str(start), None if end is None else str(end))


def test_parents_come_before_children_whatever_the_listing_order():
    # Given a root that split into two children, one of which split again, listed children first
    listing = [
        shard("c2", "b", 300),
        shard("b", "a", 200, 250),
        shard("b2", "a", 210),
        shard("a", None, 100, 150),
        shard("c1", "b", 260),
        shard("other", "trimmed", 50),
    ]
    ordered = [s.shard_id for s in order_shards(listing)]
    # Then each shard comes after its parent; roots (parent not listed) first by starting sequence
    assert ordered == ["other", "a", "b", "b2", "c1", "c2"]
    for s in listing:
        if s.parent_id in {x.shard_id for x in listing}:
            assert ordered.index(s.parent_id) < ordered.index(s.shard_id)


def test_where_each_shard_starts():
    checkpoints = {"a": "120", "b": SEEN, "c": SHARD_END}
    assert start_after(shard("a"), checkpoints) == "120"
    assert start_after(shard("b"), checkpoints) is None
    assert start_after(shard("c"), checkpoints) is None
    assert start_after(shard("new"), checkpoints) is None


def test_a_first_pass_proves_nothing_and_finds_no_gap():
    assert gaps([shard("b", "a")], {}) == []


def test_gaps_a_trimmed_checkpoint_and_an_unread_trimmed_parent():
    listing = [shard("b", "a"), shard("x", "gone"), shard("y", "z")]
    # old: applied up to 17 then trimmed; w: read when empty, then trimmed (it may have had records since)
    checkpoints = {"a": SHARD_END, "old": "17", "z": SHARD_END, "w": SEEN}
    found = gaps(listing, checkpoints)
    assert found == [
        "shard old was trimmed from the stream before it was read to its end",
        "shard w was trimmed from the stream before it was read to its end",
        "shard x continues shard gone, which was trimmed before it was read",
    ]
    # A shard read to its end may be trimmed: nothing is lost
    assert gaps([shard("b", "a")], {"a": SHARD_END}) == []


def test_prune_drops_only_finished_shards_that_are_no_longer_listed():
    checkpoints = {"a": SHARD_END, "b": SHARD_END, "c": "5"}
    assert prune(checkpoints, [shard("b"), shard("c")]) == {"b": SHARD_END, "c": "5"}

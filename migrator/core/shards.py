"""A stream's shards: the order to read them in, where to start each, and what a checkpoint proves. Pure.

A DynamoDB stream is a tree of shards: a shard closes and its children continue it, so a key's
records are in order only when a parent is read to its end before its children. Checkpoints map a
shard id to the sequence number of the last record applied, to :data:`SEEN` (the shard was read and
had nothing to apply), or to :data:`SHARD_END` (a closed shard read to its end). They are plain
strings, so the caller stores them as they are.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SEEN = "TRIM_HORIZON"
SHARD_END = "SHARD_END"


@dataclass(frozen=True)
class Shard:
    """One shard as DescribeStream lists it."""

    shard_id: str
    parent_id: str | None = None
    starting_sequence: str | None = None
    ending_sequence: str | None = None

    @property
    def closed(self) -> bool:
        return self.ending_sequence is not None


def sequence_key(sequence: str | None) -> int:
    """A sequence number as an int, for ordering (sequence numbers are decimal strings)."""
    try:
        return int(sequence or 0)
    except ValueError:
        return 0


def order_shards(shards: Iterable[Shard]) -> list[Shard]:
    """Parents before children; among shards ready at once, the lowest starting sequence number first."""
    by_id = {s.shard_id: s for s in shards}
    children: dict[str, list[Shard]] = {}
    ready: list[tuple[int, str]] = []
    for shard in by_id.values():
        if shard.parent_id in by_id:
            children.setdefault(shard.parent_id, []).append(shard)
        else:
            ready.append((sequence_key(shard.starting_sequence), shard.shard_id))
    heapq.heapify(ready)
    ordered: list[Shard] = []
    while ready:
        _, shard_id = heapq.heappop(ready)
        ordered.append(by_id[shard_id])
        for child in children.pop(shard_id, []):
            heapq.heappush(ready, (sequence_key(child.starting_sequence), child.shard_id))
    return ordered


def start_after(shard: Shard, checkpoints: Mapping[str, str]) -> str | None:
    """The sequence number to read after in ``shard``, or None to read it from its start (TRIM_HORIZON)."""
    position = checkpoints.get(shard.shard_id)
    return None if position in (None, SEEN, SHARD_END) else position


def finished(shard_id: str, checkpoints: Mapping[str, str]) -> bool:
    """Whether the shard was read to its end after it closed."""
    return checkpoints.get(shard_id) == SHARD_END


def gaps(shards: Iterable[Shard], checkpoints: Mapping[str, str]) -> list[str]:
    """Why records since the checkpoints may be lost: checkpointed shards trimmed before they were read to their
    end, and new shards whose parent was trimmed unread. Empty when the checkpoints hold nothing (a first pass)."""
    if not checkpoints:
        return []
    listed = {s.shard_id: s for s in shards}
    reasons = [
        f"shard {shard_id} was trimmed from the stream before it was read to its end"
        for shard_id, position in checkpoints.items()
        if position != SHARD_END and shard_id not in listed
    ]
    for shard in listed.values():
        parent = shard.parent_id
        if shard.shard_id not in checkpoints and parent and parent not in listed and parent not in checkpoints:
            reasons.append(f"shard {shard.shard_id} continues shard {parent}, which was trimmed before it was read")
    return reasons


def prune(checkpoints: Mapping[str, str], shards: Iterable[Shard]) -> dict[str, str]:
    """The checkpoints without shards read to their end and no longer listed: nothing can refer to them again."""
    listed = {s.shard_id for s in shards}
    return {k: v for k, v in checkpoints.items() if v != SHARD_END or k in listed}

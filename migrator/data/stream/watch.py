"""Which keys of a table changed since a point of its stream: the late-write check's view of the new table.

:class:`StreamWatch` reads the stream from positions saved at the flip (shard id → sequence number, as
a replayer's checkpoints) to its current end, on demand, and remembers for each key the digests of the
images written there (None for a delete). It writes nothing and saves no position: a rerun reads again
from the flip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from migrator.core.canonical import CanonicalError, item_digest, key_bytes
from migrator.core.replay_plan import REMOVE
from migrator.core.shards import SEEN, SHARD_END, order_shards, start_after
from migrator.data.stream.reader import describe_stream, get_records, shard_iterator


class StreamWatch:
    """The changes of ``arn`` since ``positions``, by key (``key_names``: the table's key schema)."""

    def __init__(
        self, streams: Any, arn: str, positions: Mapping[str, str], key_names: Sequence[str], *, page_limit: int = 1000
    ) -> None:
        self._streams, self.arn = streams, arn
        self._positions = dict(positions)
        self._key_names = tuple(key_names)
        self._page_limit = page_limit
        self._iterators: dict[str, tuple[str, str | None]] = {}
        self._changes: dict[bytes, list[int | None]] = {}

    @property
    def positions(self) -> dict[str, str]:
        """Where the watch has read to (shard id → sequence number, ``TRIM_HORIZON`` or ``SHARD_END``)."""
        return dict(self._positions)

    def changes(self, key: bytes) -> list[int | None]:
        """The digests of the images written under ``key`` (:func:`key_bytes`) since the start, in order."""
        return list(self._changes.get(key, ()))

    def refresh(self, *, remember: bool = True) -> int:
        """Read every shard from where the watch stands to its current end; the number of records read."""
        _, shards = describe_stream(self._streams, self.arn)
        listed = {s.shard_id for s in shards}
        read = 0
        for shard in order_shards(shards):
            parent = shard.parent_id
            if self._positions.get(shard.shard_id) == SHARD_END:
                continue
            if parent and parent in listed and self._positions.get(parent) != SHARD_END:
                continue  # its parent's records come first; the next refresh reads it
            read += self._read(shard.shard_id, start_after(shard, self._positions), remember=remember)
        return read

    def _read(self, shard_id: str, after: str | None, *, remember: bool) -> int:
        kept = self._iterators.pop(shard_id, None)
        iterator = kept[0] if kept is not None and kept[1] == after else None
        iterator = iterator or shard_iterator(self._streams, self.arn, shard_id, after)
        read = 0
        while True:
            page = get_records(self._streams, iterator, limit=self._page_limit)
            for record in page.records:
                if remember:
                    self._note(record)
                after = str(record["dynamodb"]["SequenceNumber"])
            read += len(page.records)
            self._positions[shard_id] = after if after is not None else SEEN
            if page.next_iterator is None:
                self._positions[shard_id] = SHARD_END
                return read
            iterator = page.next_iterator
            if not page.records:  # the open shard's current end
                self._iterators[shard_id] = (iterator, after)
                return read

    def _note(self, record: Mapping[str, Any]) -> None:
        body = record["dynamodb"]
        try:
            key = key_bytes(dict(body.get("Keys") or {}), self._key_names)
        except CanonicalError:
            return  # not a key of this table's schema: nothing a replay could write
        image = body.get("NewImage")
        digest = None if record.get("eventName") == REMOVE or image is None else item_digest(image)
        self._changes.setdefault(key, []).append(digest)


def end_positions(
    streams: Any, arn: str, key_names: Sequence[str], *, start: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The stream's current end, as positions (reads it through from ``start`` once, remembering nothing)."""
    watch = StreamWatch(streams, arn, start or {}, key_names)
    watch.refresh(remember=False)
    return watch.positions

"""The replayer: applies a table's stream onto another table through an item map, resumably.

Forward (legacy stream → new table) each record goes through the derive rules; reverse (new stream →
legacy table) through the new item minus the derived attributes (:mod:`migrator.core.replay_map`).
Shards are read parents first (:mod:`migrator.core.shards`); each page is planned
(:mod:`migrator.core.replay_plan`), its rejects written aside, its writes sent, and only then is the
shard's checkpoint advanced. Checkpoints reach ``on_checkpoint(shard_id, position)`` at most once per
``checkpoint_every`` seconds, and at the end of every public operation; a rerun given them resumes.

A pass reads every shard up to its end as the stream is now. :meth:`Replayer.catch_up` repeats passes
until the lag stays under a threshold; :meth:`Replayer.drain` until passes come back empty.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from migrator.core.errors import MigrationError, StreamGapError
from migrator.core.replay_map import ItemMap, ReplayMode, replay_mode
from migrator.core.replay_plan import Change, parse_record, plan_batch
from migrator.core.shards import SEEN, SHARD_END, Shard, gaps, order_shards, prune, start_after
from migrator.data.rejects import MemoryRejects, RejectSink
from migrator.data.stream.late_writes import LateWriteGuard
from migrator.data.stream.reader import EXPIRED, Page, describe_stream, get_records, shard_iterator, table_stream
from migrator.data.stream.replay_result import PassResult, ReplayResult, Tally
from migrator.data.stream.replay_write import consistent_get, write_plan

Clock = Callable[[], float]
Sleep = Callable[[float], None]
OnCheckpoint = Callable[[str, str], None]

RETENTION_SECONDS = 24 * 3600
RETENTION_MARGIN = 3600  # ApproximateCreationDateTime is rounded, and trimming is not to the second


@dataclass(frozen=True)
class ReplaySource:
    """What to replay: ``source_table``'s stream ``stream_arn`` onto ``target_table`` through ``item_map``.

    ``export_time`` (epoch seconds) is the export's point in time, for a forward replay's first pass:
    records since then must all still be in the stream.
    """

    source_table: str
    target_table: str
    stream_arn: str
    view_type: str
    item_map: ItemMap
    export_time: float | None = None


@dataclass
class _Emitter:
    """Hands checkpoints to the caller at most once per ``every`` seconds."""

    callback: OnCheckpoint | None
    clock: Clock
    every: float
    positions: dict[str, str] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)
    last: float = float("-inf")

    def advance(self, shard_id: str, position: str) -> None:
        if self.positions.get(shard_id) != position:
            self.positions[shard_id] = position
            self.pending.add(shard_id)
        self.emit(force=False)

    def emit(self, *, force: bool) -> None:
        if self.callback is None or not self.pending:
            return
        now = self.clock()
        if not force and now - self.last < self.every:
            return
        for shard_id in sorted(self.pending & set(self.positions)):
            self.callback(shard_id, self.positions[shard_id])
        self.pending.clear()
        self.last = now


class Replayer:
    """Replays one stream onto one table; see the module docstring."""

    def __init__(
        self,
        source: ReplaySource,
        *,
        dynamodb: Any,
        streams: Any,
        checkpoints: Mapping[str, str] | None = None,
        on_checkpoint: OnCheckpoint | None = None,
        rejects: RejectSink | None = None,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
        checkpoint_every: float = 1.0,
        page_limit: int = 1000,
        describe_every: float = 10.0,
        gap_hint: str | None = None,
        guard: LateWriteGuard | None = None,
    ) -> None:
        self.source, self._gap_hint = source, gap_hint  # gap_hint: what to run when the stream lost writes
        self.mode: ReplayMode = replay_mode(source.view_type, source.item_map, table=source.source_table)
        self._dynamodb, self._streams = dynamodb, streams
        self._emitter = _Emitter(on_checkpoint, clock, checkpoint_every, dict(checkpoints or {}))
        self._first = not checkpoints
        self.rejects = rejects if rejects is not None else MemoryRejects()
        self.clock, self.sleep = clock, sleep
        self.guard = guard  # after the flip: write only onto items unchanged since then (migrator.core.conflicts)
        self._page_limit, self._checked = page_limit, False
        # DescribeStream and GetShardIterator are rate-limited and change little between passes: the shard
        # list is read again after ``describe_every`` seconds or once a shard was read to its end (its
        # children are listed by then); an open shard's last iterator serves the next pass.
        self._describe_every = describe_every
        self._listing: tuple[float, list[Shard]] | None = None
        self._iterators: dict[str, tuple[str, str | None]] = {}

    @property
    def checkpoints(self) -> dict[str, str]:
        """The positions reached, shard id → sequence number, ``TRIM_HORIZON`` (read, empty) or ``SHARD_END``."""
        return dict(self._emitter.positions)

    def flush(self) -> None:
        """Hand every checkpoint not yet handed over to the callback now."""
        self._emitter.emit(force=True)

    def run_pass(self, *, collect_keys: bool = False, apply: bool = True) -> PassResult:
        """Read every shard to its current end once and apply what it holds (``apply`` False: only move on)."""
        started = self.clock()
        self._check_stream()
        shards = self._shards()
        positions = self._emitter.positions
        reasons = gaps(shards, positions)
        if reasons:
            raise StreamGapError(
                f"The stream of table {self.source.source_table} lost records: {'; '.join(reasons)}.",
                hint=self._gap_hint,
            )
        tally = Tally(collect_keys=collect_keys)
        listed = {s.shard_id for s in shards}
        for shard in order_shards(shards):
            if positions.get(shard.shard_id) == SHARD_END or self._parent_unfinished(shard, listed):
                continue  # done; or its parent is still being read: its records come first
            self._read_shard(shard, listed, tally, apply=apply)
        self._emitter.positions = prune(positions, shards)
        self._first = False
        return tally.result(self.clock() - started)

    def _shards(self) -> list[Shard]:
        if self._listing is None or self.clock() - self._listing[0] >= self._describe_every:
            self._listing = (self.clock(), describe_stream(self._streams, self.source.stream_arn)[1])
        return self._listing[1]

    def _parent_unfinished(self, shard: Shard, listed: set[str]) -> bool:
        parent = shard.parent_id
        return bool(parent) and parent in listed and self._emitter.positions.get(parent) != SHARD_END

    def _check_stream(self) -> None:
        if self._checked:
            return
        current = table_stream(self._dynamodb, self.source.source_table)
        if current is None or current.arn != self.source.stream_arn:
            now = "no stream" if current is None else f"stream {current.arn}"
            raise StreamGapError(
                f"Table {self.source.source_table} now has {now}, not the stream {self.source.stream_arn} that "
                "holds its writes since the export: writes in between may be in neither.",
                hint=self._gap_hint,
            )
        self._checked = True

    def _read_shard(self, shard: Shard, listed: set[str], tally: Tally, *, apply: bool) -> None:
        after = start_after(shard, self._emitter.positions)
        root = shard.parent_id not in listed
        check_oldest = self._first and root and after is None and self.source.export_time is not None
        ahead: Future[Page] | None = None
        # One thread reads the next page while this one writes the current page: the stream read and the
        # table write overlap. Writes stay in order on this thread.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="replay-read") as reader:
            try:
                page = self._page(shard, self._iterator(shard.shard_id, after), after)
                while True:
                    if check_oldest:
                        self._check_oldest(page)
                        check_oldest = False
                    if page.records and page.next_iterator is not None:
                        last = str(page.records[-1]["dynamodb"]["SequenceNumber"])
                        ahead = reader.submit(self._page, shard, page.next_iterator, last)
                    if page.records:
                        after = self._apply(shard, page, tally, apply=apply)
                    elif shard.shard_id not in self._emitter.positions:
                        self._emitter.advance(shard.shard_id, SEEN)
                    if page.next_iterator is None:  # a closed shard read to its end
                        self._emitter.advance(shard.shard_id, SHARD_END)
                        self._listing = None  # its children are listed now
                        return
                    if ahead is None:  # the open shard's current end: continue from here next pass
                        self._iterators[shard.shard_id] = (page.next_iterator, after)
                        return
                    page, ahead = ahead.result(), None
            finally:
                if ahead is not None:
                    ahead.cancel()

    def _iterator(self, shard_id: str, after: str | None) -> str:
        kept = self._iterators.pop(shard_id, None)
        if kept is not None and kept[1] == after:
            return kept[0]
        return shard_iterator(self._streams, self.source.stream_arn, shard_id, after)

    def _page(self, shard: Shard, iterator: str, after: str | None) -> Page:
        try:
            return get_records(self._streams, iterator, limit=self._page_limit)
        except MigrationError as e:
            if e.code != EXPIRED:
                raise
        # Iterators expire after 15 minutes (a slow page, a long pause): start again from the last position.
        fresh = shard_iterator(self._streams, self.source.stream_arn, shard.shard_id, after)
        return get_records(self._streams, fresh, limit=self._page_limit)

    def _check_oldest(self, page: Page) -> None:
        export_time = self.source.export_time
        assert export_time is not None
        now = self.clock()
        if now - export_time < RETENTION_SECONDS - RETENTION_MARGIN:
            return  # nothing written since the export can have been trimmed yet
        oldest = page.records[0]["dynamodb"].get("ApproximateCreationDateTime") if page.records else None
        if oldest is None or float(oldest) > export_time:
            raise StreamGapError(
                f"The export of table {self.source.source_table} is more than a day old and its stream's oldest "
                "record is newer than the export: writes made in between may have been trimmed.",
                hint=self._gap_hint,
            )

    def _apply(self, shard: Shard, page: Page, tally: Tally, *, apply: bool) -> str:
        changes = [parse_record(r) for r in page.records]
        last = changes[-1].sequence
        if apply:
            plan = plan_batch(changes, self.source.item_map, current=self._read_back(changes))
            if plan.rejects:
                self.rejects.write(plan.rejects, name=f"{shard.shard_id}-{changes[0].sequence}")
            if self.guard is not None:
                outcome = self.guard.apply(plan, changes)
                counts = outcome.counts
                tally.add_conflicts([c.key for c in outcome.conflicts])
            else:
                counts = write_plan(self._dynamodb, self.source.target_table, plan, sleep=self.sleep)
            tally.add_page(shard.shard_id, changes, plan, counts, applied_at=self.clock(), millis=page.millis_behind)
        else:
            tally.add_skipped(changes)
        self._emitter.advance(shard.shard_id, last)
        return last

    def _read_back(self, changes: list[Change]) -> dict[bytes, Any] | None:
        # KEYS_ONLY and OLD_IMAGE records carry no new image: read each key's item as it is now.
        if not self.mode.read_back:
            return None
        names = self.source.item_map.source_keys
        return consistent_get(self._dynamodb, self.source.source_table, [c.keys for c in changes], names)

    # --- operations ---------------------------------------------------------------------------

    def catch_up(
        self,
        *,
        max_lag: float = 2.0,
        in_a_row: int = 3,
        timeout: float | None = None,
        poll_seconds: float = 0.25,
        collect_keys: bool = False,
    ) -> ReplayResult:
        """Pass after pass until ``in_a_row`` passes in a row had a lag under ``max_lag`` seconds.

        With ``timeout``, stop after that many seconds even when not caught up (``caught_up`` False).
        """
        result = ReplayResult()
        started = self.clock()
        under = 0
        try:
            while True:
                done = self.run_pass(collect_keys=collect_keys)
                result = result.plus(done)
                under = under + 1 if done.lag_seconds < max_lag else 0
                if under >= in_a_row:
                    return result.finished(caught_up=True)
                if timeout is not None and self.clock() - started >= timeout:
                    return result.finished(caught_up=False)
                if done.records < self._page_limit:
                    self.sleep(poll_seconds)
        finally:
            self.flush()

    def drain(
        self,
        *,
        empty_passes: int = 2,
        poll_seconds: float = 0.2,
        collect_keys: bool = False,
        timeout: float | None = None,
    ) -> ReplayResult:
        """Pass after pass until ``empty_passes`` passes in a row found no record.

        With ``timeout``, stop after that many seconds even when records keep coming (``caught_up`` False).
        """
        result = ReplayResult()
        empty = 0
        started = self.clock()
        try:
            while empty < empty_passes:
                done = self.run_pass(collect_keys=collect_keys)
                result = result.plus(done)
                empty = empty + 1 if done.records == 0 else 0
                if empty < empty_passes and timeout is not None and self.clock() - started >= timeout:
                    return result.finished(caught_up=False)
                if empty < empty_passes:
                    self.sleep(poll_seconds)
            return result.finished(caught_up=True)
        finally:
            self.flush()

    def advance_to_end(self) -> ReplayResult:
        """Move the checkpoints to the stream's current end without writing anything."""
        try:
            return ReplayResult().plus(self.run_pass(apply=False)).finished(caught_up=True)
        finally:
            self.flush()

    def quiet_probe(self, quiet_seconds: float, *, collect_keys: bool = False) -> QuietProbe:
        """A callable for the writers' in-flight wait: each call replays one pass and says whether the
        stream has had no new record for ``quiet_seconds``."""
        return QuietProbe(self, quiet_seconds, collect_keys=collect_keys)


class QuietProbe:
    """Replays a pass per call; True once no record arrived for ``quiet_seconds``. ``result`` sums the passes."""

    def __init__(self, replayer: Replayer, quiet_seconds: float, *, collect_keys: bool = False) -> None:
        self.replayer, self.quiet_seconds, self.collect_keys = replayer, quiet_seconds, collect_keys
        self.last_record = replayer.clock()
        self.result = ReplayResult()

    def __call__(self) -> bool:
        done = self.replayer.run_pass(collect_keys=self.collect_keys)
        self.result = self.result.plus(done)
        now = self.replayer.clock()
        if done.records:
            self.last_record = now
        return now - self.last_record >= self.quiet_seconds

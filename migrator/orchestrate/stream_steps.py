"""The online mode's steps around the stage updates: the legacy table's stream, the replay, ``migrate catch-up``.

Stage 1 keeps or declares the legacy table's stream (:meth:`StreamSteps.check_stream`, before the
update), waits until it is ENABLED before the export starts (:meth:`wait_stream`) and records it with
the export once the export's time is known to be covered (:meth:`record_stream`). Stage 2 replays the
writes made since the export onto the new table (:meth:`catch_up`), as ``migrate catch-up`` does
between stages. Stage 3's cutover and ``down``'s carry-back are in
:mod:`migrator.orchestrate.cutover_steps`; after the cutover's update, :meth:`legacy_writes` replays
(and warns about) writes that still reached the legacy table. Stream positions are checkpointed in
the record store's ``checkpoints`` entry (:mod:`migrator.orchestrate.checkpoints`), at most once a
second, so every step resumes where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from migrator.core.config import MigrationConfig, key
from migrator.core.cutover_state import FORWARD, REVERSE, CutoverState, add_replayed
from migrator.core.errors import (
    BadInputError,
    ConfigError,
    NotFoundError,
    RejectsError,
    ReplayImpossibleError,
    StreamGapError,
)
from migrator.core.record import Record
from migrator.core.replay_map import ItemMap, forward_map, replay_mode, reverse_map
from migrator.core.stages import CATCH_UP, CHECK_STREAM, LEGACY_WRITES, RECORD_STREAM, WAIT_STREAM
from migrator.core.tablespec import ONLINE_STREAM
from migrator.data.rejects import S3Rejects
from migrator.data.stream.late_writes import LateWriteGuard
from migrator.data.stream.reader import StreamInfo, check_covers, table_stream, wait_enabled
from migrator.data.stream.replay import Replayer, ReplaySource
from migrator.data.stream.replay_result import ReplayResult
from migrator.data.stream.watch import end_positions
from migrator.orchestrate.checkpoints import CheckpointBook
from migrator.orchestrate.context import StageRun, StepContext, new_table
from migrator.orchestrate.late_writes import conflict_store, late_write_guard, with_conflicts
from migrator.orchestrate.pending_rejects import Pending, drop_rejects, pending_error, settle
from migrator.report.results import CatchUpResult

CATCH_UP_TIMEOUT = 600.0  # a catch-up that has not caught up by then stops; the next one goes on from there
LEGACY_WRITES_TIMEOUT = 30.0


@dataclass(frozen=True)
class CatchUp:
    """What one ``migrate catch-up`` replayed: which way (``forward`` or ``reverse``), from and to which table."""

    direction: str
    source_table: str
    target_table: str
    result: ReplayResult
    pending: Pending = Pending()  # forward: rejects still pending (this run's and earlier ones)

    def to_result(self, stack: str, legacy_keys: tuple[str, ...]) -> CatchUpResult:
        """The command's result (keys shown as plain JSON of the legacy table's key)."""
        pending = self.pending.to_dict(legacy_keys)
        return CatchUpResult(
            stack, self.direction, self.source_table, self.target_table, self.result.to_dict(), pending
        )


class StreamSteps:
    """The online mode's step handlers of one stack, and the replayers the cutover builds on."""

    def __init__(self, context: StepContext) -> None:
        self._ctx = context
        self._book = CheckpointBook(lambda: context.records.store)
        self.catch_up_timeout = CATCH_UP_TIMEOUT
        self.legacy_writes_timeout = LEGACY_WRITES_TIMEOUT

    def handlers(self) -> dict[str, Callable[[StageRun], None]]:
        """Step name → handler."""
        return {
            CHECK_STREAM: self.check_stream,
            WAIT_STREAM: self.wait_stream,
            RECORD_STREAM: self.record_stream,
            CATCH_UP: self.catch_up,
            LEGACY_WRITES: self.legacy_writes,
        }

    # --- stage 1 -------------------------------------------------------------------------------

    def check_stream(self, run: StageRun) -> None:
        """Refuse before the update when the legacy table's stream would change or cannot serve the rules.

        A table that already has a stream keeps it exactly (the config must say which, so the program
        declares it unchanged); one without gets ``NEW_AND_OLD_IMAGES`` from stage 1's update.
        """
        # The cutover must know whom to freeze: say so now, before anything changes, not at stage 3.
        run.config.online.resolve_writers(self._ctx.stack.outputs().get("consumerFunctionName"))
        legacy = run.config.legacy
        live = table_stream(self._ctx.aws.client("dynamodb"), legacy.name)
        view = legacy.stream or ONLINE_STREAM
        if live is not None:
            # After stage 1's update (a rerun) the stream may be the one that update declared.
            expected = legacy.stream or (ONLINE_STREAM if run.declared >= 1 else None)
            if live.view_type != expected:
                raise ConfigError(
                    key("legacyTable") + ".stream",
                    f"{'is not set' if legacy.stream is None else f'is {legacy.stream}'}, but table {legacy.name} "
                    f"already has a {live.view_type} stream. The migrator never changes an existing stream (a new "
                    "view type means disabling it and enabling another, which other readers of it would lose).",
                    hint=f"Record it as it is: legacyTable.stream: {live.view_type}.",
                )
            view = live.view_type
        replay_mode(view, forward_item_map(run.config), table=legacy.name)

    def wait_stream(self, run: StageRun) -> None:
        """Wait until the legacy table's stream is ENABLED (before the export starts) and record it."""
        try:
            info = wait_enabled(
                self._ctx.aws.client("dynamodb"),
                self._ctx.aws.client("dynamodbstreams"),
                run.config.legacy.name,
                sleep=self._ctx.clock.sleep,
            )
        except NotFoundError as e:
            # The update declared the stream: it is off only if it was turned off outside Pulumi, which the
            # stack's state does not know until a refresh (and then the rerun's update turns it on again).
            raise NotFoundError(
                e.message,
                hint=f"Stage {run.move.stage}'s update declares it, so it was turned off outside Pulumi: run "
                f"`pulumi refresh --stack {self._ctx.stack.name}`, then `migrate up --stage {run.move.stage}` again.",
            ) from e
        run.record = run.record.with_(stream={"arn": info.arn, "viewType": info.view_type, "created": info.created})
        self._ctx.save(run.record)

    def record_stream(self, run: StageRun) -> None:
        """Refuse an export older than the stream (writes in between would be in neither); else record the
        stream's ARN with the export. Such an export is forgotten, so the rerun takes a new one."""
        stream, export = dict(run.record.stream or {}), dict(run.record.export or {})
        info = StreamInfo(stream["arn"], run.config.legacy.name, stream["viewType"], "ENABLED", stream.get("created"))
        try:
            check_covers(info, export_time(export))
        except StreamGapError as e:
            run.record = run.record.with_(export_arn=None, export_attempt=run.record.export_attempt + 1, export=None)
            self._ctx.save(run.record)
            raise StreamGapError(e.message, hint="Rerun `migrate up --stage 1`: it takes a new export.") from e
        export["stream"] = {"arn": info.arn, "viewType": info.view_type}
        run.record = run.record.with_(export=export)
        self._ctx.save(run.record)

    # --- stage 2, and `migrate catch-up` ---------------------------------------------------------

    def catch_up(self, run: StageRun) -> None:
        """A first catch-up after the import check: the writes made since the export, onto the new table."""
        replayer = self.forward_replayer(run.config, run.record)
        export = (run.record.export or {}).get("arn")
        if run.record.online.get("replayedExport") != export:
            # Recorded before the first write: from now on the new table no longer equals the export, even
            # if the process dies before the first checkpoint is saved (a rerun must not verify it again).
            run.record = run.record.with_(online={**run.record.online, "replayedExport": export})
            self._ctx.save(run.record)
        result = replayer.catch_up(max_lag=run.config.online.catch_up.max_lag_seconds, timeout=self.catch_up_timeout)
        run.record = add_replay(run.record, "catchUp", result)
        self._ctx.save(run.record)
        self._ctx.progress(f"  replayed {result.records - result.skipped} writes, lag {result.lag_seconds:.1f} s")
        self.check_pending(run, result)
        if not result.caught_up:
            self._ctx.progress(
                f"  not caught up after {self.catch_up_timeout:.0f} s (lag {result.lag_seconds:.1f} s): "
                "`migrate catch-up` and stage 3 go on from here"
            )

    def catch_up_now(
        self,
        config: MigrationConfig,
        record: Record,
        *,
        max_lag: float,
        timeout: float,
        drop: tuple[tuple[str, ...], bool] = ((), False),
    ) -> CatchUp:
        """``migrate catch-up``: before cutover the legacy table's writes onto the new table, after it the new
        table's onto the legacy one (so going back has little to carry, and its stream never trims what it
        needs). ``drop`` (keys as JSON, or every one) gives pending rejects up first, recorded."""
        if drop[0] or drop[1]:
            names = config.legacy.key_names
            record = drop_rejects(record, drop[0], every=drop[1], names=names, at=self._ctx.now())
            self._ctx.save(record)
        forward = record.completed_stage < 3
        replayer = self.forward_replayer(config, record) if forward else self.reverse_replayer(config, record)
        result = replayer.catch_up(max_lag=max_lag, timeout=timeout)
        record = add_replay(record, "catchUp" if forward else "catchUpBack", result)
        self._ctx.save(record)
        pending = Pending()
        if forward:  # rejects stay pending until they map cleanly or are dropped (pending_rejects)
            record, pending = settle(self._ctx, config, record, result, forward_item_map(config))
            self._ctx.save(record)
        tables = (config.legacy.name, new_table(config).name)
        source, target = tables if forward else tables[::-1]
        return CatchUp(FORWARD if forward else REVERSE, source, target, result, pending)

    def check_pending(self, run: StageRun, result: ReplayResult) -> None:
        """After a forward replay before the flip: settle the pending rejects; a RejectsError naming them if any."""
        run.record, pending = settle(self._ctx, run.config, run.record, result, forward_item_map(run.config))
        self._ctx.save(run.record)
        if pending.count:
            raise pending_error(pending, run.config.legacy.name, run.config.legacy.key_names)

    # --- stage 3, after the update ---------------------------------------------------------------

    def legacy_writes(self, run: StageRun) -> None:
        """Replay what reached the legacy table since the writers were unfrozen (a writer that was not frozen, or
        an invocation that outlived the in-flight wait), only onto items unchanged since the flip: the others
        are conflicts (:mod:`migrator.core.conflicts`), kept and counted; the stage is recorded all the same."""
        legacy, new = run.config.legacy.name, new_table(run.config).name
        result = self.forward_replayer(run.config, run.record, after_flip=True).drain(
            empty_passes=2,
            poll_seconds=max(0.2, run.config.online.catch_up.quiet_seconds),
            timeout=self.legacy_writes_timeout,
        )
        seen = result.records - result.skipped
        online = dict(run.record.online)
        online["writesAfterUnfreeze"] = int(online.get("writesAfterUnfreeze", 0)) + seen
        run.record = add_replay(run.record.with_(online=online), "catchUp", result)
        if seen:
            warning = (
                f"{seen} write(s) reached {legacy} after the writers were unfrozen"
                f"{' (and still come)' if not result.caught_up else ''}: a writer that was not frozen and still "
                f"uses {legacy}. They were replayed onto {new}; list that writer in {key('writers')} (or stop it "
                f"in {key('freezeHook')})."
            )
            run.warnings.append(warning)
            self._ctx.progress(f"warning: {warning}")
        if result.conflicts or run.record.online.get("conflicts"):
            run.record = with_conflicts(run.record, conflict_store(self._ctx, run.config, run.record))
        if result.conflicts:
            warning = conflicts_warning(result.conflicts, new)
            run.warnings.append(warning)
            self._ctx.progress(f"warning: {warning}")
        check_clean(result, legacy)
        run.record = run.record.with_(cutover=None)  # the cutover and its update are done
        self._ctx.save(run.record)

    # --- replayers -------------------------------------------------------------------------------

    def forward_replayer(self, config: MigrationConfig, record: Record, *, after_flip: bool = False) -> Replayer:
        """The replay of the legacy table's stream (as stage 1 recorded it) onto the new table, from its checkpoint.

        ``after_flip``: the writers use the new table, so a write is applied only onto an item unchanged since
        the flip (:func:`migrator.orchestrate.late_writes.late_write_guard`).
        """
        stream, export = recorded_stream(config, record)
        arn, export_arn = stream["arn"], export["arn"]
        source = ReplaySource(
            config.legacy.name,
            new_table(config).name,
            arn,
            stream["viewType"],
            forward_item_map(config),
            export_time(export),
        )
        guard = late_write_guard(self._ctx, config, record, source.item_map) if after_flip else None
        return self._replayer(source, FORWARD, arn, export_arn, bucket=export.get("bucket"), guard=guard)

    def flip_positions(self, config: MigrationConfig, start: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The new table's stream and its current end (``{}`` without a stream): where late writes are checked from.

        ``start`` (an earlier result of this) is where to read on from, so that the freeze reads little.
        """
        info = table_stream(self._ctx.aws.client("dynamodb"), new_table(config).name)
        if info is None:
            return {}
        streams, keys = self._ctx.aws.client("dynamodbstreams"), new_table(config).key_names
        after = (start or {}).get("positions") if (start or {}).get("stream") == info.arn else None
        return {"stream": info.arn, "positions": end_positions(streams, info.arn, keys, start=after)}

    def reverse_replayer(self, config: MigrationConfig, record: Record) -> Replayer:
        """The replay of the new table's stream onto the legacy table, from the checkpoint set at the flip.

        :class:`ReplayImpossibleError` when the new items cannot give back the legacy ones, or there is no stream.
        """
        legacy, new = config.legacy, new_table(config).name
        item_map = reverse_map(config.derive, legacy.key_names, new_table(config).key_names)
        info = table_stream(self._ctx.aws.client("dynamodb"), new)
        if info is None:
            raise ReplayImpossibleError(
                f"Writes made to {new} cannot be carried back: it has no stream.",
                hint="Go back without them (--discard-new-writes), or copy them back with your own tooling.",
            )
        source = ReplaySource(new, legacy.name, info.arn, info.view_type, item_map)
        return self._replayer(source, REVERSE, info.arn, None, bucket=(record.export or {}).get("bucket"))

    def _replayer(
        self,
        source: ReplaySource,
        direction: str,
        arn: str,
        export: str | None,
        *,
        bucket: Any,
        guard: LateWriteGuard | None = None,
    ) -> Replayer:
        rejects = None
        if bucket:
            prefix = f"replay-rejects/{self._ctx.stack.name}/{source.source_table}/{direction}/"
            rejects = S3Rejects(self._ctx.aws.client("s3"), str(bucket), prefix)
        return Replayer(
            source,
            dynamodb=self._ctx.aws.client("dynamodb"),
            streams=self._ctx.aws.client("dynamodbstreams"),
            checkpoints=self._book.positions(direction, stream=arn, export=export),
            on_checkpoint=self._book.saver(direction, stream=arn, export=export),
            rejects=rejects,
            clock=self._ctx.clock.wall,
            sleep=self._ctx.clock.sleep,
            gap_hint=gap_hint(self._ctx.stack.name, source, direction),
            guard=guard,
        )


def forward_item_map(config: MigrationConfig) -> ItemMap:
    """How a legacy item becomes a new one (the derive rules and both key schemas)."""
    return forward_map(config.derive, config.legacy.key_names, new_table(config).key_names)


def recorded_stream(config: MigrationConfig, record: Record) -> tuple[dict[str, Any], dict[str, Any]]:
    """The legacy stream and the export stage 1 recorded; bad input when it ran offline (no stream)."""
    stream, export = dict(record.stream or {}), dict(record.export or {})
    if not stream.get("arn") or not export.get("arn"):
        raise BadInputError(
            f"No stream of {config.legacy.name} is recorded with the export: stage 1 ran in the offline mode "
            "(or before the online mode existed).",
            hint=f"Finish this migration as it began with `pulumi config set {key('online')} false`, or start "
            "it again online from a new export: `migrate down --stage 1`, then `migrate up`.",
        )
    return stream, export


def gap_hint(stack: str, source: ReplaySource, direction: str) -> str:
    """What to run when a stream no longer holds every write to replay (trimmed, turned off, replaced)."""
    if direction == REVERSE:
        return (
            f"The writes made to {source.source_table} since the flip can no longer all be carried back: "
            "`migrate down --stage 2 --discard-new-writes` goes back without them, or stay at stage 3 (nothing "
            "is lost there)."
        )
    return (
        "Start again from a new export: `migrate down --stage 1`, then `migrate up --stage 2`. If the stream of "
        f"{source.source_table} was turned off outside Pulumi, run `pulumi refresh --stack {stack}` first, so that "
        "stage 1's update turns it on again."
    )


def add_replay(record: Record, what: str, result: ReplayResult) -> Record:
    """The record with ``result`` added to its online report under ``what`` (``catchUp``, ``catchUpBack``)."""
    return record.with_(online=add_replayed(record.online, what, result.to_dict()))


def export_time(export: Mapping[str, Any]) -> float:
    """The recorded export's point in time, in epoch seconds."""
    return datetime.fromisoformat(str(export["time"])).timestamp()


def check_clean(result: ReplayResult, table: str) -> None:
    """A RejectsError when the replay met records it could not apply (they are written aside)."""
    if result.clean:
        return
    keys = "; ".join(
        json.dumps({k: next(iter(v.values())) for k, v in e["key"].items()}) for e in result.reject_keys[:5]
    )
    raise RejectsError(
        f"The replay of {table}'s writes met {result.rejects} record(s) it could not apply "
        f"({result.duplicates} with a duplicate key): {'; '.join(result.reject_reasons)}"
        f"{f' (keys {keys})' if keys else ''}. They are kept under replay-rejects/ in the export bucket.",
        hint="Fix those items (a new write replays them) or the derive rules, then rerun.",
    )


def conflicts_warning(count: int, new: str) -> str:
    """The warning of a replay after the flip that found conflicts."""
    return (
        f"{count} late write(s) were not applied to {new}: their items changed there since the flip (a newer "
        "write). Both images are kept; list them with `migrate conflicts`, resolve each with "
        "`migrate conflicts --apply KEY` or `--drop KEY`. Stage 4 waits until none is open."
    )


def check_catch_up(stack: str, config: MigrationConfig, record: Record) -> None:
    """A :class:`BadInputError` saying why ``migrate catch-up`` has nothing to do now, if it has not."""
    cutover = CutoverState.from_dict(record.cutover)
    problem = None
    if not config.online.online:
        problem = "the stack migrates offline (table-migration:online: false): there is no stream to replay."
        hint = "Nothing to do; the offline mode compares the tables at cutover instead."
    elif record.completed_stage < 1 and not record.export_arn:
        problem = "nothing has been exported yet, and the new table is made at stage 2: there is nothing to replay."
        hint = "Run `migrate up --stage 1` (the export), then `migrate up --stage 2` within a day of it."
    elif record.completed_stage < 2 or not record.stream:
        problem = "the new table is made at stage 2; there is nothing to replay onto yet."
        hint = "Run `migrate up --stage 2` within a day of the export (streams keep records 24 hours)."
    elif record.completed_stage >= 4 or config.stage >= 4:
        problem = "the legacy table has left the stack (stage 4): there is nothing left to replay."
        hint = "Nothing to do."
    elif cutover is not None:
        problem = f"a cutover did not finish ({cutover.describe()})."
        hint = f"Run `{cutover.resume_command}`: it restores the writers and finishes it; then catch up."
    if problem:
        raise BadInputError(f"Stack {stack}: {problem}", hint=hint)

"""The online mode's steps around the stage updates: the legacy table's stream, the replay, ``migrate catch-up``.

Stage 1 keeps or declares the legacy table's stream (:meth:`OnlineSteps.check_stream`, before the
update), waits until it is ENABLED before the export starts (:meth:`wait_stream`) and records it with
the export once the export's time is known to be covered (:meth:`record_stream`). Stage 2 replays the
writes made since the export onto the new table (:meth:`catch_up`), as ``migrate catch-up`` does
between stages. Stage 3's cutover and ``down``'s carry-back are in :mod:`migrator.orchestrate.cutover_steps`; after the
cutover's update, :meth:`legacy_writes` replays (and warns about) writes that still reached the legacy
table. Stream positions are checkpointed in the record store's ``checkpoints`` entry
(:mod:`migrator.core.cutover_state`), at most once a second, so every step resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from migrator.core.config import MigrationConfig, key
from migrator.core.cutover_state import FORWARD, REVERSE, add_replayed, positions, with_positions
from migrator.core.errors import BadInputError, ConfigError, RejectsError, ReplayImpossibleError, StreamGapError
from migrator.core.ports import CHECKPOINTS, Progress, RecordStore, StackPort
from migrator.core.record import Record
from migrator.core.replay_map import forward_map, replay_mode, reverse_map
from migrator.core.stages import CATCH_UP, CHECK_STREAM, LEGACY_WRITES, RECORD_STREAM, WAIT_STREAM
from migrator.core.tablespec import ONLINE_STREAM
from migrator.data.aws import AwsSettings
from migrator.data.rejects import S3Rejects
from migrator.data.stream.reader import StreamInfo, check_covers, streams_client, table_stream, wait_enabled
from migrator.data.stream.replay import Replayer, ReplaySource
from migrator.data.stream.replay_result import ReplayResult

if TYPE_CHECKING:
    from migrator.orchestrate.steps import StageRun

CATCH_UP_TIMEOUT = 600.0  # a catch-up that has not caught up by then stops; the next one goes on from there
LEGACY_WRITES_TIMEOUT = 30.0


class CheckpointBook:
    """The record store's ``checkpoints`` entry of this stack, read once and written whole on every change."""

    def __init__(self, store: Callable[[], RecordStore]) -> None:
        self._store = store
        self._entry: dict[str, Any] | None = None

    @property
    def entry(self) -> dict[str, Any]:
        if self._entry is None:
            self._entry = dict(self._store().load(CHECKPOINTS) or {})
        return self._entry

    def positions(self, direction: str, *, stream: str, export: str | None = None) -> dict[str, str]:
        """The positions saved for ``direction`` on this stream (and export); empty when there are none."""
        return positions(self.entry, direction, stream=stream, export=export)

    def keeper(self, direction: str, *, stream: str, export: str | None = None) -> Callable[[str, str], None]:
        """An ``on_checkpoint`` callback saving ``direction``'s positions (one PutItem per call)."""
        current = self.positions(direction, stream=stream, export=export)

        def keep(shard_id: str, position: str) -> None:
            current[shard_id] = position
            self.save(direction, current, stream=stream, export=export)

        return keep

    def save(self, direction: str, checkpoints: Mapping[str, str], *, stream: str, export: str | None = None) -> None:
        self._entry = with_positions(self.entry, direction, checkpoints, stream=stream, export=export)
        self._store().save(CHECKPOINTS, self._entry)


class OnlineSteps:
    """The online mode's step handlers of one stack; clients are built from ``settings()`` on first use."""

    def __init__(
        self,
        stack: StackPort,
        *,
        settings: Callable[[], AwsSettings],
        records: Callable[[], RecordStore],
        progress: Progress,
        now: Callable[[], str],
        save: Callable[[Record], None],
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.stack = stack
        self._settings = settings
        self.progress, self.now, self.save = progress, now, save
        self.clock, self.sleep = clock, sleep
        self.book = CheckpointBook(records)
        self._clients: dict[str, Any] = {}
        self.catch_up_timeout = CATCH_UP_TIMEOUT
        self.legacy_writes_timeout = LEGACY_WRITES_TIMEOUT

    def settings(self) -> AwsSettings:
        """Where AWS calls go."""
        return self._settings()

    def client(self, service: str) -> Any:
        """One client per service (the Streams client parses GetRecords with orjson)."""
        if service not in self._clients:
            settings = self._settings()
            made = streams_client(settings) if service == "dynamodbstreams" else settings.client(service)
            self._clients[service] = made
        return self._clients[service]

    def handlers(self) -> dict[str, Callable[[StageRun], None]]:
        """Step name → handler, for :class:`migrator.orchestrate.steps.Steps`."""
        from migrator.orchestrate.cutover_steps import Cutover

        cutover = Cutover(self)
        return {
            CHECK_STREAM: self.check_stream,
            WAIT_STREAM: self.wait_stream,
            RECORD_STREAM: self.record_stream,
            CATCH_UP: self.catch_up,
            LEGACY_WRITES: self.legacy_writes,
            **cutover.handlers(),
        }

    # --- stage 1 -------------------------------------------------------------------------------

    def check_stream(self, run: StageRun) -> None:
        """Refuse before the update when the legacy table's stream would change or cannot serve the rules.

        A table that already has a stream keeps it exactly (the config must say which, so the program
        declares it unchanged); one without gets ``NEW_AND_OLD_IMAGES`` from stage 1's update.
        """
        # The cutover must know whom to freeze: say so now, before anything changes, not at stage 3.
        run.config.online.resolve_writers(self.stack.outputs().get("consumerFunctionName"))
        legacy = run.config.legacy
        live = table_stream(self.client("dynamodb"), legacy.name)
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
        replay_mode(view, self._forward_map(run.config), table=legacy.name)

    def wait_stream(self, run: StageRun) -> None:
        """Wait until the legacy table's stream is ENABLED (before the export starts) and record it."""
        info = wait_enabled(
            self.client("dynamodb"), self.client("dynamodbstreams"), run.config.legacy.name, sleep=self.sleep
        )
        run.record = run.record.with_(stream={"arn": info.arn, "viewType": info.view_type, "created": info.created})
        self.save(run.record)

    def record_stream(self, run: StageRun) -> None:
        """Refuse an export older than the stream (writes in between would be in neither); else record the
        stream's ARN with the export. Such an export is forgotten, so the rerun takes a new one."""
        stream, export = dict(run.record.stream or {}), dict(run.record.export or {})
        info = StreamInfo(stream["arn"], run.config.legacy.name, stream["viewType"], "ENABLED", stream.get("created"))
        try:
            check_covers(info, export_time(export))
        except StreamGapError as e:
            run.record = run.record.with_(export_arn=None, export_attempt=run.record.export_attempt + 1, export=None)
            self.save(run.record)
            raise StreamGapError(e.message, hint="Rerun `migrate up --stage 1`: it takes a new export.") from e
        export["stream"] = {"arn": info.arn, "viewType": info.view_type}
        run.record = run.record.with_(export=export)
        self.save(run.record)

    # --- stage 2, and `migrate catch-up` ---------------------------------------------------------

    def catch_up(self, run: StageRun) -> None:
        """A first catch-up after the import check: the writes made since the export, onto the new table."""
        replayer = self.forward(run.config, run.record)
        export = (run.record.export or {}).get("arn")
        if run.record.online.get("replayedExport") != export:
            # Recorded before the first write: from now on the new table no longer equals the export, even
            # if the process dies before the first checkpoint is saved (a rerun must not verify it again).
            run.record = run.record.with_(online={**run.record.online, "replayedExport": export})
            self.save(run.record)
        result = replayer.catch_up(max_lag=run.config.online.catch_up.max_lag_seconds, timeout=self.catch_up_timeout)
        run.record = self.account(run.record, "catchUp", result)
        self.save(run.record)
        self.progress(f"  replayed {result.records - result.skipped} writes, lag {result.lag_seconds:.1f} s")
        check_clean(result, run.config.legacy.name)
        if not result.caught_up:
            self.progress(
                f"  not caught up after {self.catch_up_timeout:.0f} s (lag {result.lag_seconds:.1f} s): "
                "`migrate catch-up` and stage 3 go on from here"
            )

    def replayed_since_import(self, run: StageRun) -> bool:
        """True when a replay of this export has written to the new table (it no longer equals the export)."""
        export = (run.record.export or {}).get("arn")
        return bool(run.config.online.online and export and run.record.online.get("replayedExport") == export)

    def catch_up_now(self, config: MigrationConfig, record: Record, *, max_lag: float, timeout: float) -> Any:
        """``migrate catch-up``: before cutover the legacy table's writes onto the new table, after it the new
        table's onto the legacy one (so going back has little to carry, and its stream never trims what it
        needs). Returns (direction, ReplayResult, record)."""
        direction = REVERSE if record.completed_stage >= 3 else FORWARD
        replayer = self.forward(config, record) if direction == FORWARD else self.reverse(config, record)
        result = replayer.catch_up(max_lag=max_lag, timeout=timeout)
        record = self.account(record, "catchUp" if direction == FORWARD else "catchUpBack", result)
        self.save(record)
        return direction, result, record

    # --- stage 3, after the update ---------------------------------------------------------------

    def legacy_writes(self, run: StageRun) -> None:
        """Replay what reached the legacy table since the writers were unfrozen: a writer that was not frozen."""
        legacy, new = run.config.legacy.name, new_name(run.config)
        result = self.forward(run.config, run.record).drain(
            empty_passes=2,
            poll_seconds=max(0.2, run.config.online.catch_up.quiet_seconds),
            timeout=self.legacy_writes_timeout,
        )
        seen = result.records - result.skipped
        online = dict(run.record.online)
        online["writesAfterUnfreeze"] = int(online.get("writesAfterUnfreeze", 0)) + seen
        run.record = self.account(run.record.with_(online=online), "catchUp", result)
        if seen:
            warning = (
                f"{seen} write(s) reached {legacy} after the writers were unfrozen"
                f"{' (and still come)' if not result.caught_up else ''}: a writer that was not frozen and still "
                f"uses {legacy}. They were replayed onto {new}; list that writer in {key('writers')} (or stop it "
                f"in {key('freezeHook')})."
            )
            run.warnings.append(warning)
            self.progress(f"warning: {warning}")
        check_clean(result, legacy)
        run.record = run.record.with_(cutover=None)  # the cutover and its update are done
        self.save(run.record)

    # --- replayers -------------------------------------------------------------------------------

    def forward(self, config: MigrationConfig, record: Record) -> Replayer:
        """The replay of the legacy table's stream (as stage 1 recorded it) onto the new table, from its checkpoint."""
        stream, export = record.stream or {}, record.export or {}
        if not stream.get("arn") or not export.get("arn"):
            raise BadInputError(
                f"No stream of {config.legacy.name} is recorded with the export: stage 1 ran in the offline mode "
                "(or before the online mode existed).",
                hint=f"Finish this migration as it began with `pulumi config set {key('online')} false`, or start "
                "it again online from a new export: `migrate down --stage 1`, then `migrate up`.",
            )
        arn, export_arn = stream["arn"], export["arn"]
        source = ReplaySource(
            config.legacy.name,
            new_name(config),
            arn,
            stream["viewType"],
            self._forward_map(config),
            export_time(export),
        )
        return self._replayer(source, FORWARD, arn, export_arn, bucket=export.get("bucket"))

    def reverse(self, config: MigrationConfig, record: Record) -> Replayer:
        """The replay of the new table's stream onto the legacy table, from the checkpoint set at the flip.

        :class:`ReplayImpossibleError` when the new items cannot give back the legacy ones, or there is no stream.
        """
        legacy, new = config.legacy, new_name(config)
        item_map = reverse_map(config.derive, legacy.key_names, self._new(config).key_names)
        info = table_stream(self.client("dynamodb"), new)
        if info is None:
            raise ReplayImpossibleError(
                f"Writes made to {new} cannot be carried back: it has no stream.",
                hint="Go back without them (--discard-new-writes), or copy them back with your own tooling.",
            )
        source = ReplaySource(new, legacy.name, info.arn, info.view_type, item_map)
        return self._replayer(source, REVERSE, info.arn, None, bucket=(record.export or {}).get("bucket"))

    def _replayer(self, source: ReplaySource, direction: str, arn: str, export: str | None, *, bucket: Any) -> Replayer:
        rejects = None
        if bucket:
            prefix = f"replay-rejects/{self.stack.name}/{source.source_table}/{direction}/"
            rejects = S3Rejects(self.client("s3"), str(bucket), prefix)
        return Replayer(
            source,
            dynamodb=self.client("dynamodb"),
            streams=self.client("dynamodbstreams"),
            checkpoints=self.book.positions(direction, stream=arn, export=export),
            on_checkpoint=self.book.keeper(direction, stream=arn, export=export),
            rejects=rejects,
            clock=self.clock,
            sleep=self.sleep,
        )

    def _forward_map(self, config: MigrationConfig) -> Any:
        return forward_map(config.derive, config.legacy.key_names, self._new(config).key_names)

    @staticmethod
    def _new(config: MigrationConfig) -> Any:
        assert config.new is not None  # parse_config requires newTable from stage 1
        return config.new

    @staticmethod
    def account(record: Record, what: str, result: ReplayResult) -> Record:
        """The record with ``result`` added to its online report under ``what``."""
        return record.with_(online=add_replayed(record.online, what, result.to_dict()))


def new_name(config: MigrationConfig) -> str:
    """The new table's physical name."""
    assert config.new is not None
    return config.new.name


def export_time(export: Mapping[str, Any]) -> float:
    """The recorded export's point in time, in epoch seconds."""
    return datetime.fromisoformat(str(export["time"])).timestamp()


def check_clean(result: ReplayResult, table: str) -> None:
    """A RejectsError when the replay met records it could not apply (they are written aside)."""
    if result.clean:
        return
    raise RejectsError(
        f"The replay of {table}'s writes met {result.rejects} record(s) it could not apply "
        f"({result.duplicates} with a duplicate key): {'; '.join(result.reject_reasons)}. They are kept under "
        "replay-rejects/ in the export bucket.",
        hint="Fix those items (a new write replays them) or the derive rules, then rerun.",
    )

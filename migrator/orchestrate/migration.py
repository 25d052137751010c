"""The library API and the executor: run the stage plans of :mod:`migrator.core.stages` against one stack.

``Migration(stack).up(stage=3)`` validates the config for each stage, sets ``table-migration:stage``,
previews and guards the update, applies it, runs the stage's data-plane steps and records each one
in the record store (:mod:`migrator.core.ports`; see :mod:`migrator.core.record` for why the record is
kept apart from ``stage``). Every step is safe to rerun; one run at a time holds the stack
(:mod:`migrator.orchestrate.lock`).

The CLI only wraps this; embedders call it directly and get typed results or typed errors.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from migrator.core import stages as st
from migrator.core.adoption import check_adoption
from migrator.core.config import MigrationConfig, key, parse_config, parse_stage
from migrator.core.cutover_state import FORWARD, CutoverState
from migrator.core.errors import BadInputError, ConfigError, GuardError, MigrationError, PulumiError, StackBusyError
from migrator.core.guard import check_preview
from migrator.core.memory_store import MemoryRecordStore
from migrator.core.ports import LOCK, PROGRESS, Progress, RecordStore, StackPort
from migrator.core.preflight import check_config_for_stage
from migrator.core.record import RECORD_KEY, Record
from migrator.core.replay_map import reverse_map
from migrator.core.tablespec import LOAD_WRITE
from migrator.core.urns import check_one_migration, role_of
from migrator.data.aws import AwsSettings
from migrator.data.dataplane import AwsDataPlane, DataPlane
from migrator.data.record_table import DEFAULT_TABLE as DEFAULT_RECORD_TABLE
from migrator.data.record_table import DynamoRecordStore
from migrator.orchestrate.lock import LOCK_KEY, LockOwner, StackLock, remove_stale_lock
from migrator.orchestrate.steps import StageRun, Steps, client_token, export_prefix, online_report, transform_prefix
from migrator.orchestrate.stream_steps import CATCH_UP_TIMEOUT, OnlineSteps
from migrator.report.results import CatchUpResult, DownResult, PlanResult, Status, UnlockResult, UpResult
from migrator.report.spec_view import compare_specs


class Migration:
    """The staged migration of one Pulumi stack (design.md §3), callable from Python.

    ``stack`` is a :class:`~migrator.engine.workspace.StackPort` (the Pulumi workspace, or a test double).
    ``aws`` defaults to the stack config's ``endpoint`` and ``aws:region`` (``AwsSettings.resolve``);
    ``data`` defaults to :class:`~migrator.data.dataplane.AwsDataPlane` on those settings. ``records``
    is where the lock and the progress record live; it defaults to the DynamoDB record table (config
    ``recordTable``, else ``table-migration-records``) on those settings, for ``<project>/<stack>``.
    ``lock_scope`` names where the stack lives (e.g. the work dir) for this machine's file lock.
    """

    def __init__(
        self,
        stack: StackPort,
        *,
        aws: AwsSettings | None = None,
        progress: Progress | None = None,
        clock: ModuleType | Any = time,
        data: DataPlane | None = None,
        lock_scope: str | None = None,
        lock_dir: Path | None = None,
        records: RecordStore | None = None,
    ) -> None:
        self._stack = stack
        self._aws = aws
        self._records = records
        self._progress = progress or (lambda _message: None)
        self._clock = clock
        self._data = data
        self._lock_scope = lock_scope
        self._lock_dir = lock_dir
        self._online = OnlineSteps(
            stack, settings=self._settings, records=self._store, progress=self._progress, now=self._now, save=self._save
        )
        self._steps = Steps(
            stack, data=self._dp, progress=self._progress, now=self._now, save=self._save, online=self._online
        )

    # --- the API ----------------------------------------------------------------------------

    @property
    def records(self) -> RecordStore:
        """The record store of this stack: the lock, the progress record, and room for stream checkpoints
        (``records.save(CHECKPOINTS, {...})``: one small write, cheap enough for once a second)."""
        return self._store()

    def up(self, stage: int, *, allow_drift: bool = False) -> UpResult:
        """Run stages current+1 .. ``stage`` in order; a finished stage is a no-op, an interrupted one resumes."""
        st.check_stage(stage)
        check_config_for_stage(self._stack.get_config(), stage)  # before any stage is applied
        with self._lock(f"up --stage {stage}"):
            config, record = self._read(adopt=True)
            moves = self._plan_up(config, record, stage)
            start, warnings, outputs = record.completed_stage, [], {}
            for move in moves:
                run = self._prepare(move, allow_drift=allow_drift)
                self._progress(f"Stage {move.stage} ({move.name}): {move.declares}.")
                self._unprotect_by_update(run)
                self._steps.run(run, move.before)
                run.outputs = self._apply(run)
                self._steps.run(run, move.after)
                run.record = run.record.completed(move.stage, self._now())
                self._save(run.record)
                warnings += run.warnings
                outputs = run.outputs
                self._progress(f"Stage {move.stage} ({move.name}) done.")
            if not moves:
                outputs = self._stack.outputs()
            final = self._read()[1]
            return UpResult(
                stack=self._stack.name,
                from_stage=start,
                stage=max(start, stage),
                stages_run=tuple(m.stage for m in moves),
                outputs=outputs,
                warnings=tuple(warnings),
                report=final.report if stage == 4 else None,
                freeze=final.online.get("freeze"),
                catch_up=final.online.get("catchUp"),
            )

    def down(self, stage: int, *, discard_new_writes: bool = False) -> DownResult:
        """Go back to ``stage`` where that is safe (3→2, 2→1 before cutover); refuse the rest with the reason.

        Online, 3→2 carries the writes made to the new table since cutover back to the legacy table (a
        freeze window, the other way round). When that is impossible it is refused with the reason, unless
        ``discard_new_writes``: then those writes stay only in the new table, as in the offline mode.
        """
        st.check_stage(stage)
        with self._lock(f"down --stage {stage}"):
            # A stale working copy (stage behind the record) may go back: from where the stack really is.
            config, record = self._read(adopt=True, stale_ok=True)
            current = max(config.stage, record.completed_stage)
            names = {
                "served_traffic": record.served_traffic,
                "legacy_name": config.legacy.name,
                "new_name": config.new.name if config.new else "the new table",
                "carry_back": self._carry_back(config, current, stage, discard=discard_new_writes),
            }
            if record.down_pending == config.stage == stage:
                # An earlier `down` to this stage set it, but its update did not finish: apply it again.
                moves = st.plan_down(stage + 1, stage, **names)
            else:
                moves = st.plan_down(current, stage, **names)
            warnings: list[str] = []
            outputs: dict[str, Any] = {}
            for move in moves:
                run = self._prepare(move)
                if move.warning:
                    self._progress(f"warning: {move.warning}")
                    warnings.append(move.warning)
                self._steps.run(run, move.before)
                # Lowered before the stage changes, so the record is never ahead of the declared stage,
                # whenever a crash comes; put back only if the stage was put back (refused preview).
                before = run.record
                lowered = min(before.completed_stage, move.stage)
                run.record = before.with_(completed_stage=lowered, down_pending=move.stage)
                self._save(run.record)
                try:
                    run.outputs = self._apply(run)
                except MigrationError:
                    if parse_stage(self._stack.get_config().get("stage", "0")) == run.declared:
                        self._save(before)
                    raise
                self._steps.run(run, move.after)
                # The update declares where the writers are now: a freeze window of this move is finished.
                run.record = run.record.with_(down_pending=None, cutover=None)
                self._save(run.record)
                outputs = run.outputs
                warnings += run.warnings
            carried = self._read(stale_ok=True)[1].online.get("carriedBack") if names["carry_back"] else None
            return DownResult(
                stack=self._stack.name,
                from_stage=current,
                stage=stage if moves else current,
                stages_run=tuple(m.stage for m in moves),
                outputs=outputs or self._stack.outputs(),
                warnings=tuple(warnings),
                carried_back=carried if moves else None,
            )

    def catch_up(self, *, max_lag: float | None = None, timeout: float | None = None) -> CatchUpResult:
        """Replay the writes made since the last replay (``migrate catch-up``), usable between stages.

        Before cutover (stage 2, or 3 not yet flipped) the legacy table's stream goes onto the new table;
        after it (stage 3 done) the new table's onto the legacy one, so ``down --stage 2`` has little to carry.
        Streams keep records for 24 hours: run it at least daily while a stage waits.
        """
        with self._lock("catch-up"):
            config, record = self._read()
            self._check_catch_up(config, record)
            lag = max_lag if max_lag is not None else config.online.catch_up.max_lag_seconds
            direction, result, record = self._online.catch_up_now(
                config, record, max_lag=lag, timeout=timeout if timeout is not None else CATCH_UP_TIMEOUT
            )
            assert config.new is not None
            tables = (config.legacy.name, config.new.name)
            source, target = tables if direction == FORWARD else tables[::-1]
            return CatchUpResult(self._stack.name, direction, source, target, result.to_dict())

    def unlock(self, *, confirm: Callable[[str], None]) -> UnlockResult:
        """Remove the lock entry of a run that is gone (``migrate unlock``); see :func:`remove_stale_lock`.

        ``confirm(question)`` is asked before anything is removed, and raises to say no.
        """
        holder = remove_stale_lock(self._stack.name, self._store(), confirm=confirm)
        if holder is not None:
            self._progress(f"Removed the lock of {holder.describe()}.")
        return UnlockResult(self._stack.name, holder.public() if holder else None)

    def status(self) -> Status:
        """Where the stack stands: its config and the record store; changes nothing."""
        config, record = self._read()
        cutover = CutoverState.from_dict(record.cutover)
        owner = LockOwner.from_config(self._store().load(LOCK)) or LockOwner.from_config(
            self._stack.get_config().get(LOCK_KEY)
        )
        return Status(
            stack=self._stack.name,
            stage=config.stage,
            completed_stage=record.completed_stage,
            legacy_table=config.legacy.name,
            new_table=config.new.name if config.new else None,
            active_table=config.new.name if config.new and config.stage >= 3 else config.legacy.name,
            export=record.export,
            export_arn=record.export_arn,
            transform=record.transform,
            import_source=config.import_source.to_config() if config.import_source else None,
            import_check=record.import_check,
            verify=dict(record.verify),
            drift_accepted=record.drift_accepted,
            served_traffic=record.served_traffic,
            stage_times=dict(record.stage_times),
            lock=owner.public() if owner else None,
            next_step=_next_step(config.stage, record.completed_stage, record.down_pending, cutover),
            cutover={**cutover.to_dict(), "summary": cutover.describe()} if cutover else None,
            online={"stream": record.stream, **online_report(record.online)} if record.stream else None,
        )

    def plan(self, stage: int) -> PlanResult:
        """What ``up --stage N`` would do: its moves and steps, and the preview of the update. Changes nothing.

        The preview runs with ``table-migration:stage`` set to the stage it shows on a temporary copy of
        the config; the stack file is never written.
        """
        st.check_stage(stage)
        check_config_for_stage(self._stack.get_config(), stage)  # a config error is bad input, not a note
        with self._lock(f"plan --stage {stage}", writes=False):
            # Read once: each read is a call to the record store and to the Pulumi CLI.
            values, record = self._values()
            config = parse_config(values)
            moves = tuple(self._plan_up(config, record, stage))
            preview = preview_stage = refusal = None
            notes: list[str] = []
            if moves:
                preview_stage, notes = self._previewable(moves, values)
                notes += [
                    f"an interrupted update left {p.physical_name or p.name} pending: `migrate up` adopts it if it "
                    "exists in AWS, else creates it anew"
                    for p in self._stack.pending_creates()
                ]
                if preview_stage is not None:
                    preview, refusal, more = self._preview_at(preview_stage, moves, config, record)
                    notes += more
            return PlanResult(
                stack=self._stack.name,
                stage=config.stage,
                completed_stage=record.completed_stage,
                target=stage,
                moves=moves,
                preview=preview,
                preview_stage=preview_stage,
                guard_refusal=refusal,
                notes=tuple(notes),
                spec=compare_specs(config.legacy, config.new),
            )

    # --- the executor -----------------------------------------------------------------------

    def _lock(self, command: str, *, writes: bool = True) -> StackLock:
        store: RecordStore = self._store()
        if not writes and isinstance(store, DynamoRecordStore) and not store.exists():
            # No run has used the record table yet: a command that changes nothing holds its lock in
            # memory (the file lock still keeps this machine's runs apart) instead of creating the table.
            store = MemoryRecordStore()
        clear = f"run `migrate unlock --stack {self._stack.name}`"
        return StackLock(
            self._stack,
            store,
            command=command,
            scope=self._lock_scope,
            lock_dir=self._lock_dir,
            clock=self._clock,
            progress=self._progress,
            clear_hint=clear,
        )

    def _read(self, *, adopt: bool = False, stale_ok: bool = False) -> tuple[MigrationConfig, Record]:
        """The config and the record; ``adopt`` moves a record that version 0.1 left in stack config."""
        values, record = self._values(adopt=adopt, check=not stale_ok)
        return parse_config(values), record

    def _values(self, *, adopt: bool = False, check: bool = True) -> tuple[dict[str, Any], Record]:
        """The stack config, with ``importSource`` as the record keeps it, and the record.

        The record is the migrator's own account of what it wrote: a working copy that never saw
        stage 1's ``importSource`` (a fresh Deployment checkout) gets it from there.
        """
        values = self._stack.get_config()
        record = self._record(values, parse_stage(values.get("stage", "0")), adopt=adopt, check=check)
        if record.import_source:
            values = {**values, "importSource": dict(record.import_source)}
        return values, record

    def _record(self, values: dict[str, Any], declared: int, *, adopt: bool = False, check: bool = True) -> Record:
        raw = self._store().load(PROGRESS)
        if raw is None and values.get(RECORD_KEY) not in (None, ""):
            # Version 0.1 kept the record in the working copy's stack config: read it once, and (with
            # the lock held) move it to the store, so the next run on any machine finds it there.
            raw = values[RECORD_KEY]
            if adopt:
                record = Record.from_config(raw, declared_stage=declared, check=False)
                self._store().save(PROGRESS, record.to_config())
                self._stack.remove_config([RECORD_KEY])
                self._progress(
                    f"Moved the migration record from stack config {key(RECORD_KEY)} to {self._store().where}."
                )
        return Record.from_config(raw, declared_stage=declared, check=check)

    def _store(self) -> RecordStore:
        if self._records is None:
            values = self._stack.get_config()
            table = str(values.get("recordTable") or DEFAULT_RECORD_TABLE)
            scope = f"{self._stack.project}/{self._stack.name}"
            self._records = DynamoRecordStore(self._settings(), scope=scope, table=table)
        return self._records

    def _prepare(self, move: st.StageMove, *, allow_drift: bool = False) -> StageRun:
        # A `down` may start from a stale working copy; `up` refused one already in _read.
        values, record = self._values(check=move.direction == "up")
        declared = parse_stage(values.get("stage", "0"))
        config = parse_config({**values, "stage": str(move.stage)})
        if not config.region:
            # The program refuses to run without it too; saying so here changes nothing first.
            raise ConfigError(
                "aws:region",
                "is missing; it decides where the tables live.",
                hint="Set it with `pulumi config set aws:region us-east-1` (the tables' region).",
            )
        return StageRun(move, config, record, declared, allow_drift=allow_drift)

    def _apply(self, run: StageRun) -> dict[str, Any]:
        """Set the stage, preview, guard, update; on a refused or failed preview put the stage back."""
        move = run.plan
        self._settle_pending_creates()
        self._check_adoptable(run)
        self._stack.set_config({"stage": str(move.stage), **self._import_source_to_set(move.stage, run.record)})
        try:
            preview = self._stack.preview()
            self._check_program(preview, run.config)
            check_preview(preview, allowed=move.allowed, stage=f"stage {move.stage} ({move.name})")
        except MigrationError:
            if run.declared != move.stage:
                self._stack.set_config({"stage": str(run.declared)})
            raise
        self._progress(preview.summary_text())
        self._steps.run(run, move.at_update)
        return dict(self._stack.up(on_output=self._progress) or {})

    def _import_source_to_set(self, stage: int, record: Record) -> dict[str, Any]:
        """``importSource`` from the record, when the stage's program needs it and the stack config lacks it."""
        if stage < 2 or not record.import_source:
            return {}
        if self._stack.get_config().get("importSource") == dict(record.import_source):
            return {}
        return {"importSource": dict(record.import_source)}

    def _settle_pending_creates(self) -> None:
        """Resolve the creates an interrupted update left pending, before the next preview.

        Stage 2's update creates the new table by ImportTable, which runs for hours; killed meanwhile
        (expired credentials, a CI timeout, Ctrl-C twice), the state keeps a *pending create* that the
        engine neither retries safely nor clears: the next update calls Create again, which fails
        because the table exists (ResourceInUseException), and a non-interactive refresh skips it. So:
        a table that exists in AWS is adopted (the state gets it, as if the create had finished; the
        import check then looks at what it holds), one that does not is cleared and created anew.
        Other kinds of resources are left to the user: only they can tell what was made.
        """
        pending = self._stack.pending_creates()
        if not pending:
            return
        # Only the migration's own tables (the MigratingTable's children, by URN) are adopted or cleared.
        others = [p for p in pending if role_of(p.urn) not in (st.LEGACY, st.NEW) or not p.physical_name]
        if others:
            names = ", ".join(p.urn for p in others)
            raise PulumiError(
                f"An interrupted update of stack {self._stack.name} left pending creates of {names}.",
                hint=f"Check in AWS whether each was made, then run `pulumi refresh --stack {self._stack.name}` in a "
                "terminal (it asks what to do with each) and rerun.",
            )
        adopt = {p.urn: p.physical_name for p in pending if self._dp().deletion_protection(p.physical_name) is not None}
        for p in pending:
            verb = (
                "adopting it"
                if p.urn in adopt
                else "it does not exist: clearing the pending create, it is created anew"
            )
            self._progress(f"  an interrupted update left table {p.physical_name} ({p.name}) pending: {verb}")
        self._stack.resolve_pending_creates(adopt, clear_rest=len(adopt) < len(pending))

    def _unprotect_by_update(self, run: StageRun) -> None:
        """Before an update that drops a table, make sure the state no longer protects it.

        The program unprotects such a table one stage earlier, but a stack brought to that stage by
        version 0.1 still has it protected in its state, and the engine refuses to delete (even to
        preview deleting) a protected resource. Applying the earlier stage's declaration again clears
        the flag with a normal, previewed and guarded update that deletes nothing.
        """
        drops = set(run.plan.drops)
        if run.plan.direction != "up" or not drops:
            return
        held = [r for r in self._stack.resources() if r.type == st.TABLE_TYPE and role_of(r.urn) in drops and r.protect]
        if not held:
            return
        earlier = dataclasses.replace(
            st.plan_up(run.plan.stage - 2, run.plan.stage - 1)[0], before=(), after=(), at_update=()
        )
        names = ", ".join(r.physical_id or r.name for r in held)
        self._progress(
            f"  {names} is still protected in the stack's state (an older version's stage {earlier.stage}): "
            f"applying stage {earlier.stage} again first, which clears it"
        )
        self._apply(StageRun(earlier, run.config, run.record, run.declared))

    # --- helpers ------------------------------------------------------------------------------

    def _previewable(self, moves: tuple[st.StageMove, ...], values: dict[str, Any]) -> tuple[int | None, list[str]]:
        """The furthest planned stage whose config is complete now (stage 2 needs importSource from stage 1)."""
        notes: list[str] = []
        for move in reversed(moves):
            try:
                parse_config({**values, "stage": str(move.stage)})
            except MigrationError as e:
                notes.append(f"stage {move.stage} cannot be previewed yet: {e}")
                continue
            return move.stage, notes[:1]
        return None, notes[:1]

    def _preview_at(
        self, stage: int, moves: tuple[st.StageMove, ...], config: MigrationConfig, record: Record
    ) -> tuple[Any, str | None, list[str]]:
        allowed = [a for m in moves if m.stage <= stage for a in m.allowed]
        try:
            # On a copy of the config: the stack file keeps its stage whatever happens (a kill included).
            preview = self._stack.preview(config={"stage": str(stage), **self._import_source_to_set(stage, record)})
        except StackBusyError:
            raise
        except PulumiError as e:
            return None, None, [f"the preview of stage {stage} failed: {e}"]
        check_one_migration(preview.resources, stack=self._stack.name)
        refusal = None
        try:
            check_adoption(preview, config.legacy, stack=self._stack.name)
            check_preview(preview, allowed=allowed, stage=f"stage {stage}")
        except (GuardError, ConfigError) as e:
            refusal = str(e)
        return preview, refusal, []

    def _plan_up(self, config: MigrationConfig, record: Record, stage: int) -> list[st.StageMove]:
        return st.plan_up(record.completed_stage, stage, **self._up_options(config))

    def _carry_back(self, config: MigrationConfig, current: int, target: int, *, discard: bool) -> bool:
        """Whether ``down`` from ``current`` to ``target`` carries the new table's writes back (online, 3→2).

        Refused with the reason when a reverse replay is impossible, unless ``discard``.
        """
        if not config.online.online or discard or current < 3 or target >= current or config.new is None:
            return False
        reverse_map(config.derive, config.legacy.key_names, config.new.key_names)  # ReplayImpossibleError
        return True

    def _check_catch_up(self, config: MigrationConfig, record: Record) -> None:
        cutover = CutoverState.from_dict(record.cutover)
        problem = None
        if not config.online.online:
            problem = "the stack migrates offline (table-migration:online: false): there is no stream to replay."
            hint = "Nothing to do; the offline mode compares the tables at cutover instead."
        elif record.completed_stage < 2 or not record.stream:
            problem = "the new table is imported at stage 2; there is nothing to replay onto yet."
            hint = "Run `migrate up --stage 2` within a day of the export (streams keep records 24 hours)."
        elif record.completed_stage >= 4 or config.stage >= 4:
            problem = "the legacy table has left the stack (stage 4): there is nothing left to replay."
            hint = "Nothing to do."
        elif cutover is not None:
            problem = f"a cutover did not finish ({cutover.describe()})."
            hint = f"Rerun `migrate up --stage {config.stage}` (or `migrate down --stage 2`), which finishes it first."
        if problem:
            raise BadInputError(f"Stack {self._stack.name}: {problem}", hint=hint)

    def _needs_transform(self, config: MigrationConfig) -> bool:
        return config.needs_transform if config.new is not None else True

    def _up_options(self, config: MigrationConfig) -> dict[str, bool]:
        load_write = config.new is not None and config.new.load == LOAD_WRITE
        return {
            "needs_transform": self._needs_transform(config),
            "load_write": load_write,
            "online": config.online.online,
        }

    def _check_program(self, preview: Any, config: MigrationConfig) -> None:
        """What the preview says of the program itself: one MigratingTable; an adopted table imported unchanged."""
        check_one_migration(preview.resources, stack=self._stack.name)
        check_adoption(preview, config.legacy, stack=self._stack.name)

    def _check_adoptable(self, run: StageRun) -> None:
        """Stage 0 with ``legacyTable.adopt`` imports the live table: it must exist (else bad input, exit 2)."""
        legacy = run.config.legacy
        if run.plan.stage != 0 or not legacy.adopt:
            return
        if self._dp().deletion_protection(legacy.name) is None:
            raise ConfigError(
                key("legacyTable") + ".adopt",
                f"is true, but table {legacy.name} does not exist in {run.config.region}: there is nothing to adopt. "
                "Nothing was changed.",
                hint="Check legacyTable.name and aws:region; to let the stack create the table instead, remove adopt.",
            )

    def _dp(self) -> DataPlane:
        if self._data is None:
            self._data = AwsDataPlane(self._settings(), progress=self._progress)
        return self._data

    def _settings(self) -> AwsSettings:
        if self._aws is None:
            # Stage 0's rules: the region and endpoint are all that is needed here (no importSource yet).
            config = parse_config({**self._stack.get_config(), "stage": "0"})
            self._aws = AwsSettings.resolve(region=config.region, endpoint_url=config.endpoint)
        return self._aws

    def _save(self, record: Record) -> None:
        self._store().save(PROGRESS, record.to_config())

    def _now(self) -> str:
        return datetime.fromtimestamp(self._clock.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _next_step(
    declared: int, completed: int, down_pending: int | None = None, cutover: CutoverState | None = None
) -> str:
    if cutover is not None and cutover.pending_update:
        return f"{cutover.describe()}: rerun `migrate up --stage {declared}` to finish it"
    if cutover is not None:
        return f"an interrupted run left {cutover.describe()}: rerun `migrate up --stage {declared}` (it restores them)"
    if down_pending == declared:
        return f"going back to stage {declared} did not finish: rerun `migrate down --stage {declared}`"
    if completed < 0:
        return "`migrate up --stage 0` brings the stack under the migrator (stage 0 has no steps), then stage 1"
    if completed < declared:
        return f"stage {declared} applied, its steps not finished: rerun `migrate up --stage {declared}`"
    if declared >= 4:
        return "the migration is done"
    return f"`migrate plan --stage {declared + 1}`, then `migrate up --stage {declared + 1}`"


__all__ = [
    "Migration",
    "UpResult",
    "DownResult",
    "Status",
    "PlanResult",
    "export_prefix",
    "transform_prefix",
    "client_token",
]

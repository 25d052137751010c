"""The library API: run the stage moves of :mod:`migrator.core.stages` against one stack.

``Migration(stack).up(stage=3)`` validates the config for each stage, sets ``table-migration:stage``,
previews and guards the update, applies it (:mod:`migrator.orchestrate.executor`), runs the stage's
steps (:mod:`migrator.orchestrate.registry`) and records each one in the record store
(:mod:`migrator.orchestrate.records`). Every step is safe to rerun; one run at a time holds the stack
(:mod:`migrator.orchestrate.lock`).

The CLI only wraps this; embedders call it directly and get typed results or typed errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from migrator.core import stages as st
from migrator.core.config import parse_stage
from migrator.core.errors import MigrationError
from migrator.core.memory_store import MemoryRecordStore
from migrator.core.online_config import check_max_lag
from migrator.core.ports import LOCK, Progress, RecordStore, StackPort
from migrator.core.preflight import check_config_for_stage, check_freeze_hook
from migrator.data.aws import AwsSettings
from migrator.data.dataplane import DataPlane
from migrator.data.record_table import DynamoRecordStore
from migrator.orchestrate.access import AwsAccess, Clock, StackConfig
from migrator.orchestrate.conflict_steps import Resolution
from migrator.orchestrate.context import StepContext
from migrator.orchestrate.executor import Executor
from migrator.orchestrate.live import check_down, check_up, live_writers, record_found
from migrator.orchestrate.lock import LOCK_KEY, LockOwner, StackLock, remove_stale_lock, stale_reason
from migrator.orchestrate.moves import carries_back, moves_down, moves_up
from migrator.orchestrate.records import RecordRepository
from migrator.orchestrate.registry import StepRegistry
from migrator.orchestrate.status import build_status
from migrator.orchestrate.stream_steps import CATCH_UP_TIMEOUT, check_catch_up
from migrator.report.conflicts import ConflictsResult
from migrator.report.model import FinalReport
from migrator.report.results import CatchUpResult, DownResult, PlanResult, Status, UnlockResult, UpResult
from migrator.report.spec_view import compare_specs


class Migration:
    """The staged migration of one Pulumi stack, callable from Python.

    ``stack`` is a :class:`~migrator.core.ports.StackPort` (the Pulumi workspace, or a test double).
    ``aws`` defaults to the stack config's ``endpoint`` and ``aws:region`` (``AwsSettings.resolve``);
    ``data`` defaults to :class:`~migrator.data.dataplane.AwsDataPlane` on those settings. ``records``
    is where the lock and the progress record live; it defaults to the DynamoDB record table (config
    ``recordTable``, else ``table-migration-records``) on those settings, for ``<project>/<stack>``.
    ``lock_scope`` names where the stack lives (the work dir) for this machine's file lock. One config read a command.
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
        self._progress = progress or (lambda _message: None)
        self._clock = clock
        self._lock_scope, self._lock_dir = lock_scope, lock_dir
        self._config = StackConfig(stack)
        aws_access = AwsAccess(self._config, settings=aws, data=data, progress=self._progress)
        self._records = RecordRepository(
            self._config, aws_access, project=stack.project, progress=self._progress, store=records
        )
        self._ctx = StepContext(stack, self._config, self._records, aws_access, self._progress, Clock(clock.time))
        self._steps = StepRegistry(self._ctx)
        self._executor = Executor(self._ctx, self._steps)

    @property
    def records(self) -> RecordStore:
        """The record store of this stack: the lock, the progress record, stream checkpoints (one small write each)."""
        return self._records.store

    def up(self, stage: int, *, allow_drift: bool = False) -> UpResult:
        """Run stages current+1 .. ``stage`` in order; a finished stage is a no-op, an interrupted one resumes."""
        st.check_stage(stage)
        self._config.forget()
        check_config_for_stage(self._config.get_config(), stage, hook=False)  # before any stage is applied
        with self._lock(f"up --stage {stage}"):
            reading = self._records.read(adopt=True)
            if reading.record.cutover is None:  # an interrupted window unfreezes Lambda writers before the hook
                check_freeze_hook(reading.config, stage)
            moves = moves_up(reading.config, reading.record, stage)
            check_up(self._ctx, reading, moves, stage)
            start, warnings, outputs = reading.record.completed_stage, [], {}
            for move in moves:
                run = self._executor.prepare(move, allow_drift=allow_drift)
                self._progress(f"Stage {move.stage} ({move.name}): {move.declares}.")
                self._executor.unprotect_by_update(run)
                self._steps.run(run, move.before)
                run.outputs = self._executor.apply(run)
                self._steps.run(run, move.after)
                run.record = run.record.completed(move.stage, self._ctx.now())
                self._ctx.save(run.record)
                warnings += run.warnings
                outputs = run.outputs
                self._progress(f"Stage {move.stage} ({move.name}) done.")
            if not moves:
                outputs = self._stack.outputs()
            final = self._records.read().record
            return UpResult(
                stack=self._stack.name,
                from_stage=start,
                stage=max(start, stage),
                stages_run=tuple(m.stage for m in moves),
                outputs=outputs,
                warnings=tuple(warnings),
                report=FinalReport.from_dict(final.report) if stage == 4 and final.report else None,
                freeze=final.online.get("freeze"),
                catch_up=final.online.get("catchUp"),
                conflicts=final.online.get("conflicts"),
            )

    def down(self, stage: int, *, discard_new_writes: bool = False, lose_new_table_writes: bool = False) -> DownResult:
        """Go back to ``stage`` where that is safe (3→2, 2→1 before cutover); refuse the rest with the reason.

        Online, 3→2 carries the writes made to the new table since cutover back to the legacy table (a
        freeze window, the other way round). When that is impossible it is refused with the reason, unless
        ``discard_new_writes``: then those writes stay only in the new table, as in the offline mode.
        Dropping the new table (2→1) is refused when it served traffic, by the record or by what the live
        writers and the stack show, and when the record is missing (:mod:`migrator.core.evidence`), unless
        ``lose_new_table_writes``: then it is dropped with every write only it holds.
        """
        st.check_stage(stage)
        self._config.forget()
        with self._lock(f"down --stage {stage}"):
            # A stale working copy (stage behind the record) may go back: from where the stack really is.
            reading = self._records.read(adopt=True, check=False)
            config, record = reading.config, reading.record
            # An earlier `down` to this stage set down_pending; its move did not finish: again.
            again = record.down_pending == config.stage == stage
            current = stage + 1 if again else max(config.stage, record.completed_stage)
            carry = carries_back(config, current, stage, discard=discard_new_writes)
            moves = moves_down(config, record, current, stage, carry=carry, lose=lose_new_table_writes)
            check_down(self._ctx, reading, moves, stage=stage, lose=lose_new_table_writes)
            warnings: list[str] = []
            outputs: dict[str, Any] = {}
            for move in moves:
                outputs = self._go_down(move, warnings)
            carried = self._records.read(check=False).record.online.get("carriedBack") if carry else None
            return DownResult(
                stack=self._stack.name,
                from_stage=current,
                stage=stage if moves else current,
                stages_run=tuple(m.stage for m in moves),
                outputs=outputs or self._stack.outputs(),
                warnings=tuple(warnings),
                carried_back=carried if moves else None,
            )

    def catch_up(
        self,
        *,
        max_lag: float | None = None,
        timeout: float | None = None,
        drop_rejects: tuple[str, ...] = (),
        drop_all_rejects: bool = False,
    ) -> CatchUpResult:
        """Replay the writes made since the last replay (``migrate catch-up``), usable between stages.

        Before cutover (stage 2, or 3 not yet flipped) the legacy table's stream goes onto the new table;
        after it (stage 3 done) the new table's onto the legacy one, so ``down --stage 2`` has little to carry.
        Streams keep records for 24 hours: run it at least daily while a stage waits. Rejects stay pending
        until their items map cleanly or are given up first (``drop_rejects``: legacy keys as JSON; or all).
        """
        asked = check_max_lag(max_lag, option="max_lag")  # bounded as catchUp.maxLagSeconds is
        self._config.forget()
        with self._lock("catch-up"):
            reading = self._records.read()
            config, record = reading.config, reading.record
            check_catch_up(self._stack.name, config, record)
            lag = asked if asked is not None else config.online.catch_up.max_lag_seconds
            wait = timeout if timeout is not None else CATCH_UP_TIMEOUT
            drop = (drop_rejects, drop_all_rejects)
            done = self._steps.stream.catch_up_now(config, record, max_lag=lag, timeout=wait, drop=drop)
            return done.to_result(self._stack.name, config.legacy.key_names)

    def conflicts(self, resolution: Resolution | None = None) -> ConflictsResult:
        """``migrate conflicts``: the late writes not applied since the flip; with ``resolution``, apply or drop some
        (under the stack's lock; each is recorded as it is resolved)."""
        self._config.forget()
        if resolution is None:
            return self._steps.conflicts.listing(self._stack.name, self._records.read())
        with self._lock("conflicts"):
            return self._steps.conflicts.resolve(self._stack.name, self._records.read(), resolution)

    def unlock(self, *, confirm: Callable[[str], None]) -> UnlockResult:
        """Remove the lock entry of a run that is gone (``migrate unlock``); see :func:`remove_stale_lock`.

        ``confirm(question)`` is asked before anything is removed, and raises to say no.
        """
        self._config.forget()
        holder = remove_stale_lock(self._stack.name, self._records.store, confirm=confirm)
        if holder is not None:
            self._progress(f"Removed the lock of {holder.describe()}.")
        return UnlockResult(self._stack.name, holder.public() if holder else None)

    def status(self, *, stale_ok: bool = False) -> Status:
        """Where the stack stands: its config and the record store; changes nothing.

        A stale stack file (its stage behind the record) is refused unless ``stale_ok`` (``down`` asks).
        """
        self._config.forget()
        reading = self._records.read(check=not stale_ok)
        owner = LockOwner.from_config(self._records.store.load(LOCK)) or LockOwner.from_config(
            reading.values.get(LOCK_KEY)
        )
        facts = {"record_found": record_found(self._ctx, reading), "record_where": self._records.store.where}
        writers = live_writers(self._ctx, reading, dict(self._stack.outputs() or {}))
        lock = {**owner.public(), "stale": stale_reason(owner, now=self._clock.time())} if owner else None
        return build_status(self._stack.name, reading, lock, writers=writers, **facts)

    def plan(self, stage: int) -> PlanResult:
        """What ``up --stage N`` would do: its moves and steps, and the preview of the update. Changes nothing.

        The preview runs with ``table-migration:stage`` set to the stage it shows on a temporary copy of
        the config; the stack file is never written.
        """
        st.check_stage(stage)
        self._config.forget()
        check_config_for_stage(self._config.get_config(), stage)  # a config error is bad input, not a note
        with self._lock(f"plan --stage {stage}", writes=False):
            reading = self._records.read()
            config = reading.config
            moves = tuple(moves_up(config, reading.record, stage))
            preview_stage, outcome = self._executor.preview_plan(moves, reading) if moves else (None, None)
            return PlanResult(
                stack=self._stack.name,
                stage=config.stage,
                completed_stage=reading.record.completed_stage,
                target=stage,
                moves=moves,
                preview=outcome.preview if outcome else None,
                preview_stage=preview_stage,
                guard_refusal=outcome.refusal if outcome else None,
                notes=outcome.notes if outcome else (),
                spec=compare_specs(config.legacy, config.new),
            )

    # --- helpers ------------------------------------------------------------------------------

    def _go_down(self, move: st.StageMove, warnings: list[str]) -> dict[str, Any]:
        """Apply one move of ``down``; its warnings are added to ``warnings``; returns the stack's outputs."""
        run = self._executor.prepare(move)
        if move.warning:
            self._progress(f"warning: {move.warning}")
            warnings.append(move.warning)
        self._steps.run(run, move.before)
        # Lowered before the stage changes, so the record is never ahead of the declared stage,
        # whenever a crash comes; put back only if the stage was put back (refused preview).
        before = run.record
        run.record = before.with_(completed_stage=min(before.completed_stage, move.stage), down_pending=move.stage)
        self._ctx.save(run.record)
        try:
            run.outputs = self._executor.apply(run)
        except MigrationError:
            if parse_stage(self._config.get_config().get("stage", "0")) == run.declared:
                self._ctx.save(before)
            raise
        self._steps.run(run, move.after)
        # The update declares where the writers are now: a freeze window of this move is finished.
        run.record = run.record.with_(down_pending=None, cutover=None)
        self._ctx.save(run.record)
        warnings += run.warnings
        return run.outputs

    def _lock(self, command: str, *, writes: bool = True) -> StackLock:
        store = self._records.store
        if not writes and isinstance(store, DynamoRecordStore) and not store.exists():
            # No run has used the record table yet: a command that changes nothing holds its lock in
            # memory (the file lock still keeps this machine's runs apart) instead of creating the table.
            store = MemoryRecordStore()
        return StackLock(
            self._config,
            store,
            command=command,
            scope=self._lock_scope,
            lock_dir=self._lock_dir,
            clock=self._clock,
            progress=self._progress,
            clear_hint=f"run `migrate unlock --stack {self._stack.name}`",
        )

"""The library API and the executor: run the stage plans of :mod:`migrator.core.stages` against one stack.

``Migration(stack).up(stage=3)`` validates the config for each stage, sets ``table-migration:stage``,
previews and guards the update, applies it, runs the stage's data-plane steps and records each one
in ``table-migration:progress`` (see :mod:`migrator.core.record` for why that second key exists). Every
step is safe to rerun; one run at a time holds the stack (:mod:`migrator.engine.lock`).

The CLI only wraps this; embedders call it directly and get typed results or typed errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .core import stages as st
from .core.config import MigrationConfig, parse_config, parse_stage
from .core.errors import ConfigError, MigrationError, PulumiError, StackBusyError
from .core.guard import check_preview, refused_changes
from .core.preflight import check_config_for_stage
from .core.record import RECORD_KEY, Record
from .data.aws import AwsSettings
from .data.dataplane import AwsDataPlane, DataPlane
from .engine.lock import LOCK_KEY, LockOwner, StackLock
from .results import DownResult, Plan, Status, UpResult
from .steps import StageRun, Steps, client_token, export_prefix, transform_prefix

if TYPE_CHECKING:  # the workspace imports pulumi.automation; here only the protocol is needed
    from .engine.workspace import StackPort

Progress = Callable[[str], None]


class Migration:
    """The staged migration of one Pulumi stack (design.md §3), callable from Python.

    ``stack`` is a :class:`~migrator.engine.workspace.StackPort` (the Pulumi workspace, or a test double).
    ``aws`` defaults to the stack config's ``endpoint`` and ``aws:region`` (``AwsSettings.resolve``);
    ``data`` defaults to :class:`~migrator.data.dataplane.AwsDataPlane` on those settings. ``lock_scope``
    names where the stack lives (e.g. the work dir) so two projects' ``dev`` stacks do not share a lock.
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
    ) -> None:
        self._stack = stack
        self._aws = aws
        self._progress = progress or (lambda _message: None)
        self._clock = clock
        self._data = data
        self._lock_scope = lock_scope
        self._lock_dir = lock_dir
        self._steps = Steps(stack, data=self._dp, progress=self._progress, now=self._now, save=self._save)

    # --- the API ----------------------------------------------------------------------------

    def up(self, stage: int, *, allow_drift: bool = False) -> UpResult:
        """Run stages current+1 .. ``stage`` in order; a finished stage is a no-op, an interrupted one resumes."""
        st.check_stage(stage)
        check_config_for_stage(self._stack.get_config(), stage)  # before any stage is applied
        with self._lock(f"up --stage {stage}"):
            config, record = self._read()
            moves = st.plan_up(record.completed_stage, stage, needs_transform=self._needs_transform(config))
            start, warnings, outputs = record.completed_stage, [], {}
            for move in moves:
                run = self._prepare(move, allow_drift=allow_drift)
                self._progress(f"Stage {move.stage} ({move.name}): {move.declares}.")
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
            return UpResult(
                stack=self._stack.name,
                from_stage=start,
                stage=max(start, stage),
                stages_run=tuple(m.stage for m in moves),
                outputs=outputs,
                warnings=tuple(warnings),
                report=self._read()[1].report if stage == 4 else None,
            )

    def down(self, stage: int) -> DownResult:
        """Go back to ``stage`` where that is safe (3→2, 2→1 before cutover); refuse the rest with the reason."""
        st.check_stage(stage)
        with self._lock(f"down --stage {stage}"):
            config, record = self._read()
            names = {
                "served_traffic": record.served_traffic,
                "legacy_name": config.legacy.name,
                "new_name": config.new.name if config.new else "the new table",
            }
            if record.down_pending == config.stage == stage:
                # An earlier `down` to this stage set it, but its update did not finish: apply it again.
                moves = st.plan_down(stage + 1, stage, **names)
            else:
                moves = st.plan_down(config.stage, stage, **names)
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
                run.record = run.record.with_(down_pending=None)
                self._save(run.record)
                outputs = run.outputs
            return DownResult(
                stack=self._stack.name,
                from_stage=config.stage,
                stage=stage if moves else config.stage,
                stages_run=tuple(m.stage for m in moves),
                outputs=outputs or self._stack.outputs(),
                warnings=tuple(warnings),
            )

    def status(self) -> Status:
        """Where the stack stands; reads stack config only, changes nothing."""
        values = self._stack.get_config()
        config = parse_config(values)
        record = Record.from_config(values.get(RECORD_KEY), declared_stage=config.stage)
        owner = LockOwner.from_config(values.get(LOCK_KEY))
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
            lock={k: v for k, v in owner.to_config().items() if k != "token"} if owner else None,
            next_step=_next_step(config.stage, record.completed_stage, record.down_pending),
        )

    def plan(self, stage: int) -> Plan:
        """What ``up --stage N`` would do: its moves and steps, and the preview of the update. Changes nothing.

        The preview needs ``table-migration:stage`` set to the stage it shows; it is put back at once.
        """
        st.check_stage(stage)
        check_config_for_stage(self._stack.get_config(), stage)  # a config error is bad input, not a note
        with self._lock(f"plan --stage {stage}"):
            config, record = self._read()
            moves = tuple(st.plan_up(record.completed_stage, stage, needs_transform=self._needs_transform(config)))
            preview = preview_stage = refusal = None
            notes: list[str] = []
            if moves:
                preview_stage, notes = self._previewable(moves)
                if preview_stage is not None:
                    preview, refusal, more = self._preview_at(preview_stage, config.stage, moves)
                    notes += more
            return Plan(
                stack=self._stack.name,
                stage=config.stage,
                completed_stage=record.completed_stage,
                target=stage,
                moves=moves,
                preview=preview,
                preview_stage=preview_stage,
                guard_refusal=refusal,
                notes=tuple(notes),
            )

    # --- the executor -----------------------------------------------------------------------

    def _lock(self, command: str) -> StackLock:
        return StackLock(
            self._stack,
            command=command,
            scope=self._lock_scope,
            lock_dir=self._lock_dir,
            clock=self._clock,
            progress=self._progress,
        )

    def _read(self) -> tuple[MigrationConfig, Record]:
        values = self._stack.get_config()
        config = parse_config(values)
        return config, Record.from_config(values.get(RECORD_KEY), declared_stage=config.stage)

    def _prepare(self, move: st.StagePlan, *, allow_drift: bool = False) -> StageRun:
        values = self._stack.get_config()
        declared = parse_stage(values.get("stage", "0"))
        config = parse_config({**values, "stage": str(move.stage)})
        if not config.region:
            # The program refuses to run without it too; saying so here changes nothing first.
            raise ConfigError(
                "aws:region",
                "is missing; it decides where the tables live.",
                hint="Set it with `pulumi config set aws:region us-east-1` (the tables' region).",
            )
        record = Record.from_config(values.get(RECORD_KEY), declared_stage=declared)
        return StageRun(move, config, record, declared, allow_drift=allow_drift)

    def _apply(self, run: StageRun) -> dict[str, Any]:
        """Set the stage, preview, guard, update; on a refused or failed preview put the stage back."""
        move = run.plan
        self._stack.set_config({"stage": str(move.stage)})
        try:
            preview = self._stack.preview()
            check_preview(preview, allowed=move.allowed, stage=f"stage {move.stage} ({move.name})")
        except MigrationError:
            if run.declared != move.stage:
                self._stack.set_config({"stage": str(run.declared)})
            raise
        self._progress(preview.summary_text())
        self._steps.run(run, move.at_update)
        return dict(self._stack.up(on_output=self._progress) or {})

    # --- helpers ------------------------------------------------------------------------------

    def _previewable(self, moves: tuple[st.StagePlan, ...]) -> tuple[int | None, list[str]]:
        """The furthest planned stage whose config is complete now (stage 2 needs importSource from stage 1)."""
        values = self._stack.get_config()
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
        self, stage: int, declared: int, moves: tuple[st.StagePlan, ...]
    ) -> tuple[Any, str | None, list[str]]:
        allowed = [a for m in moves if m.stage <= stage for a in m.allowed]
        self._stack.set_config({"stage": str(stage)})
        try:
            preview = self._stack.preview()
        except StackBusyError:
            raise
        except PulumiError as e:
            return None, None, [f"the preview of stage {stage} failed: {e}"]
        finally:
            self._stack.set_config({"stage": str(declared)})
        refused = refused_changes(preview, allowed=allowed)
        refusal = None
        if refused:
            try:
                check_preview(preview, allowed=allowed, stage=f"stage {stage}")
            except MigrationError as e:
                refusal = str(e)
        notes = []
        if stage == 4 and any(m.stage == 4 for m in moves):
            notes.append("`up --stage 4` first unprotects the legacy table in the stack's state, then updates.")
        return preview, refusal, notes

    def _needs_transform(self, config: MigrationConfig) -> bool:
        return config.needs_transform if config.new is not None else True

    def _dp(self) -> DataPlane:
        if self._data is None:
            self._data = AwsDataPlane(self._settings(), progress=self._progress)
        return self._data

    def _settings(self) -> AwsSettings:
        if self._aws is None:
            config = parse_config(self._stack.get_config())
            self._aws = AwsSettings.resolve(region=config.region, endpoint_url=config.endpoint)
        return self._aws

    def _save(self, record: Record) -> None:
        self._stack.set_config({RECORD_KEY: record.to_config()})

    def _now(self) -> str:
        return datetime.fromtimestamp(self._clock.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _next_step(declared: int, completed: int, down_pending: int | None = None) -> str:
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
    "Plan",
    "export_prefix",
    "transform_prefix",
    "client_token",
]

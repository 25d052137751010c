"""The executor: set the stage, preview, guard and apply one stage move, and what must come first.

Before an update it settles the creates an interrupted update left pending and, for a stack a
version 0.1 brought here, clears a protect flag with an update of the stage before; a refused or failed
preview puts the stage back. :meth:`Executor.preview_at` shows an update without writing the stack file.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from migrator.core import stages as st
from migrator.core.adoption import check_adoption
from migrator.core.config import ADOPT_NEW_TABLE, MigrationConfig, key, parse_config
from migrator.core.errors import ConfigError, GuardError, MigrationError, PulumiError, StackBusyError
from migrator.core.guard import Preview, check_preview
from migrator.core.ports import UPDATE, InterruptedChanges
from migrator.core.record import Record
from migrator.core.urns import check_one_migration, parse_urn, role_of
from migrator.orchestrate.context import StageRun, StepContext
from migrator.orchestrate.pending import export_bucket_creates, remove_unused_bucket
from migrator.orchestrate.records import StackReading
from migrator.orchestrate.recovery import UpdateMark, dead_own_update
from migrator.orchestrate.registry import StepRegistry

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class PreviewOutcome:
    """The preview of one stage: the preview (None when it failed), the guard's refusal, notes."""

    preview: Preview | None
    refusal: str | None = None
    notes: tuple[str, ...] = ()


class Executor:
    """Applies stage moves to one stack, running the steps at the update from ``steps``."""

    def __init__(self, context: StepContext, steps: StepRegistry) -> None:
        self._ctx = context
        self._steps = steps

    def prepare(self, move: st.StageMove, *, allow_drift: bool = False) -> StageRun:
        """A run of ``move`` on the config and record as they are now."""
        # A `down` may start from a stale working copy; `up` refused one when it read the record first.
        reading = self._ctx.records.read(check=move.direction == "up")
        config = parse_config({**reading.values, "stage": str(move.stage)})
        if not config.region:
            # The program refuses to run without it too; saying so here changes nothing first.
            raise ConfigError(
                "aws:region",
                "is missing; it decides where the tables live.",
                hint="Set it with `pulumi config set aws:region us-east-1` (the tables' region).",
            )
        return StageRun(move, config, reading.record, reading.declared, allow_drift=allow_drift)

    def apply(self, run: StageRun) -> dict[str, Any]:
        """Set the stage, preview, guard, update; on a refused or failed preview put the stage back."""
        move, stack = run.move, self._ctx.stack
        # Clearing a pending create edits the state, and a refresh writes it: a killed run's lock refuses both.
        earlier = UpdateMark.from_dict(self._ctx.records.store.load(UPDATE))
        adopting = self._cancelling_own_dead_update(earlier, lambda: self._settle_interrupted_update(run))
        self._check_adoptable(run)
        self._ctx.config.set_config(
            {"stage": str(move.stage), **self.import_source_to_set(move.stage, run.record), **adopting}
        )
        if adopting:
            run.config = dataclasses.replace(run.config, adopt_new_table=adopting[ADOPT_NEW_TABLE])
        try:
            preview = stack.preview()
            check_one_migration(preview.resources, stack=stack.name)
            check_adoption(preview, run.config.legacy, stack=stack.name)
            check_preview(preview, allowed=move.allowed, stage=f"stage {move.stage} ({move.name})")
        except MigrationError:
            if run.declared != move.stage:
                self._ctx.config.set_config({"stage": str(run.declared)})
            raise
        self._ctx.progress(preview.summary_text())
        self._steps.run(run, move.at_update)
        outputs = self._update(move.stage, earlier)
        if run.config.adopt_new_table:
            # The table is in the state now; the next update needs no import declared.
            self._ctx.config.remove_config([ADOPT_NEW_TABLE])
        return outputs

    def _update(self, stage: int, earlier: UpdateMark | None) -> dict[str, Any]:
        """``pulumi up``, marked in the record store while it runs; a lock this host's killed run left is cancelled.

        The mark (:class:`UpdateMark`) is how a rerun proves that the backend's lock is its own dead run's
        (:func:`dead_own_update`); a lock anyone else holds is never cancelled. ``earlier``: the mark a previous
        run left, as :meth:`apply` read it before this run wrote any.
        """
        store = self._ctx.records.store
        token = uuid.uuid4().hex
        store.save(UPDATE, {**UpdateMark.here(stage, self._ctx.now()).to_dict(), "token": token})
        try:
            outputs = self._up(earlier)
        except Exception:
            store.delete_if(UPDATE, token=token)
            raise
        # Not in a `finally`: a run interrupted by a signal (BaseException) keeps its mark, as a killed
        # one does; the rule still cancels nothing while its process lives.
        store.delete_if(UPDATE, token=token)
        return outputs

    def _up(self, earlier: UpdateMark | None) -> dict[str, Any]:
        stack = self._ctx.stack
        return self._cancelling_own_dead_update(earlier, lambda: dict(stack.up(on_output=self._ctx.progress) or {}))

    def _cancelling_own_dead_update(self, earlier: UpdateMark | None, action: Callable[[], T]) -> T:
        """``action()``; when the backend's lock refuses it and it is this host's dead run, cancel it and retry.

        A lock held by anyone else is never cancelled: the refusal says why, with the backend's message.
        """
        try:
            return action()
        except StackBusyError as e:
            reason = dead_own_update(earlier, e.holders)
            if reason is not None:
                raise StackBusyError(
                    f"{e.message} It is not cancelled: {reason}.", hint=e.hint, code=e.code, holders=e.holders
                ) from e
            assert earlier is not None  # dead_own_update refuses without a mark
            self._ctx.progress(
                f"  the update a killed run started on this machine (pid {earlier.pid}, stage {earlier.stage}, "
                f"{earlier.started}) still holds the stack's lock: cancelling it (`pulumi cancel`) and going on"
            )
            self._ctx.stack.cancel_update()
            return action()

    def import_source_to_set(self, stage: int, record: Record) -> dict[str, Any]:
        """``importSource`` from the record, when the stage's program needs it and the stack config lacks it."""
        if stage < 2 or not record.import_source:
            return {}
        if self._ctx.config.get_config().get("importSource") == dict(record.import_source):
            return {}
        return {"importSource": dict(record.import_source)}

    def settle_pending_creates(self, run: StageRun) -> dict[str, Any]:
        """Resolve the creates an interrupted update left pending, before the next preview; the config to set.

        Stage 2's update creates the new table by ImportTable, which runs for hours; killed meanwhile
        (expired credentials, a CI timeout, Ctrl-C twice), the state keeps a *pending create* that the
        engine neither retries safely nor clears: the next update calls Create again, which fails
        because the table exists (ResourceInUseException), and ``refresh --import-pending-creates`` only
        retypes the operation, which the snapshot then drops, adopting nothing. So the pending create of
        the new table is removed from the state (a state edit that removes nothing else), and a table
        that exists in AWS is declared for import (config ``adoptNewTable``): the update's preview shows
        the import, the guard checks it, and the import check then looks at what the table holds. One
        that does not exist is created anew. The export bucket's pending creates (stage 1) are settled by
        :mod:`migrator.orchestrate.pending`. Other pending creates are left to the user, who alone can
        tell what was made; the message says how to keep them.
        """
        stack = self._ctx.stack
        pending = stack.pending_creates()
        if not pending:
            return {}
        new = run.config.new
        ours = [p for p in pending if new is not None and role_of(p.urn) == st.NEW and p.physical_name == new.name]
        bucket = export_bucket_creates(pending)
        others = [p for p in pending if p not in ours and p not in bucket]
        if others:
            names = ", ".join(f"{p.physical_name or p.name} ({p.urn})" for p in others)
            raise PulumiError(
                f"An interrupted update of stack {stack.name} left pending creates of {names}. Nothing was changed.",
                hint="Check in AWS whether each was made, then run `pulumi refresh --stack "
                f"{stack.name} --clear-pending-creates` (it drops them from the state, never from AWS), declare "
                "each that was made with the `import` resource option (its id) and rerun.",
            )
        if bucket:
            # The state edit first: it needs the backend's lock, so a live update's bucket is never touched.
            stack.clear_pending_creates([p.urn for p in bucket])
        for create in bucket:
            remove_unused_bucket(self._ctx.aws.client("s3"), create, stack.name, self._ctx.progress)
        if not ours:
            return {}
        exists = self._ctx.aws.data_plane().deletion_protection(ours[0].physical_name) is not None
        verb = (
            "adopting it by an import"
            if exists
            else "it does not exist: clearing the pending create, it is created anew"
        )
        self._ctx.progress(f"  an interrupted update left table {ours[0].physical_name} pending: {verb}")
        stack.clear_pending_creates([p.urn for p in ours])
        return {ADOPT_NEW_TABLE: ours[0].physical_name} if exists else {}

    def _settle_interrupted_update(self, run: StageRun) -> dict[str, Any]:
        """What a killed update left: its pending creates settled, what it was changing re-read; config to set.

        The URNs being changed are read before the state edit that clears pending creates, so what
        that edit keeps of the other pending operations does not matter.
        """
        stack = self._ctx.stack
        # The engine double models no interrupted update or delete, and has no refresh.
        changing = stack.interrupted_changes() if isinstance(stack, InterruptedChanges) else []
        adopting = self.settle_pending_creates(run)
        if changing:
            names = ", ".join(p.name if (p := parse_urn(urn)) else urn for urn in changing)
            self._ctx.progress(f"  an interrupted update was changing {names}: re-reading it from AWS")
            stack.refresh_resources(changing)  # type: ignore[attr-defined]
        return adopting

    def unprotect_by_update(self, run: StageRun) -> None:
        """Before an update that drops a table, make sure the state no longer protects it.

        The program unprotects such a table one stage earlier, but a stack brought to that stage by
        version 0.1 still has it protected in its state, and the engine refuses to delete (even to
        preview deleting) a protected resource. Applying the earlier stage's declaration again clears
        the flag with a normal, previewed and guarded update that deletes nothing.
        """
        drops = set(run.move.drops)
        if run.move.direction != "up" or not drops:
            return
        resources = self._ctx.stack.resources()
        held = [r for r in resources if r.type == st.TABLE_TYPE and role_of(r.urn) in drops and r.protect]
        if not held:
            return
        earlier = dataclasses.replace(
            st.plan_up(run.move.stage - 2, run.move.stage - 1)[0], before=(), after=(), at_update=()
        )
        names = ", ".join(r.physical_id or r.name for r in held)
        self._ctx.progress(
            f"  {names} is still protected in the stack's state (an older version's stage {earlier.stage}): "
            f"applying stage {earlier.stage} again first, which clears it"
        )
        self.apply(StageRun(earlier, run.config, run.record, run.declared))

    def preview_plan(self, moves: tuple[st.StageMove, ...], reading: StackReading) -> tuple[int | None, PreviewOutcome]:
        """The preview of the furthest planned stage whose config is complete now; notes say what is not."""
        stage, notes = _previewable(moves, reading.values)
        notes += [
            f"an interrupted update left {p.physical_name or p.name} pending: `migrate up` adopts the new table "
            "if it exists in AWS (else creates it anew) and names what to do with anything else"
            for p in self._ctx.stack.pending_creates()
        ]
        if stage is None:
            return None, PreviewOutcome(None, notes=tuple(notes))
        outcome = self.preview_at(stage, moves, reading.config, reading.record)
        return stage, dataclasses.replace(outcome, notes=(*notes, *outcome.notes))

    def preview_at(
        self, stage: int, moves: tuple[st.StageMove, ...], config: MigrationConfig, record: Record
    ) -> PreviewOutcome:
        """Preview ``stage`` on a copy of the config (the stack file keeps its stage, a kill included), guarded."""
        stack = self._ctx.stack
        allowed = [a for m in moves if m.stage <= stage for a in m.allowed]
        try:
            preview = stack.preview(config={"stage": str(stage), **self.import_source_to_set(stage, record)})
        except StackBusyError:
            raise
        except PulumiError as e:
            return PreviewOutcome(None, notes=(f"the preview of stage {stage} failed: {e}",))
        check_one_migration(preview.resources, stack=stack.name)
        refusal = None
        try:
            check_adoption(preview, config.legacy, stack=stack.name)
            check_preview(preview, allowed=allowed, stage=f"stage {stage}")
        except (GuardError, ConfigError) as e:
            refusal = str(e)
        return PreviewOutcome(preview, refusal)

    def _check_adoptable(self, run: StageRun) -> None:
        """Stage 0 with ``legacyTable.adopt`` imports the live table: it must exist (else bad input, exit 2)."""
        legacy = run.config.legacy
        if run.move.stage != 0 or not legacy.adopt:
            return
        if self._ctx.aws.data_plane().deletion_protection(legacy.name) is None:
            raise ConfigError(
                key("legacyTable") + ".adopt",
                f"is true, but table {legacy.name} does not exist in {run.config.region}: there is nothing to adopt. "
                "Nothing was changed.",
                hint="Check legacyTable.name and aws:region; to let the stack create the table instead, remove adopt.",
            )


def _previewable(moves: tuple[st.StageMove, ...], values: dict[str, Any]) -> tuple[int | None, list[str]]:
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

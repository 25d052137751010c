"""Late-write conflicts: stage 4's check, and ``migrate conflicts`` (list them, apply or drop each).

A conflict (:mod:`migrator.core.conflicts`) is a write that reached the legacy table after the flip
onto an item the new table changed since: it was not applied. Stage 3 is recorded all the same (the
writers stay on the new table; going back would be worse), but stage 4 first replays whatever still
reached the legacy table, then refuses while any conflict is open: once the legacy table leaves the
stack, the late image is only in the conflict's file. ``--apply`` writes the late image onto the new
table (only if the item is still the one the conflict shows), ``--drop`` keeps the new table's item;
each resolution is written into the conflict's file and logged in the record.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from migrator.core.config import MigrationConfig
from migrator.core.conflicts import APPLIED, DROPPED, Conflict, condition_on, conflict_id
from migrator.core.errors import BadInputError, DataError, MigrationError, StreamGapError
from migrator.core.record import Record
from migrator.core.stages import CHECK_CONFLICTS
from migrator.data.aws import aws_errors
from migrator.data.stream.conflict_store import ConflictStore
from migrator.data.wire import from_wire, to_wire
from migrator.orchestrate.context import StageRun, StepContext, new_table
from migrator.orchestrate.late_writes import conflict_store, open_conflicts, with_conflicts
from migrator.orchestrate.records import StackReading
from migrator.orchestrate.stream_steps import LEGACY_WRITES_TIMEOUT, StreamSteps, check_clean, conflicts_warning
from migrator.report.conflicts import ConflictsResult


@dataclass(frozen=True)
class Resolution:
    """What to do with conflicts: ``action`` (``applied`` or ``dropped``) for ``keys`` (ids or JSON keys) or all."""

    action: str
    keys: tuple[str, ...] = ()
    every: bool = False


class ConflictSteps:
    """Stage 4's check of late-write conflicts, and their resolution (``migrate conflicts``)."""

    def __init__(self, context: StepContext, stream: StreamSteps) -> None:
        self._ctx = context
        self._stream = stream

    def handlers(self) -> dict[str, Callable[[StageRun], None]]:
        """Step name → handler."""
        return {CHECK_CONFLICTS: self.check}

    def check(self, run: StageRun) -> None:
        """Before stage 4: replay late writes since stage 3 (guarded), then refuse while a conflict is open."""
        config, new = run.config, new_table(run.config).name
        if run.record.online.get("flip"):
            self._late_writes_again(run)
            run.record = with_conflicts(run.record, conflict_store(self._ctx, config, run.record))
            self._ctx.save(run.record)
        if open_conflicts(run.record):
            summary = run.record.online["conflicts"]
            keys = ", ".join(_key_text(k) for k in summary.get("keys") or [])
            raise DataError(
                f"{summary['open']} late write(s) to {config.legacy.name} conflict with newer writes on {new} "
                f"(e.g. {keys}); they are kept in {summary.get('location')}. Stage 4 would leave the legacy table "
                "behind with them.",
                hint="List them with `migrate conflicts`; resolve each with `migrate conflicts --apply KEY` (write "
                "the late image) or `--drop KEY` (keep the new table's item), then rerun `migrate up --stage 4`.",
            )

    def _late_writes_again(self, run: StageRun) -> None:
        """What reached the legacy table since stage 3's step, replayed onto items unchanged since the flip."""
        config = run.config
        try:
            result = self._stream.forward_replayer(config, run.record, after_flip=True).drain(
                empty_passes=2, poll_seconds=0.2, timeout=LEGACY_WRITES_TIMEOUT
            )
        except StreamGapError as e:  # stage 3 is more than a day old: what is left of the stream is not whole
            warning = f"late writes to {config.legacy.name} could not be checked again: {e.message}"
            run.warnings.append(warning)
            self._ctx.progress(f"warning: {warning}")
            return
        if result.conflicts:
            self._ctx.progress(f"warning: {conflicts_warning(result.conflicts, new_table(config).name)}")
        check_clean(result, config.legacy.name)

    # --- migrate conflicts -----------------------------------------------------------------------

    def store(self, config: MigrationConfig, record: Record) -> ConflictStore:
        """Where this stack's conflicts are kept."""
        return conflict_store(self._ctx, config, record)

    def listing(self, stack: str, reading: StackReading) -> ConflictsResult:
        """Every conflict of the stack (``migrate conflicts`` without options)."""
        store = self.store(reading.config, reading.record)
        return ConflictsResult(stack, store.location, tuple(store.all()))

    def resolve(self, stack: str, reading: StackReading, resolution: Resolution) -> ConflictsResult:
        """Apply or drop the named open conflicts (or all); each is recorded as it is resolved."""
        config, record = reading.config, reading.record
        store = self.store(config, record)
        chosen = _choose(store.all(), resolution)
        done = []
        for conflict in chosen:
            if resolution.action == APPLIED:
                self._apply(config, store, conflict)
            resolved = conflict.resolved(resolution.action, self._ctx.now())
            store.put(resolved)
            entry = {"id": resolved.id, "key": dict(resolved.key), "action": resolution.action}
            entry["at"] = resolved.resolved_at
            record = with_conflicts(record, store, logged=[entry])
            self._ctx.save(record)
            done.append(resolved)
        return ConflictsResult(stack, store.location, tuple(store.all()), tuple(done))

    def _apply(self, config: MigrationConfig, store: ConflictStore, conflict: Conflict) -> None:
        """Write the late image (or delete) onto the new table, only if its item is still the one the conflict shows."""
        new = new_table(config)
        key = {name: _typed(conflict, name) for name in new.key_names}
        condition = condition_on(conflict.current, conflict.late, new.key_names).kwargs()
        if "ExpressionAttributeValues" in condition:
            condition["ExpressionAttributeValues"] = to_wire(condition["ExpressionAttributeValues"])
        dynamodb = self._ctx.aws.client("dynamodb")
        try:
            with aws_errors(f"write to table {new.name}", what=f"table {new.name}"):
                if conflict.late is not None:
                    dynamodb.put_item(TableName=new.name, Item=to_wire(conflict.late), **condition)
                else:
                    dynamodb.delete_item(TableName=new.name, Key=to_wire(key), **condition)
        except MigrationError as e:
            if e.code != "ConditionalCheckFailedException":
                raise
            got = dynamodb.get_item(TableName=new.name, Key=to_wire(key), ConsistentRead=True).get("Item")
            store.put(replace(conflict, current=from_wire(got) if got else None))
            raise DataError(
                f"The item {_key_text(conflict.key)} of {new.name} changed again since the conflict was found; "
                "nothing was written.",
                hint="Look at it again with `migrate conflicts` (it shows the item as it is now), then decide again.",
            ) from e


def _typed(conflict: Conflict, name: str) -> dict[str, Any]:
    for image in (conflict.late, conflict.current):
        if image and name in image:
            return dict(image[name])
    raise DataError(f"The conflict {conflict.id} holds no image with key attribute {name}.")


def _key_text(key: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in dict(key).items())


def _choose(conflicts: Sequence[Conflict], resolution: Resolution) -> list[Conflict]:
    """The open conflicts ``resolution`` names; a :class:`BadInputError` for a name that is none of them."""
    still = [c for c in conflicts if c.open]
    if resolution.every:
        return still
    by_id = {c.id: c for c in conflicts}
    chosen = []
    for name in resolution.keys:
        conflict = by_id.get(_as_id(name))
        if conflict is None:
            raise BadInputError(
                f"No conflict has the key {name}. Nothing was changed.",
                hint='Name it as `migrate conflicts` lists it: its id, or its key as JSON (\'{"UUID": "…"}\').',
            )
        if not conflict.open:
            raise BadInputError(
                f"The conflict on {_key_text(conflict.key)} was already resolved ({conflict.status} at "
                f"{conflict.resolved_at}). Nothing was changed.",
                hint="`migrate conflicts` lists the open ones.",
            )
        chosen.append(conflict)
    return chosen


def _as_id(name: str) -> str:
    """A conflict's id from what the user typed: the id itself, or the key as JSON."""
    text = name.strip()
    if not text.startswith("{"):
        return text
    try:
        key = json.loads(text)
    except ValueError:
        raise BadInputError(f"{name} is not JSON.", hint='Give the key as JSON, e.g. \'{"UUID": "…"}\'.') from None
    if not isinstance(key, dict):
        raise BadInputError(f"{name} is not a key.", hint='Give the key as JSON, e.g. \'{"UUID": "…"}\'.')
    return conflict_id({str(k): str(v) for k, v in key.items()})


__all__ = ["APPLIED", "DROPPED", "ConflictSteps", "Resolution"]

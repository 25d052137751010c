"""The stage table (README "Stages") and the moves between stages. Pure: no boto3, no Pulumi.

Each stage says what the stack declares, which migrator steps run before and after its update,
and which destructive table changes its preview may show (as guard :class:`~migrator.core.guard.AllowedChange`s
for the migration's tables, found by their URN as children of the ``MigratingTable``: :mod:`migrator.core.urns`).
``plan_up``/``plan_down`` turn "from here to stage N" into the list of stage moves to run, or refuse
with a :class:`StageError` that says why and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from migrator.core.config import STAGE_NAMES, STAGES
from migrator.core.errors import StageError
from migrator.core.guard import TABLE_TYPE, AllowedChange
from migrator.core.urns import (
    LEGACY as LEGACY,  # the role of the legacy table: the MigratingTable's child <name>-legacy
)
from migrator.core.urns import NEW as NEW  # the role of the new table: <name>-new

# Steps the executor knows; the stage table below only names them.
VERIFY_LIVE = "verify-live"
MARK_TRAFFIC = "mark-traffic"
EXPORT = "export"
TRANSFORM = "transform"
RECORD_IMPORT_SOURCE = "record-import-source"
CHECK_IMPORT = "check-import"
LOAD = "load"  # in place of CHECK_IMPORT when the new table is loaded by writing (newTable.load: write)
VERIFY_EXPORT = "verify-export"
CHECK_RETAINED = "check-retained"
REPORT = "report"
FORGET_IMPORT = "forget-import"
# Online mode (table-migration:online, the default): the legacy table's stream, the replay, the freeze.
CHECK_STREAM = "check-stream"
WAIT_STREAM = "wait-stream"
RECORD_STREAM = "record-stream"
CATCH_UP = "catch-up"
CUTOVER = "cutover"
LEGACY_WRITES = "legacy-writes"
CARRY_BACK = "carry-back"
CHECK_CONFLICTS = "check-conflicts"

STEP_TEXT = {
    "preview": "preview the update; refuse if a table would be deleted or replaced other than planned",
    "update": "Pulumi update",
    VERIFY_LIVE: "verify the live legacy table against the new one (writes after the export are drift)",
    MARK_TRAFFIC: "record that the new table serves traffic from now on",
    EXPORT: "export the legacy table to S3 (point-in-time; resumes a started export) and wait",
    TRANSFORM: "rewrite the export for the new key schema (derive rules)",
    RECORD_IMPORT_SOURCE: "record importSource in stack config",
    CHECK_IMPORT: "check the import (COMPLETED, no errors, every item)",
    LOAD: "write the export into the new table (BatchWriteItem, resumable), then count its items",
    VERIFY_EXPORT: "verify the new table against the export, item by item",
    CHECK_RETAINED: "check that the legacy table is still in AWS with deletion protection on",
    REPORT: "write the final report",
    FORGET_IMPORT: "forget the import; the next `up --stage 2` transforms the export again and imports it",
    CHECK_STREAM: "check the legacy table's stream: an existing one is kept as it is, and must serve the derive rules",
    WAIT_STREAM: "wait until the legacy table's stream is ENABLED (the export starts only then)",
    RECORD_STREAM: "check the stream started before the export's time; record its ARN with the export",
    CATCH_UP: "replay the legacy table's writes since the export onto the new table (checkpointed)",
    CUTOVER: "catch up, verify while writes flow, freeze the writers, drain, re-check, flip them to the new table, "
    "unfreeze",
    LEGACY_WRITES: "replay writes that reached the legacy table after the writers were unfrozen (a warning)",
    CHECK_CONFLICTS: "replay what reached the legacy table since stage 3 onto items unchanged since the flip; refuse "
    "while a late write's conflict is open (`migrate conflicts`)",
    CARRY_BACK: "freeze the writers, replay the new table's writes since cutover onto the legacy table, flip them "
    "back, unfreeze",
}

# The online mode's steps, per stage, where they differ from the stage table's (offline) ones.
ONLINE_STEPS: dict[int, dict[str, tuple[str, ...]]] = {
    1: {"before": (CHECK_STREAM,), "after": (WAIT_STREAM, EXPORT, RECORD_STREAM, TRANSFORM, RECORD_IMPORT_SOURCE)},
    2: {"after": (CHECK_IMPORT, VERIFY_EXPORT, CATCH_UP)},
    3: {"before": (CUTOVER,), "after": (LEGACY_WRITES,)},
    4: {"before": (CHECK_CONFLICTS,)},
}


@dataclass(frozen=True)
class Stage:
    """One row of the stage table."""

    number: int
    name: str
    declares: str
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    allowed: tuple[AllowedChange, ...] = ()
    at_update: tuple[str, ...] = ()  # after the preview passed the guard, right before the update


STAGE_TABLE: tuple[Stage, ...] = (
    Stage(0, "legacy", "the legacy table; the consumer reads and writes it"),
    Stage(
        1,
        "export",
        "+ point-in-time recovery on the legacy table; + the export bucket",
        after=(EXPORT, TRANSFORM, RECORD_IMPORT_SOURCE),
    ),
    Stage(
        2,
        "dual",
        "+ the new table, created by an import from importSource (not protected: a copy until cutover)",
        after=(CHECK_IMPORT, VERIFY_EXPORT),
    ),
    Stage(
        3,
        "cutover",
        "the consumer's TABLE_NAME moves to the new table (its IAM grant covers both tables from stage 2 until 4); "
        "the legacy table is no longer protected (retained, deletion protection on)",
        before=(VERIFY_LIVE,),
        at_update=(MARK_TRAFFIC,),
    ),
    Stage(
        4,
        "retire",
        "the legacy table leaves the stack (kept in AWS, deletion protection on)",
        after=(CHECK_RETAINED, REPORT),
        # Only a retain: the legacy table leaves the stack and stays in AWS; a real delete is refused.
        allowed=(AllowedChange(TABLE_TYPE, LEGACY, "retain"),),
    ),
)
assert tuple(s.name for s in STAGE_TABLE) == STAGE_NAMES
# Stage 2's declaration with ``newTable.load: write``: no import makes the table.
LOAD_WRITE_DECLARES = (
    "+ the new table, created empty and filled by writing the export into it (newTable.load: write; "
    "not protected: a copy until cutover)"
)


@dataclass(frozen=True)
class StageMove:
    """One move: apply ``stage``'s declaration (``direction`` up or down) with these steps around the update."""

    stage: int
    name: str
    direction: str
    declares: str
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    allowed: tuple[AllowedChange, ...] = ()
    warning: str | None = None
    from_stage: int | None = None
    drops: tuple[str, ...] = field(default=())  # logical names of tables this update drops from the stack
    at_update: tuple[str, ...] = ()  # run once the preview passed the guard, right before the update

    @property
    def steps(self) -> tuple[str, ...]:
        return (*self.before, "preview", *self.at_update, "update", *self.after)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "name": self.name,
            "direction": self.direction,
            "from": self.from_stage,
            "declares": self.declares,
            "steps": [{"step": s, "text": STEP_TEXT.get(s, s)} for s in self.steps],
            "allowedTableChanges": [{"table": a.role, "op": a.op} for a in self.allowed],
            "warning": self.warning,
        }


def check_stage(stage: int) -> int:
    """``stage`` if it is 0..4; else :class:`StageError`."""
    if isinstance(stage, bool) or not isinstance(stage, int) or stage not in STAGES:
        raise StageError(
            f"{stage!r} is not a stage.",
            hint="Stages are 0 legacy, 1 export, 2 dual, 3 cutover, 4 retire.",
        )
    return stage


def plan_up(
    current_completed: int,
    target: int,
    *,
    needs_transform: bool = True,
    load_write: bool = False,
    online: bool = False,
) -> list[StageMove]:
    """The stages ``current_completed + 1 .. target``, in order; empty when ``target`` is already done.

    ``current_completed`` is the last stage whose steps finished (-1: none yet, not even stage 0's update).
    ``load_write``: the new table is created empty and loaded by writing, so stage 2 loads it instead of
    checking an import. ``online`` gives the online mode's steps (:data:`ONLINE_STEPS`: stream, replay,
    freeze) in place of the stage table's write-stop ones. Going backwards is refused: that is
    ``migrate down``.
    """
    check_stage(target)
    if target < current_completed:
        raise StageError(
            f"Stage {target} is behind the stack, which is at stage {current_completed}; `up` only goes forward.",
            hint=f"To go back, use `migrate down --stage {target}` (only 3→2 and 2→1 are possible).",
        )
    plans = []
    for row in STAGE_TABLE[current_completed + 1 : target + 1]:
        steps = ONLINE_STEPS.get(row.number, {}) if online else {}
        before = steps.get("before", row.before)
        after = tuple(s for s in steps.get("after", row.after) if needs_transform or s != TRANSFORM)
        declares = row.declares
        if load_write:
            after = tuple(LOAD if s == CHECK_IMPORT else s for s in after)
            declares = LOAD_WRITE_DECLARES if row.number == 2 else declares
        drops = (LEGACY,) if row.number == 4 else ()
        plans.append(
            StageMove(
                row.number,
                row.name,
                "up",
                declares,
                before,
                after,
                row.allowed,
                from_stage=row.number - 1 if row.number else None,
                drops=drops,
                at_update=row.at_update,
            )
        )
    return plans


def plan_down(
    current: int,
    target: int,
    *,
    served_traffic: bool,
    legacy_name: str = "the legacy table",
    new_name: str = "the new table",
    carry_back: bool = False,
) -> list[StageMove]:
    """The moves from the declared stage ``current`` back to ``target``, one stage at a time.

    Only 3→2 and 2→1 (when the new table never served traffic) are possible; every other move is
    refused with the reason, before anything runs. 3→2 with ``carry_back`` (online mode) carries the new
    table's writes since cutover back to the legacy table first; without it, it warns they stay behind.
    """
    check_stage(target)
    check_stage(current)
    if target > current:
        raise StageError(
            f"Stage {target} is ahead of the stack, which is at stage {current}; `down` only goes back.",
            hint=f"To go forward, use `migrate up --stage {target}`.",
        )
    plans = []
    for stage in range(current, target, -1):
        move = _down_move(stage, served_traffic=served_traffic, legacy_name=legacy_name, new_name=new_name)
        if carry_back and stage == 3:
            move = replace(move, before=(CARRY_BACK,), warning=None)
        plans.append(move)
    return plans


def _down_move(stage: int, *, served_traffic: bool, legacy_name: str, new_name: str) -> StageMove:
    if stage == 4:
        raise StageError(
            f"Cannot go back from stage 4: {legacy_name} has left the stack and may have diverged from {new_name} "
            "since cutover.",
            hint=f"{legacy_name} is still in AWS with deletion protection on; to use it again, start a new migration "
            "towards it (or `pulumi import` it into a stack).",
        )
    if stage == 3:
        row = STAGE_TABLE[2]
        return StageMove(
            2,
            row.name,
            "down",
            row.declares,
            from_stage=3,
            warning=f"Writes made to {new_name} since cutover are not in {legacy_name}; the consumer goes back "
            f"to {legacy_name} without them.",
        )
    if stage == 2:
        if served_traffic:
            raise StageError(
                f"Cannot go back from stage 2 to 1: {new_name} has served traffic (stage 3 was applied), and "
                "dropping it would lose those writes.",
                hint="Stay at stage 2, or go forward with `migrate up --stage 3`.",
            )
        row = STAGE_TABLE[1]
        return StageMove(
            1,
            row.name,
            "down",
            row.declares,
            after=(FORGET_IMPORT,),
            allowed=(AllowedChange(TABLE_TYPE, NEW, "delete"),),
            from_stage=2,
            drops=(NEW,),
        )
    # Stage 1 (plan_down never moves from stage 0: its target is a stage, so 0 at the lowest).
    raise StageError(
        "Cannot go back from stage 1 to 0: stage 1 only added point-in-time recovery and the export bucket, "
        "which holds the export; removing them undoes nothing and would orphan the exported data.",
        hint="Stay at stage 1; `migrate up` continues from there.",
    )


def stage_name(stage: int) -> str:
    """The stage's name (``legacy``, ``export``…), or ``none`` for -1."""
    return STAGE_NAMES[stage] if stage in STAGES else "none"

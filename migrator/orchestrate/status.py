"""``migrate status``: where a stack stands, built from one reading of its config and record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migrator.core.cutover_state import CutoverState
from migrator.core.evidence import LiveWriter
from migrator.core.record import Record
from migrator.orchestrate.late_writes import open_conflicts
from migrator.orchestrate.records import StackReading
from migrator.report.model import (
    ExportSummary,
    ImportCheckSummary,
    OnlineReport,
    TransformSummary,
    VerifySummary,
    verifications,
)
from migrator.report.results import Status


def build_status(
    stack: str,
    reading: StackReading,
    lock: Mapping[str, Any] | None,
    *,
    record_found: bool = True,
    record_where: str | None = None,
    writers: tuple[LiveWriter, ...] = (),
) -> Status:
    """The :class:`Status` of ``stack``; ``lock`` is what may be shown of the lock's holder; ``record_found``,
    ``record_where`` and ``writers`` say where things really are (:mod:`migrator.orchestrate.live`)."""
    config, record = reading.config, reading.record
    cutover = CutoverState.from_dict(record.cutover)
    step = next_step(config.stage, record.completed_stage, record.down_pending, cutover)
    if not record_found and config.stage > 0:
        step = (
            f"the migration record is missing from {record_where or 'the record store'}: restore the record table "
            "from its point-in-time backups (RestoreTableToPointInTime to a new table, then set "
            "table-migration:recordTable to it) before any `migrate up` or `down`"
        )
    return Status(
        stack=stack,
        stage=config.stage,
        completed_stage=record.completed_stage,
        legacy_table=config.legacy.name,
        new_table=config.new.name if config.new else None,
        active_table=config.new.name if config.new and config.stage >= 3 else config.legacy.name,
        export=ExportSummary.from_dict(record.export) if record.export else None,
        export_arn=record.export_arn,
        transform=TransformSummary.from_dict(record.transform) if record.transform else None,
        import_source=config.import_source.to_config() if config.import_source else None,
        import_check=ImportCheckSummary.from_dict(record.import_check) if record.import_check else None,
        verify=verifications(record.verify),
        drift_accepted=VerifySummary.from_dict(record.drift_accepted) if record.drift_accepted else None,
        served_traffic=record.served_traffic,
        stage_times=dict(record.stage_times),
        lock=lock,
        next_step=_conflicts_first(record) or step,
        cutover={**cutover.to_dict(), "summary": cutover.describe()} if cutover else None,
        stream=record.stream,
        online=OnlineReport.from_dict(record.online) if record.stream else None,
        record_found=record_found,
        record_where=record_where,
        writers=writers,
    )


def _conflicts_first(record: Record) -> str | None:
    """Open late-write conflicts come before stage 4 (which refuses while any is open)."""
    count = open_conflicts(record)
    if not count or record.cutover or record.completed_stage != 3:
        return None
    return f"resolve {count} late-write conflict(s) with `migrate conflicts`, then `migrate up --stage 4`"


def next_step(
    declared: int, completed: int, down_pending: int | None = None, cutover: CutoverState | None = None
) -> str:
    """What to run next, in one line."""
    if cutover is not None:
        return cutover.next_step()
    if down_pending == declared:
        return f"going back to stage {declared} did not finish: rerun `migrate down --stage {declared}`"
    if completed < 0:
        return "`migrate up --stage 0` brings the stack under the migrator (stage 0 has no steps), then stage 1"
    if completed < declared:
        return f"stage {declared} applied, its steps not finished: rerun `migrate up --stage {declared}`"
    if declared >= 4:
        return "the migration is done"
    return f"`migrate plan --stage {declared + 1}`, then `migrate up --stage {declared + 1}`"

"""What every step of a migration works with: one :class:`StepContext` per stack, one :class:`StageRun` per move.

The context is built once by :class:`migrator.orchestrate.migration.Migration` and handed to every
step class; a step reads the stage's config and record from the run and saves what it found through
``context.save`` at once, so a crash loses at most the step that was running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from migrator.core.config import MigrationConfig, TableSpec, key
from migrator.core.errors import ConfigError
from migrator.core.ports import Progress, StackPort
from migrator.core.record import Record
from migrator.core.stages import StageMove
from migrator.orchestrate.access import AwsAccess, Clock, StackConfig
from migrator.orchestrate.records import RecordRepository


def new_table(config: MigrationConfig) -> TableSpec:
    """The new table's spec; a :class:`ConfigError` when the config has none (it is required from stage 1)."""
    if config.new is None:
        raise ConfigError(
            key("newTable"),
            f"is required from stage 1 (this config is at stage {config.stage}).",
            hint="Declare newTable (name and keys) in the stack config.",
        )
    return config.new


@dataclass(frozen=True)
class StepContext:
    """What the steps of one stack share: the stack and its config, the records, AWS, progress and clock."""

    stack: StackPort
    config: StackConfig
    records: RecordRepository
    aws: AwsAccess
    progress: Progress
    clock: Clock

    def save(self, record: Record) -> None:
        """Write ``record`` to the record store (one request)."""
        self.records.save(record)

    def now(self) -> str:
        """The current time as the record writes it."""
        return self.clock.now()


@dataclass
class StageRun:
    """One stage move in progress: what its steps read and what they found."""

    move: StageMove
    config: MigrationConfig
    record: Record
    declared: int
    allow_drift: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)
    export_layout: Any = None
    import_layout: Any = None
    warnings: list[str] = field(default_factory=list)

    @property
    def new(self) -> TableSpec:
        """The new table's spec (:func:`new_table`)."""
        return new_table(self.config)

    def replayed_since_import(self) -> bool:
        """Online: a replay of this export has written to the new table (it no longer equals the export)."""
        export = (self.record.export or {}).get("arn")
        return bool(self.config.online.online and export and self.record.online.get("replayedExport") == export)

    def filled_before_replay(self) -> bool:
        """The new table was imported or loaded and checked, and a replay has written to it since."""
        return bool(self.record.import_check) and self.replayed_since_import()

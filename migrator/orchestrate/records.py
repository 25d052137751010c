"""The record repository: the stack config and the migration record, read together, and the record saved.

The record lives in the record store's ``progress`` entry (:mod:`migrator.core.record` says why it
is kept apart from ``table-migration:stage``). Version 0.1 kept it in the working copy's stack
config; :meth:`RecordRepository.read` with ``adopt`` moves it to the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from migrator.core.config import MigrationConfig, key, parse_config, parse_stage, record_table
from migrator.core.ports import PROGRESS, Progress, RecordStore
from migrator.core.record import RECORD_KEY, Record
from migrator.data.record_table import DEFAULT_TABLE as DEFAULT_RECORD_TABLE
from migrator.data.record_table import DynamoRecordStore
from migrator.orchestrate.access import AwsAccess, StackConfig


@dataclass(frozen=True)
class StackReading:
    """The stack config (with ``importSource`` as the record keeps it) and the record, read together."""

    values: dict[str, Any]
    record: Record

    @property
    def declared(self) -> int:
        """The stage the stack config declares."""
        return parse_stage(self.values.get("stage", "0"))

    @cached_property
    def config(self) -> MigrationConfig:
        """The parsed config (a :class:`ConfigError` when it is incomplete for its stage)."""
        return parse_config(self.values)


class RecordRepository:
    """Reads and saves the migration record of one stack; ``store`` defaults to the DynamoDB record table.

    That table is config ``recordTable`` (else ``table-migration-records``), for ``<project>/<stack>``.
    """

    def __init__(
        self,
        config: StackConfig,
        aws: AwsAccess,
        *,
        project: str,
        progress: Progress,
        store: RecordStore | None = None,
    ) -> None:
        self._config = config
        self._aws = aws
        self._project = project
        self._progress = progress
        self._store = store

    @property
    def store(self) -> RecordStore:
        """The record store (the lock, the progress record, stream checkpoints)."""
        if self._store is None:
            table = record_table(self._config.get_config().get("recordTable")) or DEFAULT_RECORD_TABLE
            scope = f"{self._project}/{self._config.name}"
            self._store = DynamoRecordStore(self._aws.settings(), scope=scope, table=table)
        return self._store

    def read(self, *, adopt: bool = False, check: bool = True) -> StackReading:
        """The config and the record.

        ``adopt`` (with the lock held) moves a record that version 0.1 left in stack config to the store;
        ``check=False`` accepts a working copy whose stage is behind the record (``down`` goes back from it).
        The record is the migrator's own account of what it wrote: a working copy that never saw stage 1's
        ``importSource`` (a fresh Deployment checkout) gets it from there.
        """
        values = self._config.get_config()
        record = self._load(values, parse_stage(values.get("stage", "0")), adopt=adopt, check=check)
        if record.import_source:
            values = {**values, "importSource": dict(record.import_source)}
        return StackReading(values, record)

    def save(self, record: Record) -> None:
        """Write the record whole (one request)."""
        self.store.save(PROGRESS, record.to_config())

    def _load(self, values: dict[str, Any], declared: int, *, adopt: bool, check: bool) -> Record:
        raw = self.store.load(PROGRESS)
        if raw is None and values.get(RECORD_KEY) not in (None, ""):
            raw = values[RECORD_KEY]
            if adopt:
                record = Record.from_config(raw, declared_stage=declared, check=False)
                self.store.save(PROGRESS, record.to_config())
                self._config.remove_config([RECORD_KEY])
                self._progress(f"Moved the migration record from stack config {key(RECORD_KEY)} to {self.store.where}.")
        return Record.from_config(raw, declared_stage=declared, check=check)

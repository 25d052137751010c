"""The migrator's steps between (and around) the Pulumi updates, one method per step of :mod:`migrator.core.stages`.

Each step reads the stage's config and the record, calls the data plane, and saves what it found in
the record at once (the record store's ``progress`` entry), so a crash loses at most the step that was
running.
Every step is safe to run again: the export is waited on by its recorded ARN, the transform
overwrites its own output, the import check and the verifications only read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from migrator.core import stages as st
from migrator.core.config import ImportSource, MigrationConfig
from migrator.core.derive import Deriver
from migrator.core.errors import DataError, DriftError, ExportFailedError, PulumiError, VerificationError
from migrator.core.ports import Progress, StackPort
from migrator.core.record import Record
from migrator.core.urns import EXPORT_BUCKET, role_of
from migrator.data.dataplane import DataPlane
from migrator.data.verify.run import VerifyReport
from migrator.report.spec_view import global_index_text, local_index_text


def export_prefix(stack: str, table: str, attempt: int = 1) -> str:
    """Where stage 1 exports the legacy table; a retry after a failed export gets a folder of its own."""
    base = f"exports/{stack}/{table}/"
    return base if attempt <= 1 else f"{base}attempt-{attempt}/"


def transform_prefix(stack: str, table: str, attempt: int = 1) -> str:
    """Where stage 1 writes the export rewritten for the new table (its files go under ``data/``).

    A fresh export (after a failed one, or after ``down --stage 1``) is rewritten into a folder of its
    own, so it never mixes with the files of the previous one.
    """
    base = f"transformed/{stack}/{table}/"
    return base if attempt <= 1 else f"{base}attempt-{attempt}/"


def client_token(stack: str, table: str, attempt: int = 1) -> str:
    """The export's idempotency token: a rerun within 8 h gets the same export back from AWS."""
    return hashlib.sha256(f"table-migration\0{stack}\0{table}\0{attempt}".encode()).hexdigest()[:64]


def verify_summary(report: Any, at: str) -> dict[str, Any]:
    """The counts of a VerifyReport (no samples), as recorded in stack config."""
    data = report.to_dict()
    keep = (
        "identical",
        "source",
        "target",
        "source_count",
        "target_count",
        "missing_count",
        "extra_count",
        "unreadable_count",
        "duplicate_count",
    )
    return {**{k: data[k] for k in keep if k in data}, "changed_count": data.get("changed_count", 0), "at": at}


def online_report(online: Mapping[str, Any]) -> dict[str, Any]:
    """The report's online part: ``freeze``, ``catchUp``, writes after the unfreeze, writes carried back."""
    report: dict[str, Any] = {
        "freeze": online.get("freeze"),
        "catchUp": online.get("catchUp"),
        "writesAfterUnfreeze": online.get("writesAfterUnfreeze", 0),
    }
    if online.get("carriedBack"):
        report["carriedBack"] = online["carriedBack"]
    return report


def _differences(report: VerifyReport) -> str:
    """The counts that made a verification fail, the ones that are zero left out (except the first three)."""
    parts = [f"{report.missing_count} missing, {report.extra_count} extra, {report.changed_count} changed"]
    for count, what in ((report.unreadable_count, "unreadable"), (report.duplicate_count, "duplicate keys")):
        if count:
            parts.append(f"{count} {what}")
    if report.export_short:
        parts.append(
            f"the export's manifest counts {report.export_item_count} items, its files hold {report.source_count}"
        )
    return ", ".join(parts)


@dataclass
class StageRun:
    """One stage move in progress: what its steps read and what they found."""

    plan: st.StageMove
    config: MigrationConfig
    record: Record
    declared: int
    allow_drift: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)
    export_layout: Any = None
    import_layout: Any = None
    warnings: list[str] = field(default_factory=list)


class Steps:
    """The step handlers of one stack; ``data`` gives the data plane when a step first needs it."""

    def __init__(
        self,
        stack: StackPort,
        *,
        data: Callable[[], DataPlane],
        progress: Progress,
        now: Callable[[], str],
        save: Callable[[Record], None],
        online: Any = None,
    ) -> None:
        self._stack = stack
        self._dp = data
        self._progress = progress
        self._now = now
        self._save = save
        self._online = online  # migrator.orchestrate.stream_steps.OnlineSteps: the online mode's steps

    def run(self, run: StageRun, steps: tuple[str, ...]) -> None:
        """Run the named steps of ``run`` in order."""
        handlers: dict[str, Callable[[StageRun], None]] = {
            st.VERIFY_LIVE: self._verify_live,
            st.MARK_TRAFFIC: self._mark_traffic,
            st.EXPORT: self._export,
            st.TRANSFORM: self._transform,
            st.RECORD_IMPORT_SOURCE: self._record_import_source,
            st.CHECK_IMPORT: self._check_import,
            st.LOAD: self._load,
            st.VERIFY_EXPORT: self._verify_export,
            st.CHECK_RETAINED: self._check_retained,
            st.REPORT: self._report,
            st.FORGET_IMPORT: self._forget_import,
            **(self._online.handlers() if self._online is not None else {}),
        }
        for step in steps:
            self._progress(f"  step: {st.STEP_TEXT[step]}")
            handlers[step](run)

    # --- steps --------------------------------------------------------------------------------

    def _verify_live(self, run: StageRun) -> None:
        legacy, new = run.config.legacy.name, self._new(run).name
        if run.record.served_traffic:
            # An earlier run of this stage began the cutover: the new table may hold writes the legacy
            # one never saw, so comparing them now would report the consumer's own writes as drift.
            self._progress(f"  {new} has served traffic since an earlier run of this stage; no drift check now")
            return
        report = self._dp().verify_tables(source_table=legacy, target_table=new, deriver=self._deriver(run.config))
        at = self._now()
        summary = verify_summary(report, at)
        run.record = run.record.with_(verify={**run.record.verify, "live": summary})
        if report.identical:
            self._save(run.record)
            return
        if not run.allow_drift:
            self._save(run.record)
            raise DriftError(
                f"{legacy} and {new} differ ({_differences(report)}): {legacy} was written after the export.",
                hint=f"Cut over anyway with `migrate up --stage 3 --allow-drift` (those writes stay only in {legacy}), "
                "or take a fresh export: `migrate down --stage 1`, then `migrate up --stage 3`.",
            )
        warning = (
            f"Drift accepted: {_differences(report)} between {legacy} and {new}; those writes stay only in {legacy}."
        )
        run.warnings.append(warning)
        self._progress(f"warning: {warning}")
        run.record = run.record.with_(drift_accepted=summary)
        self._save(run.record)

    def _mark_traffic(self, run: StageRun) -> None:
        # Recorded before the update: once it starts, the consumer may write to the new table.
        run.record = run.record.with_(served_traffic=True)
        self._save(run.record)

    def _export(self, run: StageRun) -> None:
        bucket = run.outputs.get("exportBucket") or run.config.export_bucket or self._bucket_in_state()
        if not bucket:
            raise PulumiError(
                "The stack has no exportBucket output after stage 1's update.",
                hint="Check the program declares the export bucket at stage 1, then rerun `migrate up --stage 1`.",
            )
        table, stack, attempt = run.config.legacy.name, self._stack.name, run.record.export_attempt

        def started(arn: str) -> None:
            run.record = run.record.with_(export_arn=arn)
            self._save(run.record)

        try:
            result = self._dp().export(
                table=table,
                bucket=bucket,
                prefix=export_prefix(stack, table, attempt),
                client_token=client_token(stack, table, attempt),
                export_arn=run.record.export_arn,
                on_started=started,
            )
        except ExportFailedError:
            # A failed export must not be waited on again: the next run starts a new one.
            run.record = run.record.with_(export_arn=None, export_attempt=attempt + 1)
            self._save(run.record)
            raise
        run.export_layout = result.layout
        export = {
            "arn": result.export_arn,
            "time": _iso(result.export_time),
            "itemCount": result.item_count,
            "bucket": result.layout.bucket,
            "prefix": result.layout.prefix,
            "dataPrefix": result.layout.data_prefix,
        }
        run.record = run.record.with_(export_arn=result.export_arn, export=export)
        self._save(run.record)

    def _transform(self, run: StageRun) -> None:
        new = self._new(run)
        result = self._dp().transform(
            run.export_layout,
            dest_bucket=run.export_layout.bucket,
            dest_prefix=transform_prefix(self._stack.name, new.name, run.record.export_attempt),
            rules=tuple(str(rule) for rule in run.config.derive),
            key_names=new.key_names,
        )
        run.import_layout = result.layout
        transform = {
            "itemsIn": result.items_in,
            "itemsOut": result.items_out,
            "rejects": result.rejects,
            "dataPrefix": result.layout.data_prefix,
        }
        run.record = run.record.with_(transform=transform)
        self._save(run.record)

    def _record_import_source(self, run: StageRun) -> None:
        layout = run.import_layout or run.export_layout
        count = run.record.transform["itemsOut"] if run.import_layout else run.record.export["itemCount"]
        source = ImportSource(layout.bucket, layout.data_prefix, "GZIP", int(count))
        run.record = run.record.with_(import_source=source.to_config())
        self._save(run.record)
        self._stack.set_config({"importSource": source.to_config()})

    def _check_import(self, run: StageRun) -> None:
        source = run.config.import_source
        assert source is not None  # parse_config requires it from stage 2
        if self._filled_before_replay(run):
            return  # checked before the replay began (an emulator's fallback would count the replayed writes)
        check = self._dp().check_import(table=self._new(run).name, expected_items=source.item_count)
        run.record = run.record.with_(
            import_check={
                "arn": check.import_arn,
                "status": check.status,
                "importedCount": check.imported_count,
                "errorCount": check.error_count,
                "processedCount": check.processed_count,
            }
        )
        self._save(run.record)

    def _load(self, run: StageRun) -> None:
        """``newTable.load: write``: the program made the table empty; write the export into it (resumable)."""
        source = run.config.import_source
        assert source is not None  # parse_config requires it from stage 2
        if self._filled_before_replay(run):
            # Loaded before the replay began: writing the export again would put back older versions of
            # the items the replay has updated since.
            return
        layout = self._dp().locate(source.bucket, source.key_prefix)
        result = self._dp().load(layout, table=self._new(run).name, expected_items=source.item_count)
        # Kept where the import check goes, so status and the final report show it the same way.
        run.record = run.record.with_(
            import_check={
                "method": "write",
                "status": "COMPLETED",
                "importedCount": result.table_items,
                "errorCount": 0,
                "expectedCount": result.expected_items,
                "itemsWritten": result.items_written,
                "filesSkipped": result.files_skipped,
                "retries": result.retries,
                "consumedWriteUnits": result.consumed_units,
            }
        )
        self._save(run.record)

    def _verify_export(self, run: StageRun) -> None:
        source = run.config.import_source
        assert source is not None
        new = self._new(run).name
        if self._replayed(run):
            # A rerun after the catch-up began: the new table holds writes made since the export by now.
            self._progress(f"  {new} has had writes replayed since the import; it was verified before that")
            return
        layout = self._dp().locate(source.bucket, source.key_prefix)
        report = self._dp().verify_export(layout, target_table=new)
        run.record = run.record.with_(verify={**run.record.verify, "export": verify_summary(report, self._now())})
        self._save(run.record)
        if not report.identical:
            raise VerificationError(
                f"{new} differs from the export it was imported from ({_differences(report)}).",
                hint="Inspect with `migrate verify --source-export s3://"
                f"{source.bucket}/{source.key_prefix} --target-table {new}`; to redo the import, "
                "`migrate down --stage 1` then `migrate up --stage 2`.",
            )

    def _check_retained(self, run: StageRun) -> None:
        legacy = run.config.legacy.name
        protected = self._dp().deletion_protection(legacy)
        if protected is None:
            raise DataError(
                f"{legacy} is no longer in AWS after leaving the stack; it should have been retained.",
                hint=f"Restore it from its point-in-time backups (`aws dynamodb restore-table-to-point-in-time "
                f"--source-table-name {legacy} …`) and check the stack's retainOnDelete settings.",
            )
        if not protected:
            self._progress(f"  {legacy} had deletion protection off; turning it on")
            self._dp().protect(legacy)

    def _report(self, run: StageRun) -> None:
        record = run.record
        report = {
            "stack": self._stack.name,
            "legacyTable": run.config.legacy.name,
            "newTable": self._new(run).name,
            "export": record.export,
            "transform": record.transform,
            "importCheck": record.import_check,
            "verify": dict(record.verify),
            "driftAccepted": record.drift_accepted,
            "legacyRetained": {"table": run.config.legacy.name, "deletionProtection": True},
            "newTableIndexes": self._indexes(self._new(run).name),
            "stageTimes": {**record.stage_times, "4": self._now()},
        }
        if record.online:  # the online mode: what the replay and the freeze did
            report.update(online_report(record.online))
        run.record = record.with_(report=report)
        self._save(run.record)

    def _forget_import(self, run: StageRun) -> None:
        # Back at stage 1, the next `up --stage 2` takes a fresh export and transforms it with the
        # current derive rules: stage 1's steps count as not finished, and the old export is not reused.
        record = run.record
        verify = {k: v for k, v in record.verify.items() if k != "export"}
        run.record = record.with_(
            completed_stage=min(record.completed_stage, 0),
            export_arn=None,
            export_attempt=record.export_attempt + 1,
            export=None,
            transform=None,
            import_check=None,
            verify=verify,
            import_source=None,
        )
        self._stack.remove_config(["importSource"])
        self._save(run.record)

    def _indexes(self, table: str) -> list[str]:
        """The secondary indexes ``table`` has in AWS now (DescribeTable), one line each."""
        spec = self._dp().describe(table)
        if spec is None:
            return []
        found = [f"{i.name} (global): {global_index_text(i)}" for i in spec.global_indexes]
        return found + [f"{i.name} (local): {local_index_text(i)}" for i in spec.local_indexes]

    def _bucket_in_state(self) -> str | None:
        """The MigratingTable's export bucket, from the stack's state (for a program that exports no outputs)."""
        found = [r.physical_id for r in self._stack.resources() if role_of(r.urn) == EXPORT_BUCKET]
        return found[0] if len(found) == 1 else None

    def _filled_before_replay(self, run: StageRun) -> bool:
        """The new table was imported or loaded and checked, and a replay has written to it since."""
        return bool(run.record.import_check) and self._replayed(run)

    def _replayed(self, run: StageRun) -> bool:
        """Online: a replay has written to the new table since the import (it no longer equals the export)."""
        return self._online is not None and self._online.replayed_since_import(run)

    def _new(self, run: StageRun) -> Any:
        assert run.config.new is not None  # parse_config requires newTable from stage 1
        return run.config.new

    def _deriver(self, config: MigrationConfig) -> Deriver | None:
        return Deriver(config.derive) if config.derive else None


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)

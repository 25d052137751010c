"""The steps of every migration, online or not: export, transform, import check or load, verifications, report.

Each step reads the stage's config and the record from the run, calls the data plane, and saves what
it found at once. Every step is safe to run again: the export is waited on by its recorded ARN, the
transform overwrites its own output, the import check and the verifications only read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from migrator.core import stages as st
from migrator.core.config import ImportSource, TableSpec
from migrator.core.derive import Deriver
from migrator.core.errors import DataError, DriftError, ExportFailedError, PulumiError, VerificationError
from migrator.core.urns import EXPORT_BUCKET, role_of
from migrator.data.verify.run import VerifyReport
from migrator.orchestrate import export_verify
from migrator.orchestrate.context import StageRun, StepContext
from migrator.orchestrate.locations import client_token, export_prefix, transform_prefix
from migrator.report.model import (
    ExportSummary,
    FinalReport,
    ImportCheckSummary,
    OnlineReport,
    TransformSummary,
    VerifySummary,
    verifications,
)
from migrator.report.spec_view import global_index_text, local_index_text


def verify_summary(report: VerifyReport, at: str) -> VerifySummary:
    """The counts of a verification (no samples), as the record keeps them."""
    return VerifySummary(
        identical=report.identical,
        source=report.source,
        target=report.target,
        source_count=report.source_count,
        target_count=report.target_count,
        missing_count=report.missing_count,
        extra_count=report.extra_count,
        changed_count=report.changed_count,
        unreadable_count=report.unreadable_count,
        duplicate_count=report.duplicate_count,
        at=at,
    )


def differences(report: VerifyReport) -> str:
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


class OfflineSteps:
    """The step handlers that need no stream: stage 1's export and transform, stage 2's checks, 3 and 4."""

    def __init__(self, context: StepContext) -> None:
        self._ctx = context

    def handlers(self) -> dict[str, Callable[[StageRun], None]]:
        """Step name → handler."""
        return {
            st.VERIFY_LIVE: self.verify_live,
            st.MARK_TRAFFIC: self.mark_traffic,
            st.EXPORT: self.export,
            st.TRANSFORM: self.transform,
            st.RECORD_IMPORT_SOURCE: self.record_import_source,
            st.CHECK_IMPORT: self.check_import,
            st.LOAD: self.load,
            st.VERIFY_EXPORT: self.verify_export,
            st.CHECK_RETAINED: self.check_retained,
            st.REPORT: self.report,
            st.FORGET_IMPORT: self.forget_import,
        }

    # --- stage 1 -------------------------------------------------------------------------------

    def export(self, run: StageRun) -> None:
        """Export the legacy table to the export bucket (a rerun waits on the recorded export)."""
        bucket = run.outputs.get("exportBucket") or run.config.export_bucket or self._bucket_in_state()
        if not bucket:
            raise PulumiError(
                "The stack has no exportBucket output after stage 1's update.",
                hint="Check the program declares the export bucket at stage 1, then rerun `migrate up --stage 1`.",
            )
        table, stack, attempt = run.config.legacy.name, self._ctx.stack.name, run.record.export_attempt

        def started(arn: str) -> None:
            run.record = run.record.with_(export_arn=arn)
            self._ctx.save(run.record)

        try:
            result = self._ctx.aws.data_plane().export(
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
            self._ctx.save(run.record)
            raise
        run.export_layout = result.layout
        export = ExportSummary(
            arn=result.export_arn,
            time=_iso(result.export_time),
            item_count=result.item_count,
            bucket=result.layout.bucket,
            prefix=result.layout.prefix,
            data_prefix=result.layout.data_prefix,
        )
        run.record = run.record.with_(export_arn=result.export_arn, export=export.to_dict())
        self._ctx.save(run.record)

    def transform(self, run: StageRun) -> None:
        """Rewrite the export for the new table's keys and derive rules."""
        new = run.new
        result = self._ctx.aws.data_plane().transform(
            run.export_layout,
            dest_bucket=run.export_layout.bucket,
            dest_prefix=transform_prefix(self._ctx.stack.name, new.name, run.record.export_attempt),
            rules=tuple(str(rule) for rule in run.config.derive),
            key_names=new.key_names,
        )
        run.import_layout = result.layout
        summary = TransformSummary(result.items_in, result.items_out, result.rejects, result.layout.data_prefix)
        run.record = run.record.with_(transform=summary.to_dict())
        self._ctx.save(run.record)

    def record_import_source(self, run: StageRun) -> None:
        """Set ``importSource`` (stack config and record) to the files stage 2 imports."""
        layout = run.import_layout or run.export_layout
        count = run.record.transform["itemsOut"] if run.import_layout else run.record.export["itemCount"]
        source = ImportSource(layout.bucket, layout.data_prefix, "GZIP", int(count))
        run.record = run.record.with_(import_source=source.to_config())
        self._ctx.save(run.record)
        self._ctx.config.set_config({"importSource": source.to_config()})

    # --- stage 2 -------------------------------------------------------------------------------

    def check_import(self, run: StageRun) -> None:
        """Check the ImportTable that created the new table: its status and counts."""
        source = run.config.import_source
        assert source is not None  # parse_config requires it from stage 2
        if run.filled_before_replay():
            return  # checked before the replay began (an emulator's fallback would count the replayed writes)
        check = self._ctx.aws.data_plane().check_import(table=run.new.name, expected_items=source.item_count)
        summary = ImportCheckSummary(
            status=check.status,
            imported_count=check.imported_count,
            error_count=check.error_count,
            arn=check.import_arn,
            processed_count=check.processed_count,
        )
        run.record = run.record.with_(import_check=summary.to_dict())
        self._ctx.save(run.record)

    def load(self, run: StageRun) -> None:
        """``newTable.load: write``: the program made the table empty; write the export into it (resumable)."""
        source = run.config.import_source
        assert source is not None  # parse_config requires it from stage 2
        if run.filled_before_replay():
            # Loaded before the replay began: writing the export again would put back older versions of
            # the items the replay has updated since.
            return
        data = self._ctx.aws.data_plane()
        layout = data.locate(source.bucket, source.key_prefix)
        result = data.load(layout, table=run.new.name, expected_items=source.item_count)
        # Kept where the import check goes, so status and the final report show it the same way.
        summary = ImportCheckSummary(
            method="write",
            status="COMPLETED",
            imported_count=result.table_items,
            expected_count=result.expected_items,
            items_written=result.items_written,
            files_skipped=result.files_skipped,
            retries=result.retries,
            consumed_write_units=result.consumed_units,
        )
        run.record = run.record.with_(import_check=summary.to_dict())
        self._ctx.save(run.record)

    def verify_export(self, run: StageRun) -> None:
        """Compare the new table with the export it was filled from; a difference stops the stage."""
        source = run.config.import_source
        assert source is not None  # parse_config requires it from stage 2
        new = run.new.name
        if run.replayed_since_import():
            # A rerun after the catch-up began: the new table holds writes made since the export by now.
            self._ctx.progress(f"  {new} has had writes replayed since the import; it was verified before that")
            return
        data = self._ctx.aws.data_plane()
        if run.config.data.export_verify:
            report = export_verify.stage2_report(self._ctx, run)
        else:
            report = data.verify_export(data.locate(source.bucket, source.key_prefix), target_table=new)
        summary = verify_summary(report, self._ctx.now()).to_dict()
        run.record = run.record.with_(verify={**run.record.verify, "export": summary})
        self._ctx.save(run.record)
        if not report.identical:
            raise VerificationError(
                f"{new} differs from the export it was imported from ({differences(report)}).",
                hint=f"Inspect with `{_inspect(run, report)}`; to redo the import, "
                "`migrate down --stage 1` then `migrate up --stage 2`.",
            )

    # --- stage 3 -------------------------------------------------------------------------------

    def verify_live(self, run: StageRun) -> None:
        """Offline cutover: the legacy table must still equal the new one (no writes since the export)."""
        legacy, new = run.config.legacy.name, run.new.name
        if run.record.served_traffic:
            # An earlier run of this stage began the cutover: the new table may hold writes the legacy
            # one never saw, so comparing them now would report the consumer's own writes as drift.
            self._ctx.progress(f"  {new} has served traffic since an earlier run of this stage; no drift check now")
            return
        if run.config.data.export_verify:
            report = export_verify.stage3_report(self._ctx, run)
        else:
            deriver = Deriver(run.config.derive) if run.config.derive else None
            report = self._ctx.aws.data_plane().verify_tables(source_table=legacy, target_table=new, deriver=deriver)
        summary = verify_summary(report, self._ctx.now()).to_dict()
        run.record = run.record.with_(verify={**run.record.verify, "live": summary})
        if report.identical:
            self._ctx.save(run.record)
            return
        if not run.allow_drift:
            self._ctx.save(run.record)
            raise DriftError(
                f"{legacy} and {new} differ ({differences(report)}): {legacy} was written after the export.",
                hint=f"Cut over anyway with `migrate up --stage 3 --allow-drift` (those writes stay only in {legacy}), "
                "or take a fresh export: `migrate down --stage 1`, then `migrate up --stage 3`.",
            )
        warning = (
            f"Drift accepted: {differences(report)} between {legacy} and {new}; those writes stay only in {legacy}."
        )
        run.warnings.append(warning)
        self._ctx.progress(f"warning: {warning}")
        run.record = run.record.with_(drift_accepted=summary)
        self._ctx.save(run.record)

    def mark_traffic(self, run: StageRun) -> None:
        """Record that the new table may serve traffic (before the update: once it starts, it may)."""
        run.record = run.record.with_(served_traffic=True)
        self._ctx.save(run.record)

    # --- stage 4 -------------------------------------------------------------------------------

    def check_retained(self, run: StageRun) -> None:
        """The legacy table left the stack: it must still be in AWS, with deletion protection on."""
        legacy = run.config.legacy.name
        data = self._ctx.aws.data_plane()
        protected = data.deletion_protection(legacy)
        if protected is None:
            raise DataError(
                f"{legacy} is no longer in AWS after leaving the stack; it should have been retained.",
                hint=f"Restore it from its point-in-time backups (`aws dynamodb restore-table-to-point-in-time "
                f"--source-table-name {legacy} …`) and check the stack's retainOnDelete settings.",
            )
        if not protected:
            self._ctx.progress(f"  {legacy} had deletion protection off; turning it on")
            data.protect(legacy)

    def report(self, run: StageRun) -> None:
        """Write the final report into the record."""
        indexes = index_lines(self._ctx.aws.data_plane().describe(run.new.name))
        report = final_report(self._ctx.stack.name, run, indexes, at=self._ctx.now())
        run.record = run.record.with_(report=report.to_dict())
        self._ctx.save(run.record)

    # --- down 2 → 1 ----------------------------------------------------------------------------

    def forget_import(self, run: StageRun) -> None:
        """Back at stage 1: the next ``up --stage 2`` takes a fresh export and transforms it anew."""
        # Stage 1's steps count as not finished, and the old export is not reused.
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
            verify_exports={},
        )
        self._ctx.config.remove_config(["importSource"])
        self._ctx.save(run.record)

    # --- helpers -------------------------------------------------------------------------------

    def _bucket_in_state(self) -> str | None:
        """The MigratingTable's export bucket, from the stack's state (for a program that exports no outputs)."""
        found = [r.physical_id for r in self._ctx.stack.resources() if role_of(r.urn) == EXPORT_BUCKET]
        return found[0] if len(found) == 1 else None


def _inspect(run: StageRun, report: VerifyReport) -> str:
    if run.config.data.export_verify:
        return export_verify.inspect_command(run, report)
    source = run.config.import_source
    assert source is not None  # parse_config requires it from stage 2
    return f"migrate verify --source-export s3://{source.bucket}/{source.key_prefix} --target-table {run.new.name}"


def final_report(stack: str, run: StageRun, indexes: tuple[str, ...], *, at: str) -> FinalReport:
    """Stage 4's report of ``run``'s record; ``indexes`` are the new table's, ``at`` when stage 4 finished."""
    record = run.record
    return FinalReport(
        stack=stack,
        legacy_table=run.config.legacy.name,
        new_table=run.new.name,
        export=ExportSummary.from_dict(record.export) if record.export else None,
        transform=TransformSummary.from_dict(record.transform) if record.transform else None,
        import_check=ImportCheckSummary.from_dict(record.import_check) if record.import_check else None,
        verify=verifications(record.verify),
        drift_accepted=VerifySummary.from_dict(record.drift_accepted) if record.drift_accepted else None,
        new_table_indexes=indexes,
        stage_times={**record.stage_times, "4": at},
        online=OnlineReport.from_dict(record.online) if record.online else None,
    )


def index_lines(spec: TableSpec | None) -> tuple[str, ...]:
    """The secondary indexes of a table as DescribeTable gave them, one line each."""
    if spec is None:
        return ()
    found = [f"{i.name} (global): {global_index_text(i)}" for i in spec.global_indexes]
    return (*found, *(f"{i.name} (local): {local_index_text(i)}" for i in spec.local_indexes))


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)

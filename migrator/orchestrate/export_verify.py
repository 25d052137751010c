"""``verify: {method: export}``: the stage verifications as export against export, no read capacity used.

Stage 2 exports the new table and compares it with stage 1's export of the legacy table (through the
derive rules); offline stage 3 exports both tables afresh and compares them. Each export resumes like
stage 1's: its ClientToken is derived from the stack, the table, the purpose and the attempt; its ARN is
recorded (``verifyExports``) as soon as it starts, so a rerun waits on it; a failed export is not
waited on again (the next run starts attempt + 1).
"""

from __future__ import annotations

from typing import Any

from migrator.core.errors import ExportFailedError, PulumiError
from migrator.data.export.files import ExportLayout
from migrator.data.verify.run import VerifyReport
from migrator.orchestrate.context import StageRun, StepContext
from migrator.orchestrate.locations import client_token, verify_export_prefix


def purpose_of(table_role: str, stage: int) -> str:
    """The record's name for one verification export, e.g. ``new@2``."""
    return f"{table_role}@{stage}"


def legacy_export(ctx: StepContext, run: StageRun) -> ExportLayout:
    """Stage 1's export of the legacy table, from the record (a rerun finds it again in S3)."""
    export = run.record.export
    if not export:
        raise PulumiError(
            "The record has no stage 1 export to verify against.",
            hint="Run `migrate down --stage 1` then `migrate up --stage 2` to export again.",
        )
    return run.export_layout or ctx.aws.data_plane().locate(export["bucket"], export["prefix"])


def take_export(ctx: StepContext, run: StageRun, *, table: str, purpose: str) -> ExportLayout:
    """Export ``table`` for the verification ``purpose`` (or wait on the export a killed run started)."""
    entry = dict(run.record.verify_exports.get(purpose) or {})
    attempt = int(entry.get("attempt", 1))
    if entry.get("bucket") and entry.get("done"):
        return ctx.aws.data_plane().locate(entry["bucket"], entry["prefix"])
    bucket = _bucket(run)
    prefix = verify_export_prefix(ctx.stack.name, table, purpose, attempt)

    def save(**fields: Any) -> None:
        exports = {**run.record.verify_exports, purpose: {"attempt": attempt, **fields}}
        run.record = run.record.with_(verify_exports=exports)
        ctx.save(run.record)

    ctx.progress(f"  exporting {table} to verify it (point in time, no read capacity)")
    try:
        result = ctx.aws.data_plane().export(
            table=table,
            bucket=bucket,
            prefix=prefix,
            client_token=client_token(ctx.stack.name, f"{table}\0{purpose}", attempt),
            export_arn=entry.get("arn"),
            on_started=lambda arn: save(arn=arn, bucket=bucket, prefix=prefix),
        )
    except ExportFailedError:
        save(attempt=attempt + 1)  # a failed export is not waited on again: the next run starts a new one
        raise
    save(arn=result.export_arn, bucket=bucket, prefix=prefix, itemCount=result.item_count, done=True)
    return result.layout


def compare(ctx: StepContext, run: StageRun, source: ExportLayout, target: ExportLayout) -> VerifyReport:
    """The new table's export ``target`` against the legacy table's ``source``, through the derive rules."""
    return ctx.aws.data_plane().verify_exports(
        source,
        target,
        rules=tuple(str(rule) for rule in run.config.derive),
        key_names=run.new.key_names,
    )


def stage2_report(ctx: StepContext, run: StageRun) -> VerifyReport:
    """Stage 2: the new table, exported now, against stage 1's export of the legacy table."""
    source = legacy_export(ctx, run)
    target = take_export(ctx, run, table=run.new.name, purpose=purpose_of("new", 2))
    return compare(ctx, run, source, target)


def stage3_report(ctx: StepContext, run: StageRun) -> VerifyReport:
    """Offline stage 3: both tables exported now; a legacy item written since stage 1 shows as a difference.

    Once compared, both exports are spent: a later run of the step exports again (the legacy table
    may have been written since), under the next attempt's token and folder.
    """
    purposes = (purpose_of("legacy", 3), purpose_of("new", 3))
    source = take_export(ctx, run, table=run.config.legacy.name, purpose=purposes[0])
    target = take_export(ctx, run, table=run.new.name, purpose=purposes[1])
    report = compare(ctx, run, source, target)
    spent = {p: {"attempt": int(run.record.verify_exports[p]["attempt"]) + 1} for p in purposes}
    run.record = run.record.with_(verify_exports={**run.record.verify_exports, **spent})
    ctx.save(run.record)
    return report


def inspect_command(run: StageRun, report: VerifyReport) -> str:
    """The ``migrate verify`` command that shows the differences of an export-against-export ``report``."""
    keys = " ".join(f"--key {name}" for name in run.new.key_names)
    rules = " ".join(f"--derive '{rule}'" for rule in run.config.derive)
    return f"migrate verify --source-export {report.source} --target-export {report.target} {keys} {rules}".rstrip()


def _bucket(run: StageRun) -> str:
    bucket = (run.record.export or {}).get("bucket") or run.outputs.get("exportBucket") or run.config.export_bucket
    if not bucket:
        raise PulumiError(
            "No export bucket is known for the verification export.",
            hint="Run `migrate up --stage 1` first (it records the export bucket).",
        )
    return str(bucket)

"""``migrate export``: a data-plane step on any tables, no Pulumi needed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from migrator.cli.app import app, call, emit, progress
from migrator.cli.options import EndpointOpt, JsonOpt, RegionOpt, settings
from migrator.data.aws import check_bucket_name
from migrator.data.export.files import DamagedFilesError
from migrator.data.export.run import ExportResult, fresh_prefix, run_export


def _text(result: ExportResult) -> str:
    layout = result.layout
    how = "reused" if result.reused else "exported"
    return (
        f"{how} {result.item_count} items of {result.export_arn}\n"
        f"as of {result.export_time.isoformat()}, {len(layout.files)} files under s3://{layout.bucket}/{layout.data_prefix}"
    )


@app.command("export")
def export_command(
    table: Annotated[str, typer.Option("--table", help="The table to export (point-in-time recovery must be on).")],
    bucket: Annotated[str, typer.Option("--bucket", help="The S3 bucket to export to (it must exist).")],
    prefix: Annotated[
        str | None, typer.Option("--prefix", help="S3 prefix for the export. Default: exports/<table>/.")
    ] = None,
    json_output: JsonOpt = False,
    endpoint: EndpointOpt = None,
    region: RegionOpt = None,
    poll_seconds: Annotated[
        float, typer.Option("--poll-seconds", min=0.0, help="First wait between status checks; doubles up to 60 s.")
    ] = 10.0,
) -> None:
    """Export a table to S3 (DynamoDB JSON, point in time), wait for it and check its files.

    A rerun waits on or reuses the export already made to the same bucket and prefix.
    """

    def run() -> ExportResult:
        aws = settings(endpoint, region)
        check_bucket_name(bucket, given_as="--bucket")
        where = prefix or f"exports/{table}/"
        try:
            return run_export(
                aws.client("dynamodb"),
                aws.client("s3"),
                table=table,
                bucket=bucket,
                prefix=where,
                progress=progress,
                poll_seconds=poll_seconds,
            )
        except DamagedFilesError as e:
            fresh = fresh_prefix(where, datetime.now(UTC))
            raise DamagedFilesError(
                e.message,
                hint=f"AWS never rewrites an export: run `migrate export --table {table} --bucket {bucket} "
                f"--prefix {fresh}` and use that export.",
            ) from e

    emit(call(run), json_output=json_output, text=_text)

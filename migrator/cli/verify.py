"""``migrate verify``: a data-plane step on any tables, no Pulumi needed."""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer

from migrator.cli.app import app, call, emit, progress
from migrator.cli.options import EndpointOpt, JsonOpt, RegionOpt, settings
from migrator.cli.progress import terminal_meters
from migrator.core.derive import Deriver, load_hook, parse_rules
from migrator.core.errors import EXIT_DATA, BadInputError
from migrator.data.export.files import locate_export, parse_s3_url
from migrator.data.verify.run import VerifyReport, verify_export, verify_tables


def _keys(keys: list[dict[str, str]]) -> str:
    return ", ".join(orjson.dumps(k).decode() for k in keys)


def _verdict(report: VerifyReport) -> str:
    if not report.identical:
        return "DIFFERENT"
    if report.rejects:
        return f"identical apart from {report.rejects} reject{'s' if report.rejects != 1 else ''}"
    return "identical"


def report_text(report: VerifyReport) -> str:
    """A short human report: the verdict, counts, sample keys, and what else is wrong."""
    lines = [
        f"{report.target} vs {report.source}: {_verdict(report)}",
        f"  source items {report.source_count}, target items {report.target_count}",
        f"  missing {report.missing_count}, extra {report.extra_count}, changed {report.changed_count}",
    ]
    for name in ("missing", "extra", "changed"):
        if report.samples.get(name):
            lines.append(f"  {name}: {_keys(report.samples[name])}")
    if report.duplicate_count:
        lines.append(
            f"  duplicate keys {report.duplicate_count} (more than one source item has or derives the key; "
            f"an import keeps one): {_keys(list(report.duplicate_samples))}"
        )
    if report.unreadable_count:
        lines.append(f"  unreadable {report.unreadable_count} (items that are not valid DynamoDB JSON):")
        lines.extend(
            f"    {s['side']} {orjson.dumps(s['key']).decode() if s['key'] else '(no key)'}: {s['reason']}"
            for s in report.unreadable_samples
        )
    if report.export_short:
        lines.append(
            f"  the export itself is short: its files hold {report.source_count} items but its manifest counts "
            f"{report.export_item_count}; export the table again"
        )
    if report.rejects:
        lines.append(f"  rejects {report.rejects} (source items the derive rules cannot map): ")
        lines.extend(f"    {reason}" for reason in report.reject_samples)
    return "\n".join(lines)


def _deriver(derive: list[str], python: str | None) -> Deriver | None:
    rules = parse_rules(derive)
    hook = load_hook(python) if python else None
    return Deriver(rules, hook) if rules or hook else None


def _check_source(source_table: str | None, source_export: str | None) -> None:
    if (source_table is None) == (source_export is None):
        raise BadInputError(
            "Give exactly one source: --source-table or --source-export.",
            hint="Example: migrate verify --source-table Legacy --target-table New --derive 'UUID=uuid5(Name)'.",
        )


@app.command("verify")
def verify_command(
    target_table: Annotated[str, typer.Option("--target-table", help="The table that should hold the items.")],
    source_table: Annotated[
        str | None, typer.Option("--source-table", help="Compare with this live table.", show_default=False)
    ] = None,
    source_export: Annotated[
        str | None,
        typer.Option("--source-export", help="Compare with the export at s3://bucket/prefix.", show_default=False),
    ] = None,
    derive: Annotated[
        list[str] | None,
        typer.Option(
            "--derive", help="Derive rule X=expr applied to each source item (repeatable).", show_default=False
        ),
    ] = None,
    python: Annotated[
        str | None,
        typer.Option(
            "--python", help="module:function applied to each source item after --derive.", show_default=False
        ),
    ] = None,
    segments: Annotated[int, typer.Option("--segments", min=1, max=64, help="Parallel scan segments per table.")] = 4,
    json_output: JsonOpt = False,
    endpoint: EndpointOpt = None,
    region: RegionOpt = None,
) -> None:
    """Check that the target table holds exactly the source's items (after the derive rules).

    Exit 0 when identical, 1 when anything is missing, extra, changed or rejected, 2 for bad input.
    """

    def run() -> VerifyReport:
        _check_source(source_table, source_export)
        aws = settings(endpoint, region)
        deriver = _deriver(derive or [], python)
        if source_table is not None:
            return verify_tables(
                aws,
                source_table=source_table,
                target_table=target_table,
                deriver=deriver,
                segments=segments,
                progress=progress,
                meters=terminal_meters(sys.stderr),
            )
        bucket, prefix = parse_s3_url(source_export or "")
        layout = locate_export(aws.client("s3"), bucket, prefix)
        return verify_export(
            aws,
            layout,
            target_table=target_table,
            deriver=deriver,
            segments=segments,
            progress=progress,
            meters=terminal_meters(sys.stderr),
        )

    report = call(run)
    different = not report.identical or report.rejects > 0
    emit(report, json_output=json_output, text=report_text, exit_code=EXIT_DATA if different else 0)

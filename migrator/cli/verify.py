"""``migrate verify``: a data-plane step on any tables, no Pulumi needed."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Annotated

import orjson
import typer

from migrator.cli.app import app, call, emit, progress
from migrator.cli.options import ComputeOpt, EndpointOpt, JsonOpt, MasterOpt, RegionOpt, compute, settings
from migrator.cli.progress import terminal_meters
from migrator.core.data_config import Compute
from migrator.core.derive import Deriver, load_hook, parse_rules
from migrator.core.errors import EXIT_DATA, BadInputError
from migrator.data.aws import AwsSettings
from migrator.data.export.files import locate_export, parse_s3_url
from migrator.data.spark import load_job
from migrator.data.transform.lines import DeriverSpec
from migrator.data.verify.exports import verify_exports
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


@dataclass(frozen=True)
class Sides:
    """What ``migrate verify`` compares: one source (table or export) and one target (table or export)."""

    source_table: str | None
    source_export: str | None
    target_table: str | None
    target_export: str | None

    def check(self, keys: list[str], compute: Compute) -> None:
        """Exactly one source and one target; two exports need --key; Spark compares two exports only."""
        if (self.source_table is None) == (self.source_export is None):
            raise BadInputError(
                "Give exactly one source: --source-table or --source-export.",
                hint="Example: migrate verify --source-table Legacy --target-table New --derive 'UUID=uuid5(Name)'.",
            )
        if (self.target_table is None) == (self.target_export is None):
            raise BadInputError(
                "Give exactly one target: --target-table or --target-export.",
                hint="Example: migrate verify --source-export s3://b/legacy/ --target-export s3://b/new/ --key UUID.",
            )
        if self.target_export is not None and self.source_export is None:
            raise BadInputError(
                "--target-export is compared with an export: give --source-export.",
                hint="Export the legacy table too (`migrate export`), or compare with --target-table.",
            )
        if self.target_export is not None and not keys:
            raise BadInputError(
                "Two exports carry no key schema: name the new table's key with --key.",
                hint="Repeat --key for a sort key, partition key first: --key UUID [--key Created].",
            )
        if compute.spark and self.target_export is None:
            raise BadInputError(
                "--compute spark compares two exports.",
                hint="Export the new table too and give --target-export, or leave --compute out.",
            )


def _exports(aws: AwsSettings, sides: Sides, spec: DeriverSpec, keys: list[str], compute: Compute) -> VerifyReport:
    s3 = aws.client("s3")
    source = locate_export(s3, *parse_s3_url(sides.source_export or ""))
    target = locate_export(s3, *parse_s3_url(sides.target_export or ""))
    if compute.spark:
        job = load_job()
        return job.verify_exports_spark(source, target, spec, keys, compute.master, store=aws, progress=progress)
    return verify_exports(source, target, spec, keys, store=aws, progress=progress, meters=terminal_meters(sys.stderr))


def _against_table(aws: AwsSettings, sides: Sides, deriver: Deriver | None, segments: int) -> VerifyReport:
    target = sides.target_table or ""
    if sides.source_table is not None:
        return verify_tables(
            aws,
            source_table=sides.source_table,
            target_table=target,
            deriver=deriver,
            segments=segments,
            progress=progress,
            meters=terminal_meters(sys.stderr),
        )
    bucket, prefix = parse_s3_url(sides.source_export or "")
    layout = locate_export(aws.client("s3"), bucket, prefix)
    return verify_export(
        aws,
        layout,
        target_table=target,
        deriver=deriver,
        segments=segments,
        progress=progress,
        meters=terminal_meters(sys.stderr),
    )


DeriveOpt = Annotated[
    list[str] | None,
    typer.Option("--derive", help="Derive rule X=expr applied to each source item (repeatable).", show_default=False),
]
PythonOpt = Annotated[
    str | None,
    typer.Option("--python", help="module:function applied to each source item after --derive.", show_default=False),
]
KeyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--key", help="With --target-export: the new table's key attributes (repeatable).", show_default=False
    ),
]


@app.command("verify")
def verify_command(
    target_table: Annotated[
        str | None, typer.Option("--target-table", help="The table that should hold the items.", show_default=False)
    ] = None,
    target_export: Annotated[
        str | None,
        typer.Option(
            "--target-export",
            help="Or: an export (s3://bucket/prefix) of that table; no read capacity used. Needs --key.",
            show_default=False,
        ),
    ] = None,
    source_table: Annotated[
        str | None, typer.Option("--source-table", help="Compare with this live table.", show_default=False)
    ] = None,
    source_export: Annotated[
        str | None,
        typer.Option("--source-export", help="Compare with the export at s3://bucket/prefix.", show_default=False),
    ] = None,
    derive: DeriveOpt = None,
    python: PythonOpt = None,
    key: KeyOpt = None,
    segments: Annotated[int, typer.Option("--segments", min=1, max=64, help="Parallel scan segments per table.")] = 4,
    compute_kind: ComputeOpt = "local",
    master: MasterOpt = None,
    json_output: JsonOpt = False,
    endpoint: EndpointOpt = None,
    region: RegionOpt = None,
) -> None:
    """Check that the target (a table, or its export) holds exactly the source's items (after the derive rules).

    Exit 0 when identical, 1 when anything is missing, extra, changed or rejected, 2 for bad input.
    """

    def run() -> VerifyReport:
        sides = Sides(source_table, source_export, target_table, target_export)
        chosen = compute(compute_kind, master)
        sides.check(key or [], chosen)
        aws = settings(endpoint, region)
        if target_export is not None:
            spec = DeriverSpec(tuple(derive or ()), python)
            spec.build()  # bad rules or hook: exit 2 before any file is read
            return _exports(aws, sides, spec, key or [], chosen)
        return _against_table(aws, sides, _deriver(derive or [], python), segments)

    report = call(run)
    different = not report.identical or report.rejects > 0
    emit(report, json_output=json_output, text=report_text, exit_code=EXIT_DATA if different else 0)

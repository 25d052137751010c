"""The driver's side of the Spark jobs, before and after the cluster runs: checks, marker, verdicts. No pyspark.

The transform keeps the contract of :func:`migrator.data.transform.run.transform_export`, using that module's
own destination check, marker and clean-up, so a transform run on Spark and one run in a process pool
into the same destination are the same run (a rerun on either path overwrites the other's files).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from migrator.core.errors import BadInputError, ExportFailedError
from migrator.data.aws import AwsSettings
from migrator.data.export.files import DataFile, ExportLayout
from migrator.data.spark.partitions import FilePart, VerifyPlan, file_parts
from migrator.data.transform.dupes import DuplicateKeysFound, DuplicateReport
from migrator.data.transform.lines import DeriverSpec

# Private helpers on purpose: the same destination rules and marker as the single-process transform.
from migrator.data.transform.run import (
    FileOutcome,
    FileTask,
    RejectsFound,
    TransformResult,
    _check_dest,
    _delete_stale,
    _folder,
    _marker,
    _put_marker,
    _stem,
)
from migrator.data.verify.exports import ClientSource, built_deriver, deriver_spec
from migrator.data.verify.findings import KeyFindings, check_key_names, export_report
from migrator.data.verify.run import VerifyReport
from migrator.data.verify.sides import SideTally

_SHOWN_REASONS = 5


@dataclass(frozen=True)
class VerifyJob:
    """A verification ready to run: the plan every partition gets, and one part per data file of both sides."""

    plan: VerifyPlan
    parts: tuple[FilePart, ...]
    layouts: tuple[ExportLayout, ExportLayout]


def prepare_verify(
    source: ExportLayout,
    target: ExportLayout,
    rules: DeriverSpec | Sequence[str],
    key_names: Sequence[str],
    store: ClientSource | None = None,
) -> VerifyJob:
    """Check the rules and key (bad ones fail here, before any executor starts) and list the parts."""
    spec = deriver_spec(rules)
    built_deriver(spec)
    plan = VerifyPlan(store or AwsSettings(), spec, check_key_names(key_names))
    return VerifyJob(plan, (*file_parts(0, source), *file_parts(1, target)), (source, target))


def finish_verify(
    job: VerifyJob, sides: dict[int, SideTally], findings: KeyFindings, *, buckets: int, seconds: float
) -> VerifyReport:
    """The report, from the merged pass-1 tallies (a side without files has an empty one) and pass 2's findings."""
    both = (sides.get(0) or SideTally(0), sides.get(1) or SideTally(1))
    return export_report(both, findings, layouts=job.layouts, buckets=buckets, seconds=seconds)


@dataclass(frozen=True)
class TransformJob:
    """A transform ready to run: one task per source file, and what the driver checks afterwards."""

    settings: AwsSettings
    source: ExportLayout
    dest_bucket: str
    prefix: str
    key_names: tuple[str, ...]
    max_rejects: int
    marker: dict[str, Any]
    before: tuple[str, ...]
    tasks: tuple[FileTask, ...]


def prepare_transform(
    settings: AwsSettings,
    source: ExportLayout,
    *,
    dest_bucket: str,
    dest_prefix: str,
    deriver_spec: DeriverSpec,
    key_names: Sequence[str],
    max_rejects: int = 0,
) -> TransformJob:
    """Check rules, key and destination, write the incomplete marker, and make one task per source file."""
    deriver_spec.build()
    if not key_names:
        raise BadInputError("No key attribute to check.", hint="Name the new table's key attributes (--key).")
    keys = tuple(key_names)
    prefix = _folder(dest_prefix)
    s3 = settings.client("s3")
    marker = _marker(source, deriver_spec, keys)
    before = _check_dest(s3, source, dest_bucket, prefix, marker)
    _put_marker(s3, dest_bucket, prefix, marker)
    tasks = tuple(
        FileTask(
            settings,
            source.bucket,
            f.key,
            dest_bucket,
            f"{prefix}data/{_stem(f.key)}.json.gz",
            f"{prefix}rejects/{_stem(f.key)}.jsonl",
            "",  # the executor's own scratch folder, set there
            "",
            deriver_spec,
            keys,
            source.damage_hint,
        )
        for f in source.files
    )
    return TransformJob(settings, source, dest_bucket, prefix, keys, max_rejects, marker, tuple(before), tasks)


def finish_transform(
    job: TransformJob, outcomes: Sequence[FileOutcome], duplicates: DuplicateReport
) -> TransformResult:
    """Clean up, then refuse a short export, too many rejects or duplicate keys; else mark the output complete."""
    s3 = job.settings.client("s3")
    written = {t.dest_key for t in job.tasks} | {t.rejects_key for t in job.tasks}
    _delete_stale(s3, job.dest_bucket, job.prefix, list(job.before), written)
    ordered = sorted(outcomes, key=lambda o: o.dest_key)
    items_in = sum(o.counts.items_in for o in ordered)
    items_out = sum(o.counts.items_out for o in ordered)
    rejects = sum(o.counts.rejects for o in ordered)
    if job.source.item_count is not None and items_in != job.source.item_count:
        raise ExportFailedError(
            f"The export's manifest counts {job.source.item_count} items but its files hold {items_in}.",
            hint="The export is incomplete or was altered; run a new export.",
        )
    location = f"s3://{job.dest_bucket}/{job.prefix}rejects/"
    if rejects > job.max_rejects:
        reasons = tuple(r for o in ordered for r in o.counts.reasons)[:_SHOWN_REASONS]
        raise RejectsFound(rejects, job.max_rejects, location, reasons)
    if duplicates.found:
        raise DuplicateKeysFound(duplicates, job.key_names)
    files = tuple(DataFile(o.dest_key, o.size, o.counts.items_out) for o in ordered)
    layout = ExportLayout(job.dest_bucket, job.prefix, job.prefix + "data/", files, items_out, False, "transform")
    counts = {"itemsIn": items_in, "itemsOut": items_out, "rejects": rejects}
    _put_marker(s3, job.dest_bucket, job.prefix, {**job.marker, "counts": counts, "complete": True})
    return TransformResult(items_in, items_out, rejects, layout, location if rejects else None)

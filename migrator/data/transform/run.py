"""Transform an export on S3 for the new key schema, in parallel, in bounded memory.

Each data file is streamed down, rewritten (:mod:`migrator.data.transform.lines`), gzipped and uploaded
as one file under ``<dest_prefix>data/`` with a name taken from the source file, so a rerun
overwrites its own files and never adds new ones. Rejects go to ``<dest_prefix>rejects/``, outside
``data/``, so an import never reads them. Every item's new key is spilled to local disk and checked
for duplicates (:mod:`migrator.data.transform.dupes`) before anything can be imported. ``<dest_prefix>_transform.json``
records the source and the rules; its ``complete`` flag is written last.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from migrator.core.errors import BadInputError, ExportFailedError, RejectsError
from migrator.core.ports import Progress
from migrator.data.aws import AwsSettings, aws_errors
from migrator.data.export.files import TRANSFORM_MARKER, DataFile, ExportLayout, damaged_file, list_objects, read_object
from migrator.data.progress import Meter, Meters, meters_for
from migrator.data.transform.dupes import DigestSpill, DuplicateKeysFound, find_duplicates
from migrator.data.transform.lines import DeriverSpec, FileCounts, LineRewriter, transform_stream
from migrator.data.workers import items_done, process_pool, run_folder

__all__ = ["DeriverSpec", "RejectsFound", "TransformResult", "transform_export"]

MARKER = TRANSFORM_MARKER
_SPOOL_BYTES = 64 << 20  # output kept in memory up to this size, then on local disk, before upload
_SHOWN_REASONS = 5


@dataclass(frozen=True)
class TransformResult:
    """What the transform wrote: counts, and the layout whose ``data_prefix`` the import reads."""

    items_in: int
    items_out: int
    rejects: int
    layout: ExportLayout
    rejects_prefix: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "items_in": self.items_in,
            "items_out": self.items_out,
            "rejects": self.rejects,
            "bucket": self.layout.bucket,
            "data_prefix": self.layout.data_prefix,
            "files": len(self.layout.files),
            "rejects_prefix": self.rejects_prefix,
        }


class RejectsFound(RejectsError):
    """More rejects than allowed; carries the count, where they were written and the first reasons."""

    def __init__(self, rejects: int, allowed: int, location: str, reasons: tuple[str, ...]) -> None:
        self.rejects, self.allowed, self.location, self.reasons = rejects, allowed, location, reasons
        super().__init__(
            f"{rejects} item(s) could not be transformed (allowed: {allowed}); they are in {location} "
            f"with their reasons, first: {'; '.join(reasons) or '?'}.",
            hint="Fix the items or the derive rules and rerun, or allow them with --max-rejects.",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": "rejects",
            "rejects": self.rejects,
            "allowed": self.allowed,
            "rejects_prefix": self.location,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class FileTask:
    """One data file to transform, with everything a worker process needs (picklable)."""

    settings: AwsSettings
    bucket: str
    key: str
    dest_bucket: str
    dest_key: str
    rejects_key: str
    spill_dir: str
    tag: str
    spec: DeriverSpec
    key_names: tuple[str, ...]
    damage_hint: str = ""


@dataclass(frozen=True)
class FileOutcome:
    counts: FileCounts
    dest_key: str
    size: int


def transform_file(task: FileTask, on_items: Callable[[int], None] = items_done) -> FileOutcome:
    """Stream one data file down, rewrite it, upload the result (and its rejects); runs in a worker.

    ``on_items(n)`` hears of items read as they are (by default: the pool's shared counter).
    """
    s3 = task.settings.client("s3")
    rewriter = LineRewriter(task.spec.build(), task.key_names)
    spill = DigestSpill(task.spill_dir, task.tag)
    source = f"s3://{task.bucket}/{task.key}"
    with aws_errors(f"read {source}", what=source):
        body = s3.get_object(Bucket=task.bucket, Key=task.key)["Body"]
    with tempfile.SpooledTemporaryFile(_SPOOL_BYTES) as out, tempfile.SpooledTemporaryFile(_SPOOL_BYTES) as rejects:
        with aws_errors(f"read {source}"), damaged_file(task.bucket, task.key, hint=task.damage_hint):
            counts = transform_stream(
                body, out, rejects, spill, rewriter, compressed=not task.key.endswith(".json"), on_items=on_items
            )
        spill.close()
        size = out.tell()
        out.seek(0)
        with aws_errors(f"write s3://{task.dest_bucket}/{task.dest_key}", what=f"bucket {task.dest_bucket}"):
            s3.upload_fileobj(out, task.dest_bucket, task.dest_key)
            if counts.rejects:
                rejects.seek(0)
                s3.upload_fileobj(rejects, task.dest_bucket, task.rejects_key)
            else:  # a rerun must not leave the rejects of an earlier run behind
                s3.delete_object(Bucket=task.dest_bucket, Key=task.rejects_key)
    return FileOutcome(counts, task.dest_key, size)


def _folder(prefix: str) -> str:
    prefix = prefix.lstrip("/")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def _stem(key: str) -> str:
    name = posixpath.basename(key)
    for suffix in (".json.gz", ".gz", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _marker(source: ExportLayout, spec: DeriverSpec, key_names: tuple[str, ...]) -> dict[str, Any]:
    return {
        "format": 1,
        "source": {
            "bucket": source.bucket,
            "dataPrefix": source.data_prefix,
            "files": [f.key for f in source.files],
        },
        "derive": spec.to_dict(),
        "keyNames": list(key_names),
        "complete": False,
    }


def _same_run(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return all(old.get(k) == new[k] for k in ("format", "source", "derive", "keyNames"))


def source_folders(source: ExportLayout) -> tuple[str, ...]:
    """The folders an export occupies: the prefix it was named by, its data folder, and for an AWS
    export the prefix it was made with (the part before ``AWSDynamoDB/``, which `migrate export` lists)."""
    folders = {_folder(source.prefix), source.data_prefix}
    if "AWSDynamoDB/" in source.data_prefix:
        folders.add(source.data_prefix[: source.data_prefix.index("AWSDynamoDB/")])
    return tuple(sorted(f for f in folders if f))


def _check_dest(s3: Any, source: ExportLayout, bucket: str, prefix: str, marker: dict[str, Any]) -> list[str]:
    """Refuse a destination that overlaps the source or holds files of something else; list what is there."""
    where = f"s3://{bucket}/{prefix}"
    overlapped = [f for f in source_folders(source) if prefix.startswith(f) or f.startswith(prefix)]
    if bucket == source.bucket and (overlapped or any(f.key.startswith(prefix) for f in source.files)):
        # Inside the export, its files would be read as a second export by every later step.
        folder = overlapped[0] if overlapped else source.data_prefix
        raise BadInputError(
            f"The destination {where} overlaps the export under s3://{bucket}/{folder}.",
            hint="Give --dest a prefix of its own, outside the export, e.g. s3://<bucket>/transformed/<table>/.",
        )
    with aws_errors(f"use bucket {bucket}", what=f"bucket {bucket}", hint="Create the bucket or fix --dest."):
        s3.head_bucket(Bucket=bucket)
    keys = [o["Key"] for o in list_objects(s3, bucket, prefix)]
    if not keys:
        return keys
    old = orjson.loads(read_object(s3, bucket, prefix + MARKER)) if prefix + MARKER in keys else None
    if old is None or not _same_run(old, marker):
        what = "another transform" if old is not None else "files this transform did not write"
        raise BadInputError(
            f"{where} already holds {len(keys)} object(s) from {what}; refusing to mix them with this output.",
            hint=f"Use an empty --dest prefix, or delete {where} first if nothing there is needed.",
        )
    return keys


def _put_marker(s3: Any, bucket: str, prefix: str, marker: dict[str, Any]) -> None:
    with aws_errors(f"write s3://{bucket}/{prefix}{MARKER}", what=f"bucket {bucket}"):
        s3.put_object(Bucket=bucket, Key=prefix + MARKER, Body=orjson.dumps(marker, option=orjson.OPT_INDENT_2))


def _run(tasks: list[FileTask], workers: int, progress: Progress | None, meter: Meter) -> list[FileOutcome]:
    outcomes: list[FileOutcome] = []

    def done(outcome: FileOutcome) -> None:
        outcomes.append(outcome)
        if progress is not None:
            items = sum(o.counts.items_out for o in outcomes)
            progress(f"transform: {len(outcomes)}/{len(tasks)} files, {items} items written")

    try:
        if workers <= 1 or len(tasks) <= 1:
            for task in tasks:
                done(transform_file(task, meter.add))
            return outcomes
        with process_pool(min(workers, len(tasks)), meter.add) as pool:
            for outcome in pool.map(transform_file, tasks):
                done(outcome)
        return outcomes
    finally:
        meter.close()


def _delete_stale(s3: Any, bucket: str, prefix: str, before: list[str], written: set[str]) -> None:
    """Delete files an earlier run of this same transform left that this run did not write again."""
    stale = [
        k
        for k in before
        if k not in written and k.startswith((prefix + "data/", prefix + "rejects/")) and k != prefix + MARKER
    ]
    with aws_errors(f"clean s3://{bucket}/{prefix}"):
        for start in range(0, len(stale), 1000):
            batch = [{"Key": k} for k in stale[start : start + 1000]]
            s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})


def _tasks(
    settings: AwsSettings,
    source: ExportLayout,
    dest_bucket: str,
    prefix: str,
    spill_dir: str,
    deriver_spec: DeriverSpec,
    key_names: tuple[str, ...],
) -> list[FileTask]:
    """One task per data file of ``source``: its output and rejects file under ``prefix``, its spill name."""
    return [
        FileTask(
            settings,
            source.bucket,
            f.key,
            dest_bucket,
            f"{prefix}data/{_stem(f.key)}.json.gz",
            f"{prefix}rejects/{_stem(f.key)}.jsonl",
            spill_dir,
            f"{n:05d}",
            deriver_spec,
            tuple(key_names),
            source.damage_hint,
        )
        for n, f in enumerate(source.files)
    ]


def transform_export(
    settings: AwsSettings,
    source: ExportLayout,
    *,
    dest_bucket: str,
    dest_prefix: str,
    deriver_spec: DeriverSpec,
    key_names: tuple[str, ...],
    max_rejects: int = 0,
    workers: int | None = None,
    progress: Progress | None = None,
    meters: Meters | None = None,
) -> TransformResult:
    """Rewrite every data file of ``source`` under ``s3://dest_bucket/dest_prefix`` for the new key schema.

    ``key_names`` are the new table's key attributes, checked for presence and duplicates. Raises
    :class:`RejectsFound` (a RejectsError) when more than ``max_rejects`` items cannot be transformed,
    :class:`DuplicateKeysFound` (a DuplicateKeysError) when two items derive one key, and
    BadInputError for bad rules, a missing bucket or a destination that holds other files.
    Progress goes to ``meters`` if given, else as lines to ``progress``.
    """
    deriver_spec.build()  # bad rules or hook: fail here, before any worker starts
    if not key_names:
        raise BadInputError("No key attribute to check.", hint="Name the new table's key attributes (--key).")
    prefix = _folder(dest_prefix)
    s3 = settings.client("s3")
    marker = _marker(source, deriver_spec, key_names)
    before = _check_dest(s3, source, dest_bucket, prefix, marker)
    _put_marker(s3, dest_bucket, prefix, marker)
    with run_folder(dest_bucket, prefix) as spill_dir:
        tasks = _tasks(settings, source, dest_bucket, prefix, spill_dir, deriver_spec, key_names)
        meter = meters_for(progress, meters)("transform", source.item_count)
        outcomes = _run(tasks, workers or os.cpu_count() or 1, progress, meter)
        if progress is not None:
            progress("transform: checking the new keys for duplicates")
        duplicates = find_duplicates(spill_dir)
    _delete_stale(s3, dest_bucket, prefix, before, {t.dest_key for t in tasks} | {t.rejects_key for t in tasks})
    items_in = sum(o.counts.items_in for o in outcomes)
    items_out = sum(o.counts.items_out for o in outcomes)
    rejects = sum(o.counts.rejects for o in outcomes)
    if source.item_count is not None and items_in != source.item_count:
        raise ExportFailedError(
            f"The export's manifest counts {source.item_count} items but its files hold {items_in}.",
            hint="The export is incomplete or was altered; run a new export.",
        )
    rejects_location = f"s3://{dest_bucket}/{prefix}rejects/"
    if rejects > max_rejects:
        reasons = tuple(r for o in outcomes for r in o.counts.reasons)[:_SHOWN_REASONS]
        raise RejectsFound(rejects, max_rejects, rejects_location, reasons)
    if duplicates.found:
        raise DuplicateKeysFound(duplicates, tuple(key_names))
    files = tuple(DataFile(o.dest_key, o.size, o.counts.items_out) for o in outcomes)
    layout = ExportLayout(dest_bucket, prefix, prefix + "data/", files, items_out, False, "transform")
    counts = {"itemsIn": items_in, "itemsOut": items_out, "rejects": rejects}
    _put_marker(s3, dest_bucket, prefix, {**marker, "counts": counts, "complete": True})
    return TransformResult(items_in, items_out, rejects, layout, rejects_location if rejects else None)

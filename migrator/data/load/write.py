"""The write path (``newTable.load: write``): load an export's data files into an existing, empty table.

ImportTable cannot create a table with local secondary indexes, so such a table is created empty (by the
program) and filled here with BatchWriteItem. Nothing is created or deleted here.

- Before writing, the cost is estimated from a sample of items and printed (:mod:`migrator.core.capacity`).
- Files are loaded in parallel, each in order, 25 items per request. Items a request leaves unprocessed are
  sent again with exponential backoff until written; when the table keeps refusing them, the load stops
  with an error rather than drop anything.
- Progress is kept per data file in a small checkpoint object on S3 (lines written, and the file's ETag),
  saved after acknowledged requests only: a rerun after a crash skips finished files and resumes a file
  after its last checkpoint. Writes are idempotent puts, so lines written after the last checkpoint are
  simply written again.
- Afterwards the table's items are counted and compared with the number expected.
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from migrator.core.capacity import LoadEstimate, estimate_load
from migrator.core.errors import AwsError, BadInputError, ImportFailedError
from migrator.core.ports import Progress
from migrator.core.tablespec import TableSpec
from migrator.data.aws import aws_errors
from migrator.data.describe import spec_from_description
from migrator.data.export.files import DataFile, ExportLayout, iter_lines

BATCH = 25  # BatchWriteItem's limit
SAMPLE_ITEMS = 1000
CHECKPOINT_EVERY = 5000  # lines between checkpoints of one file
MAX_QUIET_RETRIES = 12  # unprocessed-item retries in a row without any item written, before giving up
COUNT_SEGMENTS = 4


@dataclass(frozen=True)
class FileProgress:
    """How far one data file has been written: ``lines`` from its start, ``complete`` once all of them."""

    key: str
    etag: str
    lines: int
    complete: bool = False

    def to_json(self) -> bytes:
        return orjson.dumps({"key": self.key, "etag": self.etag, "lines": self.lines, "complete": self.complete})


class Checkpoints(Protocol):
    """Where the per-file progress of a load is kept."""

    def get(self, file: DataFile, etag: str) -> FileProgress | None: ...

    def put(self, progress: FileProgress) -> None: ...


class S3Checkpoints:
    """One small JSON object per data file under ``s3://bucket/prefix``; a file whose ETag changed starts over."""

    def __init__(self, s3: Any, bucket: str, prefix: str) -> None:
        self._s3, self.bucket, self.prefix = s3, bucket, prefix

    def _key(self, data_key: str) -> str:
        return f"{self.prefix}{hashlib.sha256(data_key.encode()).hexdigest()[:24]}.json"

    def get(self, file: DataFile, etag: str) -> FileProgress | None:
        key = self._key(file.key)
        with aws_errors(f"read the load checkpoint s3://{self.bucket}/{key}", what=f"bucket {self.bucket}"):
            try:
                body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            except self._s3.exceptions.NoSuchKey:
                return None
        data = orjson.loads(body)
        if data.get("key") != file.key or data.get("etag") != etag:
            return None  # another file, or the file was rewritten since: its lines may differ
        return FileProgress(file.key, etag, int(data["lines"]), bool(data.get("complete")))

    def put(self, progress: FileProgress) -> None:
        key = self._key(progress.key)
        with aws_errors(f"write the load checkpoint s3://{self.bucket}/{key}", what=f"bucket {self.bucket}"):
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=progress.to_json())


def checkpoint_prefix(layout: ExportLayout, table: str) -> str:
    """Beside the data folder, never in it: ``…/_load/<table>/`` (readers of data files skip ``_`` folders)."""
    parent = posixpath.dirname(layout.data_prefix.rstrip("/"))
    return f"{parent}/_load/{table}/" if parent else f"_load/{table}/"


@dataclass
class _Tally:
    """Counters shared by the file workers."""

    written: int = 0
    resumed_lines: int = 0
    requests: int = 0
    retries: int = 0
    consumed: float = 0.0
    files_done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **counts: float) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True)
class LoadResult:
    """What a load did: files and items written, what a rerun skipped, retries, capacity, and the count check."""

    table: str
    files: int
    files_skipped: int
    items_written: int
    lines_resumed: int
    requests: int
    retries: int
    consumed_units: float
    estimate: LoadEstimate
    expected_items: int
    table_items: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "files": self.files,
            "filesSkipped": self.files_skipped,
            "itemsWritten": self.items_written,
            "linesResumed": self.lines_resumed,
            "requests": self.requests,
            "retries": self.retries,
            "consumedWriteUnits": self.consumed_units,
            "estimate": self.estimate.to_dict(),
            "expectedItems": self.expected_items,
            "tableItems": self.table_items,
        }


class _Loader:
    """One load: the clients, the checkpoints and the counters its file workers share."""

    def __init__(self, client: Any, s3: Any, layout: ExportLayout, table: str, checkpoints: Checkpoints) -> None:
        self.client, self.s3, self.layout, self.table, self.checkpoints = client, s3, layout, table, checkpoints
        self.progress: Progress = lambda _m: None
        self.sleep: Callable[[float], None] = time.sleep
        self.checkpoint_every = CHECKPOINT_EVERY
        self.tally = _Tally()

    def etag(self, file: DataFile) -> str:
        with aws_errors(f"read s3://{self.layout.bucket}/{file.key}", what=f"s3://{self.layout.bucket}/{file.key}"):
            return str(self.s3.head_object(Bucket=self.layout.bucket, Key=file.key)["ETag"])

    def load_file(self, file: DataFile, etag: str, start: int) -> None:
        batch: list[dict[str, Any]] = []
        done = start
        since_checkpoint = 0
        for number, line in enumerate(iter_lines(self.s3, self.layout.bucket, file.key)):
            if number < start:
                continue
            batch.append(_wire_item(line, file.key, number))
            if len(batch) == BATCH:
                self.write(batch, file.key)
                done, since_checkpoint, batch = number + 1, since_checkpoint + BATCH, []
                if since_checkpoint >= self.checkpoint_every:
                    self.checkpoints.put(FileProgress(file.key, etag, done))
                    since_checkpoint = 0
        if batch:
            self.write(batch, file.key)
        self.checkpoints.put(FileProgress(file.key, etag, done + len(batch), complete=True))
        self.tally.add(files_done=1)
        files = f"{self.tally.files_done}/{len(self.layout.files)} files"
        self.progress(f"load: {file.key} written ({files}, {self.tally.written} items)")

    def write(self, items: list[dict[str, Any]], key: str) -> None:
        """Write ``items`` with BatchWriteItem until every one is written; never drop one."""
        pending = [{"PutRequest": {"Item": item}} for item in items]
        quiet = 0
        while pending:
            with aws_errors(f"write items of {key} into table {self.table}", what=f"table {self.table}"):
                response = self.client.batch_write_item(
                    RequestItems={self.table: pending}, ReturnConsumedCapacity="TOTAL"
                )
            left = response.get("UnprocessedItems", {}).get(self.table, [])
            consumed = sum(c.get("CapacityUnits", 0.0) for c in response.get("ConsumedCapacity", []) or [])
            self.tally.add(written=len(pending) - len(left), requests=1, consumed=consumed)
            if not left:
                return
            quiet = 0 if len(left) < len(pending) else quiet + 1
            if quiet > MAX_QUIET_RETRIES:
                raise AwsError(
                    f"Table {self.table} kept refusing {len(left)} items of {key} (unprocessed after "
                    f"{MAX_QUIET_RETRIES} retries): its write capacity is too low for the load.",
                    hint="Raise the table's write capacity (or switch it to on demand), then rerun: the load "
                    "resumes from its last checkpoint and nothing already written is lost.",
                )
            self.tally.add(retries=1)
            self.sleep(min(20.0, 0.05 * 2**quiet) * (0.5 + random.random()))  # noqa: S311 - jitter, not crypto
            pending = left


def _wire(value: dict[str, Any]) -> dict[str, Any]:
    """An export's DynamoDB-JSON value as botocore takes it: B and BS as bytes (exports hold base64)."""
    ((kind, raw),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(raw)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b) for b in raw]}
    if kind == "M":
        return {"M": {k: _wire(v) for k, v in raw.items()}}
    if kind == "L":
        return {"L": [_wire(v) for v in raw]}
    return value


def _wire_item(line: bytes, key: str, number: int) -> dict[str, Any]:
    try:
        item = orjson.loads(line)["Item"]
        return {name: _wire(value) for name, value in item.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise BadInputError(
            f'Line {number + 1} of {key} is not an export item ({{"Item": {{…}}}} in DynamoDB JSON): {e}.',
            hint="Point the load at an export's or a transform's data/ folder.",
        ) from None


def _sample(s3: Any, layout: ExportLayout, limit: int) -> list[dict[str, Any]]:
    sample: list[dict[str, Any]] = []
    for file in layout.files:
        for line in iter_lines(s3, layout.bucket, file.key):
            sample.append(orjson.loads(line)["Item"])
            if len(sample) >= limit:
                return sample
    return sample


def target_spec(client: Any, table: str) -> TableSpec:
    """The target table as it is (keys, billing, indexes), for the estimate."""
    with aws_errors(
        f"describe table {table}",
        what=f"table {table}",
        hint="The write path fills an existing table: create it first (stage 2's update does).",
    ):
        described = client.describe_table(TableName=table)["Table"]
    return spec_from_description(described, {}, {}, {})[0]


def count_items(client: Any, table: str, *, segments: int = COUNT_SEGMENTS) -> int:
    """The table's items, counted by a parallel Scan (Select=COUNT, consistent)."""

    def segment(n: int) -> int:
        total = 0
        with aws_errors(f"count the items of table {table}", what=f"table {table}"):
            pages = client.get_paginator("scan").paginate(
                TableName=table, Select="COUNT", ConsistentRead=True, Segment=n, TotalSegments=segments
            )
            for page in pages:
                total += int(page.get("Count", 0))
        return total

    with ThreadPoolExecutor(segments) as pool:
        return sum(pool.map(segment, range(segments)))


def load_export(
    client: Any,
    s3: Any,
    layout: ExportLayout,
    *,
    table: str,
    expected_items: int,
    checkpoints: Checkpoints | None = None,
    workers: int = 4,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    checkpoint_every: int = CHECKPOINT_EVERY,
) -> LoadResult:
    """Write every item of ``layout``'s data files into ``table`` (which must exist), resumably; count them after.

    ``expected_items`` is what the table must hold afterwards (the import source's item count). Raises
    :class:`ImportFailedError` (exit 1) when the count differs; a rerun resumes from the checkpoints.
    """
    say = progress or (lambda _m: None)
    spec = target_spec(client, table)
    estimate = estimate_load(spec, _sample(s3, layout, SAMPLE_ITEMS), expected_items)
    say(estimate.text())
    checkpoints = checkpoints or S3Checkpoints(s3, layout.bucket, checkpoint_prefix(layout, table))
    loader = _Loader(client, s3, layout, table, checkpoints)
    loader.progress, loader.sleep, loader.checkpoint_every = say, sleep, checkpoint_every
    tasks, skipped = _pending(loader, layout, checkpoints)
    if skipped or any(start for _, _, start in tasks):
        say(f"load: resuming; {skipped} of {len(layout.files)} files already written")
    _run(loader, tasks, workers)
    counted = count_items(client, table)
    tally = loader.tally
    result = LoadResult(
        table=table,
        files=len(layout.files),
        files_skipped=skipped,
        items_written=tally.written,
        lines_resumed=tally.resumed_lines,
        requests=tally.requests,
        retries=tally.retries,
        consumed_units=tally.consumed,
        estimate=estimate,
        expected_items=expected_items,
        table_items=counted,
    )
    _check_count(table, counted, expected_items)
    say(f"load: {table} holds {counted} items, as expected")
    return result


def _pending(
    loader: _Loader, layout: ExportLayout, checkpoints: Checkpoints
) -> tuple[list[tuple[DataFile, str, int]], int]:
    """The files still to write as ``(file, etag, first line)``, and how many are written already."""
    tasks: list[tuple[DataFile, str, int]] = []
    skipped = 0
    for file in layout.files:
        etag = loader.etag(file)
        done = checkpoints.get(file, etag)
        if done is not None and done.complete:
            skipped += 1
            loader.tally.add(resumed_lines=done.lines)
            continue
        start = done.lines if done is not None else 0
        loader.tally.add(resumed_lines=start)
        tasks.append((file, etag, start))
    return tasks, skipped


def _check_count(table: str, counted: int, expected_items: int) -> None:
    if counted != expected_items:
        raise ImportFailedError(
            f"Table {table} holds {counted} items after the load, but {expected_items} were expected.",
            hint="Rerun the load (it resumes and rewrites nothing lost); if the count still differs, check that "
            "nothing else writes to the table and that the data files hold one item per key.",
        )


def _run(loader: _Loader, tasks: list[tuple[DataFile, str, int]], workers: int) -> None:
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            loader.load_file(*task)
        return
    pool = ThreadPoolExecutor(min(workers, len(tasks)))
    try:
        for future in [pool.submit(loader.load_file, *task) for task in tasks]:
            future.result()  # the first failure stops the load with its own error
    finally:
        # Files not started yet are left for the rerun; those running finish their current request.
        pool.shutdown(wait=True, cancel_futures=True)

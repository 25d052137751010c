"""The work of one Spark partition: one export data file, read with boto3 inside the executor. No pyspark.

Why boto3 and not ``s3a://``: the single-process path's own reading (:func:`migrator.data.verify.read.file_pages`,
gzip through ISA-L, line numbers in the reasons, damaged files named) runs unchanged, so both paths
see the same items; it needs no hadoop-aws and AWS SDK jars matched to the cluster's Hadoop build;
credentials come from the executor's usual chain (instance or task role on EMR and Glue); and it
talks to moto's server like any boto3 client. An export data file is the unit of parallelism: AWS
writes many files of bounded size per export, and a file is streamed, never held whole.

Every function here is a plain function of picklable values (frozen dataclasses, tuples, bytes), so
Spark ships it to the executors; each raises :class:`~.failures.CarriedError` for a MigrationError.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import xxhash

from migrator.core.derive import Deriver
from migrator.data.export.files import DataFile, ExportLayout
from migrator.data.spark.failures import carried
from migrator.data.transform.lines import DeriverSpec
from migrator.data.transform.run import FileOutcome, FileTask, transform_file
from migrator.data.verify.buckets import selected_items
from migrator.data.verify.exports import ClientSource, built_deriver
from migrator.data.verify.findings import KeyFindings
from migrator.data.verify.read import file_pages
from migrator.data.verify.sides import SampleBook, SideTally, side_keyer, tally_side

OUTCOME, KEY = "outcome", "key"
_KEYS_TAG = "keys"  # the transform's spill names its key file <tag>.keys


@dataclass(frozen=True)
class FilePart:
    """One data file of one side (0 the legacy export, 1 the new table's export)."""

    side: int
    bucket: str
    file: DataFile
    damage_hint: str


@dataclass(frozen=True)
class VerifyPlan:
    """What every partition of a verification needs: where to read, the rules, the new key."""

    store: ClientSource
    spec: DeriverSpec
    key_names: tuple[str, ...]


def file_parts(side: int, layout: ExportLayout) -> list[FilePart]:
    """One part per data file of ``layout``."""
    return [FilePart(side, layout.bucket, f, layout.damage_hint) for f in layout.files]


def key_partition(key: Any) -> int:
    """Spark's partitioner for our keys: stable across processes (Python's own ``hash`` of bytes is
    salted per process unless PYTHONHASHSEED is set, which a cluster need not do)."""
    if isinstance(key, int):
        return key
    return xxhash.xxh3_64_intdigest(key)


@lru_cache(maxsize=8)
def _s3(store: ClientSource) -> Any:
    return store.client("s3")  # one client per executor process and store: building one costs ~50 ms


@lru_cache(maxsize=8)
def _deriver(spec: DeriverSpec) -> Deriver | None:
    return built_deriver(spec)


def _pages(plan: VerifyPlan, part: FilePart) -> Iterator[list[Any]]:
    return file_pages(_s3(plan.store), part.bucket, (part.file,), damage_hint=part.damage_hint)


def tally_part(plan: VerifyPlan, part: FilePart) -> tuple[int, SideTally]:
    """Pass 1 of one file: ``(side, its tally and samples)``."""
    with carried():
        keyer = side_keyer(part.side, plan.key_names, _deriver(plan.spec), SampleBook())
        return part.side, tally_side(part.side, _pages(plan, part), keyer)


def digests_part(plan: VerifyPlan, selected: bytes, part: FilePart) -> Iterator[tuple[bytes, tuple[int, int]]]:
    """Pass 2 of one file: ``(key, (side, item digest))`` of each item whose bucket is ``selected``."""
    with carried():
        keyer = side_keyer(part.side, plan.key_names, _deriver(plan.spec), SampleBook())
        chosen = bytearray(selected)
        for page in _pages(plan, part):
            for key, digest, _item, _raw in selected_items(page, keyer, chosen):
                yield key, (part.side, digest)


def findings_part(grouped: Iterable[tuple[bytes, Iterable[tuple[int, int]]]]) -> Iterator[KeyFindings]:
    """Classify the keys of one partition of pass 2's grouped digests; one KeyFindings per partition."""
    findings = KeyFindings()
    for key, values in grouped:
        pairs = list(values)
        findings.add(key, [d for side, d in pairs if side == 0], [d for side, d in pairs if side == 1])
    yield findings


def _ignore(_items: int) -> None:
    return None


def transform_part(task: FileTask) -> Iterator[tuple[str, Any]]:
    """Transform one data file as the single-process transform does (:func:`transform_file`: rewrite,
    upload under ``data/``, rejects under ``rejects/``), then yield ``("outcome", FileOutcome)`` and
    ``("key", canonical key)`` for every item written, for the duplicate check across all files."""
    with carried(), tempfile.TemporaryDirectory(prefix="table-migration-spark-") as folder:
        outcome: FileOutcome = transform_file(replace(task, spill_dir=folder, tag=_KEYS_TAG), _ignore)
        yield OUTCOME, outcome
        keys = Path(folder) / f"{_KEYS_TAG}.keys"
        if keys.exists():
            with open(keys, "rb") as lines:
                for line in lines:
                    yield KEY, line.rstrip(b"\n")

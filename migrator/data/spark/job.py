"""The Spark jobs: the one module that imports pyspark (the ``spark`` extra: ``pip install '.[spark]'``, Java 17).

Spark carries the files and the shuffles; the work on items is the single-process code
(:mod:`.partitions`), so both paths give the same answers. The driver holds only bucket tallies,
counts and the smallest samples: its memory does not grow with the tables.

- Verification: pass 1 maps each data file of both exports to its bucket tally and reduces them per
  side; pass 2, only when buckets differ, reads the files again, keeps the items of those buckets,
  groups their digests by key (a shuffle of the differing items only) and classifies each key.
- Transform: each source file is transformed and uploaded by an executor (no Hadoop output committer,
  so nothing but the gzip files lands under ``data/``); the new keys are counted by a shuffle and any
  key two items derive fails the step before the output is marked complete.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from operator import add

from pyspark import StorageLevel
from pyspark.errors import PySparkRuntimeError
from pyspark.sql import SparkSession

from migrator.core.errors import BadInputError
from migrator.data.aws import AwsSettings
from migrator.data.export.files import ExportLayout
from migrator.data.spark.failures import rebuilt
from migrator.data.spark.partitions import (
    KEY,
    OUTCOME,
    digests_part,
    findings_part,
    key_partition,
    tally_part,
    transform_part,
)
from migrator.data.spark.plan import finish_transform, finish_verify, prepare_transform, prepare_verify
from migrator.data.transform.dupes import MAX_SAMPLES, DuplicateReport
from migrator.data.transform.lines import DeriverSpec
from migrator.data.transform.run import FileOutcome, TransformResult
from migrator.data.verify.buckets import BUCKETS, differing_buckets
from migrator.data.verify.exports import ClientSource
from migrator.data.verify.findings import KeyFindings
from migrator.data.verify.run import VerifyReport
from migrator.data.verify.sides import SideTally

Progress = Callable[[str], None]
APP_NAME = "table-migration"


def spark_session(master: str | None = "local[*]", conf: dict[str, str] | None = None) -> SparkSession:
    """The active SparkSession, or a new one on ``master`` (None: what spark-submit set, else ``local[*]``)."""
    if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        master = "local[*]"  # a plain `python -m …` run: no spark-submit gave a master
    if master is not None and master.startswith("local"):
        # Local workers are this machine's: run them with this interpreter (whose environment has the
        # package), not whatever `python3` is first on PATH. Spark reads the choice from the environment.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(APP_NAME).config("spark.ui.showConsoleProgress", "false")
    if master is not None:
        builder = builder.master(master)
    for name, value in (conf or {}).items():
        builder = builder.config(name, value)
    try:
        return builder.getOrCreate()
    except PySparkRuntimeError as e:  # JAVA_GATEWAY_EXITED: no java, or one Spark cannot run on
        raise BadInputError(
            f"Spark could not start on {master or 'the submitted master'} ({e.getErrorClass()}).",
            hint="Spark needs Java 17 (JAVA_HOME or java on PATH); or set table-migration:compute.kind to local.",
        ) from None


@contextmanager
def _session(spark: SparkSession | None, master: str | None) -> Iterator[SparkSession]:
    """``spark`` as given, else a session made (and stopped after) here; errors carried from tasks raised as ours."""
    made = spark is None and SparkSession.getActiveSession() is None
    session = spark or spark_session(master)
    try:
        yield session
    except Exception as e:  # a task's MigrationError arrives wrapped in Spark's own exception
        carried = rebuilt(e)
        if carried is None:
            raise
        raise carried from None
    finally:
        if made:
            session.stop()


def _merged(a: SideTally, b: SideTally) -> SideTally:
    return a.merge(b)


def _both(a: KeyFindings, b: KeyFindings) -> KeyFindings:
    return a.merge(b)


def verify_exports_spark(
    source_layout: ExportLayout,
    target_layout: ExportLayout,
    rules: DeriverSpec | Sequence[str],
    key_names: Sequence[str],
    master: str | None = "local[*]",
    *,
    store: ClientSource | None = None,
    spark: SparkSession | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """:func:`migrator.data.verify.exports.verify_exports` on Spark: the same counts and the same samples.

    ``store`` is where executors read the files from (AwsSettings by default; it is pickled to them).
    ``spark``: a session to use (kept running); without one, a session on ``master`` is made and stopped.
    """
    started = time.monotonic()
    job = prepare_verify(source_layout, target_layout, rules, key_names, store)
    say = progress or (lambda _line: None)
    with _session(spark, master) as session:
        files = session.sparkContext.parallelize(job.parts, max(1, len(job.parts)))
        say(f"verify exports on Spark: pass 1 over {len(job.parts)} files")
        sides = dict(
            files.map(partial(tally_part, job.plan))
            .reduceByKey(_merged, numPartitions=2, partitionFunc=key_partition)
            .collect()
        )
        empty = SideTally(0)
        buckets = differing_buckets((sides.get(0) or empty).tally, (sides.get(1) or SideTally(1)).tally)
        findings = KeyFindings()
        if buckets:
            say(f"verify exports on Spark: pass 2 over {len(buckets)} differing buckets")
            selected = bytearray(BUCKETS)
            for b in buckets:
                selected[b] = 1
            findings = (
                files.flatMap(partial(digests_part, job.plan, bytes(selected)))
                .groupByKey(partitionFunc=key_partition)
                .mapPartitions(findings_part)
                .treeReduce(_both)
            )
    return finish_verify(job, sides, findings, buckets=len(buckets), seconds=time.monotonic() - started)


def _key_count(key: bytes) -> tuple[bytes, int]:
    return key, 1


def transform_spark(
    settings: AwsSettings,
    source: ExportLayout,
    *,
    dest_bucket: str,
    dest_prefix: str,
    deriver_spec: DeriverSpec,
    key_names: Sequence[str],
    max_rejects: int = 0,
    master: str | None = "local[*]",
    spark: SparkSession | None = None,
    progress: Progress | None = None,
) -> TransformResult:
    """:func:`migrator.data.transform.run.transform_export` on Spark, one task per source data file.

    The same contract: output under ``<dest>data/`` (gzip DynamoDB JSON only), rejects under
    ``<dest>rejects/``, RejectsFound beyond ``max_rejects``, DuplicateKeysFound when two items derive
    one key (found by a shuffle of the new keys), ``<dest>_transform.json`` marked complete last.
    """
    job = prepare_transform(
        settings,
        source,
        dest_bucket=dest_bucket,
        dest_prefix=dest_prefix,
        deriver_spec=deriver_spec,
        key_names=key_names,
        max_rejects=max_rejects,
    )
    say = progress or (lambda _line: None)
    with _session(spark, master) as session:
        say(f"transform on Spark: {len(job.tasks)} files")
        done = session.sparkContext.parallelize(job.tasks, max(1, len(job.tasks))).flatMap(transform_part)
        done.persist(StorageLevel.MEMORY_AND_DISK)  # read twice below: a recomputed file is only rewritten
        try:
            outcomes: list[FileOutcome] = done.filter(lambda r: r[0] == OUTCOME).values().collect()
            say("transform on Spark: checking the new keys for duplicates")
            repeated = (
                done.filter(lambda r: r[0] == KEY)
                .values()
                .map(_key_count)
                .reduceByKey(add, partitionFunc=key_partition)
                .filter(lambda pair: pair[1] > 1)
                .keys()
            )
            repeated.persist(StorageLevel.MEMORY_AND_DISK)
            duplicates = DuplicateReport(repeated.count(), tuple(repeated.takeOrdered(MAX_SAMPLES)))
            repeated.unpersist()
        finally:
            done.unpersist()
    return finish_transform(job, outcomes, duplicates)

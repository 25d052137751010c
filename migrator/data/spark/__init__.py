"""Export-against-export verification and the transform on Apache Spark (PySpark, the ``spark`` extra).

Only :mod:`migrator.data.spark.job` imports pyspark, and only when it is imported itself: this package
and its pure modules import without the extra. The per-partition work (:mod:`.partitions`) is the
single-process code run on one export data file at a time, read with boto3 inside the executor.

Entry points: :func:`migrator.data.spark.job.verify_exports_spark` and
:func:`migrator.data.spark.job.transform_spark` (also reachable as attributes of this package), and
``python -m migrator.data.spark verify-job|transform-job …`` for a cluster (spark-submit, EMR, Glue).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from migrator.core.errors import BadInputError

_LAZY = ("verify_exports_spark", "transform_spark", "spark_session")


def __getattr__(name: str) -> Any:
    # Reached only for names not defined here: pyspark is imported on first use, not with the package.
    if name in _LAZY:
        from migrator.data.spark import job

        return getattr(job, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_job() -> ModuleType:
    """:mod:`migrator.data.spark.job`, or a BadInputError saying how to get pyspark when the extra is missing."""
    try:
        from migrator.data.spark import job
    except ImportError as e:
        raise BadInputError(
            f"Spark compute needs pyspark, which cannot be imported here ({e}).",
            hint="Install the extra: pip install 'table-migration[spark]' (with Java 17), or set "
            "table-migration:compute.kind to local.",
        ) from None
    return job

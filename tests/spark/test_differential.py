"""The same export pair verified in one process and on Spark gives the same report, to the sample key."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import pytest

from migrator.data.export.files import locate_export
from migrator.data.spark.job import verify_exports_spark
from migrator.data.verify.exports import verify_exports
from tests.support.export_pair import BUCKET, SCENARIOS, Scenario, write_pair

pytestmark = pytest.mark.spark


def _without_time(report: Any) -> dict[str, Any]:
    return {**report.to_dict(), "seconds": None}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_spark_and_one_process_agree_on_every_count_and_sample(spark: Any, moto: Any, scenario: Scenario) -> None:
    # Given an export pair with planted missing, extra, changed, duplicate, reject and unreadable items
    source, target, expected = write_pair(moto.s3, scenario)
    # When it is verified on both paths
    single = verify_exports(source, target, scenario.rules, scenario.key_names, store=moto.settings)
    on_spark = verify_exports_spark(
        source, target, scenario.rules, scenario.key_names, spark=spark, store=moto.settings
    )
    # Then the reports are the same, and they are right
    assert _without_time(on_spark) == _without_time(single)
    assert (on_spark.missing_count, on_spark.extra_count, on_spark.changed_count) == (25, 15, 13)
    assert on_spark.duplicate_count == 3 and on_spark.rejects == expected.rejects
    assert on_spark.unreadable_count == expected.unreadable
    for kind in ("missing", "extra", "changed"):
        assert on_spark.samples[kind] == expected.samples(kind)


def test_identical_exports_are_identical_on_spark(spark: Any, moto: Any) -> None:
    # Given a legacy export and the new table's export holding its items through the rules, spelled otherwise
    legacy = [{"Name": {"S": f"n{i}"}, "V": {"N": str(i)}, "S": {"SS": ["b", "a"]}} for i in range(50)]
    new = [
        {"S": {"SS": ["a", "b"]}, "V": {"N": f"{i}.0"}, "Name": {"S": f"n{i}"}, "K": {"S": f"n{i}"}} for i in range(50)
    ]
    moto.s3.create_bucket(Bucket=BUCKET)
    for prefix, items in (("same/legacy", legacy), ("same/new", new)):
        body = gzip.compress(b"".join(orjson.dumps({"Item": i}) + b"\n" for i in items))
        moto.s3.put_object(Bucket=BUCKET, Key=f"{prefix}/data/f.json.gz", Body=body)
    source, target = (locate_export(moto.s3, BUCKET, f"same/{side}/") for side in ("legacy", "new"))
    # When verified on Spark
    report = verify_exports_spark(source, target, ["K=Name"], ["K"], spark=spark, store=moto.settings)
    # Then they are identical: no pass 2, nothing to report
    assert report.identical and report.differing_buckets == 0 and report.source_count == report.target_count == 50

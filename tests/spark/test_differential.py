"""The same export pair verified in one process and on Spark gives the same report, to the sample key."""

from __future__ import annotations

from typing import Any

import pytest

from migrator.data.spark.job import verify_exports_spark
from migrator.data.verify_exports import verify_exports
from tests.support.export_pair import SCENARIOS, Scenario, write_pair

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
    # Given an export and the same items (derived) as the new table's export
    source, _, _ = write_pair(moto.s3, SCENARIOS[0], prefix="one")
    # When the legacy export is compared with itself under identity rules and its own key
    report = verify_exports_spark(source, source, [], ["Name"], spark=spark, store=moto.settings)
    # Then only what cannot be read keeps it from being identical; nothing is missing, extra or changed
    assert (report.missing_count, report.extra_count, report.changed_count) == (0, 0, 0)
    assert report.differing_buckets == 0 or report.duplicate_count > 0

"""Export-against-export verification in one process, against the moto server: planted differences found."""

from __future__ import annotations

import gzip
from dataclasses import replace
from typing import Any

import orjson
import pytest

from migrator.core.errors import DeriveSyntaxError
from migrator.data.export.files import DamagedFilesError, locate_export
from migrator.data.verify.exports import verify_exports
from tests.support.export_pair import BUCKET, SCENARIOS, Scenario, write_pair


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_every_planted_difference_is_found_with_the_smallest_keys(moto: Any, scenario: Scenario) -> None:
    # Given a legacy export and a new table's export with planted differences
    source, target, expected = write_pair(moto.s3, scenario)
    # When they are verified (with one item per diff group, so pass 2 runs in many groups)
    report = verify_exports(source, target, scenario.rules, scenario.key_names, store=moto.settings, max_diff_items=7)
    # Then every count and the smallest sample keys are as planted
    assert not report.identical
    assert (report.source_count, report.target_count) == (expected.source_count, expected.target_count)
    assert report.missing_count == len(expected.keys["missing"]) == 25
    assert report.extra_count == 15 and report.changed_count == 13 and report.duplicate_count == 3
    for kind in ("missing", "extra", "changed"):
        assert report.samples[kind] == expected.samples(kind), kind
    assert list(report.duplicate_samples) == expected.samples("duplicate")
    assert report.rejects == expected.rejects == 12 and len(report.reject_samples) == 10
    assert report.unreadable_count == expected.unreadable
    sides = [s["side"] for s in report.unreadable_samples]
    assert sides == sorted(sides, key=("source", "target").index)
    assert report.export_item_count == (expected.source_count if scenario.manifest else None)


def test_samples_do_not_depend_on_the_number_of_readers(moto: Any) -> None:
    source, target, _ = write_pair(moto.s3, SCENARIOS[0])
    one = verify_exports(source, target, SCENARIOS[0].rules, ("UUID",), store=moto.settings, workers=1)
    three = verify_exports(source, target, SCENARIOS[0].rules, ("UUID",), store=moto.settings, workers=3)
    assert {**one.to_dict(), "seconds": 0} == {**three.to_dict(), "seconds": 0}


def _export(s3: Any, prefix: str, items: list[dict[str, Any]]) -> None:
    body = gzip.compress(b"".join(orjson.dumps({"Item": i}) + b"\n" for i in items))
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/data/f.json.gz", Body=body)


def test_identical_exports_are_identical(moto: Any) -> None:
    moto.s3.create_bucket(Bucket=BUCKET)
    _export(moto.s3, "a", [{"Name": {"S": "x"}, "N": {"N": "1"}}])
    _export(moto.s3, "b", [{"N": {"N": "1.0"}, "Name": {"S": "x"}, "UUID": {"S": "x"}}])
    source, target = locate_export(moto.s3, BUCKET, "a/"), locate_export(moto.s3, BUCKET, "b/")
    report = verify_exports(source, target, ["UUID=Name"], ["Name"], store=moto.settings)
    assert report.identical and report.source_count == report.target_count == 1


def test_a_target_export_short_of_its_manifest_is_damaged(moto: Any) -> None:
    # Given a new table's export whose manifest counts more items than its files hold
    source, target, _ = write_pair(moto.s3, SCENARIOS[1])
    short = replace(target, has_manifest=True, item_count=10_000)
    # Then the verification refuses it: nothing it says can be trusted
    with pytest.raises(DamagedFilesError, match="export of the new table"):
        verify_exports(source, short, SCENARIOS[1].rules, SCENARIOS[1].key_names, store=moto.settings)


def test_bad_rules_fail_before_reading(moto: Any) -> None:
    source, target, _ = write_pair(moto.s3, SCENARIOS[0])
    with pytest.raises(DeriveSyntaxError):
        verify_exports(source, target, ["UUID=nope("], ["UUID"], store=moto.settings)

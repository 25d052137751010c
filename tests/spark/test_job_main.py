"""``python -m migrator.data.spark verify-job|transform-job``: the cluster entry point, run in this process."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from migrator.data.spark.__main__ import main
from tests.support.export_pair import BUCKET, SCENARIOS, write_pair

pytestmark = pytest.mark.spark


def test_verify_job_prints_the_report_and_exits_1_on_differences(spark: Any, moto: Any, capsys: Any) -> None:
    # Given an export pair with planted differences
    scenario = SCENARIOS[0]
    write_pair(moto.s3, scenario)
    # When the job runs on it
    code = main(
        [
            "verify-job",
            "--source",
            f"s3://{BUCKET}/pair/legacy/",
            "--target",
            f"s3://{BUCKET}/pair/new/",
            "--derive",
            scenario.rules[0],
            "--key",
            "UUID",
            "--endpoint-url",
            moto.endpoint,
        ]
    )
    # Then it prints the report as one JSON object and exits 1
    report = orjson.loads(capsys.readouterr().out)
    assert code == 1 and report["identical"] is False
    assert (report["missing_count"], report["extra_count"], report["changed_count"]) == (25, 15, 13)


def test_transform_job_prints_the_result_or_the_refusal(spark: Any, moto: Any, capsys: Any) -> None:
    # Given the same legacy export (which holds rejects)
    write_pair(moto.s3, SCENARIOS[0])
    base = ["transform-job", "--source", f"s3://{BUCKET}/pair/legacy/", "--dest", f"s3://{BUCKET}/out/"]
    base += ["--derive", "UUID=uuid5(Name)", "--key", "UUID", "--endpoint-url", moto.endpoint]
    # When transformed without rejects allowed, then with them allowed
    refused = main(base)
    refusal = orjson.loads(capsys.readouterr().out)
    code = main([*base, "--max-rejects", "100"])
    result = orjson.loads(capsys.readouterr().out)
    # Then the first exits 1 with the rejects, the second exits 0; its duplicate keys stop it all the same
    assert refused == 1 and refusal["error"] == "rejects" and refusal["rejects"] == 24
    assert code == 1 and result["error"] == "duplicate_keys" and result["duplicate_keys"] == 3

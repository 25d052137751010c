"""``migrate verify --source-export --target-export``: two exports compared, through typer's CliRunner on moto."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from migrator.cli import app
from tests.cli_result import exited
from tests.support.export_pair import BUCKET, SCENARIOS, write_pair

SCENARIO = SCENARIOS[0]  # UUID = uuid5(Name)


def verify_pair(moto: Any, *extra: str) -> Any:
    args = ["verify", "--source-export", f"s3://{BUCKET}/pair/legacy/", "--target-export", f"s3://{BUCKET}/pair/new/"]
    args += [a for rule in SCENARIO.rules for a in ("--derive", rule)]
    args += [a for key in SCENARIO.key_names for a in ("--key", key)]
    return CliRunner().invoke(app, [*args, *extra, "--endpoint-url", moto.endpoint])


@pytest.mark.parametrize(
    "compute",
    [
        pytest.param((), id="local"),
        pytest.param(("--compute", "spark", "--master", "local[2]"), id="spark", marks=pytest.mark.spark),
    ],
)
def test_two_exports_with_planted_differences_exit_1_with_the_json_report(
    moto: Any, compute: tuple[str, ...], request: pytest.FixtureRequest
) -> None:
    if compute:
        request.getfixturevalue("spark")  # the Spark tier's session (skips without pyspark or Java 17)
    # Given the pair with missing, extra, changed, duplicate, reject and unreadable items
    _, _, expected = write_pair(moto.s3, SCENARIO)
    # When verified from the command line, as JSON
    result = verify_pair(moto, *compute, "--json")
    # Then it exits 1 and the JSON object has the counts and the smallest sample keys
    exited(result, 1)
    data = orjson.loads(result.stdout)
    assert data["identical"] is False
    assert (data["missing_count"], data["extra_count"], data["changed_count"]) == (25, 15, 13)
    assert data["duplicate_count"] == 3 and data["rejects"] == expected.rejects
    assert data["samples"]["missing"] == expected.samples("missing")
    assert data["source"] == f"s3://{BUCKET}/pair/legacy/" and data["target"] == f"s3://{BUCKET}/pair/new/"


def test_the_text_report_names_the_differences(moto: Any) -> None:
    write_pair(moto.s3, SCENARIO)
    result = verify_pair(moto)
    exited(result, 1)
    assert "DIFFERENT" in result.stdout and "missing 25, extra 15, changed 13" in result.stdout


def test_a_missing_export_exits_2_naming_it(moto: Any) -> None:
    moto.s3.create_bucket(Bucket=BUCKET)
    result = verify_pair(moto)
    exited(result, 2)
    assert "pair/legacy/" in result.stderr

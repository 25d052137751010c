"""``migrate export`` through typer's CliRunner against the moto server: exit codes, JSON, stderr."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

from migrator.cli import app
from tests.cli_result import exited
from tests.functional.test_export import BUCKET, make_table


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def aws(moto):
    make_table(moto.dynamodb, "Legacy", 4, pitr=True)
    make_table(moto.dynamodb, "NoPitr", 1, pitr=False)
    moto.s3.create_bucket(Bucket=BUCKET)
    return moto


def test_export_json_prints_one_object_and_progress_goes_to_stderr(aws, runner):
    # When exporting with --json and the default prefix
    result = runner.invoke(
        app,
        [
            "export",
            "--table",
            "Legacy",
            "--bucket",
            BUCKET,
            "--json",
            "--endpoint-url",
            aws.endpoint,
            "--poll-seconds",
            "0",
        ],
    )

    # Then it exits 0 with one JSON object on stdout and progress on stderr
    exited(result, 0)
    out = orjson.loads(result.stdout)
    assert out["item_count"] == 4 and out["bucket"] == BUCKET and out["files"] == 1
    assert out["export_arn"].startswith("arn:aws:dynamodb:") and "T" in out["export_time"]
    assert out["data_prefix"].startswith("exports/Legacy/AWSDynamoDB/") and out["data_prefix"].endswith("/data/")
    assert "starting a point-in-time export of Legacy" in result.stderr


def test_export_honours_aws_endpoint_url_and_reuses_on_rerun(aws, runner, monkeypatch):
    # Given the endpoint only in the environment
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint)
    args = ["export", "--table", "Legacy", "--bucket", BUCKET, "--prefix", "mine/", "--poll-seconds", "0.01"]

    # When run twice
    first = runner.invoke(app, args)
    second = runner.invoke(app, [*args, "--json"])

    # Then the second run reuses the first export
    exited(first, 0)
    assert "exported 4 items" in first.stdout
    exited(second, 0)
    assert orjson.loads(second.stdout)["reused"] is True
    assert "no new export started" in second.stderr


@pytest.mark.parametrize(
    ("table", "bucket", "said"),
    [
        ("NoPitr", BUCKET, "Point-in-time recovery is DISABLED on table NoPitr"),
        ("Nope", BUCKET, "table Nope does not exist"),
        ("Legacy", "no-such-bucket", "bucket no-such-bucket does not exist"),
    ],
)
def test_bad_input_exits_2_with_one_error_line_and_no_traceback(aws, runner, table, bucket, said):
    result = runner.invoke(app, ["export", "--table", table, "--bucket", bucket, "--endpoint-url", aws.endpoint])
    exited(result, 2)
    assert said in result.stderr and result.stderr.startswith("error: ")
    assert result.stdout == ""


def test_missing_required_option_is_a_usage_error(runner):
    result = runner.invoke(app, ["export", "--table", "Legacy"])
    exited(result, 2)
    assert "--bucket" in result.stderr

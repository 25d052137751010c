"""``migrate verify`` through typer's CliRunner against the moto server: exit codes, JSON, text, stderr."""

from __future__ import annotations

import sys
import textwrap

import orjson
import pytest
from typer.testing import CliRunner

from migrator.cli import app
from tests.cli_result import exited
from tests.functional.test_verify import legacy_item, make_table, new_item, put_items, write_export


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def aws(moto):
    """Legacy (Name) with 30 items, New (UUID = uuid5(Name)) with the same items but one missing."""
    make_table(moto.dynamodb, "Legacy", [("Name", "S")])
    make_table(moto.dynamodb, "New", [("UUID", "S")])
    items = [legacy_item(i) for i in range(30)]
    put_items(moto.dynamodb, "Legacy", items)
    put_items(moto.dynamodb, "New", [new_item(item) for item in items if item["Name"]["S"] != "user-00007"])
    write_export(moto.s3, "exports", "legacy", [items])
    return moto


def verify(runner: CliRunner, aws, *args: str):
    return runner.invoke(app, ["verify", *args, "--endpoint-url", aws.endpoint])


def test_differences_exit_1_with_the_json_object(aws, runner):
    # When the live tables are verified with the derive rule, as JSON
    result = verify(
        runner, aws, "--source-table", "Legacy", "--target-table", "New", "--derive", "UUID=uuid5(Name)", "--json"
    )
    # Then it exits 1 and stdout is one object naming the missing key
    exited(result, 1)
    data = orjson.loads(result.stdout)
    assert data["identical"] is False
    assert (data["source_count"], data["target_count"], data["missing_count"]) == (30, 29, 1)
    assert data["samples"]["missing"] == [{"UUID": new_item(legacy_item(7))["UUID"]["S"]}]


def test_identical_exits_0_with_a_text_report(aws, runner):
    aws.dynamodb.put_item(TableName="New", Item=new_item(legacy_item(7)))
    result = verify(runner, aws, "--source-table", "Legacy", "--target-table", "New", "--derive", "UUID=uuid5(Name)")
    exited(result, 0)
    assert "identical" in result.stdout and "source items 30, target items 30" in result.stdout


def test_text_report_lists_sample_keys(aws, runner):
    result = verify(
        runner,
        aws,
        "--source-table",
        "Legacy",
        "--target-table",
        "New",
        "--derive",
        "UUID=uuid5(Name)",
        "--segments",
        "2",
    )
    exited(result, 1)
    assert "DIFFERENT" in result.stdout and "missing 1, extra 0, changed 0" in result.stdout
    assert new_item(legacy_item(7))["UUID"]["S"] in result.stdout


def test_export_source(aws, runner):
    result = verify(
        runner,
        aws,
        "--source-export",
        "s3://exports/legacy",
        "--target-table",
        "New",
        "--derive",
        "UUID=uuid5(Name)",
        "--json",
    )
    exited(result, 1)
    data = orjson.loads(result.stdout)
    assert data["source"] == "s3://exports/legacy" and data["missing_count"] == 1


def test_python_hook_is_applied_after_derive(aws, runner, tmp_path, monkeypatch):
    # Given a hook that drops the attribute Tags, and a target without Tags
    (tmp_path / "verify_hook_mod.py").write_text(
        textwrap.dedent(
            """
            def drop_tags(item):
                item = dict(item)
                item.pop("Tags", None)
                return item
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    aws.dynamodb.put_item(TableName="New", Item=new_item(legacy_item(7)))
    for i in range(30):
        item = new_item(legacy_item(i))
        del item["Tags"]
        aws.dynamodb.put_item(TableName="New", Item=item)
    args = ["--source-table", "Legacy", "--target-table", "New", "--derive", "UUID=uuid5(Name)"]
    # Then it is identical only with the hook
    exited(verify(runner, aws, *args, "--python", "verify_hook_mod:drop_tags"), 0)
    exited(verify(runner, aws, *args), 1)
    sys.modules.pop("verify_hook_mod", None)


def test_rejects_exit_1(aws, runner):
    result = verify(runner, aws, "--source-table", "Legacy", "--target-table", "New", "--derive", "UUID=uuid5(Nick)")
    exited(result, 1)
    assert "rejects 30" in result.stdout and "missing attribute Nick" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target-table", "New"], "exactly one source"),
        (
            ["--source-table", "Legacy", "--source-export", "s3://exports/legacy", "--target-table", "New"],
            "exactly one source",
        ),
        (["--source-table", "Nope", "--target-table", "New"], "table Nope does not exist"),
        (["--source-table", "Legacy", "--target-table", "Nope"], "table Nope does not exist"),
        (["--source-table", "Legacy", "--target-table", "New", "--derive", "UUID=md5(Name)"], "does not parse"),
        (["--source-table", "Legacy", "--target-table", "New", "--python", "no_such_module_x:f"], "cannot import"),
        (["--source-export", "exports/legacy", "--target-table", "New"], "not an s3:// URL"),
        (["--source-export", "s3://exports/nothing-here", "--target-table", "New"], "No export data files"),
    ],
)
def test_bad_input_exits_2_with_the_fix_and_no_traceback(aws, runner, args, message):
    result = verify(runner, aws, *args)
    exited(result, 2)
    assert message in result.stderr
    assert result.stdout == ""

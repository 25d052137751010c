"""What every command line tool owes its users: ``--version``, ``-h``, and one spelling of JSON keys."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from importlib.metadata import version

import pytest
from typer.testing import CliRunner

from migrator.cli import app
from migrator.data.export.files import DataFile, ExportLayout
from migrator.data.export.run import ExportResult
from migrator.data.transform.dupes import DuplicateKeysFound, DuplicateReport
from migrator.data.transform.run import RejectsFound, TransformResult
from migrator.data.verify.run import VerifyReport
from tests.cli_result import exited

SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
LAYOUT = ExportLayout("b", "exports/T/", "exports/T/AWSDynamoDB/x/data/", (DataFile("k", 1, 1, "m"),), 1, True)


def test_version_option_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    exited(result, 0)
    assert result.stdout.strip() == f"migrate {version('table-migration')}"


@pytest.mark.parametrize("args", [["-h"], ["export", "-h"], ["transform", "-h"], ["verify", "-h"], ["up", "-h"]])
def test_short_help_option_works_like_help(args: list[str]) -> None:
    short = CliRunner().invoke(app, args)
    long = CliRunner().invoke(app, [*args[:-1], "--help"])
    exited(short, 0)
    assert short.stdout == long.stdout and "Usage:" in short.stdout


def documents() -> dict[str, dict]:
    export = ExportResult("arn:aws:dynamodb:r:1:table/T/export/x", datetime(2026, 1, 2, tzinfo=UTC), 1, LAYOUT)
    transform = TransformResult(3, 2, 1, LAYOUT, "s3://b/t/rejects/")
    verify = VerifyReport(False, 1, 1, 0, 0, 1, {"missing": [], "extra": [], "changed": [{"UUID": "u"}]})
    duplicates = DuplicateKeysFound(DuplicateReport(1, (b'[["S","u"]]',)), ("UUID",))
    return {
        "export": export.to_dict(),
        "layout": LAYOUT.to_dict(),
        "transform": transform.to_dict(),
        "rejects": RejectsFound(1, 0, "s3://b/t/rejects/", ("missing attribute Name",)).to_dict(),
        "duplicates": duplicates.to_dict(),
        "verify": verify.to_dict(),
    }


@pytest.mark.parametrize("name", sorted(documents()))
def test_json_keys_of_the_data_plane_commands_are_snake_case(name: str) -> None:
    document = documents()[name]
    # user attribute names appear only as the keys of sample items, one level below "samples"
    keys = [k for k in document] + [k for v in document.values() if isinstance(v, dict) for k in v]
    camel = [k for k in keys if not SNAKE.fullmatch(k)]
    assert camel == [], f"{name}: {camel}"

"""``migrate transform`` refuses a destination that overlaps its source: inside it, or containing it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from migrator.cli import app
from tests.cli_result import exited
from tests.functional.test_damaged_exports import BUCKET, PREFIX, write_export


def transform(moto, dest: str, source: str = f"s3://{BUCKET}/{PREFIX}/"):
    args = ["transform", "--source", source, "--dest", dest, "--derive", "UUID=uuid5(Name)", "--workers", "1"]
    return CliRunner().invoke(app, [*args, "--endpoint-url", moto.endpoint])


def keys(s3) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


@pytest.mark.parametrize("layout", ["aws", "moto"])
def test_a_dest_inside_the_source_export_is_refused_and_the_export_stays_usable(moto, layout) -> None:
    # Given an export, and the red-team run's destination inside its prefix
    write_export(moto.s3, layout)
    before = keys(moto.s3)
    # When transformed there
    result = transform(moto, f"s3://{BUCKET}/{PREFIX}/sub/")
    # Then it is bad input, nothing was written, and a transform to a prefix of its own still works
    exited(result, 2)
    assert "overlaps" in result.stderr and "--dest" in result.stderr
    assert keys(moto.s3) == before
    exited(transform(moto, f"s3://{BUCKET}/transformed/New/"), 0)


@pytest.mark.parametrize(
    "dest",
    [f"{PREFIX}/", "exports/", "", f"{PREFIX}/AWSDynamoDB/transformed/"],
    ids=["same", "containing", "bucket-root", "beside-the-data"],
)
def test_any_other_dest_overlapping_the_source_export_is_refused(moto, dest) -> None:
    write_export(moto.s3, "moto")
    before = keys(moto.s3)
    result = transform(moto, f"s3://{BUCKET}/{dest}")
    exited(result, 2)
    assert "overlaps" in result.stderr, result.output
    assert keys(moto.s3) == before


def test_a_dest_inside_the_exports_own_prefix_is_refused_when_the_source_is_the_export_folder(moto) -> None:
    # Given the source named by its export folder, and a dest beside it under the prefix `migrate export` used
    data_key = write_export(moto.s3, "aws")[0]
    root = data_key.rsplit("data/", 1)[0]
    result = transform(moto, f"s3://{BUCKET}/{PREFIX}/transformed/", source=f"s3://{BUCKET}/{root}")
    exited(result, 2)
    assert "overlaps" in result.stderr


def test_a_sibling_prefix_that_only_shares_leading_text_is_accepted(moto) -> None:
    write_export(moto.s3, "moto")
    exited(transform(moto, f"s3://{BUCKET}/{PREFIX}-transformed/"), 0)

"""The Spark entry point explains itself on a machine without the spark extra."""

from __future__ import annotations

import subprocess
import sys

import pytest

from migrator.data.spark.__main__ import _glue_form, _parser, main
from tests.support.source_tree import ROOT


def test_the_entry_point_explains_itself_without_pyspark() -> None:
    code = "import sys; sys.modules['pyspark'] = None; from migrator.data.spark.__main__ import main; main(['-h'])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and "verify-job" in done.stdout and "transform-job" in done.stdout


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["verify-job", "--key", "UUID"], ["verify-job", "--key", "UUID"]),
        (
            ["--JOB_ID", "j1", "--job", "verify-job", "--key", '["UUID", "Created"]'],
            ["verify-job", "--JOB_ID", "j1", "--key", "UUID", "--key", "Created"],
        ),
        (
            [
                "--derive",
                '["UUID=uuid5(Name, 6ba7b811-9dad-11d1-80b4-00c04fd430c8)", "S=Name"]',
                "--job",
                "transform-job",
            ],
            [
                "transform-job",
                "--derive",
                "UUID=uuid5(Name, 6ba7b811-9dad-11d1-80b4-00c04fd430c8)",
                "--derive",
                "S=Name",
            ],
        ),
    ],
    ids=["plain", "glue-job-and-key-list", "glue-derive-list"],
)
def test_glue_style_arguments_become_the_plain_form(argv: list[str], expected: list[str]) -> None:
    assert _glue_form(argv) == expected


def test_glue_style_arguments_parse_to_the_same_job() -> None:
    plain = ["verify-job", "--source", "s3://b/l/", "--target", "s3://b/n/", "--key", "UUID", "--derive", "UUID=Name"]
    glue = ["--job", "verify-job", "--source", "s3://b/l/", "--target", "s3://b/n/", "--key", '["UUID"]']
    glue += ["--derive", '["UUID=Name"]', "--JOB_RUN_ID", "jr_1"]
    parser = _parser()
    known, unknown = parser.parse_known_args(_glue_form(glue))
    assert vars(known) == vars(parser.parse_args(plain))
    assert unknown == ["--JOB_RUN_ID", "jr_1"]


def test_unknown_arguments_are_refused_in_the_plain_form(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["verify-job", "--source", "s3://b/l/", "--target", "s3://b/n/", "--key", "K", "--JOB_RUN_ID", "jr_1"])
    assert exited.value.code == 2 and "--JOB_RUN_ID" in capsys.readouterr().err

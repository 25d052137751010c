"""Bad input to the data-plane commands: exit 2 with one line on stderr, before any AWS call.

No moto server here: every case must be refused before a request is made (the endpoint given, where
there is one, has nothing listening).
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator.cli import app
from tests.cli_result import exited

NOWHERE = "http://127.0.0.1:9"  # nothing listens there: a call that got through would fail differently


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def assert_one_line_exit_2(result, *needles: str) -> None:
    exited(result, 2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    for needle in needles:
        assert needle in lines[0]


def test_endpoint_url_that_is_not_a_url_exits_2_instead_of_a_traceback() -> None:
    result = invoke("export", "--table", "Legacy", "--bucket", "exports", "--endpoint-url", "notaurl")
    assert_one_line_exit_2(result, "--endpoint-url", "'notaurl'", "http")


def test_aws_endpoint_url_from_the_environment_is_named_when_it_is_bad(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "ftp://x")
    result = invoke("verify", "--source-table", "A", "--target-table", "B")
    assert_one_line_exit_2(result, "AWS_ENDPOINT_URL", "'ftp://x'")


def test_region_that_is_not_a_region_exits_2_instead_of_a_traceback() -> None:
    result = invoke("export", "--table", "Legacy", "--bucket", "exports", "--region", "not a region!")
    assert_one_line_exit_2(result, "--region", "'not a region!'")


def test_bad_bucket_name_exits_2_with_one_short_sentence_not_a_regex() -> None:
    result = invoke("export", "--table", "Legacy", "--bucket", "Bad_Bucket!!", "--endpoint-url", NOWHERE)
    assert_one_line_exit_2(result, "--bucket", "'Bad_Bucket!!'")
    assert "regex" not in result.stderr and len(result.stderr) < 200


@pytest.mark.parametrize("option", ["--source", "--dest"])
def test_bad_bucket_in_a_transform_url_exits_2(option: str) -> None:
    urls = {"--source": "s3://exports/Legacy/", "--dest": "s3://exports/New/"}
    urls[option] = "s3://Bad_Bucket!!/p/"
    args = ["transform", "--source", urls["--source"], "--dest", urls["--dest"], "--derive", "U=uuid5(Name)"]
    result = invoke(*args, "--endpoint-url", NOWHERE)
    assert_one_line_exit_2(result, "'Bad_Bucket!!'")


HOOKS = {
    "syntax_error": "def derive(item)\n    return item\n",
    "raises_at_import": "raise RuntimeError('no config file here')\n\ndef derive(item):\n    return item\n",
}


@pytest.fixture
def hook_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    name = f"bad_hook_{request.param}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(HOOKS[request.param]))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


@pytest.mark.parametrize("hook_module", sorted(HOOKS), indirect=True)
def test_python_hook_module_that_cannot_be_imported_exits_2_in_transform(hook_module: str) -> None:
    args = ["transform", "--source", "s3://exports/Legacy/", "--dest", "s3://exports/New/", "--key", "Name"]
    result = invoke(*args, "--python", f"{hook_module}:derive", "--endpoint-url", NOWHERE)
    assert_one_line_exit_2(result, f"--python {hook_module}:derive")


@pytest.mark.parametrize("hook_module", sorted(HOOKS), indirect=True)
def test_python_hook_module_that_cannot_be_imported_exits_2_in_verify(hook_module: str) -> None:
    args = ["verify", "--source-table", "A", "--target-table", "B", "--python", f"{hook_module}:derive"]
    result = invoke(*args, "--endpoint-url", NOWHERE)
    assert_one_line_exit_2(result, f"--python {hook_module}:derive")


EXPORTS = ("--source-export", "s3://b/legacy/", "--target-export", "s3://b/new/")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--source-table", "A"), ("exactly one target",)),
        (("--source-table", "A", "--target-table", "B", "--target-export", "s3://b/n/"), ("exactly one target",)),
        (("--source-table", "A", "--target-export", "s3://b/n/", "--key", "K"), ("--source-export",)),
        (EXPORTS, ("--key",)),
        (("--source-export", "s3://b/l/", "--target-table", "B", "--compute", "spark"), ("--target-export",)),
        ((*EXPORTS, "--key", "K", "--compute", "gpu"), ("--compute", "'gpu'", "local, spark")),
        ((*EXPORTS, "--key", "K", "--master", "local[2]"), ("--master", "--compute spark")),
        ((*EXPORTS, "--key", "K", "--compute", "spark", "--master", "localhost"), ("--master", "'localhost'")),
        ((*EXPORTS, "--key", "K", "--derive", "K=nope("), ("nope",)),
    ],
    ids=[
        "no-target",
        "two-targets",
        "export-target-needs-export-source",
        "two-exports-need-key",
        "spark-needs-two-exports",
        "unknown-compute",
        "master-without-spark",
        "not-a-master",
        "bad-rule",
    ],
)
def test_verify_sides_and_compute_are_checked_before_any_call(args: tuple[str, ...], needles: tuple[str, ...]) -> None:
    result = invoke("verify", *args, "--endpoint-url", NOWHERE)
    assert_one_line_exit_2(result, *needles)


def test_transform_refuses_an_unknown_compute_before_any_call() -> None:
    result = invoke(
        "transform",
        "--source",
        "s3://b/e/",
        "--dest",
        "s3://b/t/",
        "--key",
        "K",
        "--compute",
        "x",
        "--endpoint-url",
        NOWHERE,
    )
    assert_one_line_exit_2(result, "--compute", "'x'")

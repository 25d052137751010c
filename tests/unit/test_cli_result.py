"""The CLI tests' exit check (tests/cli_result.py) tells a crash from an exit on purpose; output alone cannot."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from tests.cli_result import exited, no_crash

app = typer.Typer()


@app.command()
def main(crash: bool = False, code: int = 0) -> None:
    if crash:
        raise RuntimeError("a bug, not a decision")
    typer.echo("error: a decision", err=True)
    raise typer.Exit(code)


def test_a_crash_looks_like_a_quiet_exit_1_to_the_output_but_not_to_the_check() -> None:
    result = CliRunner().invoke(app, ["--crash"])

    # the runner swallows the exception: exit 1, nothing printed, no "Traceback" to find
    assert (result.exit_code, result.output) == (1, "")
    with pytest.raises(AssertionError, match="(?s)crashed instead of exiting.*RuntimeError: a bug, not a decision"):
        exited(result, 1)
    with pytest.raises(AssertionError, match="crashed"):
        no_crash(result)


@pytest.mark.parametrize("code", [0, 1, 2])
def test_an_exit_on_purpose_passes_with_its_own_code_only(code: int) -> None:
    result = CliRunner().invoke(app, ["--code", str(code)])

    assert exited(result, code) is result
    with pytest.raises(AssertionError, match=f"exit {code}, expected {(code + 1) % 3}"):
        exited(result, (code + 1) % 3)


def test_a_usage_error_is_an_exit_on_purpose() -> None:
    exited(CliRunner().invoke(app, ["--no-such-option"]), 2)

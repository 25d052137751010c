"""The Typer app and the one place where the CLI turns our errors into stderr lines and exit codes."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any, TypeVar

import orjson
import typer

from migrator.core.errors import MigrationError

app = typer.Typer(
    name="migrate",
    help="Replace a Pulumi-managed DynamoDB table (new key schema, new name) in stages without losing an item.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        try:
            number = version("table-migration")
        except PackageNotFoundError:  # run from a source tree that was never installed
            number = "unknown (not installed)"
        typer.echo(f"migrate {number}")
        raise typer.Exit()


@app.callback()
def _root(
    _version_flag: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    # A callback keeps ``migrate`` a command group, and carries the options of ``migrate`` itself.
    pass


T = TypeVar("T")


def progress(message: str) -> None:
    """Progress for long work goes to stderr, so ``--json`` output on stdout stays one object."""
    typer.echo(message, err=True)


def call(fn: Callable[[], T]) -> T:
    """Run ``fn``; on our error print it on stderr and exit with its code (1 data, 2 bad input)."""
    try:
        return fn()
    except MigrationError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(e.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: every step is safe to rerun; run the same command again to resume.", err=True)
        raise typer.Exit(130) from None


def to_jsonable(value: Any) -> Any:
    """Dataclasses (and anything with ``to_dict``) as plain JSON values."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def emit(result: Any, *, json_output: bool, text: Callable[[Any], str], exit_code: int = 0) -> None:
    """Print ``result`` as one JSON object (``--json``) or as text, then exit with ``exit_code``."""
    if json_output:
        sys.stdout.write(orjson.dumps(to_jsonable(result), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        typer.echo(text(result))
    if exit_code:
        raise typer.Exit(exit_code)

"""``migrate init``: write a stack's migration config from a live table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from migrator.cli import stack as stack_commands
from migrator.cli.app import app, call, emit
from migrator.cli.options import EndpointOpt, JsonOpt, RegionOpt
from migrator.cli.stack import StackOpt, WorkDirOpt
from migrator.core.errors import StackNotFoundError
from migrator.core.urns import TABLE_TYPE
from migrator.data.aws import AwsSettings
from migrator.data.describe import read_table, table_exists
from migrator.orchestrate.stack_init import (
    InitResult,
    check_record_table,
    check_stack,
    check_tables,
    parse_key_option,
    plan_init,
    write_init,
)


def _current(port: Any) -> dict[str, Any]:
    return port.get_config() if port is not None else {}


def _manages(port: Any, table: str) -> bool:
    """Whether the stack's state holds a DynamoDB table whose id (its name) is ``table``."""
    return any(r.type == TABLE_TYPE and r.physical_id == table for r in port.resources())


@app.command("init")
def init_command(
    table: Annotated[str, typer.Option("--table", help="The live table to migrate (the legacy table).")],
    stack: StackOpt = "dev",
    new_name: Annotated[
        str | None, typer.Option("--new-name", help="The new table's name. Default: <table>-v2.", show_default=False)
    ] = None,
    partition_key: Annotated[
        str | None,
        typer.Option(
            "--partition-key", help="The new table's partition key as NAME:TYPE (S, N or B). Default: the legacy one."
        ),
    ] = None,
    sort_key: Annotated[
        str | None, typer.Option("--sort-key", help="The new table's sort key as NAME:TYPE.", show_default=False)
    ] = None,
    derive: Annotated[
        list[str] | None,
        typer.Option(
            "--derive", help='New attributes from legacy ones: X=Y, X=uuid5(Y), X=format("{A}#{B}"); repeatable.'
        ),
    ] = None,
    work_dir: WorkDirOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the stack's migration config if it has one.")] = False,
    adopt: Annotated[
        bool,
        typer.Option(
            "--adopt", help="The table is not managed by Pulumi (CDK, console, Terraform): stage 0 imports it."
        ),
    ] = False,
    json_output: JsonOpt = False,
    endpoint: EndpointOpt = None,
    region: RegionOpt = None,
) -> None:
    """Read a live table (keys, indexes, billing, encryption, tags, TTL, stream, backups) and write the stack's config.

    Creates the stack when it does not exist. An existing migration config is replaced only with --force.
    """

    def run() -> InitResult:
        new_partition = parse_key_option(partition_key, "--partition-key") if partition_key else None
        new_sort = parse_key_option(sort_key, "--sort-key") if sort_key else None
        options = {"new_name": new_name, "partition_key": new_partition, "sort_key": new_sort, "adopt": adopt}
        folder = (work_dir or stack_commands.default_work_dir()).resolve()
        where = {"endpoint": endpoint, "region": region}
        return _init(table, stack, folder, derive=tuple(derive or ()), force=force, where=where, **options)

    emit(call(run), json_output=json_output, text=lambda r: r.text())


def _init(
    table: str,
    stack: str,
    folder: Path,
    *,
    derive: tuple[str, ...],
    force: bool,
    where: dict[str, str | None],
    **options: Any,
) -> InitResult:
    """Read ``table`` and write the config of ``stack`` in ``folder`` (created when it does not exist)."""
    try:
        port = stack_commands.open_stack(stack, folder, create=False)
    except StackNotFoundError:
        port = None  # created below, once the table has been read and the config checked
    current = _current(port)
    settings = AwsSettings.resolve(
        region=where["region"] or current.get("aws:region"), endpoint_url=where["endpoint"] or current.get("endpoint")
    )
    check_stack(current, stack=stack, region=settings.region, force=force)
    check_record_table(port, current, settings, stack=stack)
    client = settings.client("dynamodb")
    live = read_table(client, table)
    plan = plan_init(live, derive=derive, current=current, region=settings.region, **options)
    check_tables(
        table=table,
        stack=stack,
        in_stack=port is not None and _manages(port, table),
        adopt=bool(options.get("adopt")),
        new_name=plan.new.name,
        new_exists=table_exists(client, plan.new.name),
    )
    if port is None:
        port = stack_commands.open_stack(stack, folder, create=True)
    replaced = write_init(port, plan, current=current)
    return InitResult(port.name, settings.region, plan, replaced, live.item_count)

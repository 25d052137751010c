"""``migrate transform``: a data-plane step on any tables, no Pulumi needed."""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer

from migrator.cli.app import app, call, emit, progress
from migrator.cli.options import ComputeOpt, EndpointOpt, JsonOpt, MasterOpt, RegionOpt, compute, settings
from migrator.cli.progress import terminal_meters
from migrator.core.data_config import Compute
from migrator.core.errors import BadInputError
from migrator.data.aws import AwsSettings
from migrator.data.export.files import locate_export, parse_s3_url
from migrator.data.spark import load_job
from migrator.data.transform.dupes import DuplicateKeysFound
from migrator.data.transform.run import DeriverSpec, RejectsFound, TransformResult, transform_export


def _text(result: TransformResult) -> str:
    line = (
        f"transformed {result.items_in} items: {result.items_out} written to "
        f"s3://{result.layout.bucket}/{result.layout.data_prefix} ({len(result.layout.files)} files)"
    )
    if result.rejects:
        line += f", {result.rejects} rejects in {result.rejects_prefix}"
    return line


def _key_names(spec: DeriverSpec, keys: list[str] | None) -> tuple[str, ...]:
    if keys:
        return tuple(keys)
    targets = spec.targets
    if not targets:
        raise BadInputError(
            "No key to check: there is no --derive target and no --key.",
            hint="Name the new table's key attributes with --key (repeat it for a sort key).",
        )
    return targets


def _transform(
    aws: AwsSettings,
    source: str,
    dest: str,
    spec: DeriverSpec,
    key_names: tuple[str, ...],
    max_rejects: int,
    workers: int | None,
    chosen: Compute,
    *,
    json_output: bool,
) -> TransformResult:
    dest_bucket, dest_prefix = parse_s3_url(dest)  # both URLs checked before any call
    layout = locate_export(aws.client("s3"), *parse_s3_url(source))
    where = dict(dest_bucket=dest_bucket, dest_prefix=dest_prefix, deriver_spec=spec, key_names=key_names)
    try:
        if chosen.spark:
            job = load_job()
            return job.transform_spark(
                aws, layout, **where, max_rejects=max_rejects, master=chosen.master, progress=progress
            )
        return transform_export(
            aws,
            layout,
            **where,
            max_rejects=max_rejects,
            workers=workers,
            progress=progress,
            meters=terminal_meters(sys.stderr),
        )
    except (RejectsFound, DuplicateKeysFound) as e:
        if json_output:
            document = {**e.to_dict(), "message": str(e)}
            sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        raise


@app.command("transform")
def transform_command(
    source: Annotated[
        str, typer.Option("--source", help="s3://bucket/prefix of one export (as `migrate export` made).")
    ],
    dest: Annotated[
        str, typer.Option("--dest", help="s3://bucket/prefix to write to; the import reads <prefix>data/.")
    ],
    derive: Annotated[
        list[str] | None,
        typer.Option("--derive", help='X=Y, X=uuid5(Y), X=uuid5(Y, <ns>) or X=format("{A}#{B}"); repeatable.'),
    ] = None,
    python: Annotated[
        str | None, typer.Option("--python", help="module:function taking and returning a DynamoDB-JSON item.")
    ] = None,
    key: Annotated[
        list[str] | None,
        typer.Option("--key", help="A key attribute of the new table (repeatable). Default: the --derive targets."),
    ] = None,
    max_rejects: Annotated[int, typer.Option("--max-rejects", min=0, help="Rejects allowed before it fails.")] = 0,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Worker processes. Default: the CPU count.")
    ] = None,
    compute_kind: ComputeOpt = "local",
    master: MasterOpt = None,
    json_output: JsonOpt = False,
    endpoint: EndpointOpt = None,
    region: RegionOpt = None,
) -> None:
    """Rewrite an export for a new key schema, ready for ImportTable.

    Rejects (items that cannot be transformed) go to <dest>rejects/ and fail it unless --max-rejects allows them;
    two items with one new key always fail it.
    """

    def run() -> TransformResult:
        chosen = compute(compute_kind, master)
        aws = settings(endpoint, region)
        spec = DeriverSpec(tuple(derive or ()), python)
        spec.build()
        key_names = _key_names(spec, key)
        return _transform(aws, source, dest, spec, key_names, max_rejects, workers, chosen, json_output=json_output)

    emit(call(run), json_output=json_output, text=_text)

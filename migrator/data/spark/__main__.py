"""``python -m migrator.data.spark verify-job|transform-job …``: the jobs for a cluster, without the typer CLI.

Run it with spark-submit (its ``--master`` wins), or as an EMR Serverless or Glue job script; a plain
``python -m`` run uses ``local[*]``. Glue passes job arguments as a map (no positional argument, no
repeated option): there, name the job with ``--job verify-job`` and give ``--derive`` and ``--key`` as
JSON lists (``--key '["UUID"]'``); in that form the arguments Glue adds of its own are skipped.
It prints the report (or the transform's result) as one JSON object on stdout. Exit 0 when identical
(verify) or done (transform); 1 when the data is not right (differences, rejects, duplicate keys, a
damaged export); 2 for bad input, with one sentence on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import orjson

from migrator.core.errors import EXIT_DATA, MigrationError
from migrator.data.aws import AwsSettings
from migrator.data.export.files import locate_export, parse_s3_url
from migrator.data.transform.lines import DeriverSpec


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m migrator.data.spark", description=__doc__.splitlines()[0])
    parser.add_argument("--ignore-unknown", action="store_true", help="ignore arguments not ours (Glue adds some)")
    jobs = parser.add_subparsers(dest="job", required=True)
    verify = jobs.add_parser("verify-job", help="verify the new table's export against the legacy table's export")
    verify.add_argument("--source", required=True, help="s3://bucket/prefix of the legacy table's export")
    verify.add_argument("--target", required=True, help="s3://bucket/prefix of the new table's export")
    transform = jobs.add_parser("transform-job", help="transform the legacy table's export for the new key")
    transform.add_argument("--source", required=True, help="s3://bucket/prefix of the legacy table's export")
    transform.add_argument("--dest", required=True, help="s3://bucket/prefix to write data/, rejects/ under")
    transform.add_argument("--max-rejects", type=int, default=0, help="rejects allowed (default 0)")
    for sub in (verify, transform):
        sub.add_argument("--derive", action="append", default=[], help="X=expr, repeatable")
        sub.add_argument("--python", default=None, help="module:function applied after --derive")
        sub.add_argument("--key", action="append", required=True, help="the new key's attributes, partition key first")
        sub.add_argument("--master", default=None, help="Spark master (default: spark-submit's, else local[*])")
        sub.add_argument("--endpoint-url", default=None, help="S3 endpoint (moto, LocalStack)")
        sub.add_argument("--region", default=None)
    return parser


def _glue_form(argv: list[str]) -> list[str]:
    """``--job NAME`` moved to the front as the subcommand; a JSON list after --derive or --key spread out."""
    if "--job" in argv[:-1]:
        at = argv.index("--job")
        argv = [argv[at + 1], *argv[:at], *argv[at + 2 :]]
    spread: list[str] = []
    for i, arg in enumerate(argv):
        before = argv[i - 1] if i else ""
        if before in ("--derive", "--key") and arg.startswith("["):
            values = orjson.loads(arg)
            spread[-1:] = [part for value in values for part in (before, str(value))]
        else:
            spread.append(arg)
    return spread


def _run(args: argparse.Namespace) -> tuple[dict, int]:
    from migrator.data.spark.job import transform_spark, verify_exports_spark

    settings = AwsSettings.resolve(region=args.region, endpoint_url=args.endpoint_url)
    spec = DeriverSpec(tuple(args.derive), args.python)
    s3 = settings.client("s3")
    source = locate_export(s3, *parse_s3_url(args.source))
    if args.job == "verify-job":
        target = locate_export(s3, *parse_s3_url(args.target))
        report = verify_exports_spark(source, target, spec, args.key, args.master, store=settings)
        different = not report.identical or report.rejects > 0
        return report.to_dict(), EXIT_DATA if different else 0
    bucket, prefix = parse_s3_url(args.dest)
    result = transform_spark(
        settings,
        source,
        dest_bucket=bucket,
        dest_prefix=prefix,
        deriver_spec=spec,
        key_names=tuple(args.key),
        max_rejects=args.max_rejects,
        master=args.master,
    )
    return result.to_dict(), 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one job from ``argv`` (default: the command line); return the exit code."""
    parser = _parser()
    given = list(sys.argv[1:] if argv is None else argv)
    try:
        plain = _glue_form(given)
    except orjson.JSONDecodeError as e:
        parser.error(f"--derive or --key: not a JSON list ({e})")
    args, unknown = parser.parse_known_args(plain)
    if unknown and not (args.ignore_unknown or "--job" in given):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        payload, code = _run(args)
    except MigrationError as e:
        to_dict = getattr(e, "to_dict", None)
        if callable(to_dict):
            sys.stdout.write(orjson.dumps(to_dict()).decode() + "\n")
        sys.stderr.write(f"{e}\n")
        return e.exit_code
    sys.stdout.write(orjson.dumps(payload).decode() + "\n")
    return code


if __name__ == "__main__":
    raise SystemExit(main())

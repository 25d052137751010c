"""Benchmark: the data plane's round trip on a moto server in its own process.

    .venv/bin/python bench/round_trip.py [--items 100000] [--rename]

Loads a legacy table (Name key, realistic items), then in a fresh child process runs
export → transform (UUID = uuid5(Name)) → import_table from the transformed ``data/`` → import
check → verify against the export and against the live legacy table, and prints each step's wall
time and the child's peak RSS. ``--rename`` skips the transform: a new name, the same key, imported
straight from the export's ``data/`` folder. Exits 1 when the round trip does not verify.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from verify import client, load, start_moto, stop  # noqa: E402  (bench/verify.py, beside this file)

from migrator.data.aws import AwsSettings  # noqa: E402

BUCKET = "round-trip"
RULES = ("UUID=uuid5(Name)",)


def timed(steps: dict[str, float], name: str, fn: Callable[[], Any]) -> Any:
    started = time.monotonic()
    result = fn()
    steps[name] = round(time.monotonic() - started, 2)
    print(f"  {name}: {steps[name]} s", file=sys.stderr, flush=True)
    return result


def import_table(dynamodb: Any, name: str, key: str, bucket: str, data_prefix: str) -> str:
    response = dynamodb.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": data_prefix},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="GZIP",
        TableCreationParameters={
            "TableName": name,
            "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )
    return response["ImportTableDescription"]["ImportArn"]


def child_main(endpoint: str, items: int, rename: bool) -> None:
    from migrator.core.derive import Deriver, parse_rules
    from migrator.data.export.run import run_export
    from migrator.data.load.import_check import check_import
    from migrator.data.verify.run import verify_export, verify_tables

    settings = AwsSettings(endpoint_url=endpoint)
    dynamodb, s3 = settings.client("dynamodb"), settings.client("s3")
    steps: dict[str, float] = {}
    started = time.monotonic()
    exported = timed(
        steps,
        "export",
        lambda: run_export(dynamodb, s3, table="Legacy", bucket=BUCKET, prefix="exports/Legacy/", poll_seconds=0.5),
    )
    if rename:
        key, deriver, data_prefix = "Name", None, exported.layout.data_prefix
    else:
        from migrator.data.transform.run import DeriverSpec, transform_export

        result = timed(
            steps,
            "transform",
            lambda: transform_export(
                settings,
                exported.layout,
                dest_bucket=BUCKET,
                dest_prefix="transformed/New/",
                deriver_spec=DeriverSpec(rules=RULES),
                key_names=("UUID",),
            ),
        )
        key, deriver, data_prefix = "UUID", Deriver(parse_rules(list(RULES))), result.layout.data_prefix
    arn = timed(steps, "import_table", lambda: import_table(dynamodb, "New", key, BUCKET, data_prefix))
    timed(
        steps,
        "import (wait + check)",
        lambda: check_import(dynamodb, table="New", expected_items=items, poll_seconds=0.5, import_arn=arn),
    )
    vs_export = timed(
        steps,
        "verify vs export",
        lambda: verify_export(settings, exported.layout, target_table="New", deriver=deriver),
    )
    vs_table = timed(
        steps,
        "verify vs legacy table",
        lambda: verify_tables(settings, source_table="Legacy", target_table="New", deriver=deriver),
    )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)  # the transform's worker processes
    print(
        json.dumps(
            {
                "items": items,
                "steps": steps,
                "wall": round(time.monotonic() - started, 2),
                "cpu": round(usage.ru_utime + usage.ru_stime, 2),
                "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
                "worker_cpu": round(workers.ru_utime + workers.ru_stime, 2),
                "worker_peak_rss_mb": round(workers.ru_maxrss / 1024, 1),
                "identical": vs_export.identical and vs_table.identical,
                "verify_vs_export": vs_export.to_dict(),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rename", action="store_true", help="no transform: import straight from the export")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child_main(args.child, args.items, args.rename)
        return 0
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    server, endpoint = start_moto(plain=False)
    started = time.monotonic()
    try:
        seconds = load(endpoint, "Legacy", args.items)
        print(f"loaded {args.items} items in {seconds:.1f} s", flush=True)
        dynamodb = client(endpoint)
        dynamodb.update_continuous_backups(
            TableName="Legacy", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        AwsSettings(endpoint_url=endpoint).client("s3").create_bucket(Bucket=BUCKET)
        argv = [sys.executable, __file__, "--child", endpoint, "--items", str(args.items)]
        if args.rename:
            argv.append("--rename")
        out = subprocess.run(argv, check=True, stdout=subprocess.PIPE, text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        stop(server)
    print(f"\n{'rename' if args.rename else 'export → transform → import → verify'}: {args.items} items")
    for name, seconds in result["steps"].items():
        print(f"  {name:24} {seconds:8.1f} s")
    print(f"  {'round trip (child)':24} {result['wall']:8.1f} s wall, {result['cpu']} s CPU")
    print(f"  {'peak RSS (child)':24} {result['peak_rss_mb']:8.1f} MB")
    print(f"  {'transform workers':24} {result['worker_peak_rss_mb']:8.1f} MB peak RSS, {result['worker_cpu']} s CPU")
    print(f"  identical: {result['identical']}")
    print(f"whole run incl. loading: {time.monotonic() - started:.0f} s")
    return 0 if result["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())

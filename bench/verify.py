"""Benchmark: `migrate verify` against a naive verification, on a moto server in its own process.

    .venv/bin/python bench/verify.py [--sizes 50000,200000] [--plain-moto]

Loads two identical tables per size (batch_write, realistic item shapes), then runs each
verification in a fresh child process, which reports its own CPU time and peak RSS:
- ours:  migrator.data.verify.run.verify_tables (parallel segments, bounded memory);
- naive: boto3 paginated scans of both tables whole into dicts, compared with ``==``.
Targets: ours uses ≤ 1.1× the naive CPU per item; ours' peak RSS at the largest size is ≤ 1.2× its
peak at the smallest (memory does not grow with the table), while the naive one grows.
Exits 1 when a target fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CPU_RATIO_TARGET = 1.1
RSS_GROWTH_TARGET = 1.2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_moto(plain: bool) -> tuple[subprocess.Popen[bytes], str]:
    """Start the moto server in its own process; return it and its endpoint once it answers."""
    port = free_port()
    argv = [sys.executable, str(HERE / "verify_moto_server.py"), "-H", "127.0.0.1", "-p", str(port)]
    if plain:
        argv.insert(2, "--plain")
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            return server, endpoint
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto server did not start")


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the moto server: it finishes open requests on SIGTERM, so kill it if that takes long."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def client(endpoint: str) -> Any:
    from migrator.data.aws import AwsSettings

    return AwsSettings(region="us-east-1", endpoint_url=endpoint).client("dynamodb")


def make_item(i: int, rng: random.Random) -> dict[str, Any]:
    """A realistic user record: strings, numbers, a set, a nested map, a list, a flag, a small blob."""
    name = f"user-{i:08d}"
    return {
        "Name": {"S": name},
        "UUID": {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, name))},
        "Email": {"S": f"{name}@example.com"},
        "Age": {"N": str(rng.randint(18, 90))},
        "Created": {"N": str(1_600_000_000 + rng.randint(0, 10**8))},
        "Balance": {"N": f"{rng.randint(0, 10**6)}.{rng.randint(0, 99):02d}"},
        "Active": {"BOOL": rng.random() < 0.8},
        "Tags": {"SS": sorted({rng.choice(["red", "green", "blue", "gold", "beta", "vip"]) for _ in range(3)})},
        "Address": {
            "M": {
                "street": {"S": f"{rng.randint(1, 999)} Main Street"},
                "city": {"S": rng.choice(["Oslo", "Lyon", "Porto", "Turku"])},
                "zip": {"S": f"{rng.randint(10000, 99999)}"},
            }
        },
        "Logins": {"L": [{"N": str(1_700_000_000 + rng.randint(0, 10**6))} for _ in range(rng.randint(0, 4))]},
        "Avatar": {"B": rng.randbytes(16)},
    }


def load(endpoint: str, table: str, count: int, *, threads: int = 4) -> float:
    """Create ``table`` and batch-write ``count`` items (same items for the same count); return seconds."""
    dynamodb = client(endpoint)
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "Name", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "Name", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    started = time.monotonic()

    def write(start: int) -> None:
        rng = random.Random(start)
        batch = [{"PutRequest": {"Item": make_item(i, rng)}} for i in range(start, min(start + 25, count))]
        while batch:
            unprocessed = dynamodb.batch_write_item(RequestItems={table: batch}).get("UnprocessedItems", {})
            batch = unprocessed.get(table, [])

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(write, range(0, count, 25)))
    return time.monotonic() - started


def child_ours(endpoint: str, source: str, target: str) -> dict[str, Any]:
    from migrator.data.aws import AwsSettings
    from migrator.data.verify.run import verify_tables

    report = verify_tables(AwsSettings(endpoint_url=endpoint), source_table=source, target_table=target, segments=4)
    return {"identical": report.identical, "items": report.source_count + report.target_count}


def child_naive(endpoint: str, source: str, target: str) -> dict[str, Any]:
    dynamodb = client(endpoint)

    def scan_all(table: str) -> dict[str, Any]:
        items: dict[str, Any] = {}
        for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            for item in page["Items"]:
                items[item["Name"]["S"]] = item
        return items

    a, b = scan_all(source), scan_all(target)
    return {"identical": a == b, "items": len(a) + len(b)}


def run_child(method: str, endpoint: str, source: str, target: str) -> dict[str, Any]:
    """Run one verification in a fresh process; it reports its CPU seconds and peak RSS."""
    argv = [sys.executable, __file__, "--child", method, "--endpoint", endpoint, "--source", source, "--target", target]
    out = subprocess.run(argv, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def child_main(method: str, endpoint: str, source: str, target: str) -> None:
    started = time.monotonic()
    result = (child_ours if method == "ours" else child_naive)(endpoint, source, target)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result.update(
        seconds=time.monotonic() - started,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
    )
    print(json.dumps(result))


def report(results: dict[tuple[str, int], dict[str, Any]], sizes: list[int]) -> bool:
    print(f"\n{'method':6} {'items/table':>11} {'items/s':>9} {'CPU s/100k':>10} {'peak RSS MB':>11} {'wall s':>7}")
    for (method, size), r in sorted(results.items()):
        r["cpu_per_100k"] = r["cpu"] / r["items"] * 100_000
        print(
            f"{method:6} {size:>11} {r['items'] / r['seconds']:>9.0f} {r['cpu_per_100k']:>10.2f}"
            f" {r['peak_rss_mb']:>11.1f} {r['seconds']:>7.1f}"
        )
    ok = True
    print()
    for size in sizes:
        ratio = results["ours", size]["cpu_per_100k"] / results["naive", size]["cpu_per_100k"]
        passed = ratio <= CPU_RATIO_TARGET
        ok &= passed
        verdict = "PASS" if passed else "FAIL"
        print(f"CPU per item at {size}: ours/naive = {ratio:.2f} (target ≤ {CPU_RATIO_TARGET}) {verdict}")
    small, large = min(sizes), max(sizes)
    growth = results["ours", large]["peak_rss_mb"] / results["ours", small]["peak_rss_mb"]
    naive_growth = results["naive", large]["peak_rss_mb"] / results["naive", small]["peak_rss_mb"]
    passed = growth <= RSS_GROWTH_TARGET
    ok &= passed
    print(
        f"peak RSS {large} vs {small}: ours ×{growth:.2f} (target ≤ {RSS_GROWTH_TARGET}) {'PASS' if passed else 'FAIL'}"
    )
    grows = naive_growth > RSS_GROWTH_TARGET
    ok &= grows
    verdict = "PASS" if grows else "FAIL"
    print(f"peak RSS {large} vs {small}: naive ×{naive_growth:.2f} (grows: > {RSS_GROWTH_TARGET}) {verdict}")
    for size in sizes:
        if not all(results[m, size]["identical"] for m in ("ours", "naive")):
            ok = False
            print(f"FAIL: a verification of the identical {size}-item tables found differences")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50000,200000")
    parser.add_argument("--plain-moto", action="store_true", help="moto's own (slow) Scan response writer")
    parser.add_argument("--child", choices=("ours", "naive"))
    parser.add_argument("--endpoint")
    parser.add_argument("--source")
    parser.add_argument("--target")
    args = parser.parse_args()
    if args.child:
        child_main(args.child, args.endpoint, args.source, args.target)
        return 0
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    sizes = [int(s) for s in args.sizes.split(",")]
    server, endpoint = start_moto(args.plain_moto)
    started = time.monotonic()
    try:
        results: dict[tuple[str, int], dict[str, Any]] = {}
        for size in sizes:
            for table in (f"source-{size}", f"target-{size}"):
                seconds = load(endpoint, table, size)
                print(f"loaded {size} items into {table} in {seconds:.1f} s ({size / seconds:.0f} items/s)", flush=True)
            for method in ("naive", "ours"):
                results[method, size] = run_child(method, endpoint, f"source-{size}", f"target-{size}")
                print(f"{method} {size}: {results[method, size]}", flush=True)
        ok = report(results, sizes)
    finally:
        stop(server)
    print(f"\nwhole run: {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

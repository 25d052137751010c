"""Benchmark: export-against-export verification in one process and on Spark local[1] and local[2].

    .venv/bin/python bench/verify_spark.py [--sizes 100000,1000000] [--heap 1g] [--files 8] [--changed 0]

Writes, per size, a legacy export and the new table's export (the legacy items through
``UUID=uuid5(Name)``, respelled: attribute order, number spelling) as gzip DynamoDB-JSON files on
local disk, read through a stand-in for S3 (the executors open the files; no network, no emulator
competing for the cores). Each verification runs in a fresh child process, which reports its time,
the CPU seconds of all its processes (JVM and Python workers included: items per CPU-second stay
comparable on a loaded machine, wall-clock rates do not) and the Python driver's peak RSS (psutil,
sampled every 20 ms); Spark's JVM gets a fixed heap and
is started, with its Python workers, before the clock starts.
Targets: local[2] ≥ 1.5× the items/s of local[1] (an idle 2-core machine); the Spark driver's peak
RSS at the largest size ≤ 1.2× at the smallest. Exits 1 when a target fails or a verdict is wrong.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psutil
from isal import igzip

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from migrator.data.export.files import DataFile, ExportLayout  # noqa: E402

SPEEDUP_TARGET = 1.5
RSS_GROWTH_TARGET = 1.2
BUCKET = "local"


@dataclass(frozen=True)
class LocalStore:
    """A stand-in for AwsSettings whose S3 is a folder: ``<root>/<bucket>/<key>``."""

    root: str

    def client(self, service: str) -> Any:
        return LocalS3(self.root)


class LocalS3:
    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        return {"Body": open(self.root / Bucket / Key, "rb")}  # noqa: SIM115 (the reader closes it)


def legacy_item(i: int) -> dict[str, Any]:
    return {
        "Name": {"S": f"customer-{i:09d}"},
        "Email": {"S": f"user{i}@example.com"},
        "Balance": {"N": str(i % 100_000)},
        "Tags": {"SS": ["a", "b", f"t{i % 7}"]},
        "Address": {"M": {"City": {"S": "Lisbon"}, "Zip": {"N": str(1000 + i % 9000)}}},
        "Active": {"BOOL": i % 2 == 0},
    }


def new_item(item: dict[str, Any], changed: bool) -> dict[str, Any]:
    out = {"UUID": {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, item["Name"]["S"]))}}
    for name, value in reversed(list(item.items())):
        out[name] = {"N": value["N"] + ".0"} if "N" in value else value
    if changed:
        out["Active"] = {"NULL": True}
    return out


def write_side(folder: Path, prefix: str, lines: Any, size: int, files: int) -> ExportLayout:
    """Write ``size`` lines over ``files`` gzip files under ``<folder>/local/<prefix>data/``."""
    data = folder / BUCKET / prefix / "data"
    data.mkdir(parents=True, exist_ok=True)
    written = []
    per_file = -(-size // files)
    for n in range(files):
        key = f"{prefix}data/part-{n:03d}.json.gz"
        with igzip.open(folder / BUCKET / key, "wb", compresslevel=1) as out:
            for i in range(n * per_file, min(size, (n + 1) * per_file)):
                out.write(lines(i) + b"\n")
        written.append(DataFile(key, (folder / BUCKET / key).stat().st_size))
    return ExportLayout(BUCKET, prefix, f"{prefix}data/", tuple(written), None, False)


def write_pair(folder: Path, size: int, files: int, changed: int) -> tuple[ExportLayout, ExportLayout]:
    every = size // changed if changed else 0
    source = write_side(folder, "legacy/", lambda i: orjson.dumps({"Item": legacy_item(i)}), size, files)
    target = write_side(
        folder,
        "new/",
        lambda i: orjson.dumps({"Item": new_item(legacy_item(i), bool(every) and i % every == 0)}),
        size,
        files,
    )
    return source, target


class PeakRss:
    """The peak RSS of this process, sampled by a thread (psutil)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, me.memory_info().rss)
            self._stop.wait(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, psutil.Process().memory_info().rss)


def cpu_seconds() -> float:
    """CPU seconds of this process and every process under it (Spark's JVM and its Python workers)."""
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for process in me.children(recursive=True):
        try:
            total += sum(process.cpu_times()[:2])
        except psutil.Error:
            continue  # gone meanwhile
    return total


def layouts(folder: Path, files: int) -> tuple[ExportLayout, ExportLayout]:
    def side(prefix: str) -> ExportLayout:
        keys = sorted(p for p in (folder / BUCKET / prefix / "data").iterdir())
        found = tuple(DataFile(f"{prefix}data/{p.name}", p.stat().st_size) for p in keys)
        return ExportLayout(BUCKET, prefix, f"{prefix}data/", found, None, False)

    return side("legacy/"), side("new/")


def child(mode: str, folder: str, heap: str) -> dict[str, Any]:
    """One verification in this (child) process: its seconds, verdict and the driver's peak RSS."""
    source, target = layouts(Path(folder), 0)
    store = LocalStore(folder)
    rules, keys = ["UUID=uuid5(Name)"], ["UUID"]
    if mode == "single":
        from migrator.data.verify.exports import verify_exports

        with PeakRss() as rss:
            started, cpu = time.perf_counter(), cpu_seconds()
            report = verify_exports(source, target, rules, keys, store=store, workers=2)
            seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        return {"seconds": seconds, "cpu": cpu, "report": report.to_dict(), "rss": rss.peak, "cores": 1}
    from migrator.data.spark.job import spark_session, verify_exports_spark

    cores = int(mode.removeprefix("spark-"))
    conf = {"spark.driver.memory": heap, "spark.ui.enabled": "false", "spark.default.parallelism": str(2 * cores)}
    spark = spark_session(f"local[{cores}]", conf)
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.parallelize(range(cores), cores).map(lambda x: x).count()  # workers up before the clock
    with PeakRss() as rss:
        started, cpu = time.perf_counter(), cpu_seconds()
        report = verify_exports_spark(source, target, rules, keys, spark=spark, store=store)
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    spark.stop()
    return {"seconds": seconds, "cpu": cpu, "report": report.to_dict(), "rss": rss.peak, "cores": cores}


def run_child(mode: str, folder: Path, heap: str) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--child", mode, "--dir", str(folder), "--heap", heap]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(sizes: list[int], files: int, changed: int, heap: str) -> dict[int, dict[str, dict[str, Any]]]:
    results: dict[int, dict[str, dict[str, Any]]] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="verify-spark-bench-") as tmp:
            started = time.perf_counter()
            write_pair(Path(tmp), size, files, changed)
            print(f"{size:,} items per side written in {time.perf_counter() - started:.1f} s", flush=True)
            results[size] = {}
            for mode in ("single", "spark-1", "spark-2"):
                results[size][mode] = got = run_child(mode, Path(tmp), heap)
                rate = 2 * size / got["seconds"]
                print(
                    f"  {mode:8} {got['seconds']:7.1f} s  {rate:10,.0f} items/s  "
                    f"{rate / got['cores']:10,.0f} items/s per core  {2 * size / got['cpu']:10,.0f} items per CPU-s  "
                    f"driver peak RSS {got['rss'] / 2**20:6.1f} MiB",
                    flush=True,
                )
    return results


def verdicts(results: dict[int, dict[str, dict[str, Any]]], changed: int) -> bool:
    ok = True
    for size, runs in results.items():
        for mode, got in runs.items():
            report = got["report"]
            right = report["changed_count"] == changed and report["identical"] == (changed == 0)
            if not right or report["source_count"] != size or report["target_count"] != size:
                print(f"FAIL: {mode} at {size:,} items reported {report}")
                ok = False
        speedup = runs["spark-1"]["seconds"] / runs["spark-2"]["seconds"]
        passed = speedup >= SPEEDUP_TARGET
        ok &= passed
        print(
            f"{size:,}: local[2] ÷ local[1] items/s ×{speedup:.2f} (target ≥ {SPEEDUP_TARGET}) "
            f"{'PASS' if passed else 'FAIL'}"
        )
    small, large = min(results), max(results)
    for mode in ("spark-2", "single"):
        growth = results[large][mode]["rss"] / results[small][mode]["rss"]
        passed = growth <= RSS_GROWTH_TARGET
        if mode.startswith("spark"):
            ok &= passed
        print(
            f"{mode} driver peak RSS {large:,} vs {small:,} items: ×{growth:.2f} (target ≤ {RSS_GROWTH_TARGET}) "
            + ("PASS" if passed else "FAIL" if mode.startswith("spark") else "(not a target)")
        )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="items per side, comma-separated")
    parser.add_argument("--files", type=int, default=8, help="data files per export")
    parser.add_argument("--changed", type=int, default=0, help="items changed in the new export (runs pass 2)")
    parser.add_argument("--heap", default="1g", help="the Spark JVM's fixed heap (spark.driver.memory)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.dir, args.heap)))
        return 0
    sizes = sorted(int(s) for s in args.sizes.split(","))
    print(f"load average before: {', '.join(f'{x:.2f}' for x in psutil.getloadavg())}; {psutil.cpu_count()} cores")
    results = measure(sizes, args.files, args.changed, args.heap)
    print(f"load average after: {', '.join(f'{x:.2f}' for x in psutil.getloadavg())}")
    return 0 if verdicts(results, args.changed) else 1


if __name__ == "__main__":
    raise SystemExit(main())

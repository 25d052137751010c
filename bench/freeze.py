"""Benchmark: the online cutover's freeze window, old default quiet wait against the new, on a moto server.

    .venv/bin/python bench/freeze.py [--sizes 10000,100000] [--rate 50] [--delay-per-5k 1.0]

Per size: load the legacy table (no stream yet), give it a NEW_AND_OLD_IMAGES stream, start the
simulated consumer (``migrator.demo.consumer``: 70% updates, 20% new items, 10% deletes, through a Lambda
function whose reserved concurrency it obeys) at ``--rate`` requests a second, then run the online
migration's data plane as the stages do: export → transform → import → verify against the export,
plus a simulated delay of ``--delay-per-5k`` seconds per 5,000 items (on AWS the export and import
take longer with size than on moto) while the backlog of writes grows; then, in the same run:

- the floor: GetRecords alone over the backlog (the same client and parser the replayer uses);
- the replay of that backlog (one pass: read, derive, BatchWriteItem, checkpoint);
- catch-up until the lag stays under 2 s, one short pass whose keys are left to the freeze's re-check;
- two cutovers of the same tables, each a freeze window (``migrator.data.stream.window.run_window``:
  freeze, in-flight wait, drain, re-check, flip, unfreeze; each part timed; at the flip the new table's
  stream position is taken, as the cutover does, after reading it to its end before the freeze):
  first with the old default ``catchUp.quietSeconds`` (1.0), then, after going back (the reverse
  window) and catching up again, with the new default. In each, a slow writer reads an item before
  the freeze and writes it to the legacy table after the flip, once a fast writer wrote that key on
  the new table; the replay of late writes (guarded, as stage 3's step) must report it as a conflict
  and keep the newer write. The consumer keeps writing throughout, to whichever table it is flipped to;
- writes lost: acknowledged writes the new table does not hold (read consistently at the end).

The offline baseline is the write stop the offline mode needs: export + transform + import + verify
(+ the same simulated delay). Targets: at every size the new freeze ≤ 0.7× the old and ≤ 1.0 s;
writes lost = 0; each slow writer reported as a conflict with the newer write kept; replay ≥ 0.6× the
GetRecords floor; the new freeze at the largest size ≤ 1.5× at the smallest. Prints PASS/FAIL per
target and exits 1 when one fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from verify import load, start_moto, stop  # noqa: E402  (bench/verify.py, beside this file)

from migrator.core.derive import Deriver, parse_rules  # noqa: E402
from migrator.core.online_config import QUIET_SECONDS, Writer  # noqa: E402
from migrator.core.replay_map import forward_map, reverse_map  # noqa: E402
from migrator.data.aws import AwsSettings  # noqa: E402
from migrator.data.export.run import run_export  # noqa: E402
from migrator.data.load.import_check import check_import  # noqa: E402
from migrator.data.stream.conflict_store import MemoryConflicts  # noqa: E402
from migrator.data.stream.freeze import capture  # noqa: E402
from migrator.data.stream.late_writes import LateWriteGuard  # noqa: E402
from migrator.data.stream.reader import (  # noqa: E402
    describe_stream,
    get_records,
    shard_iterator,
    streams_client,
    table_stream,
    wait_enabled,
)
from migrator.data.stream.recheck import recheck_keys  # noqa: E402
from migrator.data.stream.replay import Replayer, ReplaySource  # noqa: E402
from migrator.data.stream.watch import StreamWatch  # noqa: E402
from migrator.data.stream.window import PARTS, run_window  # noqa: E402
from migrator.data.transform.run import DeriverSpec, transform_export  # noqa: E402
from migrator.data.verify.run import verify_export  # noqa: E402
from migrator.demo.consumer import Ack, SimulatedConsumer, create_writer_function  # noqa: E402

BUCKET = "freeze-bench"
RULES = parse_rules({"UUID": "uuid5(Name)"})
FREEZE_TARGET = 5.0
GROWTH_TARGET = 1.5
FLOOR_TARGET = 0.6
OLD_QUIET = 1.0  # catchUp.quietSeconds until 0.4
NEW_TO_OLD_TARGET = 0.7
NEW_FREEZE_TARGET = 1.0
SCHEMAS = json.dumps(
    {"Legacy": {"partitionKey": "Name"}, "New": {"partitionKey": "UUID", "derive": {"UUID": "uuid5(Name)"}}}
)
ENV = {"TABLE_NAME": "Legacy", "NAME_ATTRIBUTE": "Name", "NAME_TYPE": "S", "TABLE_SCHEMAS": SCHEMAS}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed(steps: dict[str, float], name: str, fn: Any) -> Any:
    started = time.monotonic()
    result = fn()
    steps[name] = round(time.monotonic() - started, 2)
    say(f"    {name}: {steps[name]} s")
    return result


def floor(streams: Any, arn: str) -> tuple[int, float]:
    """GetRecords alone: every record the stream holds now, from its start; (records, seconds)."""
    started, records = time.monotonic(), 0
    for shard in describe_stream(streams, arn)[1]:
        iterator: str | None = shard_iterator(streams, arn, shard.shard_id, None)
        while iterator:
            page = get_records(streams, iterator, limit=1000)
            records += len(page.records)
            if not page.records:
                break
            iterator = page.next_iterator
    return records, time.monotonic() - started


def import_new(dynamodb: Any, data_prefix: str, items: int) -> None:
    arn = dynamodb.import_table(
        S3BucketSource={"S3Bucket": BUCKET, "S3KeyPrefix": data_prefix},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="GZIP",
        TableCreationParameters={
            "TableName": "New",
            "AttributeDefinitions": [{"AttributeName": "UUID", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "UUID", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )["ImportTableDescription"]["ImportArn"]
    check_import(dynamodb, table="New", expected_items=items, poll_seconds=0.5, import_arn=arn)
    dynamodb.update_table(
        TableName="New", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    )


def offline_steps(settings: AwsSettings, items: int, delay: float) -> tuple[dict[str, float], float]:
    """Export → transform → import → verify (what the offline mode's write stop spans); the export's time."""
    dynamodb, s3 = settings.client("dynamodb"), settings.client("s3")
    steps: dict[str, float] = {}
    exported = timed(
        steps, "export", lambda: run_export(dynamodb, s3, table="Legacy", bucket=BUCKET, prefix="e/", poll_seconds=0.5)
    )
    transformed = timed(
        steps,
        "transform",
        lambda: transform_export(
            settings,
            exported.layout,
            dest_bucket=BUCKET,
            dest_prefix="t/",
            deriver_spec=DeriverSpec(rules=tuple(str(r) for r in RULES)),
            key_names=("UUID",),
        ),
    )
    timed(steps, "import", lambda: import_new(dynamodb, transformed.layout.data_prefix, transformed.items_out))
    timed(steps, "verify", lambda: verify_export(settings, transformed.layout, target_table="New"))
    timed(steps, "simulated delay", lambda: time.sleep(delay))
    return steps, exported.export_time.timestamp()


def consumer_main(endpoint: str, items: int, rate: float, stop_event: Any, out: str) -> None:
    """The simulated consumer in a process of its own, until ``stop_event``; its log goes to ``out``."""
    settings = AwsSettings(region="us-east-1", endpoint_url=endpoint)
    names = [f"user-{i:08d}" for i in range(items)]
    # One writer thread (moto numbers stream records without a lock); reusing the function's state for
    # 0.1 s keeps it near the asked rate (4 calls a request otherwise cap it near 27/s on this machine).
    consumer = SimulatedConsumer(settings, "Writer", names, rate=rate, seed=items, state_ttl=0.1).start()
    stop_event.wait()
    consumer.stop()
    log = {"acks": [dataclasses.asdict(a) for a in consumer.acks], "throttled": consumer.throttled}
    Path(out).write_text(json.dumps({**log, "errors": consumer.errors[:5]}))


class ConsumerProcess:
    """The consumer in its own process, so that the replay, the transform and the verification in this one
    do not slow its writes (they share one interpreter lock otherwise)."""

    def __init__(self, endpoint: str, items: int, rate: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.stop_event = context.Event()
        fd, self.out = tempfile.mkstemp(prefix="freeze-consumer-", suffix=".json")
        os.close(fd)
        args = (endpoint, items, rate, self.stop_event, self.out)
        self.process = context.Process(target=consumer_main, args=args, daemon=True)
        self.process.start()

    def stop(self, settings: AwsSettings) -> SimulatedConsumer:
        """Stop it; a consumer object holding its log (to check the tables against)."""
        self.stop_event.set()
        self.process.join(timeout=60)
        log = json.loads(Path(self.out).read_text())
        os.unlink(self.out)
        consumer = SimulatedConsumer(settings, "Writer", [], rate=1.0)
        consumer.acks = [Ack(**a) for a in log["acks"]]
        consumer.throttled, consumer.errors = log["throttled"], log["errors"]
        return consumer


def u5(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


class SlowWriter:
    """An invocation that read its item before the freeze and writes the legacy table after the flip, once a
    fast writer (on the new table since the flip) wrote the same key: the late write must not win."""

    def __init__(self, dynamodb: Any, key: str) -> None:
        self.dynamodb, self.key = dynamodb, key
        self.flipped = threading.Event()
        dynamodb.put_item(TableName="Legacy", Item={"Name": {"S": key}, "Score": {"N": "0"}})

    def start(self) -> SlowWriter:
        self.read = self.dynamodb.get_item(TableName="Legacy", Key={"Name": {"S": self.key}}, ConsistentRead=True)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        if not self.flipped.wait(timeout=120):
            return
        item = {"UUID": {"S": u5(self.key)}, "Name": {"S": self.key}, "Score": {"N": "2"}, "By": {"S": "fast"}}
        self.dynamodb.put_item(TableName="New", Item=item)
        self.dynamodb.put_item(TableName="Legacy", Item={**self.read["Item"], "Score": {"N": "1"}, "By": {"S": "slow"}})

    def newer_kept(self) -> bool:
        got = self.dynamodb.get_item(TableName="New", Key={"UUID": {"S": u5(self.key)}}, ConsistentRead=True)
        return got.get("Item", {}).get("By") == {"S": "fast"}


def cut_over(settings: AwsSettings, replayer: Replayer, reverse: Replayer, *, quiet: float, slow_key: str) -> dict:
    """One forward freeze window with ``quiet`` seconds of quiet, a slow writer across it, and the guarded replay
    of late writes afterwards; the window's figures and the conflicts it reported."""
    dynamodb, lam, streams = settings.client("dynamodb"), settings.client("lambda"), streams_client(settings)
    slow = SlowWriter(dynamodb, slow_key)
    short = replayer.run_pass(collect_keys=True)
    carry = list(short.touched)
    reverse.advance_to_end()  # before the freeze, as the cutover does: the flip reads little
    state = capture(lam, [Writer("Writer")], expect_table="Legacy")
    slow.start()
    at_flip: dict[str, str] = {}

    def recheck(touched: Any) -> Any:
        keys = [*carry, *touched]
        return recheck_keys(
            dynamodb, source_table="Legacy", target_table="New", item_map=replayer.source.item_map, keys=keys
        )

    def flipped() -> None:
        reverse.advance_to_end()
        at_flip.update(reverse.checkpoints)
        slow.flipped.set()

    window = run_window(lam, state, replayer, flip_to="New", recheck=recheck, quiet_seconds=quiet, on_flipped=flipped)
    slow.thread.join(timeout=60)
    watch = StreamWatch(streams, reverse.source.stream_arn, at_flip, ("UUID",))
    conflicts = MemoryConflicts()
    replayer.guard = LateWriteGuard(dynamodb, "New", replayer.source.item_map, conflicts, lambda: "now", watch=watch)
    try:
        late = replayer.drain(empty_passes=2, poll_seconds=0.2, timeout=30)
    finally:
        replayer.guard = None
    return {
        "quiet": quiet,
        "freeze": window.to_dict(),
        "lagAtFreeze": round(short.lag_seconds, 3),
        "lateWrites": late.records,
        "conflicts": late.conflicts,
        "slowWriterConflict": any(c.source_key == {"Name": slow_key} for c in conflicts.all()),
        "newerKept": slow.newer_kept(),
    }


def go_back(settings: AwsSettings, reverse: Replayer) -> None:
    """Down 3→2: the reverse window (the new table's writes since the flip onto the legacy one, writers back)."""
    lam = settings.client("lambda")
    state = capture(lam, [Writer("Writer")], expect_table="New")
    run_window(lam, state, reverse, flip_to="Legacy", quiet_seconds=QUIET_SECONDS)


def run_size(items: int, *, rate: float, delay: float) -> dict[str, Any]:
    server, endpoint = start_moto(plain=False)
    try:
        say(f"  loading {items} items")
        load(endpoint, "Legacy", items)
        settings = AwsSettings(region="us-east-1", endpoint_url=endpoint)
        dynamodb, streams = settings.client("dynamodb"), streams_client(settings)
        dynamodb.update_continuous_backups(
            TableName="Legacy", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        dynamodb.update_table(
            TableName="Legacy", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        )
        settings.client("s3").create_bucket(Bucket=BUCKET)
        create_writer_function(settings, "Writer", ENV, timeout=10)
        stream = wait_enabled(dynamodb, streams, "Legacy", poll_seconds=0.2)
        writer = ConsumerProcess(endpoint, items, rate)
        try:
            say("  offline steps while the consumer writes")
            phases = [time.monotonic()]
            steps, export_time = offline_steps(settings, items, delay)
            phases.append(time.monotonic())
            item_map = forward_map(RULES, ("Name",), ("UUID",))
            source = ReplaySource("Legacy", "New", stream.arn, stream.view_type, item_map, export_time)
            replayer = Replayer(source, dynamodb=dynamodb, streams=streams)
            floor_records, floor_seconds = floor(streams, stream.arn)
            backlog = replayer.run_pass()
            caught = replayer.catch_up(max_lag=2.0, in_a_row=3, timeout=600)
            new_arn = table_stream(dynamodb, "New").arn
            back_map = reverse_map(RULES, ("Name",), ("UUID",))
            reverse = Replayer(
                ReplaySource("New", "Legacy", new_arn, "NEW_AND_OLD_IMAGES", back_map),
                dynamodb=dynamodb,
                streams=streams,
            )
            cutovers = [cut_over(settings, replayer, reverse, quiet=OLD_QUIET, slow_key="slow-old")]
            say(f"    freeze with quietSeconds {OLD_QUIET:g}: {cutovers[0]['freeze']['seconds']:.2f} s; going back")
            go_back(settings, reverse)
            replayer.catch_up(max_lag=2.0, in_a_row=3, timeout=600)
            cutovers.append(cut_over(settings, replayer, reverse, quiet=QUIET_SECONDS, slow_key="slow-new"))
            say(f"    freeze with quietSeconds {QUIET_SECONDS:g}: {cutovers[1]['freeze']['seconds']:.2f} s")
            time.sleep(3)  # writes go on, to the new table now
            phases.append(time.monotonic())
        finally:
            consumer = writer.stop(settings)
        achieved = [
            round(sum(1 for a in consumer.acks if start <= a.at < end) / (end - start), 1)
            for start, end in zip(phases, phases[1:], strict=False)
        ]
        lost = consumer.missing("New", ("UUID",), Deriver(RULES))
        return {
            "items": items,
            "offline": steps,
            "offlineSeconds": round(sum(steps.values()), 2),
            "floor": {"records": floor_records, "seconds": round(floor_seconds, 3)},
            "backlog": {"records": backlog.records, "seconds": round(backlog.seconds, 3)},
            "catchUp": {"passes": caught.passes, "records": caught.records, "caughtUp": caught.caught_up},
            "cutovers": cutovers,
            "freeze": cutovers[-1]["freeze"],
            "acknowledged": len(consumer.acks),
            "achievedRate": achieved,  # acknowledged writes a second: offline steps, then replay and cutover
            "throttled": consumer.throttled,
            "errors": consumer.errors[:5],
            "lost": len(lost),
        }
    finally:
        stop(server)


def rate(records: int, seconds: float) -> float:
    return records / seconds if seconds > 0 else 0.0


def _freeze_rows(results: list[dict[str, Any]]) -> None:
    print(
        "\n| items | quietSeconds | freeze s | freeze · in-flight · drain · re-check · flip · unfreeze (s) "
        "| replayed in freeze | lag at freeze s | late writes after the flip | conflicts | newer write kept |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        for c in r["cutovers"]:
            parts = " · ".join(f"{c['freeze']['parts'][p]:.2f}" for p in PARTS)
            print(
                f"| {r['items']:,} | {c['quiet']:g} | {c['freeze']['seconds']:.2f} | {parts} "
                f"| {c['freeze']['recordsReplayed']} | {c['lagAtFreeze']:.2f} | {c['lateWrites']} | {c['conflicts']} "
                f"| {'yes' if c['newerKept'] else 'NO'} |"
            )


def _replay_rows(results: list[dict[str, Any]]) -> None:
    print(
        "\n| items | backlog replayed | replay rec/s | GetRecords rec/s | replay ÷ floor | writes acked "
        "(acked/s: offline steps, cutovers) | writes lost | offline write stop s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        replay = rate(r["backlog"]["records"], r["backlog"]["seconds"])
        ground = rate(r["floor"]["records"], r["floor"]["seconds"])
        r["ratio"] = replay / ground if ground else 0.0
        print(
            f"| {r['items']:,} | {r['backlog']['records']:,} | {replay:,.0f} | {ground:,.0f} | {r['ratio']:.2f}× "
            f"| {r['acknowledged']:,} ({' / '.join(map(str, r['achievedRate']))}) | {r['lost']} "
            f"| {r['offlineSeconds']:.0f} |"
        )
    for r in results:
        print(f"offline steps at {r['items']:,}: " + ", ".join(f"{k} {v:.1f} s" for k, v in r["offline"].items()))
        print(
            f"  GetRecords alone: {r['floor']['records']:,} records in {r['floor']['seconds']:.2f} s; the replay: "
            f"{r['backlog']['records']:,} in {r['backlog']['seconds']:.2f} s; then {r['catchUp']['passes']} catch-up "
            f"passes; consumer: {r['throttled']} requests throttled, errors {r['errors'] or 'none'}"
        )


def _checks(results: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    checks = []
    for r in results:
        size = f"{r['items']:,}"
        old, new = (c["freeze"]["seconds"] for c in r["cutovers"])
        checks += [
            (
                f"new freeze ≤ {NEW_TO_OLD_TARGET:g}× old at {size}",
                f"{new / old:.2f}× ({new:.2f} / {old:.2f} s)",
                new <= NEW_TO_OLD_TARGET * old,
            ),
            (f"new freeze ≤ {NEW_FREEZE_TARGET:g} s at {size}", f"{new:.2f} s", new <= NEW_FREEZE_TARGET),
            (f"writes lost = 0 at {size}", str(r["lost"]), r["lost"] == 0),
            (
                f"slow writer reported as a conflict, newer write kept, at {size} (old, new)",
                ", ".join(f"{c['conflicts']} conflict(s), kept {c['newerKept']}" for c in r["cutovers"]),
                all(c["slowWriterConflict"] and c["newerKept"] for c in r["cutovers"]),
            ),
            (
                f"replay ≥ {FLOOR_TARGET:g}× the GetRecords floor at {size}",
                f"{r['ratio']:.2f}×",
                r["ratio"] >= FLOOR_TARGET,
            ),
            (
                f"freeze ≤ {FREEZE_TARGET:g} s at {size} (old and new)",
                f"{old:.2f} s, {new:.2f} s",
                max(old, new) <= FREEZE_TARGET,
            ),
        ]
    if len(results) > 1:
        growth = results[-1]["freeze"]["seconds"] / max(results[0]["freeze"]["seconds"], 1e-9)
        first, last = f"{results[0]['items']:,}", f"{results[-1]['items']:,}"
        checks.append(
            (f"new freeze at {last} ≤ {GROWTH_TARGET:g}× at {first}", f"{growth:.2f}×", growth <= GROWTH_TARGET)
        )
    return checks


def report(results: list[dict[str, Any]]) -> bool:
    _freeze_rows(results)
    _replay_rows(results)
    checks = _checks(results)
    print("\n| target | figure | |\n|---|---|---|")
    for name, figure, ok in checks:
        print(f"| {name} | {figure} | {'PASS' if ok else 'FAIL'} |")
    return all(ok for _, _, ok in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--rate", type=float, default=50.0, help="the consumer's requests per second")
    parser.add_argument("--delay-per-5k", type=float, default=1.0, help="simulated export+import seconds per 5k")
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    load_before = os.getloadavg()
    results = []
    for items in (int(s) for s in args.sizes.split(",")):
        say(f"size {items}:")
        results.append(run_size(items, rate=args.rate, delay=items / 5000 * args.delay_per_5k))
    print(
        f"\nmachine: {os.cpu_count()} cores, load average {load_before[0]:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after; consumer {args.rate:g} requests/s"
    )
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Verify that a target table holds exactly the source's items, after the source goes through the derive rules.

The source is a live table (:func:`verify_tables`) or an export on S3 (:func:`verify_export`). Items
are compared by their canonical form (:mod:`migrator.core.canonical`). Memory stays bounded as tables grow:
pass 1 keeps only per-bucket counts and digest sums (:mod:`migrator.data.verify.buckets`); pass 2 rescans
and diffs item by item only inside the buckets that differ, a group of buckets at a time.

A verification that finds differences returns its report (``identical`` False); the caller decides
what that means (the CLI exits 1, the orchestrator raises VerificationError or DriftError).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson

from migrator.core.derive import Deriver
from migrator.core.ports import Progress
from migrator.data.aws import AwsSettings
from migrator.data.export.files import ExportLayout
from migrator.data.progress import Meter, Meters, meters_for
from migrator.data.verify.buckets import (
    BUCKETS,
    Diff,
    Keyer,
    Tally,
    collect_pages,
    differing_buckets,
    group_buckets,
    tally_pages,
)
from migrator.data.verify.read import (
    ClientFactory,
    Reader,
    consume,
    export_readers,
    raw_scan_client,
    run_all,
    table_facts,
    table_readers,
)

# Pass 2 holds at most this many items per side in memory at once (about 150 bytes each).
MAX_DIFF_ITEMS = 200_000
# Parsed pages alive at once across all reader threads (see verify_read.scan_pages).
PAGE_SLOTS = 2


@dataclass(frozen=True)
class VerifyReport:
    """What a verification found.

    ``source_count`` counts every source item read, rejects included. ``identical`` says whether the
    target holds exactly the source's mappable items, every item on both sides could be read, and an
    export source holds as many items as its manifest counts; rejects (source items the derive rules
    cannot map to a target key) are counted apart, as the transform counts them, and the caller decides.
    ``duplicate_count`` counts keys that more than one item of a side has (two source items that
    derive one key, a line twice in an export): an import would keep only one of them.
    """

    identical: bool
    source_count: int
    target_count: int
    missing_count: int
    extra_count: int
    changed_count: int
    samples: dict[str, list[dict[str, Any]]]
    rejects: int = 0
    reject_samples: tuple[str, ...] = ()
    source: str = ""
    target: str = ""
    differing_buckets: int = 0
    seconds: float = 0.0
    duplicate_count: int = 0
    duplicate_samples: tuple[dict[str, Any], ...] = ()
    unreadable_count: int = 0
    unreadable_samples: tuple[dict[str, Any], ...] = ()
    export_item_count: int | None = None  # what the export's manifest counts, when it has one

    @property
    def export_short(self) -> bool:
        """True when an export source holds fewer (or more) items than its manifest counts."""
        return self.export_item_count is not None and self.export_item_count != self.source_count

    def to_dict(self) -> dict[str, Any]:
        """The JSON object README's "The data-plane steps on their own" shows (plus rejects and where the time went)."""
        return {
            "identical": self.identical,
            "source": self.source,
            "target": self.target,
            "source_count": self.source_count,
            "target_count": self.target_count,
            "missing_count": self.missing_count,
            "extra_count": self.extra_count,
            "changed_count": self.changed_count,
            "samples": {name: list(keys) for name, keys in self.samples.items()},
            "rejects": self.rejects,
            "reject_samples": list(self.reject_samples),
            "duplicate_count": self.duplicate_count,
            "duplicate_samples": list(self.duplicate_samples),
            "unreadable_count": self.unreadable_count,
            "unreadable_samples": [dict(s) for s in self.unreadable_samples],
            "export_item_count": self.export_item_count,
            "differing_buckets": self.differing_buckets,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Side:
    name: str
    readers: list[Reader]
    keyer: Keyer
    tally: Tally = field(default_factory=Tally)
    estimate: int | None = None  # how many items the side holds, when known (for progress only)


def _total(sides: Sequence[_Side]) -> int | None:
    estimates = [side.estimate for side in sides]
    return None if any(e is None for e in estimates) else sum(e for e in estimates if e is not None)


def _pass1(sides: Sequence[_Side], meter: Meter) -> None:
    tasks: list[Callable[[], Any]] = []
    owners: list[_Side] = []
    for side in sides:
        tally = partial(tally_pages, keyer=side.keyer, on_page=meter.add)
        tasks.extend(consume(reader, tally) for reader in side.readers)
        owners.extend(side for _ in side.readers)
    try:
        for side, tally in zip(owners, run_all(tasks, name="verify"), strict=True):
            side.tally.merge(tally)
    finally:
        meter.close()


def _pass2(
    source: _Side, target: _Side, buckets: list[int], max_items: int, meters: Meters, progress: Progress | None
) -> Diff:
    diff = Diff()
    groups = group_buckets(buckets, source.tally, target.tally, max_items=max_items)
    for number, group in enumerate(groups, 1):
        if progress is not None:
            progress(f"verify: pass 2, group {number}/{len(groups)}: {len(group)} differing buckets")
        meter = meters(
            f"verify: pass 2, group {number}/{len(groups)} ({len(group)} differing buckets)",
            source.tally.items + target.tally.items,
        )
        selected = bytearray(BUCKETS)
        for b in group:
            selected[b] = 1
        found: dict[str, dict[bytes, int]] = {source.name: {}, target.name: {}}
        repeated: dict[str, set[bytes]] = {source.name: set(), target.name: set()}
        tasks = [
            consume(
                reader,
                partial(
                    collect_pages,
                    keyer=side.keyer,
                    selected=selected,
                    into=found[side.name],
                    repeated=repeated[side.name],
                    on_page=meter.add,
                ),
            )
            for side in (source, target)
            for reader in side.readers
        ]
        try:
            run_all(tasks, name="verify")
        finally:
            meter.close()
        diff.add(found[source.name], found[target.name], repeated[source.name] | repeated[target.name])
    return diff


def _compare(
    source: _Side,
    target: _Side,
    *,
    labels: tuple[str, str],
    progress: Progress | None,
    meters: Meters | None,
    max_items: int,
    export_item_count: int | None = None,
) -> VerifyReport:
    started = time.monotonic()
    made = meters_for(progress, meters)
    _pass1((source, target), made("verify: pass 1 (both sides)", _total((source, target))))
    buckets = differing_buckets(source.tally, target.tally)
    diff = _pass2(source, target, buckets, max_items, made, progress) if buckets else Diff()
    unreadable = tuple(
        {"side": side.name, **sample} for side in (source, target) for sample in side.tally.unreadable_samples
    )
    unreadable_count = source.tally.unreadable + target.tally.unreadable
    short = export_item_count is not None and export_item_count != source.tally.items
    report = VerifyReport(
        identical=not buckets and not unreadable_count and not short,
        source_count=source.tally.items,
        target_count=target.tally.items,
        missing_count=diff.missing,
        extra_count=diff.extra,
        changed_count=diff.changed,
        samples={name: [orjson.loads(k) for k in diff.samples[name]] for name in ("missing", "extra", "changed")},
        rejects=source.tally.rejects,
        reject_samples=tuple(source.tally.reject_samples),
        source=labels[0],
        target=labels[1],
        differing_buckets=len(buckets),
        seconds=time.monotonic() - started,
        duplicate_count=diff.duplicate,
        duplicate_samples=tuple(orjson.loads(k) for k in diff.samples["duplicate"]),
        unreadable_count=unreadable_count,
        unreadable_samples=unreadable[:10],
        export_item_count=export_item_count,
    )
    if progress is not None:
        progress(
            f"verify: {report.source_count} source items, {report.target_count} target items: "
            + (
                "identical"
                if report.identical
                else f"{report.missing_count} missing, {report.extra_count} extra, {report.changed_count} changed"
            )
        )
    return report


def verify_tables(
    aws: AwsSettings | ClientFactory,
    *,
    source_table: str,
    target_table: str,
    deriver: Deriver | None = None,
    segments: int = 4,
    consistent: bool = True,
    progress: Progress | None = None,
    max_diff_items: int = MAX_DIFF_ITEMS,
    meters: Meters | None = None,
) -> VerifyReport:
    """Compare ``target_table`` with ``source_table`` (each source item through ``deriver`` first).

    ``aws`` is settings, or a factory returning a new DynamoDB client (used for all scans, from
    ``segments`` threads per table). Raise NotFoundError (exit 2) when a table does not exist.
    Progress goes to ``meters`` if given, else as lines to ``progress``.
    """
    client = raw_scan_client(aws)
    gate = threading.Semaphore(PAGE_SLOTS)
    source_keys, source_count = table_facts(client, source_table)  # a missing table is reported before any scan
    target_keys, target_count = table_facts(client, target_table)
    source = _Side(
        "source",
        table_readers(client, source_table, segments=segments, consistent=consistent, gate=gate),
        Keyer(target_keys, deriver, label_names=source_keys),
        estimate=source_count,
    )
    target = _Side(
        "target",
        table_readers(client, target_table, segments=segments, consistent=consistent, gate=gate),
        Keyer(target_keys),
        estimate=target_count,
    )
    return _compare(
        source,
        target,
        labels=(f"table {source_table}", f"table {target_table}"),
        progress=progress,
        meters=meters,
        max_items=max_diff_items,
    )


def verify_export(
    aws: AwsSettings | tuple[ClientFactory, ClientFactory],
    source: ExportLayout,
    *,
    target_table: str,
    deriver: Deriver | None = None,
    segments: int = 4,
    workers: int = 4,
    consistent: bool = True,
    progress: Progress | None = None,
    max_diff_items: int = MAX_DIFF_ITEMS,
    meters: Meters | None = None,
) -> VerifyReport:
    """Compare ``target_table`` with the items of an export (its data files, read by ``workers`` threads).

    ``aws`` is settings, or a pair of factories (DynamoDB client, S3 client). Each export item goes
    through ``deriver`` first, as the transform did.
    """
    if isinstance(aws, AwsSettings):
        client, s3 = raw_scan_client(aws), aws.client("s3")
    else:
        client, s3 = raw_scan_client(aws[0]), aws[1]()
    target_keys, target_count = table_facts(client, target_table)
    gate = threading.Semaphore(PAGE_SLOTS)
    # An export does not say its table's key: an unreadable item is named by the attributes the rules read.
    labels = tuple(dict.fromkeys(n for rule in (deriver.rules if deriver else ()) for n in rule.expression.sources))
    source_side = _Side(
        "source",
        export_readers(s3, source, workers=workers, gate=gate),
        Keyer(target_keys, deriver, label_names=labels or target_keys),
        estimate=source.item_count,
    )
    target = _Side(
        "target",
        table_readers(client, target_table, segments=segments, consistent=consistent, gate=gate),
        Keyer(target_keys),
        estimate=target_count,
    )
    label = f"s3://{source.bucket}/{source.prefix}"
    return _compare(
        source_side,
        target,
        labels=(label, f"table {target_table}"),
        progress=progress,
        meters=meters,
        max_items=max_diff_items,
        export_item_count=source.item_count if source.has_manifest else None,
    )

"""Verify a new table's export against the legacy table's export, in one process: no read capacity used.

Both tables are exported (point in time, from S3, no Scan), the legacy side goes through the derive
rules, and both sides are keyed by the new key and compared in canonical form
(:mod:`migrator.core.canonical`). The report is the one table verification gives
(:class:`~migrator.data.verify.run.VerifyReport`). Memory stays bounded as in :mod:`migrator.data.verify.run`:
pass 1 folds both exports into per-bucket digests (:mod:`migrator.data.verify.buckets`); pass 2 reads
them again and diffs item by item only inside the buckets that differ, a group at a time.

The Spark path (:mod:`migrator.data.spark`) runs the same sides, buckets and classification and gives
the same report; every sample list holds the smallest entries, so the two agree to the sample.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, Protocol

from migrator.core.derive import Deriver
from migrator.data.aws import AwsSettings
from migrator.data.export.files import ExportLayout
from migrator.data.progress import Meter, Meters, meters_for
from migrator.data.transform.lines import DeriverSpec
from migrator.data.verify.buckets import BUCKETS, differing_buckets, group_buckets
from migrator.data.verify.findings import (
    Digests,
    KeyFindings,
    check_key_names,
    collect_digests,
    export_report,
    merge_digests,
)
from migrator.data.verify.read import Reader, consume, export_readers, run_all
from migrator.data.verify.run import MAX_DIFF_ITEMS, PAGE_SLOTS, VerifyReport
from migrator.data.verify.sides import SampleBook, SideTally, side_keyer, tally_side

Progress = Callable[[str], None]


class ClientSource(Protocol):
    """Where clients come from: :class:`AwsSettings`, or a stand-in with the same ``client`` method."""

    def client(self, service: str) -> Any: ...


def deriver_spec(rules: DeriverSpec | Sequence[str]) -> DeriverSpec:
    """Derive rules as a :class:`DeriverSpec` (given as one, or as ``"X=expr"`` strings)."""
    return rules if isinstance(rules, DeriverSpec) else DeriverSpec(tuple(rules))


def built_deriver(spec: DeriverSpec) -> Deriver | None:
    """The deriver of ``spec``; None when it changes nothing. Bad rules raise DeriveSyntaxError here."""
    deriver = spec.build()
    return None if deriver.is_identity else deriver


def _pass1(
    readers: tuple[list[Reader], list[Reader]], key_names: tuple[str, ...], deriver: Deriver | None, meter: Meter
) -> tuple[SideTally, SideTally]:
    tasks, owners = [], []
    for side, side_readers in enumerate(readers):
        for reader in side_readers:
            keyer = side_keyer(side, key_names, deriver, SampleBook())
            tasks.append(consume(reader, partial(tally_side, side, keyer=keyer, on_page=meter.add)))
            owners.append(side)
    sides = (SideTally(0), SideTally(1))
    try:
        for side, tally in zip(owners, run_all(tasks, name="verify-exports"), strict=True):
            sides[side].merge(tally)
    finally:
        meter.close()
    return sides


def _pass2_group(
    readers: tuple[list[Reader], list[Reader]],
    key_names: tuple[str, ...],
    deriver: Deriver | None,
    group: list[int],
    meter: Meter,
) -> KeyFindings:
    selected = bytearray(BUCKETS)
    for b in group:
        selected[b] = 1
    tasks, owners = [], []
    for side, side_readers in enumerate(readers):
        for reader in side_readers:
            keyer = side_keyer(side, key_names, deriver, SampleBook())
            collect = partial(_collect_counted, keyer=keyer, selected=selected, on_page=meter.add)
            tasks.append(consume(reader, collect))
            owners.append(side)
    found: tuple[dict[bytes, Digests], dict[bytes, Digests]] = ({}, {})
    try:
        for side, digests in zip(owners, run_all(tasks, name="verify-exports"), strict=True):
            merge_digests(found[side], digests)
    finally:
        meter.close()
    return KeyFindings().add_sides(*found)


def _collect_counted(
    pages: Iterator[list[Any]], keyer: Any, selected: bytearray, on_page: Callable[[int], None]
) -> dict[bytes, Digests]:
    def counted() -> Iterator[list[Any]]:
        for page in pages:
            yield page
            on_page(len(page))

    return collect_digests(counted(), keyer, selected, {})


def verify_exports(
    source: ExportLayout,
    target: ExportLayout,
    rules: DeriverSpec | Sequence[str],
    key_names: Sequence[str],
    *,
    store: ClientSource | None = None,
    workers: int = 4,
    max_diff_items: int = MAX_DIFF_ITEMS,
    progress: Progress | None = None,
    meters: Meters | None = None,
) -> VerifyReport:
    """Compare the export ``target`` (of the new table) with the export ``source`` (of the legacy table).

    Each source item goes through ``rules`` (``"X=expr"`` strings, or a DeriverSpec with a hook) as the
    transform did; both sides are keyed by ``key_names``, the new key. Files are read by ``workers``
    threads per side from ``store`` (AwsSettings by default). A target export that holds other than
    its manifest's count raises DamagedFilesError; a source export that does is reported
    (``export_item_count``). Progress goes to ``meters`` if given, else as lines to ``progress``.
    """
    started = time.monotonic()
    keys = check_key_names(key_names)
    deriver = built_deriver(deriver_spec(rules))
    s3 = (store or AwsSettings()).client("s3")
    gate = threading.Semaphore(PAGE_SLOTS)
    readers = (
        export_readers(s3, source, workers=workers, gate=gate),
        export_readers(s3, target, workers=workers, gate=gate),
    )
    made = meters_for(progress, meters)
    total = None if source.item_count is None or target.item_count is None else source.item_count + target.item_count
    sides = _pass1(readers, keys, deriver, made("verify exports: pass 1 (both sides)", total))
    buckets = differing_buckets(sides[0].tally, sides[1].tally)
    findings = KeyFindings()
    groups = group_buckets(buckets, sides[0].tally, sides[1].tally, max_items=max_diff_items)
    seen = sides[0].tally.items + sides[1].tally.items
    for number, group in enumerate(groups, 1):
        label = f"verify exports: pass 2, group {number}/{len(groups)} ({len(group)} differing buckets)"
        findings.merge(_pass2_group(readers, keys, deriver, group, made(label, seen)))
    report = export_report(
        sides, findings, layouts=(source, target), buckets=len(buckets), seconds=time.monotonic() - started
    )
    if progress is not None:
        progress(f"verify exports: {report.source_count} source items, {report.target_count} target items")
    return report

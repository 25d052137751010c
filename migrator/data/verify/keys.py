"""A live verification that hands back *every* differing key, each with its source (legacy) key.

:func:`migrator.data.verify.run.verify_tables` counts differences and keeps ten sample target keys per
kind, which is what a report needs. An online cutover needs more: every key that differed while
writes flowed is read again (consistently, on both sides) once the replay has passed the end of the
scan, and reading the legacy side needs the *legacy* key, which a derived target key (a uuid5, say)
does not give back. :func:`verify_tables_keys` runs the same two passes (bucket digests, then item by
item inside the differing buckets, a group at a time) and collects each difference as a
:class:`~migrator.core.replay_plan.KeyRef`: missing and changed items with the source item's key,
extra items with the source key their attributes carry (new items keep the legacy attributes).

Memory stays bounded: pass 2 holds at most ``max_diff_items`` items per side, and the differing keys
beyond ``spill_after`` go to a temporary file (:class:`KeySpill`) that iterating reads back.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

import orjson

from migrator.core.canonical import item_key
from migrator.core.derive import Deriver
from migrator.core.replay_plan import KeyRef
from migrator.data.aws import AwsSettings
from migrator.data.verify.buckets import (
    BUCKETS,
    Keyer,
    Tally,
    differing_buckets,
    group_buckets,
    selected_items,
    tally_pages,
)
from migrator.data.verify.read import (
    ClientFactory,
    Page,
    Reader,
    consume,
    key_names,
    raw_scan_client,
    run_all,
    table_readers,
)
from migrator.data.verify.run import MAX_DIFF_ITEMS, PAGE_SLOTS, VerifyReport

Item = dict[str, Any]
SPILL_AFTER = 100_000  # differing keys kept in memory before the rest go to a temporary file
MISSING, EXTRA, CHANGED = "missing", "extra", "changed"


class KeySpill:
    """Differing keys as ``(kind, KeyRef)``: the first ``limit`` in memory, the rest in a temporary file.

    Iterate it (any number of times) to read them all; ``len()`` counts them. ``close()`` removes the file.
    """

    def __init__(self, limit: int = SPILL_AFTER) -> None:
        self.limit = limit
        self.kept: list[tuple[str, KeyRef]] = []
        self.count = 0
        self._file: IO[bytes] | None = None
        self.path: str | None = None

    def add(self, kind: str, ref: KeyRef) -> None:
        self.count += 1
        if len(self.kept) < self.limit:
            self.kept.append((kind, ref))
            return
        if self._file is None:
            fd, self.path = tempfile.mkstemp(prefix="verify-keys-", suffix=".jsonl")
            self._file = os.fdopen(fd, "w+b")
        record = {"k": kind, "s": ref.source_key, "t": list(ref.target_keys)}
        self._file.write(orjson.dumps(record) + b"\n")

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[tuple[str, KeyRef]]:
        yield from self.kept
        if self._file is None:
            return
        self._file.flush()
        with open(self.path or "", "rb") as spilled:
            for line in spilled:
                record = orjson.loads(line)
                yield record["k"], KeyRef(record["s"], tuple(record["t"]))

    def refs(self) -> Iterator[KeyRef]:
        """The keys alone."""
        return (ref for _kind, ref in self)

    def close(self) -> None:
        """Remove the temporary file, if any."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.path is not None:
            os.unlink(self.path)
            self.path = None

    def __enter__(self) -> KeySpill:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


@dataclass
class _Side:
    readers: list[Reader]
    keyer: Keyer
    tally: Tally = field(default_factory=Tally)


def _typed_key(item: Item, names: Sequence[str]) -> bytes | None:
    if any(name not in item for name in names):
        return None
    return orjson.dumps({name: item[name] for name in names})


def _collect(
    pages: Iterable[Page], keyer: Keyer, selected: bytearray, source_names: Sequence[str], into: dict[bytes, tuple]
) -> None:
    """Pass 2 over one reader: target key bytes → (digest, typed target key, typed source key) of selected items."""
    for page in pages:
        for key, digest, item, raw in selected_items(page, keyer, selected):
            into[key] = (digest, _typed_key(item, keyer.key_names), _typed_key(raw, source_names))


def _diff(source: dict[bytes, tuple], target: dict[bytes, tuple], keys: KeySpill) -> tuple[int, int, int]:
    counts = [0, 0, 0]
    for kb, (digest, target_key, source_key) in source.items():
        other = target.get(kb)
        if other is None or other[0] != digest:
            kind = MISSING if other is None else CHANGED
            counts[0 if other is None else 2] += 1
            keys.add(kind, KeyRef(_loads(source_key), (_loads(target_key),) if target_key else ()))
    for kb, (_digest, target_key, source_key) in target.items():
        if kb not in source:
            counts[1] += 1
            keys.add(EXTRA, KeyRef(_loads(source_key), (_loads(target_key),) if target_key else ()))
    return counts[0], counts[1], counts[2]


def _loads(data: bytes | None) -> Any:
    return None if data is None else orjson.loads(data)


def verify_tables_keys(
    aws: AwsSettings | ClientFactory,
    *,
    source_table: str,
    target_table: str,
    deriver: Deriver | None = None,
    segments: int = 4,
    consistent: bool = True,
    max_diff_items: int = MAX_DIFF_ITEMS,
    spill_after: int = SPILL_AFTER,
) -> tuple[VerifyReport, KeySpill]:
    """Compare ``target_table`` with ``source_table`` as :func:`~migrator.data.verify.run.verify_tables` does, and
    return every differing key too (see the module docstring). Close the :class:`KeySpill` when done."""
    started = time.monotonic()
    client = raw_scan_client(aws)
    gate = threading.Semaphore(PAGE_SLOTS)
    source_names = key_names(client, source_table)
    target_names = key_names(client, target_table)
    source = _Side(
        table_readers(client, source_table, segments=segments, consistent=consistent, gate=gate),
        Keyer(target_names, deriver),
    )
    target = _Side(
        table_readers(client, target_table, segments=segments, consistent=consistent, gate=gate),
        Keyer(target_names),
    )
    _tally_both(source, target)
    buckets = differing_buckets(source.tally, target.tally)
    keys = KeySpill(spill_after)
    missing, extra, changed = _collect_differences(
        buckets, source, target, source_names=source_names, keys=keys, max_items=max_diff_items
    )
    report = VerifyReport(
        identical=not buckets,
        source_count=source.tally.items,
        target_count=target.tally.items,
        missing_count=missing,
        extra_count=extra,
        changed_count=changed,
        samples=_samples(keys),
        rejects=source.tally.rejects,
        reject_samples=tuple(source.tally.reject_samples),
        source=f"table {source_table}",
        target=f"table {target_table}",
        differing_buckets=len(buckets),
        seconds=time.monotonic() - started,
    )
    return report, keys


def _tally_both(source: _Side, target: _Side) -> None:
    """Pass 1: fold every item of both sides into its bucket, all readers at once."""
    tasks, owners = [], []
    for side in (source, target):
        tasks += [consume(reader, partial(tally_pages, keyer=side.keyer)) for reader in side.readers]
        owners += [side] * len(side.readers)
    for side, tally in zip(owners, run_all(tasks, name="verify-keys"), strict=True):
        side.tally.merge(tally)


def _collect_differences(
    buckets: Sequence[int],
    source: _Side,
    target: _Side,
    *,
    source_names: Sequence[str],
    keys: KeySpill,
    max_items: int,
) -> tuple[int, int, int]:
    """Pass 2: read the differing buckets again a group at a time, add each differing key to ``keys``; the
    ``(missing, extra, changed)`` counts."""
    missing = extra = changed = 0
    for group in group_buckets(buckets, source.tally, target.tally, max_items=max_items):
        selected = bytearray(BUCKETS)
        for b in group:
            selected[b] = 1
        found: tuple[dict[bytes, tuple], dict[bytes, tuple]] = ({}, {})
        collect = partial(_collect, selected=selected, source_names=source_names)
        run_all(
            [
                consume(reader, partial(collect, keyer=side.keyer, into=into))
                for side, into in ((source, found[0]), (target, found[1]))
                for reader in side.readers
            ],
            name="verify-keys",
        )
        m, e, c = _diff(found[0], found[1], keys)
        missing, extra, changed = missing + m, extra + e, changed + c
    return missing, extra, changed


def _samples(keys: KeySpill) -> dict[str, list[dict[str, Any]]]:
    samples: dict[str, list[dict[str, Any]]] = {MISSING: [], EXTRA: [], CHANGED: []}
    for kind, ref in keys.kept:
        if len(samples[kind]) < 10 and ref.target_keys:
            samples[kind].append(item_key(ref.target_keys[0], tuple(ref.target_keys[0])))
    return samples

"""Bounded-memory comparison state for verification (pure: no boto3).

Pass 1 folds every item into one of ``BUCKETS`` buckets by the hash of its key: a count and the sum
(mod 2¹²⁸) of its items' digests. The sum does not depend on scan order, so two sides hold the same
items exactly when every bucket agrees (up to a 128-bit collision). Pass 2 then diffs item by item
only inside the buckets that disagree, in groups small enough to hold in memory.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import xxhash

from migrator.core.canonical import CanonicalError, canonical_item, key_bytes, key_text
from migrator.core.derive import Deriver, Item, RejectError
from migrator.core.dynamojson import item_problem

BUCKETS = 4096
MASK_128 = (1 << 128) - 1
SAMPLES = 10
_bucket_hash = xxhash.xxh3_64_intdigest
_item_hash = xxhash.xxh3_128_intdigest


@dataclass(frozen=True)
class Unreadable:
    """What a reader yields in place of an item it could not read (a line that is not JSON)."""

    reason: str


@dataclass
class Tally:
    """Per-bucket counts and digest sums of one side (or one worker's share of it)."""

    counts: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    sums: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    items: int = 0
    rejects: int = 0
    reject_samples: list[str] = field(default_factory=list)
    unreadable: int = 0
    unreadable_samples: list[dict[str, Any]] = field(default_factory=list)

    def merge(self, other: Tally) -> None:
        """Add ``other`` (another worker's tally of the same side) into this one."""
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.sums = [(a + b) & MASK_128 for a, b in zip(self.sums, other.sums, strict=True)]
        self.items += other.items
        self.rejects += other.rejects
        self.reject_samples = (self.reject_samples + other.reject_samples)[:SAMPLES]
        self.unreadable += other.unreadable
        self.unreadable_samples = (self.unreadable_samples + other.unreadable_samples)[:SAMPLES]

    def reject(self, reason: str) -> None:
        self.rejects += 1
        if len(self.reject_samples) < SAMPLES:
            self.reject_samples.append(reason)

    def unreadable_item(self, key: dict[str, Any] | None, reason: str) -> None:
        """Count an item that is not valid DynamoDB JSON, keeping its key (as far as it can be read)."""
        self.unreadable += 1
        if len(self.unreadable_samples) < SAMPLES:
            self.unreadable_samples.append({"key": key, "reason": reason})


class Keyer:
    """Turns a raw item of one side into its key and canonical bytes after the derive rules.

    An item that is not valid DynamoDB JSON is *unreadable* (named by ``label_names``, the attributes
    that identify an item of this side); one the derive rules cannot map is a *reject*. The rules are
    checked where the canonical form is made (:func:`canonical_item`); which of the two an item is
    gets decided only for the items that fail, so a readable item pays for no second look.
    """

    def __init__(
        self, key_names: Sequence[str], deriver: Deriver | None = None, *, label_names: Sequence[str] = ()
    ) -> None:
        self.key_names = tuple(key_names)
        self.deriver = None if deriver is None or deriver.is_identity else deriver
        self.label_names = tuple(label_names) or self.key_names

    def key(self, raw: Item | Unreadable) -> tuple[bytes, Item] | None:
        """The key and the (derived) item, unchecked; None when there is no key (counted in pass 1)."""
        if type(raw) is not dict:
            return None
        try:
            item = raw if self.deriver is None else self.deriver(raw)
            return key_bytes(item, self.key_names), item
        except (RejectError, CanonicalError, AttributeError, TypeError):
            return None

    def __call__(self, raw: Item | Unreadable, tally: Tally) -> tuple[bytes, bytes] | None:
        """``(key, canonical item)``, or None after counting the item as unreadable or a reject in ``tally``."""
        item: Any = raw
        try:
            if type(raw) is not dict:
                raise CanonicalError(raw.reason if isinstance(raw, Unreadable) else "the item is not an object")
            item = raw if self.deriver is None else self.deriver(raw)
            return key_bytes(item, self.key_names), canonical_item(item)
        except (RejectError, CanonicalError) as e:
            self._count(raw, item, e, tally)
            return None

    def _count(self, raw: Any, item: Any, error: Exception, tally: Tally) -> None:
        problem = raw.reason if isinstance(raw, Unreadable) else item_problem(raw)
        if problem is not None:
            tally.unreadable_item(self.label(raw), problem)
        elif item is not raw and self.deriver is not None and self.deriver.hook is not None and item_problem(item):
            tally.reject(f"the --python hook returned invalid DynamoDB JSON: {item_problem(item)}")
        else:
            tally.reject(str(error))

    def label(self, raw: Any) -> dict[str, Any] | None:
        """The identifying attributes of a raw item as plain JSON, as far as they can be read; None if none."""
        if not isinstance(raw, dict):
            return None
        found = {name: _readable(raw[name]) for name in self.label_names if name in raw}
        return found or None


def _readable(value: Any) -> Any:
    try:
        return key_text(value)
    except (CanonicalError, AttributeError, TypeError, ValueError):
        return value  # not a readable key value: shown as it is (it came from JSON, so it prints)


def tally_pages(pages: Iterable[list[Item]], keyer: Keyer, *, on_page: Callable[[int], None] | None = None) -> Tally:
    """Pass 1 over one reader: fold every item into its bucket."""
    tally = Tally()
    counts, sums = tally.counts, tally.sums
    mask = BUCKETS - 1
    for page in pages:
        for raw in page:
            keyed = keyer(raw, tally)
            if keyed is None:
                continue
            key, canonical = keyed
            digest = _item_hash(canonical)
            bucket = _bucket_hash(key) & mask
            counts[bucket] += 1
            sums[bucket] += digest
        tally.items += len(page)
        if on_page is not None:
            on_page(len(page))
    tally.sums = [s & MASK_128 for s in sums]
    return tally


def differing_buckets(source: Tally, target: Tally) -> list[int]:
    """The buckets whose count or digest sum differ between the sides."""
    return [
        b
        for b in range(BUCKETS)
        if source.counts[b] != target.counts[b] or (source.sums[b] - target.sums[b]) & MASK_128
    ]


def group_buckets(buckets: Sequence[int], source: Tally, target: Tally, *, max_items: int) -> list[list[int]]:
    """Split ``buckets`` into groups each holding at most ``max_items`` items per side (one bucket at least)."""
    groups: list[list[int]] = []
    current: list[int] = []
    size = 0
    for b in buckets:
        weight = max(source.counts[b], target.counts[b])
        if current and size + weight > max_items:
            groups.append(current)
            current, size = [], 0
        current.append(b)
        size += weight
    if current:
        groups.append(current)
    return groups


def collect_pages(
    pages: Iterable[list[Item]],
    keyer: Keyer,
    selected: bytearray,
    into: dict[bytes, int],
    repeated: set[bytes] | None = None,
    on_page: Callable[[int], None] | None = None,
) -> None:
    """Pass 2 over one reader: record ``key → item digest`` for items whose bucket is selected.

    A key seen twice on one side (two source items that derive one key, a line twice in an export)
    goes into ``repeated``: the digest kept would hide the other item.
    """
    for page in pages:
        for key, digest, _item, _raw in selected_items(page, keyer, selected):
            if key in into and repeated is not None:
                repeated.add(key)
            into[key] = digest
        if on_page is not None:
            on_page(len(page))


def selected_items(page: Iterable[Item], keyer: Keyer, selected: bytearray) -> Iterator[tuple[bytes, int, Item, Any]]:
    """``(key, item digest, derived item, raw item)`` of each item of ``page`` whose bucket is ``selected``.

    Items without a key or a canonical form are skipped: pass 1 counted them as rejects or unreadable.
    """
    mask = BUCKETS - 1
    for raw in page:
        keyed = keyer.key(raw)
        if keyed is None:
            continue
        key, item = keyed
        if not selected[_bucket_hash(key) & mask]:
            continue
        try:
            digest = _item_hash(canonical_item(item))
        except CanonicalError:
            continue
        yield key, digest, item, raw


@dataclass
class Diff:
    """Item-level differences found so far, with the smallest keys kept as samples."""

    missing: int = 0
    extra: int = 0
    changed: int = 0
    duplicate: int = 0
    samples: dict[str, list[bytes]] = field(
        default_factory=lambda: {"missing": [], "extra": [], "changed": [], "duplicate": []}
    )

    def add(self, source: dict[bytes, int], target: dict[bytes, int], repeated: Iterable[bytes] = ()) -> None:
        """Compare one group's items of both sides; ``repeated``: keys more than one item of a side has."""
        missing = [k for k in source if k not in target]
        extra = [k for k in target if k not in source]
        changed = [k for k, d in source.items() if k in target and target[k] != d]
        duplicate = list(repeated)
        self.missing += len(missing)
        self.extra += len(extra)
        self.changed += len(changed)
        self.duplicate += len(duplicate)
        for name, keys in (("missing", missing), ("extra", extra), ("changed", changed), ("duplicate", duplicate)):
            self.samples[name] = heapq.nsmallest(SAMPLES, self.samples[name] + heapq.nsmallest(SAMPLES, keys))

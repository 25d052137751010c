"""One side of an export-against-export verification: its keyer, its pass-1 tally, its ordered samples.

Pure: no boto3. Both the single-process path (:mod:`migrator.data.verify.exports`) and the Spark path
(:mod:`migrator.data.spark`) build their sides here, so they count and sample alike.

Samples are the *smallest* entries in a fixed order, not the first ones met: reading order differs
between threads, runs and Spark partitions, and two runs (or two paths) must give the same report.
Rejects are ordered by the item's identifying attributes, then the reason; unreadable items by side,
key, then reason. Orders compare canonical JSON bytes (:func:`migrator.core.canonical.key_bytes` for
keys), so they do not depend on how an export spells a value.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from migrator.core.derive import Deriver, Item
from migrator.data.verify.buckets import SAMPLES, Keyer, Tally, Unreadable, tally_pages

SIDES = ("source", "target")
_TRIM = 8 * SAMPLES  # sample lists are cut back to SAMPLES when they reach this length
_NOT_AN_ITEM = "not an item of the new table: "


def smallest(entries: list[Any], limit: int = SAMPLES) -> list[Any]:
    """The ``limit`` smallest of ``entries``, in order."""
    return heapq.nsmallest(limit, entries)


def _label_bytes(label: dict[str, Any] | None) -> bytes:
    return b"" if label is None else orjson.dumps(label)


@dataclass
class SampleBook:
    """The smallest reject and unreadable samples of one side (or one worker's share of it)."""

    rejects: list[tuple[bytes, str]] = field(default_factory=list)  # (label JSON, reason)
    unreadable: list[tuple[int, bytes, str]] = field(default_factory=list)  # (side index, key JSON, reason)

    def reject(self, label: dict[str, Any] | None, reason: str) -> None:
        """Keep one reject: the reason, ordered by the item's identifying attributes."""
        self.rejects.append((_label_bytes(label), reason))
        if len(self.rejects) >= _TRIM:
            self.rejects = smallest(self.rejects)

    def unreadable_item(self, side: int, key: dict[str, Any] | None, reason: str) -> None:
        """Keep one unreadable item of side ``side`` (an index into :data:`SIDES`)."""
        self.unreadable.append((side, _label_bytes(key), reason))
        if len(self.unreadable) >= _TRIM:
            self.unreadable = smallest(self.unreadable)

    def merge(self, other: SampleBook) -> None:
        """Add ``other``'s samples, keeping the smallest."""
        self.rejects = smallest(self.rejects + other.rejects)
        self.unreadable = smallest(self.unreadable + other.unreadable)

    def reject_samples(self) -> tuple[str, ...]:
        """The reasons of the smallest rejects."""
        return tuple(reason for _, reason in smallest(self.rejects))

    def unreadable_samples(self) -> tuple[dict[str, Any], ...]:
        """The smallest unreadable items as the report shows them: ``{"side", "key", "reason"}``."""
        return tuple(
            {"side": SIDES[side], "key": orjson.loads(key) if key else None, "reason": reason}
            for side, key, reason in smallest(self.unreadable)
        )


@dataclass
class SideTally:
    """Pass 1 of one side: the bucket tally (counts, digest sums, rejects, unreadable) and the samples."""

    side: int
    tally: Tally = field(default_factory=Tally)
    book: SampleBook = field(default_factory=SampleBook)

    def merge(self, other: SideTally) -> SideTally:
        """Add ``other`` (another share of the same side) into this one; return this one."""
        self.tally.merge(other.tally)
        self.book.merge(other.book)
        return self


class SampledKeyer:
    """A :class:`Keyer` that also keeps each reject and unreadable item in a :class:`SampleBook`.

    The wrapped keyer counts into a scratch tally (it keeps only the first samples); each failure is
    moved into the caller's tally (counts) and into the book (ordered samples). On the target side
    (an export of the new table) an item without the new key is unreadable, not a reject: rejects
    are source items the derive rules cannot map.
    """

    def __init__(self, keyer: Keyer, side: int, book: SampleBook) -> None:
        self.keyer = keyer
        self.side = side
        self.book = book
        self._scratch = Tally()

    def key(self, raw: Item | Unreadable) -> tuple[bytes, Item] | None:
        """The key and the derived item, as :meth:`Keyer.key` gives them."""
        return self.keyer.key(raw)

    def __call__(self, raw: Item | Unreadable, tally: Tally) -> tuple[bytes, bytes] | None:
        """``(key, canonical item)``, or None after counting the item in ``tally`` and the book."""
        keyed = self.keyer(raw, self._scratch)
        if keyed is None:
            self._move(raw, tally)
        return keyed

    def _move(self, raw: Item | Unreadable, tally: Tally) -> None:
        scratch = self._scratch
        if scratch.unreadable:
            sample = scratch.unreadable_samples[0]
            tally.unreadable_item(sample["key"], sample["reason"])
            self.book.unreadable_item(self.side, sample["key"], sample["reason"])
        elif self.side == 0:
            reason = scratch.reject_samples[0]
            tally.reject(reason)
            self.book.reject(self.keyer.label(raw), reason)
        else:
            reason = _NOT_AN_ITEM + scratch.reject_samples[0]
            tally.unreadable_item(self.keyer.label(raw), reason)
            self.book.unreadable_item(self.side, self.keyer.label(raw), reason)
        scratch.rejects = scratch.unreadable = 0
        scratch.reject_samples.clear()
        scratch.unreadable_samples.clear()


def label_names(deriver: Deriver | None, key_names: Sequence[str]) -> tuple[str, ...]:
    """What names a source item in a sample: the attributes the rules read (an export does not say
    its table's key), else the new key."""
    sources = dict.fromkeys(n for rule in (deriver.rules if deriver else ()) for n in rule.expression.sources)
    return tuple(sources) or tuple(key_names)


def side_keyer(side: int, key_names: Sequence[str], deriver: Deriver | None, book: SampleBook) -> SampledKeyer:
    """The keyer of one side: the source through ``deriver`` and named by its rules' attributes, the target as is."""
    if side == 0:
        return SampledKeyer(Keyer(key_names, deriver, label_names=label_names(deriver, key_names)), side, book)
    return SampledKeyer(Keyer(key_names), side, book)


def tally_side(
    side: int, pages: Iterable[list[Any]], keyer: SampledKeyer, on_page: Callable[[int], None] | None = None
) -> SideTally:
    """Pass 1 over pages of one side: the bucket tally and the samples ``keyer`` kept."""
    return SideTally(side, tally_pages(pages, keyer, on_page=on_page), keyer.book)

"""Pass 2 of an export-against-export verification, and its report: pure, shared by both paths.

Pass 2 gathers, inside the buckets pass 1 found differing, every digest each side holds for a key
(:func:`collect_digests`), and classifies each key (:meth:`KeyFindings.add`):

- *missing*: only the source holds it; *extra*: only the target holds it;
- *changed*: both hold it, and the target holds none of the source's versions of it;
- *duplicate*: a side holds more than one item with it (two source items that derive one key, a
  line twice in an export). Which one an import kept is not known, so a duplicate key whose target
  item equals one of the source items is a duplicate, not also a change.

The classification looks only at one key's digests, never at reading order, so threads, Spark
partitions and reruns give the same counts; samples are the smallest keys (canonical key bytes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from migrator.core.errors import BadInputError
from migrator.data.export.files import EXPORT_AGAIN, DamagedFilesError, ExportLayout
from migrator.data.verify.buckets import SAMPLES, Keyer, selected_items
from migrator.data.verify.run import VerifyReport
from migrator.data.verify.sides import SideTally, smallest

KINDS = ("missing", "extra", "changed", "duplicate")
_TRIM = 8 * SAMPLES
Digests = int | tuple[int, ...]  # one item's digest, or those of every item a side holds with one key


def _digests(value: Digests | None) -> tuple[int, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, int) else value


def add_digest(into: dict[bytes, Digests], key: bytes, digest: int) -> None:
    """Record one item's digest under its key (a plain int while the key has one item: most keys)."""
    prior = into.get(key)
    if prior is None:
        into[key] = digest
    else:
        into[key] = (*_digests(prior), digest)


def collect_digests(
    pages: Iterable[list[Any]], keyer: Keyer | Any, selected: bytearray, into: dict[bytes, Digests]
) -> dict[bytes, Digests]:
    """Pass 2 over one reader's pages: the digests of the items whose bucket is ``selected``."""
    for page in pages:
        for key, digest, _item, _raw in selected_items(page, keyer, selected):
            add_digest(into, key, digest)
    return into


def merge_digests(into: dict[bytes, Digests], other: Mapping[bytes, Digests]) -> None:
    """Add another reader's digests of the same side."""
    for key, value in other.items():
        for digest in _digests(value):
            add_digest(into, key, digest)


@dataclass
class KeyFindings:
    """Counts of missing, extra, changed and duplicate keys, with the smallest keys of each as samples."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    samples: dict[str, list[bytes]] = field(default_factory=lambda: {kind: [] for kind in KINDS})

    def _found(self, kind: str, key: bytes) -> None:
        self.counts[kind] += 1
        kept = self.samples[kind]
        kept.append(key)
        if len(kept) >= _TRIM:
            self.samples[kind] = smallest(kept)

    def add(self, key: bytes, source: Sequence[int], target: Sequence[int]) -> None:
        """Classify one key from the digests each side holds for it (see the module docstring)."""
        if not target:
            self._found("missing", key)
        elif not source:
            self._found("extra", key)
        elif not set(source) & set(target):
            self._found("changed", key)
        if len(source) > 1 or len(target) > 1:
            self._found("duplicate", key)

    def add_sides(self, source: Mapping[bytes, Digests], target: Mapping[bytes, Digests]) -> KeyFindings:
        """Classify every key of one group of buckets; return self."""
        for key, value in source.items():
            self.add(key, _digests(value), _digests(target.get(key)))
        for key, value in target.items():
            if key not in source:
                self.add(key, (), _digests(value))
        return self

    def merge(self, other: KeyFindings) -> KeyFindings:
        """Add ``other`` (another group or partition); return self."""
        for kind in KINDS:
            self.counts[kind] += other.counts[kind]
            self.samples[kind] = smallest(self.samples[kind] + other.samples[kind])
        return self

    def sample_keys(self, kind: str) -> list[dict[str, Any]]:
        """The smallest keys of ``kind`` as plain JSON."""
        return [orjson.loads(k) for k in smallest(self.samples[kind])]


def check_key_names(key_names: Sequence[str]) -> tuple[str, ...]:
    """The new key's attribute names, refused when none are given."""
    if not key_names:
        raise BadInputError("No key attribute to compare by.", hint="Name the new table's key attributes (--key).")
    return tuple(key_names)


def check_target_export(target: ExportLayout, items: int) -> None:
    """A target export whose files hold other than its manifest's count is damaged: nothing it says can be trusted."""
    if target.has_manifest and target.item_count is not None and target.item_count != items:
        raise DamagedFilesError(
            f"The export of the new table at s3://{target.bucket}/{target.prefix} counts {target.item_count} items "
            f"in its manifest but its files hold {items}.",
            hint=EXPORT_AGAIN,
        )


def export_label(layout: ExportLayout) -> str:
    """How a report names an export."""
    return f"s3://{layout.bucket}/{layout.prefix}"


def export_report(
    sides: tuple[SideTally, SideTally],
    findings: KeyFindings,
    *,
    layouts: tuple[ExportLayout, ExportLayout],
    buckets: int,
    seconds: float,
) -> VerifyReport:
    """The report of an export-against-export verification, from both passes' results."""
    source, target = sides
    check_target_export(layouts[1], target.tally.items)
    book = source.book
    book.merge(target.book)
    manifest = layouts[0].item_count if layouts[0].has_manifest else None
    unreadable = source.tally.unreadable + target.tally.unreadable
    short = manifest is not None and manifest != source.tally.items
    return VerifyReport(
        identical=not buckets and not unreadable and not short,
        source_count=source.tally.items,
        target_count=target.tally.items,
        missing_count=findings.counts["missing"],
        extra_count=findings.counts["extra"],
        changed_count=findings.counts["changed"],
        samples={kind: findings.sample_keys(kind) for kind in ("missing", "extra", "changed")},
        rejects=source.tally.rejects,
        reject_samples=book.reject_samples(),
        source=export_label(layouts[0]),
        target=export_label(layouts[1]),
        differing_buckets=buckets,
        seconds=seconds,
        duplicate_count=findings.counts["duplicate"],
        duplicate_samples=tuple(findings.sample_keys("duplicate")),
        unreadable_count=unreadable,
        unreadable_samples=book.unreadable_samples(),
        export_item_count=manifest,
    )

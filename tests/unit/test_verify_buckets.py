"""The pure comparison state of verification: bucket tallies, grouping, item-level diff."""

from __future__ import annotations

import random

from migrator.core.derive import Deriver, parse_rules
from migrator.data.verify.buckets import (
    SAMPLES,
    Diff,
    Keyer,
    Tally,
    collect_pages,
    differing_buckets,
    group_buckets,
    tally_pages,
)


def items(n: int) -> list[dict]:
    return [{"K": {"S": f"k{i:04d}"}, "V": {"N": str(i)}, "T": {"SS": ["a", "b"]}} for i in range(n)]


def tally(pages: list[list[dict]], keyer: Keyer | None = None) -> Tally:
    return tally_pages(pages, keyer or Keyer(("K",)))


def test_tally_does_not_depend_on_order_or_paging():
    # Given the same items in another order, paged differently and spelled differently
    data = items(500)
    shuffled = [dict(item, V={"N": item["V"]["N"] + ".0"}, T={"SS": ["b", "a"]}) for item in data]
    random.Random(1).shuffle(shuffled)
    a = tally([data])
    b = tally([shuffled[:123], shuffled[123:]])
    # Then every bucket agrees
    assert differing_buckets(a, b) == []
    assert a.items == b.items == 500


def test_merged_worker_tallies_equal_one_tally():
    data = items(300)
    whole = tally([data])
    parts = tally([data[:100]])
    parts.merge(tally([data[100:]]))
    assert differing_buckets(whole, parts) == [] and parts.items == 300


def test_one_changed_missing_or_extra_item_shows_in_its_bucket():
    data = items(300)
    base = tally([data])
    changed = [dict(item) for item in data]
    changed[10] = {**changed[10], "V": {"N": "-1"}}
    assert len(differing_buckets(base, tally([changed]))) == 1
    assert len(differing_buckets(base, tally([data[1:]]))) == 1
    assert len(differing_buckets(base, tally([[*data, {"K": {"S": "new"}}]]))) == 1


def test_rejects_are_counted_not_tallied():
    keyer = Keyer(("UUID",), Deriver(parse_rules(["UUID=uuid5(Name)"])))
    result = tally([[{"Name": {"S": "a"}}, {"Other": {"S": "b"}}]], keyer)
    assert (result.items, result.rejects) == (2, 1)
    assert sum(result.counts) == 1
    assert result.reject_samples == ["missing attribute Name"]


def test_groups_hold_at_most_max_items_per_side():
    source, target = Tally(), Tally()
    for b, (s, t) in {1: (5, 5), 2: (3, 4), 3: (6, 0), 4: (1, 1)}.items():
        source.counts[b], target.counts[b] = s, t
    assert group_buckets([1, 2, 3, 4], source, target, max_items=10) == [[1, 2], [3, 4]]
    # a bucket larger than the cap still gets a group of its own
    assert group_buckets([1, 2, 3, 4], source, target, max_items=1) == [[1], [2], [3], [4]]


def test_collect_keeps_only_selected_buckets_and_diff_counts():
    data = items(200)
    keyer = Keyer(("K",))
    everything = bytearray(b"\x01" * 4096)
    source: dict[bytes, int] = {}
    target: dict[bytes, int] = {}
    collect_pages([data], keyer, everything, source)
    collect_pages([[*data[5:], {"K": {"S": "zz"}}]], keyer, everything, target)
    target[b'{"K":"k0100"}'] ^= 1
    diff = Diff()
    diff.add(source, target)
    assert (diff.missing, diff.extra, diff.changed) == (5, 1, 1)
    assert diff.samples["missing"] == [f'{{"K":"k{i:04d}"}}'.encode() for i in range(5)]
    nothing: dict[bytes, int] = {}
    collect_pages([data], keyer, bytearray(4096), nothing)
    assert nothing == {}


def test_diff_samples_are_the_smallest_keys_over_all_groups():
    diff = Diff()
    diff.add({f"k{i:03d}".encode(): 1 for i in range(50, 80)}, {})
    diff.add({f"k{i:03d}".encode(): 1 for i in range(0, 30)}, {})
    assert diff.missing == 60
    assert diff.samples["missing"] == [f"k{i:03d}".encode() for i in range(SAMPLES)]

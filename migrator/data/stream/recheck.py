"""Re-check keys with consistent reads of both tables: what still differs after the replay caught up.

A live verification runs while writes flow, so an item written during the scan may differ only
because the replay had not applied it yet. Given the keys it found different (or the keys a replay
touched since some point), this reads both sides again with consistent reads and compares them
through the item map and the canonical form. What still differs is a real difference.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from migrator.core.canonical import CanonicalError, canonical_item, item_key, key_bytes
from migrator.core.derive import RejectError
from migrator.core.replay_map import ItemMap
from migrator.core.replay_plan import KeyRef
from migrator.data.stream.replay_write import consistent_get

Item = dict[str, Any]
SAMPLES = 10


@dataclass(frozen=True)
class RecheckResult:
    """Target keys compared, and those that still differ (plain JSON keys, as verify's samples)."""

    checked: int
    differing: tuple[dict[str, str], ...] = ()
    unresolved: tuple[dict[str, str], ...] = ()  # source keys of items gone whose target key is unknown
    rejects: tuple[str, ...] = ()  # source items the rules cannot map

    @property
    def clean(self) -> bool:
        return not (self.differing or self.unresolved or self.rejects)

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "differing": len(self.differing),
            "unresolved": len(self.unresolved),
            "rejects": len(self.rejects),
            "samples": {
                "differing": list(self.differing[:SAMPLES]),
                "unresolved": list(self.unresolved[:SAMPLES]),
                "rejects": list(self.rejects[:SAMPLES]),
            },
        }


class _Expected:
    """What the target should hold at each target key, from the source items read."""

    def __init__(self, item_map: ItemMap) -> None:
        self.item_map = item_map
        self.items: dict[bytes, Item] = {}
        self.keys: dict[bytes, Item] = {}
        self.rejects: list[str] = []

    def add_source(self, source_bytes: bytes, item: Item) -> None:
        try:
            target = self.item_map.target_item(item)
            key = self.item_map.target_key(target)
            kb = key_bytes(key, self.item_map.target_keys)
        except (RejectError, CanonicalError) as e:
            self.rejects.append(f"{source_bytes.decode()}: {getattr(e, 'reason', e)}")
            return
        self.items[kb] = target
        self.keys[kb] = key

    def want(self, key: Item) -> None:
        self.keys[key_bytes(key, self.item_map.target_keys)] = key


def recheck_keys(
    dynamodb: Any,
    *,
    source_table: str,
    target_table: str,
    item_map: ItemMap,
    keys: Iterable[KeyRef],
    sleep: Callable[[float], None] = time.sleep,
) -> RecheckResult:
    """Compare the given keys of ``source_table`` and ``target_table`` with consistent reads; return what differs.

    Each :class:`KeyRef` names a source key and/or target keys (the keys a replay touched, or a
    verification's samples with their source keys). A target key whose item came from another source
    key is judged against that source item, read as well.
    """
    refs = list(keys)
    expected = _Expected(item_map)
    source_keys = [r.source_key for r in refs if r.source_key is not None]
    sources = consistent_get(dynamodb, source_table, source_keys, item_map.source_keys, sleep=sleep)
    unresolved: list[dict[str, str]] = []
    for ref in refs:
        for key in ref.target_keys:
            expected.want(key)
        if ref.source_key is None:
            continue
        source_bytes = key_bytes(ref.source_key, item_map.source_keys)
        item = sources.get(source_bytes)
        if item is not None:
            expected.add_source(source_bytes, item)
        elif item_map.key_of_source_key is not None:
            expected.want(item_map.key_of_source_key(ref.source_key))
        elif not ref.target_keys:
            unresolved.append(item_key(ref.source_key, item_map.source_keys))
    actual = consistent_get(dynamodb, target_table, list(expected.keys.values()), item_map.target_keys, sleep=sleep)
    _read_other_sources(dynamodb, source_table, item_map, actual, sources, expected, sleep)
    differing = [
        item_key(expected.keys[kb], item_map.target_keys)
        for kb in expected.keys
        if _canonical(expected.items.get(kb)) != _canonical(actual.get(kb))
    ]
    return RecheckResult(len(expected.keys), tuple(differing), tuple(unresolved), tuple(expected.rejects))


def _read_other_sources(
    dynamodb: Any,
    source_table: str,
    item_map: ItemMap,
    actual: dict[bytes, Item | None],
    sources: dict[bytes, Item | None],
    expected: _Expected,
    sleep: Callable[[float], None],
) -> None:
    """Read the source items of target items that no source read so far accounts for."""
    others = []
    for kb, item in actual.items():
        if item is None or kb in expected.items:
            continue
        try:
            source_key = item_map.source_key(item)
        except RejectError:
            continue  # a target item without its source key: it stays a difference
        if key_bytes(source_key, item_map.source_keys) not in sources:
            others.append(source_key)
    if not others:
        return
    for source_bytes, item in consistent_get(dynamodb, source_table, others, item_map.source_keys, sleep=sleep).items():
        if item is not None:
            before = set(expected.keys)
            expected.add_source(source_bytes, item)
            for kb in set(expected.keys) - before:  # it maps elsewhere: that key is not this check's business
                del expected.keys[kb]
                expected.items.pop(kb, None)


def _canonical(item: Item | None) -> bytes | None:
    return None if item is None else canonical_item(item)

"""Pending rejects of a replay, read again: a key's latest source item that now maps cleanly is written.

A replay's reject (an item the derive rules cannot map, or two source items deriving one target key)
stays pending until the key's latest source item maps cleanly (it is then written to the target
table, as the replay would have) or is gone, or until the user drops it. Reading the source table
again (consistent reads) rather than waiting for a new stream record means a fix made before the
last catch-up is not missed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from migrator.core.canonical import CanonicalError, key_bytes
from migrator.core.derive import RejectError
from migrator.core.replay_map import ItemMap
from migrator.data.stream.replay_write import batch_write, consistent_get
from migrator.data.wire import to_wire

Item = dict[str, Any]


@dataclass(frozen=True)
class Retried:
    """What reading pending rejects again did: keys now written, keys whose item is gone, keys still rejected."""

    written: list[Item] = field(default_factory=list)
    gone: list[Item] = field(default_factory=list)
    still: list[dict[str, Any]] = field(default_factory=list)  # {"key", "reason"}


def _claimed_by_another(found: Item | None, source_key: Item) -> bool:
    return found is not None and any(found.get(name) != value for name, value in source_key.items())


def retry_rejects(
    dynamodb: Any,
    source_table: str,
    target_table: str,
    item_map: ItemMap,
    pending: Sequence[Mapping[str, Any]],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Retried:
    """Read each pending key's source item again; write those that map cleanly onto a free target key."""
    if not pending:
        return Retried()
    sources = item_map.source_keys
    keys = [dict(entry["key"]) for entry in pending]
    items = consistent_get(dynamodb, source_table, keys, sources, sleep=sleep)
    result = Retried()
    mapped: list[tuple[Item, Item]] = []
    for key in keys:
        item = items.get(key_bytes(key, sources))
        if item is None:
            result.gone.append(key)
            continue
        try:
            mapped.append((key, item_map.target_item(item)))
        except (RejectError, CanonicalError) as e:
            result.still.append({"key": key, "reason": getattr(e, "reason", str(e))})
    targets = item_map.target_keys
    held = consistent_get(dynamodb, target_table, [item_map.target_key(t) for _, t in mapped], targets, sleep=sleep)
    owners: dict[bytes, int] = {}
    for _, target in mapped:
        tb = key_bytes(item_map.target_key(target), targets)
        owners[tb] = owners.get(tb, 0) + 1
    puts = []
    for key, target in mapped:
        tb = key_bytes(item_map.target_key(target), targets)
        if owners[tb] > 1 or _claimed_by_another(held.get(tb), key):
            result.still.append({"key": key, "reason": f"another source item maps to target key {tb.decode()}"})
            continue
        puts.append({"PutRequest": {"Item": to_wire(target)}})
        result.written.append(key)
    batch_write(dynamodb, target_table, puts, sleep=sleep)
    return result

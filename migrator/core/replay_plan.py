"""From a page of stream records to the writes that replay it. Pure: no boto3.

Per source key only the last state counts (replay writes whole items, so it is idempotent). A key's
target item is put; every other target key it had during the page (its old images', and those of
records whose derived key changed) is deleted. Rejects (items the rules cannot map) and duplicates
(two source keys mapping to one target key) are returned with their reasons, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from migrator.core.canonical import CanonicalError, key_bytes
from migrator.core.derive import RejectError
from migrator.core.replay_map import ItemMap

Item = dict[str, Any]
REMOVE = "REMOVE"


@dataclass(frozen=True)
class Change:
    """One stream record: its sequence number, event, source key, images and approximate creation time."""

    sequence: str
    event: str
    keys: Item
    new: Item | None = None
    old: Item | None = None
    created: float | None = None


def epoch_seconds(value: Any) -> float | None:
    """ApproximateCreationDateTime as epoch seconds: a number (the wire), a datetime (botocore) or ISO text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return datetime.fromisoformat(str(value)).timestamp()


def parse_record(record: Mapping[str, Any]) -> Change:
    """A DynamoDB Streams record (DynamoDB JSON, B as base64 text) as a :class:`Change`."""
    body = record["dynamodb"]
    return Change(
        sequence=str(body["SequenceNumber"]),
        event=str(record.get("eventName", "")),
        keys=dict(body.get("Keys") or {}),
        new=body.get("NewImage"),
        old=body.get("OldImage"),
        created=epoch_seconds(body.get("ApproximateCreationDateTime")),
    )


@dataclass(frozen=True)
class KeyRef:
    """A source key and the target keys a replay wrote or deleted for it: what a re-check reads back."""

    source_key: Item | None
    target_keys: tuple[Item, ...] = ()


@dataclass
class BatchPlan:
    """The writes of one page: puts and deletes on distinct target keys, and what could not be written."""

    puts: list[Item] = field(default_factory=list)
    deletes: list[Item] = field(default_factory=list)
    # (target key, source key): delete only while the item there still carries this source key.
    guarded_deletes: list[tuple[Item, Item]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    touched: list[KeyRef] = field(default_factory=list)


@dataclass
class _KeyState:
    keys: Item
    sequence: str
    final: Item | None = None  # the last source image; None when the item is gone
    stale: dict[bytes, Item] = field(default_factory=dict)  # target keys it had during the page


def _target_key_of(item_map: ItemMap, image: Item) -> tuple[bytes, Item] | None:
    try:
        key = item_map.target_key(item_map.target_item(image))
        return key_bytes(key, item_map.target_keys), key
    except (RejectError, CanonicalError):
        return None  # an image the rules cannot map was never in the target table


def _note_stale(state: _KeyState, change: Change, item_map: ItemMap) -> None:
    for image in (change.old, state.final):
        if image is not None and (found := _target_key_of(item_map, image)) is not None:
            state.stale[found[0]] = found[1]
    if item_map.key_of_source_key is not None:
        try:
            key = item_map.key_of_source_key(change.keys)
            state.stale[key_bytes(key, item_map.target_keys)] = key
        except (RejectError, CanonicalError):
            pass


def _states(
    changes: Iterable[Change], item_map: ItemMap, current: Mapping[bytes, Item | None] | None
) -> dict[bytes, _KeyState]:
    states: dict[bytes, _KeyState] = {}
    for change in changes:
        source = key_bytes(change.keys, item_map.source_keys)
        state = states.get(source)
        if state is None:
            state = states[source] = _KeyState(change.keys, change.sequence)
        _note_stale(state, change, item_map)
        state.sequence = change.sequence
        state.final = None if change.event == REMOVE else change.new
    if current is not None:  # read-back mode: the table's state now, not the records' images
        for source, state in states.items():
            state.final = current.get(source)
    return states


def _reject(reason: str, state: _KeyState, item: Item | None) -> dict[str, Any]:
    return {"reason": reason, "sequence": state.sequence, "keys": state.keys, "item": item}


def plan_batch(
    changes: Sequence[Change], item_map: ItemMap, *, current: Mapping[bytes, Item | None] | None = None
) -> BatchPlan:
    """The writes that replay ``changes`` (in stream order).

    ``current`` (read-back mode) maps each source key's bytes (:func:`key_bytes` over the source key
    names) to its item read from the source table now, or None when it is gone.
    """
    plan = BatchPlan()
    states = list(_states(changes, item_map, current).values())
    targets: dict[int, Item] = {}
    owners: dict[bytes, list[int]] = {}
    for n, state in enumerate(states):
        if state.final is None:
            continue
        try:
            target = item_map.target_item(state.final)
            owners.setdefault(key_bytes(item_map.target_key(target), item_map.target_keys), []).append(n)
            targets[n] = target
        except (RejectError, CanonicalError) as e:
            plan.rejects.append(_reject(getattr(e, "reason", str(e)), state, state.final))
    for target_key, claims in owners.items():
        if len(claims) > 1:  # neither is written: an import or a put would silently keep one of them
            plan.duplicates += len(claims)
            sources = ", ".join(key_bytes(states[n].keys, item_map.source_keys).decode() for n in claims)
            reason = f"{len(claims)} source items ({sources}) map to one target key {target_key.decode()}"
            for n in claims:
                plan.rejects.append(_reject(reason, states[n], targets.pop(n)))
    for n, state in enumerate(states):
        written = []
        if n in targets:
            plan.puts.append(targets[n])
            written.append(item_map.target_key(targets[n]))
        # A target key that a source item is put on (or disputed) in this page is never deleted by another.
        for key in (k for b, k in state.stale.items() if b not in owners):
            if item_map.guard_deletes:
                plan.guarded_deletes.append((key, state.keys))
            else:
                plan.deletes.append(key)
            written.append(key)
        plan.touched.append(KeyRef(state.keys, tuple(written)))
    return plan

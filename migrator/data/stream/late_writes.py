"""Applying late writes onto the new table without overwriting newer ones (:mod:`migrator.core.conflicts`).

For each target key of a page's plan: read the new table's item (consistent read), read the new
table's stream since the flip (:class:`StreamWatch`), and write only when neither shows a write other
than the replay's own, with the write conditional on the item just read. Anything else is a conflict,
kept in a :class:`ConflictStore` and counted; nothing is written for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from migrator.core.canonical import CanonicalError, item_digest, item_key, key_bytes
from migrator.core.conflicts import Conflict, condition_on
from migrator.core.derive import RejectError
from migrator.core.errors import MigrationError
from migrator.core.replay_map import ItemMap
from migrator.core.replay_plan import BatchPlan, Change
from migrator.data.aws import aws_errors
from migrator.data.stream.conflict_store import ConflictStore
from migrator.data.stream.replay_write import WriteCounts, consistent_get
from migrator.data.stream.watch import StreamWatch
from migrator.data.wire import to_wire

Item = dict[str, Any]
INSERT = "INSERT"
UNKNOWN = object()  # no old image in the record: what the new table held before is not known
CHANGED_SINCE_FLIP = "the new table's item was written since the flip"
NOT_THE_OLD_IMAGE = "the new table's item is not what the legacy table held before this write"
RACE = "the new table's item changed between the check and the write"


@dataclass
class _Target:
    """One key of the new table a page would write: the late item (None: delete) and what it should replace."""

    key: Item
    late: Item | None
    source_key: Item
    sequence: str
    baseline: Any = UNKNOWN  # the new table's item before this write, from the old image (None: no item)
    owner: Item | None = None  # a guarded delete: only while the item carries this source key


@dataclass(frozen=True)
class GuardOutcome:
    """What one page did: its writes, the keys that already held the late image, and the conflicts."""

    counts: WriteCounts
    already: int = 0
    conflicts: tuple[Conflict, ...] = ()


def _digest(item: Item | None) -> int | None:
    return None if item is None else item_digest(item)


@dataclass
class LateWriteGuard:
    """Applies a page's plan onto ``table`` only where the item has not changed since the flip."""

    dynamodb: Any
    table: str
    item_map: ItemMap
    store: ConflictStore
    now: Callable[[], str]
    watch: StreamWatch | None = None  # None: no position was saved at the flip; the old image alone decides
    own: dict[bytes, set[int | None]] = field(default_factory=dict)  # digests this replay wrote, per key

    def apply(self, plan: BatchPlan, changes: Sequence[Change]) -> GuardOutcome:
        """Check and write each target key of ``plan`` (the page ``changes``); see the module docstring."""
        targets = self._targets(plan, changes)
        if not targets:
            return GuardOutcome(WriteCounts())
        names = self.item_map.target_keys
        current = consistent_get(self.dynamodb, self.table, [t.key for t in targets], names)
        if self.watch is not None:
            self.watch.refresh()  # after the read: a write the read saw is in the stream by now, or in the image
        puts = deletes = skipped = already = 0
        conflicts = []
        for target in targets:
            kb = key_bytes(target.key, names)
            seen = current.get(kb)
            if _digest(seen) == _digest(target.late):
                already += 1
                continue
            if target.owner is not None and (seen is None or any(seen.get(k) != v for k, v in target.owner.items())):
                skipped += 1  # the key holds another source item now: not this delete's to remove
                continue
            if self.watch is not None and _digest(target.late) in self.watch.changes(kb):
                already += 1  # the new table held this image since the flip: the carry-back's echo, not a late write
                continue
            reason = self._why_not(kb, seen, target)
            if reason is None and not self._write(target, seen):
                reason, seen = RACE, consistent_get(self.dynamodb, self.table, [target.key], names).get(kb)
            if reason is not None:
                conflicts.append(self._conflict(target, seen, reason))
                continue
            self.own.setdefault(kb, set()).add(_digest(target.late))
            puts, deletes = puts + (target.late is not None), deletes + (target.late is None)
        return GuardOutcome(WriteCounts(puts, deletes, skipped), already, tuple(conflicts))

    def _why_not(self, kb: bytes, seen: Item | None, target: _Target) -> str | None:
        own = self.own.get(kb, set())
        if self.watch is not None and any(d not in own for d in self.watch.changes(kb)):
            return CHANGED_SINCE_FLIP
        if target.baseline is not UNKNOWN and _digest(seen) not in {_digest(target.baseline), *own}:
            return NOT_THE_OLD_IMAGE
        return None

    def _write(self, target: _Target, seen: Item | None) -> bool:
        """The conditional put or delete; False when the condition failed (something wrote there meanwhile)."""
        condition = condition_on(seen, target.late, self.item_map.target_keys).kwargs()
        if "ExpressionAttributeValues" in condition:
            condition["ExpressionAttributeValues"] = to_wire(condition["ExpressionAttributeValues"])
        try:
            with aws_errors(f"write to table {self.table}", what=f"table {self.table}"):
                if target.late is not None:
                    self.dynamodb.put_item(TableName=self.table, Item=to_wire(target.late), **condition)
                else:
                    self.dynamodb.delete_item(TableName=self.table, Key=to_wire(target.key), **condition)
        except MigrationError as e:
            if e.code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _conflict(self, target: _Target, seen: Item | None, reason: str) -> Conflict:
        conflict = Conflict(
            key=item_key(target.key, self.item_map.target_keys),
            source_key=item_key(target.source_key, self.item_map.source_keys),
            sequence=target.sequence,
            late=target.late,
            current=seen,
            reason=reason,
            found_at=self.now(),
        )
        self.store.put(conflict)
        return conflict

    def _targets(self, plan: BatchPlan, changes: Sequence[Change]) -> list[_Target]:
        """Each target key of the plan with its source key, last sequence and baseline (from the first old image)."""
        names, sources = self.item_map.target_keys, self.item_map.source_keys
        first: dict[bytes, Change] = {}
        last: dict[bytes, Change] = {}
        for change in changes:
            sb = key_bytes(change.keys, sources)
            first.setdefault(sb, change)
            last[sb] = change
        owner_of: dict[bytes, Item] = {}
        for ref in plan.touched:
            for key in ref.target_keys:
                owner_of[key_bytes(key, names)] = ref.source_key or {}
        wanted: list[tuple[Item, Item | None, Item | None]] = [
            (self.item_map.target_key(p), p, None) for p in plan.puts
        ]
        wanted += [(k, None, None) for k in plan.deletes]
        wanted += [(k, None, source) for k, source in plan.guarded_deletes]
        targets = []
        for key, late, owner in wanted:
            source = owner_of.get(key_bytes(key, names), owner or {})
            sb = key_bytes(source, sources)
            targets.append(_Target(key, late, source, last[sb].sequence, self._baseline(first[sb], key), owner=owner))
        return targets

    def _baseline(self, change: Change, key: Item) -> Any:
        """What the new table held under ``key`` just before ``change``, when the record says so."""
        if change.event == INSERT:
            return None
        if change.old is None:
            return UNKNOWN
        try:
            before = self.item_map.target_item(change.old)
        except (RejectError, CanonicalError):
            return None  # an image the rules cannot map was never in the new table
        names = self.item_map.target_keys
        return before if key_bytes(self.item_map.target_key(before), names) == key_bytes(key, names) else None

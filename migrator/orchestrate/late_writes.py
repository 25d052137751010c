"""Late writes after the flip, for the steps: the guard of the replay, where conflicts are kept, their summary.

After the writers were flipped, a write that still reaches the legacy table is replayed onto the new
table only through a :class:`~migrator.data.stream.late_writes.LateWriteGuard`
(:mod:`migrator.core.conflicts` says why). Its conflicts are kept in the export bucket beside the
replay's rejects, and summed up in the record's ``online.conflicts`` (what ``status`` shows, and what
stage 4 is refused on while any is open).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from migrator.core.config import MigrationConfig
from migrator.core.conflicts import APPLIED, DROPPED, Conflict
from migrator.core.record import Record
from migrator.core.replay_map import ItemMap
from migrator.data.stream.conflict_store import ConflictStore, MemoryConflicts, S3Conflicts
from migrator.data.stream.late_writes import LateWriteGuard
from migrator.data.stream.watch import StreamWatch
from migrator.orchestrate.context import StepContext, new_table

SHOWN_KEYS = 10
LOGGED = 100  # resolutions kept in the record (each is also in its conflict's object)


def conflict_prefix(stack: str, legacy: str) -> str:
    """Where a stack's conflicts live in the export bucket (beside ``replay-rejects/``)."""
    return f"replay-conflicts/{stack}/{legacy}/"


def conflict_store(ctx: StepContext, config: MigrationConfig, record: Record) -> ConflictStore:
    """The export bucket's conflicts of this stack; in memory when no bucket is recorded (nothing to keep them in)."""
    bucket = (record.export or {}).get("bucket")
    if not bucket:
        return MemoryConflicts()
    return S3Conflicts(ctx.aws.client("s3"), str(bucket), conflict_prefix(ctx.stack.name, config.legacy.name))


def late_write_guard(ctx: StepContext, config: MigrationConfig, record: Record, item_map: ItemMap) -> LateWriteGuard:
    """The guard of a replay after the flip, watching the new table's stream from the position saved at the flip."""
    flip = record.online.get("flip") or {}
    watch = None
    if flip.get("stream"):
        positions = dict(flip.get("positions") or {})
        streams = ctx.aws.client("dynamodbstreams")
        watch = StreamWatch(streams, str(flip["stream"]), positions, new_table(config).key_names)
    return LateWriteGuard(
        ctx.aws.client("dynamodb"),
        new_table(config).name,
        item_map,
        conflict_store(ctx, config, record),
        ctx.now,
        watch=watch,
    )


def summary(conflicts: Iterable[Conflict], location: str, earlier: Any = None) -> dict[str, Any]:
    """The record's ``online.conflicts``: open and resolved counts, the first open keys, where they are kept."""
    conflicts = list(conflicts)
    still = [c for c in conflicts if c.open]
    log = list((earlier or {}).get("log") or [])
    return {
        "open": len(still),
        "found": len(conflicts),
        "applied": sum(c.status == APPLIED for c in conflicts),
        "dropped": sum(c.status == DROPPED for c in conflicts),
        "keys": [dict(c.key) for c in still[:SHOWN_KEYS]],
        "location": location,
        "log": log[-LOGGED:],
    }


def with_conflicts(record: Record, store: ConflictStore, *, logged: Iterable[dict[str, Any]] = ()) -> Record:
    """``record`` with ``online.conflicts`` read again from ``store``, and ``logged`` resolutions added to its log."""
    earlier = dict(record.online.get("conflicts") or {})
    earlier["log"] = [*(earlier.get("log") or []), *logged]
    return record.with_(online={**record.online, "conflicts": summary(store.all(), store.location, earlier)})


def open_conflicts(record: Record) -> int:
    """How many conflicts the record counts open."""
    return int((record.online.get("conflicts") or {}).get("open") or 0)

"""A forward replay's rejects stay pending until they map cleanly or the user drops them.

A catch-up that met rejects exits 1; without a memory of them the next one, finding no new record,
said "caught up" and exited 0 although those writes were not in the new table. So every forward
replay adds its rejects' keys to the record's ``online.pendingRejects`` and then reads every pending
key again (:func:`migrator.data.stream.reject_retry.retry_rejects`): a key whose latest legacy item
maps cleanly is written and leaves the list, so does one whose item is gone. What is left keeps
``catch-up`` at exit 1 and the cutover from freezing, naming the keys; ``migrate catch-up
--drop-reject KEY`` (or ``--drop-all-rejects``) gives one up, recorded in ``online.droppedRejects``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from migrator.core.canonical import CanonicalError, item_key, key_bytes
from migrator.core.config import MigrationConfig
from migrator.core.errors import BadInputError, RejectsError
from migrator.core.record import Record
from migrator.core.replay_map import ItemMap
from migrator.data.stream.reject_retry import retry_rejects
from migrator.data.stream.replay_result import MAX_KEYS, ReplayResult
from migrator.orchestrate.context import StepContext, new_table

PENDING = "pendingRejects"
DROPPED = "droppedRejects"
SHOWN = 5


@dataclass(frozen=True)
class Pending:
    """The rejects still pending: their keys and reasons, how many more were not listed, how many were written."""

    entries: tuple[dict[str, Any], ...] = ()
    more: int = 0
    written: int = 0

    @property
    def count(self) -> int:
        return len(self.entries) + self.more

    def keys_text(self, names: Sequence[str]) -> str:
        """The first keys as plain JSON, with their reasons."""
        shown = [f"{json.dumps(_plain(e['key'], names))} ({e.get('reason')})" for e in self.entries[:SHOWN]]
        rest = self.count - len(shown)
        return "; ".join(shown) + (f"; and {rest} more" if rest > 0 else "")

    def to_dict(self, names: Sequence[str]) -> dict[str, Any]:
        return {
            "count": self.count,
            "keys": [{"key": _plain(e["key"], names), "reason": e.get("reason")} for e in self.entries],
            "more": self.more,
            "written": self.written,
        }


def _plain(key: Mapping[str, Any], names: Sequence[str]) -> dict[str, str]:
    try:
        return item_key(dict(key), names)
    except CanonicalError:
        return {k: str(v) for k, v in key.items()}


def pending_of(record: Record) -> Pending:
    """The record's pending rejects."""
    raw = record.online.get(PENDING) or {}
    return Pending(tuple(raw.get("entries") or ()), int(raw.get("more") or 0))


def _with_pending(record: Record, pending: Pending) -> Record:
    online = {k: v for k, v in record.online.items() if k != PENDING}
    if pending.count:
        online[PENDING] = {"entries": list(pending.entries), "more": pending.more}
    return record.with_(online=online)


def settle(
    ctx: StepContext, config: MigrationConfig, record: Record, result: ReplayResult, item_map: ItemMap
) -> tuple[Record, Pending]:
    """Add ``result``'s rejects to the pending ones, read every pending key again; the record and what is left."""
    earlier = pending_of(record)
    names = item_map.source_keys
    by_key = {key_bytes(e["key"], names): dict(e) for e in earlier.entries}
    for entry in result.reject_keys:
        by_key[key_bytes(entry["key"], names)] = dict(entry)
    more = earlier.more + max(0, result.rejects - len(result.reject_keys))
    entries = list(by_key.values())
    retried = retry_rejects(
        ctx.aws.client("dynamodb"),
        config.legacy.name,
        new_table(config).name,
        item_map,
        entries,
        sleep=ctx.clock.sleep,
    )
    pending = Pending(
        tuple(retried.still[:MAX_KEYS]), more + max(0, len(retried.still) - MAX_KEYS), len(retried.written)
    )
    if pending.written:
        ctx.progress(f"  {pending.written} earlier reject(s) now map cleanly: written to {new_table(config).name}")
    return _with_pending(record, pending), pending


def drop_rejects(record: Record, keys: Sequence[str], *, every: bool, names: Sequence[str], at: str) -> Record:
    """The record with the named pending rejects (JSON keys of the legacy table) given up, or all of them."""
    pending = pending_of(record)
    if every:
        left: list[dict[str, Any]] = []
        dropped = [e["key"] for e in pending.entries]
    else:
        wanted = {_key_of(text, names) for text in keys}
        have = {key_bytes(e["key"], names) for e in pending.entries}
        unknown = sorted(w.decode() for w in wanted - have)
        if unknown:
            raise BadInputError(
                f"No pending reject has the key {', '.join(unknown)}. Nothing was changed.",
                hint="`migrate catch-up` lists the pending ones (keys of the legacy table, as JSON).",
            )
        left = [e for e in pending.entries if key_bytes(e["key"], names) not in wanted]
        dropped = [e["key"] for e in pending.entries if key_bytes(e["key"], names) in wanted]
    log = list(record.online.get(DROPPED) or [])
    log += [{"key": _plain(k, names), "at": at} for k in dropped]
    if every and pending.more:
        log.append({"unlisted": pending.more, "at": at})
    record = record.with_(online={**record.online, DROPPED: log[-MAX_KEYS:]})
    return _with_pending(record, Pending(tuple(left), 0 if every else pending.more))


def _key_of(text: str, names: Sequence[str]) -> bytes:
    try:
        key = json.loads(text)
        if not isinstance(key, dict):
            raise ValueError
        return orjson.dumps({n: str(key[n]) for n in names})
    except (ValueError, KeyError):
        raise BadInputError(
            f"{text} is not a key of the legacy table ({', '.join(names)}) as JSON.",
            hint=f'Give it as JSON, e.g. \'{{"{names[0]}": "…"}}\'.',
        ) from None


def pending_error(pending: Pending, table: str, names: Sequence[str]) -> RejectsError:
    """The refusal while rejects are pending, naming the keys and the ways out."""
    return RejectsError(
        f"{pending.count} write(s) of {table} are not in the new table: their items cannot be mapped "
        f"({pending.keys_text(names)}). They are kept under replay-rejects/ in the export bucket.",
        hint="Fix those items in the legacy table (or the derive rules) and run `migrate catch-up` again, which "
        "reads them again; or give them up with `migrate catch-up --drop-reject KEY` (`--drop-all-rejects`).",
    )

"""Writing a replay's page, and reading items back consistently, with DynamoDB's batch calls.

BatchWriteItem and BatchGetItem may leave part of a request undone (``UnprocessedItems``,
``UnprocessedKeys``) when a table is throttled; those parts are sent again with exponential backoff.
Items here are DynamoDB JSON with B as base64 text (:mod:`migrator.data.wire` converts at the call).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from migrator.core.canonical import key_bytes
from migrator.core.errors import AwsError, MigrationError
from migrator.core.replay_plan import BatchPlan
from migrator.data.aws import aws_errors
from migrator.data.wire import from_wire, to_wire

Item = dict[str, Any]
Sleep = Callable[[float], None]

WRITE_BATCH = 25  # BatchWriteItem's limit
GET_BATCH = 100  # BatchGetItem's limit
MAX_ATTEMPTS = 10
BACKOFF_BASE = 0.05
BACKOFF_CAP = 2.0


@dataclass(frozen=True)
class WriteCounts:
    """What one page's writes did."""

    puts: int = 0
    deletes: int = 0
    skipped_deletes: int = 0  # guarded deletes whose key now holds another source item (or nothing)


def _backoff(attempt: int) -> float:
    return min(BACKOFF_CAP, BACKOFF_BASE * (2**attempt))


def _throttled(action: str, left: int) -> AwsError:
    return AwsError(
        f"Cannot {action}: {left} request(s) still unprocessed after {MAX_ATTEMPTS} attempts (throttled).",
        hint="Give the table more capacity, or rerun: the replay resumes from its last checkpoint.",
    )


def batch_write(dynamodb: Any, table: str, requests: Sequence[Item], *, sleep: Sleep = time.sleep) -> None:
    """Send ``requests`` (``{"PutRequest": …}`` or ``{"DeleteRequest": …}``, wire form) 25 at a time.

    Unprocessed items are sent again with exponential backoff; an AwsError after MAX_ATTEMPTS.
    """
    for start in range(0, len(requests), WRITE_BATCH):
        pending: dict[str, list[Item]] = {table: list(requests[start : start + WRITE_BATCH])}
        for attempt in range(MAX_ATTEMPTS):
            with aws_errors(f"write to table {table}", what=f"table {table}"):
                response = dynamodb.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending.get(table):
                break
            sleep(_backoff(attempt))
        else:
            raise _throttled(f"write to table {table}", len(pending.get(table, [])))


def guarded_delete(dynamodb: Any, table: str, key: Item, source_key: Item) -> bool:
    """Delete ``key`` only while the item there carries ``source_key``'s attributes; False when it does not."""
    names = {f"#k{n}": name for n, name in enumerate(source_key)}
    values = {f":k{n}": value for n, value in enumerate(source_key.values())}
    condition = " AND ".join(f"#k{n} = :k{n}" for n in range(len(source_key)))
    try:
        with aws_errors(f"delete from table {table}", what=f"table {table}"):
            dynamodb.delete_item(
                TableName=table,
                Key=to_wire(key),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_wire(values),
            )
    except MigrationError as e:
        if e.code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def write_plan(dynamodb: Any, table: str, plan: BatchPlan, *, sleep: Sleep = time.sleep) -> WriteCounts:
    """Apply a page's plan to ``table``: puts and plain deletes in batches, guarded deletes one by one."""
    requests = [{"PutRequest": {"Item": to_wire(item)}} for item in plan.puts]
    requests += [{"DeleteRequest": {"Key": to_wire(key)}} for key in plan.deletes]
    batch_write(dynamodb, table, requests, sleep=sleep)
    skipped = sum(not guarded_delete(dynamodb, table, key, source) for key, source in plan.guarded_deletes)
    deleted = len(plan.deletes) + len(plan.guarded_deletes) - skipped
    return WriteCounts(len(plan.puts), deleted, skipped)


def consistent_get(
    dynamodb: Any, table: str, keys: Sequence[Item], key_names: Sequence[str], *, sleep: Sleep = time.sleep
) -> dict[bytes, Item | None]:
    """Read ``keys`` from ``table`` with consistent reads; key bytes (:func:`key_bytes`) → item, or None when absent."""
    found: dict[bytes, Item | None] = {}
    unique = {key_bytes(k, key_names): k for k in keys}
    ordered = list(unique.values())
    for start in range(0, len(ordered), GET_BATCH):
        pending = {table: {"Keys": [to_wire(k) for k in ordered[start : start + GET_BATCH]], "ConsistentRead": True}}
        for attempt in range(MAX_ATTEMPTS):
            with aws_errors(f"read table {table}", what=f"table {table}"):
                response = dynamodb.batch_get_item(RequestItems=pending)
            for item in response.get("Responses", {}).get(table, []):
                text = from_wire(item)
                found[key_bytes(text, key_names)] = text
            pending = response.get("UnprocessedKeys") or {}
            if not pending.get(table):
                break
            sleep(_backoff(attempt))
        else:
            raise _throttled(f"read table {table}", len(pending[table]["Keys"]))
    return {k: found.get(k) for k in unique}

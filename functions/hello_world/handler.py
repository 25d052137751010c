"""HelloWorld: the example consumer. Writes one item to the active table and reads it back.

Event: ``{"name": "alice", "ttl_days": 7, "attributes": {"Created": 1700000000}}`` (``ttl_days`` and
``attributes`` optional). The item is built in the legacy shape (``NAME_ATTRIBUTE`` = name, plus the
attributes and the TTL); when the active table is the new one, ``KEY_DERIVE`` carries the derive rules
that compute its key, the same code the migrator used to rewrite the export. ``"action": "delete"``
deletes the item the same event would have put (its key built the same way) instead of writing it.

Environment (set by the stack): ``TABLE_NAME``, ``PARTITION_KEY``, ``SORT_KEY`` (optional),
``NAME_ATTRIBUTE``, ``NAME_TYPE`` (S or N), ``TTL_ATTRIBUTE`` (optional), ``KEY_DERIVE`` (optional JSON).
``TABLE_SCHEMAS`` (optional JSON) keys each table's name to its ``partitionKey``, ``sortKey``,
``ttlAttribute`` and ``derive``; the entry of ``TABLE_NAME`` wins over the single-table variables, so
changing ``TABLE_NAME`` alone moves the function to the other table (what an online cutover does).
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3

from migrator.core.derive import Deriver, RejectError, parse_rules

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)

Item = dict[str, Any]


class BadEventError(ValueError):
    """The event cannot make an item for the active table."""


@dataclass(frozen=True)
class Settings:
    """What the stack tells the function through its environment."""

    table_name: str
    key_names: tuple[str, ...]
    name_attribute: str
    name_type: str = "S"
    ttl_attribute: str | None = None
    deriver: Deriver = Deriver()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read the settings from the function's environment."""
        table = env["TABLE_NAME"]
        schema = json.loads(env["TABLE_SCHEMAS"]).get(table) if env.get("TABLE_SCHEMAS") else None
        if schema is not None:
            partition, sort = schema["partitionKey"], schema.get("sortKey")
            ttl, derive = schema.get("ttlAttribute"), schema.get("derive")
        else:
            partition, sort, ttl = env["PARTITION_KEY"], env.get("SORT_KEY"), env.get("TTL_ATTRIBUTE")
            derive = json.loads(env["KEY_DERIVE"]) if env.get("KEY_DERIVE") else None
        return cls(
            table_name=table,
            key_names=(partition,) + ((sort,) if sort else ()),
            name_attribute=env.get("NAME_ATTRIBUTE") or env.get("PARTITION_KEY") or partition,
            name_type=env.get("NAME_TYPE") or "S",
            ttl_attribute=ttl or None,
            deriver=Deriver(parse_rules(derive) if derive else ()),
        )


def _value(raw: Any) -> dict[str, Any]:
    """A plain JSON value as a DynamoDB attribute value."""
    if isinstance(raw, bool):
        return {"BOOL": raw}
    if isinstance(raw, int | float):
        return {"N": str(raw)}
    if isinstance(raw, str):
        return {"S": raw}
    raise BadEventError(f"attribute value {raw!r} is not a string, number or boolean")


def build_item(settings: Settings, event: Mapping[str, Any], *, now: float) -> Item:
    """The item for ``event`` in the active table's schema; :class:`BadEventError` if it cannot be made."""
    name = event.get("name")
    if not isinstance(name, str | int) or isinstance(name, bool) or name == "":
        raise BadEventError('the event needs "name" (a string)')
    item: Item = {k: _value(v) for k, v in (event.get("attributes") or {}).items()}
    item[settings.name_attribute] = {settings.name_type: str(name)}
    if settings.ttl_attribute:
        days = event.get("ttl_days", 7)
        if not isinstance(days, int | float) or isinstance(days, bool):
            raise BadEventError('"ttl_days" must be a number')
        item[settings.ttl_attribute] = {"N": str(int(now + days * 86400))}
    try:
        item = settings.deriver(item)
    except RejectError as e:
        raise BadEventError(f"cannot derive the key: {e.reason}") from None
    missing = [k for k in settings.key_names if k not in item]
    if missing:
        raise BadEventError(f"the item lacks key attribute(s) {', '.join(missing)}")
    return item


def _to_wire(item: Item) -> Item:
    # Derive works on DynamoDB JSON text (B as base64); the low-level client wants bytes.
    return {k: {"B": base64.b64decode(v["B"])} if "B" in v else v for k, v in item.items()}


def _from_wire(item: Item) -> Item:
    return {k: {"B": base64.b64encode(v["B"]).decode()} if "B" in v else v for k, v in item.items()}


def put_and_read(dynamodb: Any, settings: Settings, event: Mapping[str, Any], *, now: float | None = None) -> dict:
    """Put the event's item into the active table, read it back (consistent) and return both as JSON."""
    item = build_item(settings, event, now=time.time() if now is None else now)
    key = {k: item[k] for k in settings.key_names}
    dynamodb.put_item(TableName=settings.table_name, Item=_to_wire(item))
    stored = dynamodb.get_item(TableName=settings.table_name, Key=_to_wire(key), ConsistentRead=True).get("Item")
    log.info("wrote and read item", extra={"table": settings.table_name, "key": key})
    return {"table": settings.table_name, "key": key, "item": _from_wire(stored) if stored else None}


def delete(dynamodb: Any, settings: Settings, event: Mapping[str, Any]) -> dict:
    """Delete the item the event names from the active table (its key built as for a put)."""
    item = build_item(settings, event, now=0)
    key = {k: item[k] for k in settings.key_names}
    dynamodb.delete_item(TableName=settings.table_name, Key=_to_wire(key))
    log.info("deleted item", extra={"table": settings.table_name, "key": key})
    return {"table": settings.table_name, "key": key, "item": None}


def handle(dynamodb: Any, settings: Settings, event: Mapping[str, Any]) -> dict:
    """Run the event's action ("put", the default, or "delete") on the active table."""
    action = event.get("action", "put")
    if action == "put":
        return put_and_read(dynamodb, settings, event)
    if action == "delete":
        return delete(dynamodb, settings, event)
    raise BadEventError(f'"action" must be "put" or "delete", not {action!r}')


@functools.lru_cache(maxsize=1)
def _client() -> Any:
    # One client per execution environment, reused across invocations.
    return boto3.client("dynamodb")


def handler(event: Mapping[str, Any], context: Any) -> dict:
    """Lambda entry point."""
    return handle(_client(), Settings.from_env(os.environ), event)

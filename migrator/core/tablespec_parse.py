"""Parse one ``legacyTable`` / ``newTable`` config object, field by field, into a
:class:`~migrator.core.tablespec.TableSpec` of the fields it sets.

Every mistake is a :class:`ConfigError` naming the full key (``table-migration:newTable.globalSecondaryIndexes[1]
.projection``) and the fix. The rules across fields, and the newTable's inheritance, are in
:mod:`migrator.core.tablespec_rules`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from migrator.core.errors import ConfigError
from migrator.core.tablespec import (
    BILLING_MODES,
    FIELD_ATTRIBUTES,
    INHERITED_FIELDS,
    KEY_TYPES,
    LOADS,
    PAY_PER_REQUEST,
    PROJECTIONS,
    PROVISIONED,
    STREAM_VIEWS,
    TABLE_CLASSES,
    Billing,
    GlobalIndex,
    KeyAttribute,
    LocalIndex,
    Projection,
    Sse,
    TableSpec,
    tags_from,
)

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{3,255}$")
_INDEX_NAME = _TABLE_NAME
_LEGACY_ONLY = ("adopt", "deletionProtection", "pointInTimeRecovery")
_NEW_ONLY = ("load",)
_BASE_FIELDS = ("name", "partitionKey", "sortKey")
MAX_TAGS = 50  # tags per DynamoDB resource
MAX_ATTRIBUTE_NAME = 255  # characters of a key or TTL attribute name
REFERENCE = "See the README's Stack config section."


@dataclass(frozen=True)
class ParsedTable:
    """One table's config object, parsed: the spec of the fields it sets, and which fields those are."""

    spec: TableSpec
    present: frozenset[str]
    config_key: str


# --- values --------------------------------------------------------------------------------------


def text(raw: Any) -> str:
    """Config text of a scalar (booleans as ``true``/``false``)."""
    if isinstance(raw, bool):
        return str(raw).lower()
    return raw if isinstance(raw, str) else str(raw)


def _decoded(raw: Any) -> Any:
    # Pulumi hands object config to a program as JSON text.
    if isinstance(raw, str) and raw[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _mapping(raw: Any, config_key: str, *, hint: str = REFERENCE) -> Mapping[str, Any]:
    raw = _decoded(raw)
    if not isinstance(raw, Mapping):
        raise ConfigError(config_key, "is not an object.", hint=hint)
    return raw


def _list(raw: Any, config_key: str, *, hint: str) -> list[Any]:
    raw = _decoded(raw)
    if not isinstance(raw, list):
        raise ConfigError(config_key, "is not a list.", hint=hint)
    return raw


def _known(obj: Mapping[str, Any], config_key: str, allowed: tuple[str, ...]) -> None:
    unknown = sorted(str(k) for k in obj if k not in allowed)
    if unknown:
        raise ConfigError(
            f"{config_key}.{unknown[0]}",
            "is not a field of this object.",
            hint=f"Check the spelling; the fields are {', '.join(allowed)}.",
        )


def _bool(raw: Any, config_key: str) -> bool:
    value = text(raw).strip().lower()
    if value not in ("true", "false"):
        raise ConfigError(config_key, f"{text(raw)!r} is not true or false.", hint="Write true or false.")
    return value == "true"


def _units(raw: Any, config_key: str) -> int:
    value = text(raw).strip()
    if isinstance(raw, bool) or not re.fullmatch(r"[0-9]+", value) or int(value) < 1:
        raise ConfigError(config_key, f"{text(raw)!r} is not a whole number of units ≥ 1.", hint="Example: 5.")
    return int(value)


def _choice(raw: Any, config_key: str, choices: tuple[str, ...]) -> str:
    value = text(raw).strip().upper()
    if value not in choices:
        raise ConfigError(config_key, f"{text(raw)!r} is not one of {', '.join(choices)}.", hint=f"Use {choices[0]}.")
    return value


def _unset(raw: Any) -> bool:
    return raw is None or raw == ""


# --- fields --------------------------------------------------------------------------------------


def key_attribute(raw: Any, config_key: str, *, required: bool) -> KeyAttribute | None:
    """``{name, type}`` of a key attribute; None when absent and not required."""
    if _unset(raw):
        if required:
            raise ConfigError(config_key, "is missing.", hint="Give it as {name: Attr, type: S}.")
        return None
    obj = _mapping(raw, config_key, hint="Give it as {name: Attr, type: S}.")
    name = text(obj.get("name") or "").strip()
    if not name:
        raise ConfigError(config_key + ".name", "is missing.", hint="Name the key attribute.")
    kind = text(obj.get("type", "")).strip()
    if kind not in KEY_TYPES:
        raise ConfigError(config_key + ".type", f"{kind!r} is not a key type.", hint="Use S, N or B.")
    _known(obj, config_key, ("name", "type"))
    return KeyAttribute(name, kind)


def billing(raw: Any, config_key: str) -> Billing:
    """``{mode: PAY_PER_REQUEST, maxRead?, maxWrite?}`` or ``{mode: PROVISIONED, read, write}``."""
    obj = _mapping(raw, config_key, hint="Write {mode: PAY_PER_REQUEST} or {mode: PROVISIONED, read: 5, write: 5}.")
    mode = _choice(obj.get("mode", PAY_PER_REQUEST), config_key + ".mode", BILLING_MODES)
    if mode == PROVISIONED:
        _known(obj, config_key, ("mode", "read", "write"))
        for name in ("read", "write"):
            if _unset(obj.get(name)):
                raise ConfigError(
                    f"{config_key}.{name}",
                    "is missing; provisioned billing needs read and write capacity.",
                    hint="Example: {mode: PROVISIONED, read: 5, write: 5}.",
                )
        return Billing(
            mode, read=_units(obj["read"], config_key + ".read"), write=_units(obj["write"], config_key + ".write")
        )
    _known(obj, config_key, ("mode", "maxRead", "maxWrite"))
    caps = {
        name: _units(obj[name], f"{config_key}.{name}") for name in ("maxRead", "maxWrite") if not _unset(obj.get(name))
    }
    return Billing(mode, max_read=caps.get("maxRead"), max_write=caps.get("maxWrite"))


def projection(raw: Any, config_key: str) -> Projection:
    """``ALL``, ``KEYS_ONLY`` or ``{include: [attrs]}``."""
    hint = "Use ALL, KEYS_ONLY or {include: [Attr, …]}."
    if _unset(raw):
        raise ConfigError(config_key, "is missing.", hint=hint)
    raw = _decoded(raw)
    if isinstance(raw, Mapping):
        _known(raw, config_key, ("include",))
        names = _list(raw.get("include"), config_key + ".include", hint=hint)
        attributes = tuple(text(n).strip() for n in names)
        if not attributes or any(not a for a in attributes) or len(set(attributes)) != len(attributes):
            raise ConfigError(
                config_key + ".include",
                "needs one or more distinct attribute names.",
                hint="Example: {include: [Email]}.",
            )
        return Projection("INCLUDE", attributes)
    kind = text(raw).strip().upper()
    if kind not in PROJECTIONS or kind == "INCLUDE":
        raise ConfigError(config_key, f"{text(raw)!r} is not a projection.", hint=hint)
    return Projection(kind)


def _index_name(obj: Mapping[str, Any], config_key: str) -> str:
    name = text(obj.get("name") or "")
    if not _INDEX_NAME.fullmatch(name):
        raise ConfigError(
            config_key + ".name", f"{name!r} is not an index name.", hint="Use 3-255 letters, digits, '_', '-' or '.'."
        )
    return name


def global_indexes(raw: Any, config_key: str) -> tuple[GlobalIndex, ...]:
    """A list of ``{name, partitionKey, sortKey?, projection, read?, write?}``."""
    items = _list(raw, config_key, hint="Write a list of {name, partitionKey, projection}, or [] for none.")
    out = []
    for i, item in enumerate(items):
        at = f"{config_key}[{i}]"
        obj = _mapping(
            item, at, hint="Each index is {name, partitionKey: {name, type}, sortKey?, projection, read?, write?}."
        )
        _known(obj, at, ("name", "partitionKey", "sortKey", "projection", "read", "write"))
        name = _index_name(obj, at)
        partition = key_attribute(obj.get("partitionKey"), at + ".partitionKey", required=True)
        assert partition is not None
        sort = key_attribute(obj.get("sortKey"), at + ".sortKey", required=False)
        capacity = {n: _units(obj[n], f"{at}.{n}") for n in ("read", "write") if not _unset(obj.get(n))}
        out.append(
            GlobalIndex(name, partition, sort, projection(obj.get("projection"), at + ".projection"), **capacity)
        )
    return tuple(out)


def local_indexes(raw: Any, config_key: str) -> tuple[LocalIndex, ...]:
    """A list of ``{name, sortKey, projection}``."""
    items = _list(raw, config_key, hint="Write a list of {name, sortKey, projection}, or [] for none.")
    out = []
    for i, item in enumerate(items):
        at = f"{config_key}[{i}]"
        obj = _mapping(item, at, hint="Each index is {name, sortKey: {name, type}, projection}.")
        _known(obj, at, ("name", "sortKey", "projection"))
        name = _index_name(obj, at)
        sort = key_attribute(obj.get("sortKey"), at + ".sortKey", required=True)
        assert sort is not None
        out.append(LocalIndex(name, sort, projection(obj.get("projection"), at + ".projection")))
    return tuple(out)


def sse(raw: Any, config_key: str) -> Sse | None:
    """``{type: KMS, kmsKeyArn?}``; absent or null is the AWS owned key."""
    if _unset(raw):
        return None
    hint = (
        "Write {type: KMS} (the AWS managed key) or {type: KMS, kmsKeyArn: arn:aws:kms:…}; "
        "leave it out for the AWS owned key."
    )
    obj = _mapping(raw, config_key, hint=hint)
    _known(obj, config_key, ("type", "kmsKeyArn"))
    if text(obj.get("type", "")).strip().upper() != "KMS":
        raise ConfigError(config_key + ".type", f"{text(obj.get('type', ''))!r} is not KMS.", hint=hint)
    arn = obj.get("kmsKeyArn")
    if _unset(arn):
        return Sse(None)
    if not re.fullmatch(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/\S+", text(arn)):
        raise ConfigError(config_key + ".kmsKeyArn", f"{text(arn)!r} is not a KMS key ARN.", hint=hint)
    return Sse(text(arn))


def tags(raw: Any, config_key: str) -> tuple[tuple[str, str], ...]:
    """A map of tag keys to text values."""
    obj = _mapping(raw, config_key, hint="Write a map, e.g. {team: payments}, or {} for none.")
    if len(obj) > MAX_TAGS:
        raise ConfigError(
            config_key,
            f"has {len(obj)} tags; a DynamoDB table takes at most {MAX_TAGS}.",
            hint=f"Keep {MAX_TAGS} or fewer (the new table inherits legacyTable's tags unless newTable sets its own).",
        )
    found: dict[str, str] = {}
    for name, value in obj.items():
        name = str(name)
        at = f"{config_key}.{name}"
        if not 1 <= len(name) <= 128 or name.lower().startswith("aws:"):
            raise ConfigError(at, "is not a tag key you may set.", hint="Use 1-128 characters, not starting with aws:.")
        if isinstance(value, Mapping | list) or value is None or len(text(value)) > 256:
            raise ConfigError(at, "is not a tag value.", hint="Use text of at most 256 characters.")
        found[name] = text(value)
    return tags_from(found)


def _ttl_attribute(raw: Any, config_key: str) -> str | None:
    # null (None) is "no TTL" (on newTable: drop the inherited one); an empty text is a mistake, not a null.
    if raw is None:
        return None
    name = "" if isinstance(raw, Mapping | list | bool) else text(raw).strip()
    if not 1 <= len(name) <= MAX_ATTRIBUTE_NAME:
        raise ConfigError(
            config_key,
            f"{text(raw)!r} is not an attribute name of 1-{MAX_ATTRIBUTE_NAME} characters.",
            hint="Name the attribute that holds the expiry time, or leave the field out (null on newTable drops "
            "the inherited one).",
        )
    return name


def _load(raw: Any, config_key: str) -> str:
    value = text(raw).strip().lower()
    if value not in LOADS:
        raise ConfigError(
            config_key,
            f"{text(raw)!r} is not a way to fill the new table.",
            hint="Use import (ImportTable from the export, the default) or write (BatchWriteItem into an empty table).",
        )
    return value


def _optional_choice(raw: Any, config_key: str, choices: tuple[str, ...]) -> str | None:
    return None if _unset(raw) else _choice(raw, config_key, choices)


_FIELD_PARSERS: dict[str, Callable[[Any, str], Any]] = {
    "billing": billing,
    "globalSecondaryIndexes": global_indexes,
    "localSecondaryIndexes": local_indexes,
    "tableClass": lambda raw, at: _optional_choice(raw, at, TABLE_CLASSES),
    "sse": sse,
    "tags": tags,
    "ttlAttribute": _ttl_attribute,
    "stream": lambda raw, at: _optional_choice(raw, at, STREAM_VIEWS),
    "deletionProtection": _bool,
    "pointInTimeRecovery": _bool,
    "adopt": _bool,
    "load": _load,
}


_ROLE_ONLY = {
    "load": "is a newTable field: it says how the new table is filled.",
    "adopt": "is a legacyTable field: only the legacy table can be imported into the stack.",
    "deletionProtection": "is a legacyTable field: the new table gets deletion protection at cutover.",
    "pointInTimeRecovery": "is a legacyTable field: the new table always has point-in-time recovery on.",
}
_ROLE_HINT = {
    "load": "Move it to newTable.",
    "adopt": "Move it to legacyTable, or remove it.",
    "deletionProtection": "Remove it from newTable.",
    "pointInTimeRecovery": "Remove it from newTable.",
}


# --- one table object ----------------------------------------------------------------------------


def parse_table(obj: Mapping[str, Any], config_key: str, *, role: str) -> ParsedTable:
    """Parse one table object (``role``: legacyTable or newTable); cross-field rules run on the resolved spec."""
    name = text(obj.get("name") or "")
    if not _TABLE_NAME.fullmatch(name):
        raise ConfigError(
            config_key + ".name",
            f"{name!r} is not a DynamoDB table name.",
            hint="Use 3-255 letters, digits, '_', '-' or '.'.",
        )
    partition = key_attribute(obj.get("partitionKey"), config_key + ".partitionKey", required=True)
    assert partition is not None
    sort = key_attribute(obj.get("sortKey"), config_key + ".sortKey", required=False)
    own = _LEGACY_ONLY if role == "legacyTable" else _NEW_ONLY
    other = _NEW_ONLY if role == "legacyTable" else _LEGACY_ONLY
    for field_name in other:
        if field_name in obj:
            raise ConfigError(f"{config_key}.{field_name}", _ROLE_ONLY[field_name], hint=_ROLE_HINT[field_name])
    _known(obj, config_key, (*_BASE_FIELDS, *INHERITED_FIELDS, *own))
    values: dict[str, Any] = {}
    present = set()
    for field_name in (*INHERITED_FIELDS, *own):
        if field_name in obj:
            values[FIELD_ATTRIBUTES[field_name]] = _FIELD_PARSERS[field_name](
                obj[field_name], f"{config_key}.{field_name}"
            )
            present.add(field_name)
    values = {k: v for k, v in values.items() if v is not None}
    spec = TableSpec(name, partition, sort, **values)
    return ParsedTable(spec, frozenset(present), config_key)

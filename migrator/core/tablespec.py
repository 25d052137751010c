"""A table's whole spec (README "The whole table spec"): keys, billing, indexes, class, encryption, tags, TTL, stream.

Pure data: the frozen dataclasses the config parser (:mod:`migrator.core.tablespec_parse`) builds, the
program turns into ``aws.dynamodb.Table`` arguments, ``migrate init`` fills from a live table and
``migrate plan`` compares. :func:`spec_to_config` writes a spec back as the stack config object, so
that ``parse(spec_to_config(spec)) == spec``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KEY_TYPES = ("S", "N", "B")
PAY_PER_REQUEST = "PAY_PER_REQUEST"
PROVISIONED = "PROVISIONED"
BILLING_MODES = (PAY_PER_REQUEST, PROVISIONED)
PROJECTIONS = ("ALL", "KEYS_ONLY", "INCLUDE")
TABLE_CLASSES = ("STANDARD", "STANDARD_INFREQUENT_ACCESS")
STREAM_VIEWS = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")
# The online mode replays the legacy table's writes and, after cutover, the new table's: it needs both images.
ONLINE_STREAM = "NEW_AND_OLD_IMAGES"
LOAD_IMPORT = "import"
LOAD_WRITE = "write"
LOADS = (LOAD_IMPORT, LOAD_WRITE)

# Fields a newTable leaves out are taken from legacyTable (config names). Name and keys never are; adopt,
# deletionProtection and pointInTimeRecovery describe the legacy table's live state, load the new table's.
INHERITED_FIELDS = (
    "billing",
    "globalSecondaryIndexes",
    "localSecondaryIndexes",
    "tableClass",
    "sse",
    "tags",
    "ttlAttribute",
    "stream",
)
# The config name of each optional field, and the TableSpec attribute it sets.
FIELD_ATTRIBUTES = {
    "billing": "billing",
    "globalSecondaryIndexes": "global_indexes",
    "localSecondaryIndexes": "local_indexes",
    "tableClass": "table_class",
    "sse": "sse",
    "tags": "tags",
    "ttlAttribute": "ttl_attribute",
    "stream": "stream",
    "deletionProtection": "deletion_protection",
    "pointInTimeRecovery": "point_in_time_recovery",
    "adopt": "adopt",
    "load": "load",
}


@dataclass(frozen=True)
class KeyAttribute:
    """One key attribute: its name and DynamoDB scalar type (S, N or B)."""

    name: str
    type: str

    def to_config(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type}


@dataclass(frozen=True)
class Billing:
    """On-demand (optionally capped: ``max_read``/``max_write`` request units) or provisioned ``read``/``write``."""

    mode: str = PAY_PER_REQUEST
    read: int | None = None
    write: int | None = None
    max_read: int | None = None
    max_write: int | None = None

    @property
    def provisioned(self) -> bool:
        return self.mode == PROVISIONED

    def to_config(self) -> dict[str, Any]:
        if self.provisioned:
            return {"mode": self.mode, "read": self.read, "write": self.write}
        caps = {"maxRead": self.max_read, "maxWrite": self.max_write}
        return {"mode": self.mode, **{k: v for k, v in caps.items() if v is not None}}


@dataclass(frozen=True)
class Projection:
    """What an index holds besides the keys: ``ALL``, ``KEYS_ONLY``, or ``INCLUDE`` these attributes."""

    type: str = "ALL"
    non_key_attributes: tuple[str, ...] = ()

    def to_config(self) -> Any:
        return {"include": list(self.non_key_attributes)} if self.type == "INCLUDE" else self.type


@dataclass(frozen=True)
class GlobalIndex:
    """A global secondary index; ``read``/``write`` only under provisioned billing."""

    name: str
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None
    projection: Projection = Projection()
    read: int | None = None
    write: int | None = None

    @property
    def key_attributes(self) -> tuple[KeyAttribute, ...]:
        return (self.partition_key,) if self.sort_key is None else (self.partition_key, self.sort_key)

    def to_config(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "partitionKey": self.partition_key.to_config()}
        if self.sort_key is not None:
            out["sortKey"] = self.sort_key.to_config()
        out["projection"] = self.projection.to_config()
        if self.read is not None:
            out["read"] = self.read
        if self.write is not None:
            out["write"] = self.write
        return out


@dataclass(frozen=True)
class LocalIndex:
    """A local secondary index: the table's partition key with another sort key."""

    name: str
    sort_key: KeyAttribute
    projection: Projection = Projection()

    def to_config(self) -> dict[str, Any]:
        return {"name": self.name, "sortKey": self.sort_key.to_config(), "projection": self.projection.to_config()}


@dataclass(frozen=True)
class Sse:
    """Encryption with a KMS key: a customer managed key's ARN, or None for the AWS managed key."""

    kms_key_arn: str | None = None

    def to_config(self) -> dict[str, str]:
        return {"type": "KMS", **({"kmsKeyArn": self.kms_key_arn} if self.kms_key_arn else {})}


@dataclass(frozen=True)
class TableSpec:
    """A table's name, key schema and the rest of its spec.

    ``None`` means "not set": no TTL, no stream, the AWS owned key (``sse``), the default class, and for
    ``deletion_protection``/``point_in_time_recovery`` the program's own choice at stage 0. ``inherited``
    names the config fields a newTable took from legacyTable.
    """

    name: str
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None = None
    ttl_attribute: str | None = None
    billing: Billing = Billing()
    global_indexes: tuple[GlobalIndex, ...] = ()
    local_indexes: tuple[LocalIndex, ...] = ()
    table_class: str | None = None
    sse: Sse | None = None
    tags: tuple[tuple[str, str], ...] = ()
    stream: str | None = None
    deletion_protection: bool | None = None
    point_in_time_recovery: bool | None = None
    adopt: bool = False
    load: str = LOAD_IMPORT
    inherited: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def key_attributes(self) -> tuple[KeyAttribute, ...]:
        return (self.partition_key,) if self.sort_key is None else (self.partition_key, self.sort_key)

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.key_attributes)

    @property
    def tag_map(self) -> dict[str, str]:
        """The tags as a dict."""
        return dict(self.tags)

    @property
    def attribute_definitions(self) -> tuple[KeyAttribute, ...]:
        """Every key attribute of the table and its indexes, once each, table keys first.

        The config parser has already refused an attribute used with two types.
        """
        seen: dict[str, KeyAttribute] = {}
        attributes = [*self.key_attributes]
        attributes += [k for index in self.global_indexes for k in index.key_attributes]
        attributes += [index.sort_key for index in self.local_indexes]
        for attribute in attributes:
            seen.setdefault(attribute.name, attribute)
        return tuple(seen.values())


def tags_from(mapping: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Tags in the spec's frozen form (sorted pairs)."""
    return tuple(sorted((str(k), str(v)) for k, v in mapping.items()))


def spec_to_config(spec: TableSpec, *, role: str = "legacyTable") -> dict[str, Any]:
    """The stack config object of ``spec`` (``role`` = legacyTable or newTable): every field that is set."""
    out: dict[str, Any] = {"name": spec.name, "partitionKey": spec.partition_key.to_config()}
    if spec.sort_key is not None:
        out["sortKey"] = spec.sort_key.to_config()
    out["billing"] = spec.billing.to_config()
    if spec.global_indexes:
        out["globalSecondaryIndexes"] = [index.to_config() for index in spec.global_indexes]
    if spec.local_indexes:
        out["localSecondaryIndexes"] = [index.to_config() for index in spec.local_indexes]
    optional = {
        "tableClass": spec.table_class,
        "sse": spec.sse.to_config() if spec.sse else None,
        "tags": spec.tag_map or None,
        "ttlAttribute": spec.ttl_attribute,
        "stream": spec.stream,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    if role == "legacyTable":
        if spec.deletion_protection is not None:
            out["deletionProtection"] = spec.deletion_protection
        if spec.point_in_time_recovery is not None:
            out["pointInTimeRecovery"] = spec.point_in_time_recovery
        if spec.adopt:
            out["adopt"] = True
    elif spec.load != LOAD_IMPORT:
        out["load"] = spec.load
    return out

"""The rules across the fields of a table spec, and the newTable's inheritance from legacyTable.

One type per key attribute over a table and its indexes, index names and limits, index capacity per billing
mode, ImportTable's limit on local indexes, and the online mode's stream on the new table. Errors name the
full key and the fix, like every config error.
"""

from __future__ import annotations

from dataclasses import replace

from migrator.core.errors import ConfigError
from migrator.core.tablespec import FIELD_ATTRIBUTES, INHERITED_FIELDS, LOAD_WRITE, ONLINE_STREAM, TableSpec
from migrator.core.tablespec_parse import ParsedTable

MAX_GLOBAL_INDEXES = 20
MAX_LOCAL_INDEXES = 5
MAX_PROJECTED_ATTRIBUTES = 100  # NonKeyAttributes summed over every index of a table (AWS limit)


def resolve_legacy(parsed: ParsedTable) -> TableSpec:
    """The legacy table's spec, checked."""
    spec = _with_index_capacity(parsed.spec, parsed, own_indexes=True)
    check_spec(spec, parsed.config_key)
    return spec


def resolve_new(parsed: ParsedTable, legacy: TableSpec, *, online: bool) -> TableSpec:
    """The new table's effective spec: what it sets, else the legacy table's; checked, and checked for loading."""
    taken = {f for f in INHERITED_FIELDS if f not in parsed.present}
    changes = {FIELD_ATTRIBUTES[f]: getattr(legacy, FIELD_ATTRIBUTES[f]) for f in taken}
    spec = replace(parsed.spec, **changes, inherited=frozenset(taken))
    spec = _with_index_capacity(spec, parsed, own_indexes="globalSecondaryIndexes" in parsed.present)
    spec = _online_stream(spec, parsed, online=online)
    check_spec(spec, parsed.config_key)
    if spec.local_indexes and spec.load != LOAD_WRITE:
        where = " (inherited from legacyTable)" if "localSecondaryIndexes" in spec.inherited else ""
        raise ConfigError(
            parsed.config_key + ".load",
            f"the new table has local secondary indexes{where} ({', '.join(i.name for i in spec.local_indexes)}), "
            "and DynamoDB's ImportTable cannot create a table with local secondary indexes.",
            hint="Set newTable.load: write (the table is created empty and the export written into it with "
            "BatchWriteItem), or drop them with newTable.localSecondaryIndexes: [].",
        )
    return spec


def _with_index_capacity(spec: TableSpec, parsed: ParsedTable, *, own_indexes: bool) -> TableSpec:
    """Global indexes under provisioned billing get the table's capacity where they name none; on demand, none."""
    indexes = []
    for i, index in enumerate(spec.global_indexes):
        if spec.billing.provisioned:
            index = replace(index, read=index.read or spec.billing.read, write=index.write or spec.billing.write)
        elif index.read is not None or index.write is not None:
            if own_indexes:
                raise ConfigError(
                    f"{parsed.config_key}.globalSecondaryIndexes[{i}].{'read' if index.read is not None else 'write'}",
                    "sets capacity, but the table is billed on demand (PAY_PER_REQUEST).",
                    hint="Remove read/write from the index, or set billing: {mode: PROVISIONED, read: R, write: W}.",
                )
            # Inherited from a provisioned legacy table by an on-demand new one: the capacity has no meaning there.
            index = replace(index, read=None, write=None)
        indexes.append(index)
    return replace(spec, global_indexes=tuple(indexes))


def _online_stream(spec: TableSpec, parsed: ParsedTable, *, online: bool) -> TableSpec:
    if not online:
        return spec
    if "stream" in parsed.present and spec.stream not in (None, ONLINE_STREAM):
        raise ConfigError(
            parsed.config_key + ".stream",
            f"is {spec.stream}, but the online mode replays writes from the new table's stream, which needs "
            f"{ONLINE_STREAM}.",
            hint=f"Set it to {ONLINE_STREAM} (or leave it out), or set table-migration:online: false.",
        )
    return replace(spec, stream=ONLINE_STREAM)


def check_spec(spec: TableSpec, config_key: str) -> None:
    """The rules across fields of one table: one type per attribute, index names and limits."""
    _check_attribute_types(spec, config_key)
    if spec.local_indexes and spec.sort_key is None:
        inherited = "localSecondaryIndexes" in spec.inherited
        raise ConfigError(
            config_key + ".localSecondaryIndexes",
            f"{'(inherited from legacyTable) ' if inherited else ''}needs a table with a sort key: "
            "a local index only re-sorts a partition.",
            hint="Add sortKey to the table, make the index global"
            + (", or drop them with newTable.localSecondaryIndexes: []." if inherited else "."),
        )
    if len(spec.global_indexes) > MAX_GLOBAL_INDEXES:
        raise ConfigError(
            config_key + ".globalSecondaryIndexes", f"has more than {MAX_GLOBAL_INDEXES} indexes.", hint="Drop some."
        )
    if len(spec.local_indexes) > MAX_LOCAL_INDEXES:
        raise ConfigError(
            config_key + ".localSecondaryIndexes", f"has more than {MAX_LOCAL_INDEXES} indexes.", hint="Drop some."
        )
    names = [i.name for i in spec.global_indexes] + [i.name for i in spec.local_indexes]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(config_key, f"names two indexes {name!r}.", hint="Give every index a name of its own.")
    projected = sum(len(i.projection.non_key_attributes) for i in (*spec.global_indexes, *spec.local_indexes))
    if projected > MAX_PROJECTED_ATTRIBUTES:
        raise ConfigError(
            config_key,
            f"projects {projected} non-key attributes over its indexes; DynamoDB allows {MAX_PROJECTED_ATTRIBUTES}.",
            hint="Project fewer (include lists), or use ALL.",
        )


def _check_attribute_types(spec: TableSpec, config_key: str) -> None:
    first: dict[str, tuple[str, str]] = {}
    uses = [(f"{config_key}.partitionKey", spec.partition_key)]
    if spec.sort_key is not None:
        uses.append((f"{config_key}.sortKey", spec.sort_key))
    for i, index in enumerate(spec.global_indexes):
        at = f"{config_key}.globalSecondaryIndexes[{i}]"
        uses += [(f"{at}.partitionKey", index.partition_key)]
        uses += [(f"{at}.sortKey", index.sort_key)] if index.sort_key is not None else []
    uses += [(f"{config_key}.localSecondaryIndexes[{i}].sortKey", x.sort_key) for i, x in enumerate(spec.local_indexes)]
    for at, attribute in uses:
        seen = first.setdefault(attribute.name, (attribute.type, at))
        if seen[0] != attribute.type:
            inherited = " (inherited from legacyTable)" if _inherited_path(spec, at) else ""
            raise ConfigError(
                at + ".type",
                f"makes {attribute.name} type {attribute.type}{inherited}, but {seen[1]} makes it type {seen[0]}; "
                "an attribute has one type in a table and all its indexes.",
                hint="Use the same type everywhere, or key the index on another attribute.",
            )


def _inherited_path(spec: TableSpec, at: str) -> bool:
    return any(
        f".{name}[" in at and name in spec.inherited for name in ("globalSecondaryIndexes", "localSecondaryIndexes")
    )

"""The table specs for people: one line per field (``migrate init``), and the new table's effective spec beside
the legacy one, field by field, marking what changes (``migrate plan``). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from migrator.core.tablespec import INHERITED_FIELDS, GlobalIndex, LocalIndex, Projection, TableSpec

SAME, CHANGED, ADDED, REMOVED = "same", "changed", "added", "removed"
# A table's own fields, then every field a new table may inherit, in the config's order.
_ORDER = ("name", "partitionKey", "sortKey", *INHERITED_FIELDS)
_LEFT_MAX = 44  # wider legacy values (a KMS key ARN) push their own line only
_MARKS = {SAME: "=", CHANGED: "~", ADDED: "+", REMOVED: "-"}


def _keys(*keys: Any) -> str:
    return ", ".join(f"{k.name} ({k.type})" for k in keys if k is not None)


def _projection(projection: Projection) -> str:
    if projection.type == "INCLUDE":
        return "INCLUDE " + ", ".join(projection.non_key_attributes)
    return projection.type


def billing_text(spec: TableSpec) -> str:
    """The billing of ``spec`` in words."""
    billing = spec.billing
    if billing.provisioned:
        return f"provisioned, read {billing.read}, write {billing.write}"
    caps = [
        f"max read {billing.max_read}" if billing.max_read else "",
        f"max write {billing.max_write}" if billing.max_write else "",
    ]
    return ", ".join(["on demand", *[c for c in caps if c]])


def global_index_text(index: GlobalIndex) -> str:
    """One global index in words."""
    capacity = f"; read {index.read}, write {index.write}" if index.read or index.write else ""
    return f"{_keys(*index.key_attributes)}; {_projection(index.projection)}{capacity}"


def local_index_text(index: LocalIndex) -> str:
    """One local index in words."""
    return f"sort {_keys(index.sort_key)}; {_projection(index.projection)}"


def spec_fields(spec: TableSpec) -> dict[str, str | None]:
    """Every field of ``spec`` in words (None: not set), keyed by its config name; indexes one entry each."""
    fields: dict[str, str | None] = {
        "name": spec.name,
        "partitionKey": _keys(spec.partition_key),
        "sortKey": _keys(spec.sort_key) or None,
        "billing": billing_text(spec),
    }
    fields.update({f"globalSecondaryIndexes[{i.name}]": global_index_text(i) for i in spec.global_indexes})
    fields.update({f"localSecondaryIndexes[{i.name}]": local_index_text(i) for i in spec.local_indexes})
    fields.update(
        {
            "tableClass": spec.table_class or "STANDARD",
            "sse": (f"KMS {spec.sse.kms_key_arn or '(AWS managed key)'}" if spec.sse else "AWS owned key"),
            "tags": ", ".join(f"{k}={v}" for k, v in spec.tags) or None,
            "ttlAttribute": spec.ttl_attribute,
            "stream": spec.stream,
        }
    )
    return fields


def describe_spec(spec: TableSpec) -> list[str]:
    """One line per field, for ``migrate init``'s report of what it found."""
    lines = [f"{name}: {value if value is not None else '—'}" for name, value in spec_fields(spec).items()]
    lines.append(f"deletionProtection: {_on(spec.deletion_protection)}")
    lines.append(f"pointInTimeRecovery: {_on(spec.point_in_time_recovery)}")
    return lines


def _on(value: bool | None) -> str:
    return "not recorded" if value is None else ("on" if value else "off")


@dataclass(frozen=True)
class SpecRow:
    """One field of the comparison: its text on each table, and what the migration does to it."""

    field: str
    legacy: str | None
    new: str | None
    change: str  # same, changed, added (new only), removed (legacy only)
    inherited: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "legacy": self.legacy,
            "new": self.new,
            "change": self.change,
            "inherited": self.inherited,
        }


@dataclass(frozen=True)
class SpecComparison:
    """The new table's effective spec beside the legacy one."""

    legacy: str
    new: str
    rows: tuple[SpecRow, ...]

    @property
    def changes(self) -> tuple[SpecRow, ...]:
        """The rows that differ."""
        return tuple(r for r in self.rows if r.change != SAME)

    def to_dict(self) -> dict[str, Any]:
        return {
            "legacy": self.legacy,
            "new": self.new,
            "fields": [r.to_dict() for r in self.rows],
            "changed": [r.field for r in self.changes],
        }

    def text(self) -> str:
        width = max(len(r.field) for r in self.rows)
        left = min(_LEFT_MAX, max(len(r.legacy or "—") for r in self.rows))
        lines = [f"Table spec: {self.legacy} → {self.new} (= same, ~ changes, + new table only, - dropped):"]
        for row in self.rows:
            new = "(inherited)" if row.inherited and row.change == SAME else (row.new or "—")
            lines.append(f"  {_MARKS[row.change]} {row.field:<{width}}  {row.legacy or '—':<{left}}  | {new}")
        return "\n".join(lines)


def _inherited(field: str, new: TableSpec) -> bool:
    return field.split("[")[0] in new.inherited


def compare_specs(legacy: TableSpec, new: TableSpec | None) -> SpecComparison | None:
    """The field-by-field comparison of the new table's effective spec with the legacy one; None without one."""
    if new is None:
        return None
    old_fields, new_fields = spec_fields(legacy), spec_fields(new)
    names = list(old_fields) + [f for f in new_fields if f not in old_fields]
    # Indexes of either table stay together, in the order of the fields.
    names.sort(key=lambda name: _ORDER.index(name.split("[")[0]))
    rows = []
    for name in names:
        before, after = old_fields.get(name), new_fields.get(name)
        if before == after:
            change = SAME
        elif before is None or name not in old_fields:
            change = ADDED
        elif after is None or name not in new_fields:
            change = REMOVED
        else:
            change = CHANGED
        rows.append(SpecRow(name, before, after, change, _inherited(name, new)))
    # What the migration itself sets on the tables, whatever the config says.
    at_zero = "on" if legacy.deletion_protection is None else _on(legacy.deletion_protection)
    rows.append(SpecRow("deletionProtection", f"{at_zero} at stage 0, on from stage 1", "on from cutover", SAME))
    pitr = "not declared" if legacy.point_in_time_recovery is None else _on(legacy.point_in_time_recovery)
    rows.append(SpecRow("pointInTimeRecovery", f"{pitr} at stage 0, on from stage 1", "on", SAME))
    rows.append(SpecRow("load", None, "ImportTable" if new.load == "import" else "write (BatchWriteItem)", ADDED))
    return SpecComparison(legacy.name, new.name, tuple(rows))

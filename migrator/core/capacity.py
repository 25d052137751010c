"""What writing items into a table costs, in DynamoDB's write units: the estimate the write path prints
before it starts (``newTable.load: write``). Pure.

Sizes follow DynamoDB's rules closely enough for an estimate: an item is the UTF-8 length of its attribute
names plus its values (numbers about one byte per two digits, binary by its decoded length, one byte for
a boolean or null, three bytes of overhead per map or list). A write costs one unit per started KB, on the
table and again on every index that holds the item (a local index draws on the table's capacity).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from migrator.core.tablespec import GlobalIndex, LocalIndex, TableSpec

KB = 1024


def value_size(value: Mapping[str, Any]) -> int:
    """The stored size of one DynamoDB-JSON value (B as base64 text, as exports write it)."""
    (kind, raw), *_ = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        return (len(raw.lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind == "B":
        return _binary_size(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in raw)
    if kind == "NS":
        return sum(value_size({"N": n}) for n in raw)
    if kind == "BS":
        return sum(_binary_size(b) for b in raw)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) for k, v in raw.items())
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    return len(str(raw))


def _binary_size(raw: Any) -> int:
    if isinstance(raw, bytes | bytearray):
        return len(raw)
    text = str(raw)
    return len(text) * 3 // 4 - text.count("=", -2)


def item_size(item: Mapping[str, Any]) -> int:
    """The stored size of one DynamoDB-JSON item in bytes."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def units(size: int) -> int:
    """Write units of one write of ``size`` bytes (one per started KB)."""
    return max(1, math.ceil(size / KB))


def _projected(item: Mapping[str, Any], keys: Iterable[str], index: GlobalIndex | LocalIndex) -> int:
    projection = index.projection
    if projection.type == "ALL":
        return item_size(item)
    wanted = set(keys) | (set(projection.non_key_attributes) if projection.type == "INCLUDE" else set())
    return item_size({k: v for k, v in item.items() if k in wanted})


def write_cost(item: Mapping[str, Any], spec: TableSpec) -> tuple[int, int]:
    """(units on the table, local indexes included; units on the global indexes) of writing ``item``."""
    table_keys = spec.key_names
    table = units(item_size(item))
    for index in spec.local_indexes:
        if index.sort_key.name in item:
            table += units(_projected(item, (*table_keys, index.sort_key.name), index))
    globals_ = 0
    for index in spec.global_indexes:
        keys = [k.name for k in index.key_attributes]
        if all(k in item for k in keys):  # an item without the index's keys is not in the index
            globals_ += units(_projected(item, (*table_keys, *keys), index))
    return table, globals_


@dataclass(frozen=True)
class LoadEstimate:
    """What loading ``items`` items is expected to cost, from a sample of them."""

    table: str
    items: int
    sampled: int
    average_size: int
    table_units: int
    index_units: int
    provisioned_write: int | None  # the table's provisioned write capacity; None on demand

    @property
    def total_units(self) -> int:
        return self.table_units + self.index_units

    @property
    def seconds(self) -> float | None:
        """Time at the table's provisioned write capacity (its indexes may be slower); None on demand."""
        if not self.provisioned_write:
            return None
        return self.table_units / self.provisioned_write

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "items": self.items,
            "sampled": self.sampled,
            "averageItemBytes": self.average_size,
            "tableWriteUnits": self.table_units,
            "indexWriteUnits": self.index_units,
            "totalWriteUnits": self.total_units,
            "provisionedWrite": self.provisioned_write,
            "secondsAtProvisionedWrite": self.seconds,
        }

    def text(self) -> str:
        kind = "write capacity units" if self.provisioned_write else "write request units (on demand)"
        line = (
            f"loading about {self.items} items (~{self.average_size} B each, from {self.sampled} sampled) into "
            f"{self.table} will consume about {self.total_units} {kind}: {self.table_units} on the table, "
            f"{self.index_units} on its global indexes"
        )
        if self.seconds is not None:
            line += f"; at its {self.provisioned_write} WCU that is about {math.ceil(self.seconds / 60)} min"
        return line


def estimate_load(table: TableSpec, sample: list[Mapping[str, Any]], items: int) -> LoadEstimate:
    """Scale the cost of ``sample`` up to ``items`` items."""
    if not sample:
        return LoadEstimate(table.name, items, 0, 0, 0, 0, table.billing.write if table.billing.provisioned else None)
    costs = [write_cost(item, table) for item in sample]
    scale = items / len(sample)
    return LoadEstimate(
        table=table.name,
        items=items,
        sampled=len(sample),
        average_size=round(sum(item_size(item) for item in sample) / len(sample)),
        table_units=math.ceil(sum(c[0] for c in costs) * scale),
        index_units=math.ceil(sum(c[1] for c in costs) * scale),
        provisioned_write=table.billing.write if table.billing.provisioned else None,
    )

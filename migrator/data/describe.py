"""Read a live table's whole spec (``migrate init``): DescribeTable, DescribeTimeToLive,
DescribeContinuousBackups and ListTagsOfResource, into a :class:`~migrator.core.tablespec.TableSpec`.

What the spec has no field for is listed as *not carried*, each with the reason, so that nothing is lost
without the user being told. :func:`spec_from_description` is pure (AWS's response shapes in, spec out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from migrator.core.errors import NotFoundError
from migrator.core.tablespec import (
    PAY_PER_REQUEST,
    PROVISIONED,
    Billing,
    GlobalIndex,
    KeyAttribute,
    LocalIndex,
    Projection,
    Sse,
    TableSpec,
    tags_from,
)
from migrator.data.aws import aws_errors

DEFAULT_RECOVERY_DAYS = 35
_ALWAYS_NOT_READ = (
    "contributor insights, Kinesis streaming destinations and the table's resource-based policy are not read",
    "set them up on the new table after the migration if the legacy table has them",
)


@dataclass(frozen=True)
class NotCarried:
    """A setting of the live table that the migration's config does not carry, and why."""

    what: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"what": self.what, "reason": self.reason}


@dataclass(frozen=True)
class LiveTable:
    """A live table read for ``migrate init``: its spec, what was not carried, and its item count (approximate)."""

    spec: TableSpec
    not_carried: tuple[NotCarried, ...]
    item_count: int
    arn: str


def read_table(client: Any, table: str) -> LiveTable:
    """Read ``table`` with the four Describe/List calls; :class:`NotFoundError` (exit 2) when it does not exist."""
    what = f"table {table}"
    hint = "Check the table name, the region (--region or the stack's aws:region) and the account."
    with aws_errors(f"describe table {table}", what=what, hint=hint):
        described = client.describe_table(TableName=table)["Table"]
    with aws_errors(f"read the TTL of table {table}", what=what):
        ttl = client.describe_time_to_live(TableName=table).get("TimeToLiveDescription", {})
    with aws_errors(f"read the backups setting of table {table}", what=what):
        backups = client.describe_continuous_backups(TableName=table).get("ContinuousBackupsDescription", {})
    tags: dict[str, str] = {}
    with aws_errors(f"list the tags of table {table}", what=what):
        request: dict[str, Any] = {"ResourceArn": described["TableArn"]}
        while True:
            page = client.list_tags_of_resource(**request)
            tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
    spec, not_carried = spec_from_description(described, ttl, backups, tags)
    return LiveTable(spec, not_carried, int(described.get("ItemCount", 0)), str(described["TableArn"]))


def table_exists(client: Any, table: str) -> bool:
    """Whether ``table`` exists (DescribeTable); other AWS errors become ours, as in :func:`read_table`."""
    try:
        with aws_errors(f"describe table {table}", what=f"table {table}"):
            client.describe_table(TableName=table)
    except NotFoundError:
        return False
    return True


def _key(schema: list[Mapping[str, str]], kind: str, types: Mapping[str, str]) -> KeyAttribute | None:
    for entry in schema:
        if entry["KeyType"] == kind:
            return KeyAttribute(entry["AttributeName"], types[entry["AttributeName"]])
    return None


def _projection(raw: Mapping[str, Any]) -> Projection:
    kind = raw.get("ProjectionType", "ALL")
    return Projection(kind, tuple(raw.get("NonKeyAttributes", ()))) if kind == "INCLUDE" else Projection(kind)


def _units(throughput: Mapping[str, Any] | None, name: str) -> int | None:
    value = int((throughput or {}).get(name) or 0)
    return value if value > 0 else None


def spec_from_description(
    table: Mapping[str, Any],
    ttl: Mapping[str, Any],
    backups: Mapping[str, Any],
    tags: Mapping[str, str],
) -> tuple[TableSpec, tuple[NotCarried, ...]]:
    """The spec of a described table and what it does not carry (pure)."""
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    partition = _key(table["KeySchema"], "HASH", types)
    assert partition is not None  # every table has a partition key
    billing = _billing(table)
    not_carried: list[NotCarried] = []
    globals_ = []
    for index in table.get("GlobalSecondaryIndexes") or []:
        throughput = index.get("ProvisionedThroughput")
        provisioned = billing.provisioned
        globals_.append(
            GlobalIndex(
                index["IndexName"],
                _key(index["KeySchema"], "HASH", types),  # type: ignore[arg-type]
                _key(index["KeySchema"], "RANGE", types),
                _projection(index.get("Projection", {})),
                read=_units(throughput, "ReadCapacityUnits") if provisioned else None,
                write=_units(throughput, "WriteCapacityUnits") if provisioned else None,
            )
        )
        not_carried += _index_notes(index)
    locals_ = [
        LocalIndex(
            index["IndexName"],
            _key(index["KeySchema"], "RANGE", types),  # type: ignore[arg-type]
            _projection(index.get("Projection", {})),
        )
        for index in table.get("LocalSecondaryIndexes") or []
    ]
    sse_description = table.get("SSEDescription") or {}
    sse = None
    if sse_description.get("SSEType") == "KMS" and sse_description.get("Status") in ("ENABLED", "ENABLING", "UPDATING"):
        sse = Sse(sse_description.get("KMSMasterKeyArn"))
    stream = table.get("StreamSpecification") or {}
    ttl_on = ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
    pitr = (backups.get("PointInTimeRecoveryDescription") or {}).get("PointInTimeRecoveryStatus") == "ENABLED"
    spec = TableSpec(
        name=table["TableName"],
        partition_key=partition,
        sort_key=_key(table["KeySchema"], "RANGE", types),
        ttl_attribute=ttl.get("AttributeName") if ttl_on else None,
        billing=billing,
        global_indexes=tuple(globals_),
        local_indexes=tuple(locals_),
        # DescribeTable leaves out TableClassSummary for a table that never changed class: STANDARD.
        table_class=(table.get("TableClassSummary") or {}).get("TableClass") or "STANDARD",
        sse=sse,
        tags=tags_from(tags),
        stream=stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
        deletion_protection=bool(table.get("DeletionProtectionEnabled", False)),
        point_in_time_recovery=pitr,
    )
    not_carried += _table_notes(table, backups, billing)
    return spec, tuple(not_carried)


def _billing(table: Mapping[str, Any]) -> Billing:
    # Tables created before on-demand existed have no BillingModeSummary: they are provisioned.
    mode = (table.get("BillingModeSummary") or {}).get("BillingMode") or PROVISIONED
    if mode == PROVISIONED:
        throughput = table.get("ProvisionedThroughput")
        return Billing(
            PROVISIONED, read=_units(throughput, "ReadCapacityUnits"), write=_units(throughput, "WriteCapacityUnits")
        )
    caps = table.get("OnDemandThroughput")
    return Billing(
        PAY_PER_REQUEST, max_read=_units(caps, "MaxReadRequestUnits"), max_write=_units(caps, "MaxWriteRequestUnits")
    )


def _index_notes(index: Mapping[str, Any]) -> list[NotCarried]:
    notes = []
    name = index["IndexName"]
    if _units(index.get("OnDemandThroughput"), "MaxReadRequestUnits") or _units(
        index.get("OnDemandThroughput"), "MaxWriteRequestUnits"
    ):
        notes.append(
            NotCarried(
                f"the on-demand throughput caps of index {name}",
                "the config has caps for the table only; set them on the new index after the migration",
            )
        )
    if index.get("IndexStatus") not in (None, "ACTIVE"):
        notes.append(NotCarried(f"index {name} is {index['IndexStatus']}", "rerun `migrate init` once it is ACTIVE"))
    return notes


def _table_notes(table: Mapping[str, Any], backups: Mapping[str, Any], billing: Billing) -> list[NotCarried]:
    notes = []
    if billing.provisioned:
        notes.append(
            NotCarried(
                "auto scaling of the provisioned capacity (Application Auto Scaling)",
                "the current capacity is carried as fixed values; register the new table and its indexes "
                "with auto scaling after the migration",
            )
        )
    replicas = [r.get("RegionName", "?") for r in table.get("Replicas") or []]
    if replicas:
        notes.append(
            NotCarried(
                f"global table replicas ({', '.join(replicas)})",
                "the new table is created in this region only; add the replicas after the migration",
            )
        )
    days = (backups.get("PointInTimeRecoveryDescription") or {}).get("RecoveryPeriodInDays")
    if days and int(days) != DEFAULT_RECOVERY_DAYS:
        notes.append(
            NotCarried(
                f"a point-in-time recovery period of {days} days",
                f"the new table gets the default {DEFAULT_RECOVERY_DAYS} days; change it after the migration",
            )
        )
    notes.append(NotCarried(*_ALWAYS_NOT_READ))
    return notes

"""A table as AWS describes it → the state pulumi-aws keeps for ``aws:dynamodb/table:Table``.

The provider's Read fills every attribute from DescribeTable, DescribeTimeToLive,
DescribeContinuousBackups and ListTagsOfResource. Where moto leaves something out that AWS reports
(the table class, on-demand caps: moto's CreateTable/UpdateTable ignore both), the value the plugin
applied last is kept from the previous state, so the state says what AWS would.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .base import Context, Gone

STANDARD = "STANDARD"


def _keys(schema: list[dict[str, str]]) -> tuple[str, str | None]:
    hash_key = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
    range_key = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
    return hash_key, range_key


def _projection(index: dict[str, Any]) -> dict[str, Any]:
    proj = index.get("Projection") or {}
    return {
        "projectionType": proj.get("ProjectionType", "ALL"),
        "nonKeyAttributes": list(proj.get("NonKeyAttributes") or []),
    }


def _caps(block: dict[str, Any] | None) -> dict[str, int] | None:
    if not block:
        return None
    read, write = block.get("MaxReadRequestUnits", -1), block.get("MaxWriteRequestUnits", -1)
    if read in (None, -1) and write in (None, -1):
        return None
    return {"maxReadRequestUnits": read, "maxWriteRequestUnits": write}


def global_indexes(table: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``globalSecondaryIndexes`` state: keys both as ``keySchemas`` and the (deprecated) hash/range keys."""
    out = []
    for index in table.get("GlobalSecondaryIndexes") or []:
        hash_key, range_key = _keys(index["KeySchema"])
        throughput = index.get("ProvisionedThroughput") or {}
        entry = {
            "name": index["IndexName"],
            "hashKey": hash_key,
            "rangeKey": range_key or "",
            "keySchemas": [{"attributeName": k["AttributeName"], "keyType": k["KeyType"]} for k in index["KeySchema"]],
            "readCapacity": throughput.get("ReadCapacityUnits", 0),
            "writeCapacity": throughput.get("WriteCapacityUnits", 0),
            **_projection(index),
        }
        caps = _caps(index.get("OnDemandThroughput"))
        if caps:
            entry["onDemandThroughput"] = caps
        out.append(entry)
    return out


def local_indexes(table: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``localSecondaryIndexes`` state."""
    return [
        {"name": i["IndexName"], "rangeKey": _keys(i["KeySchema"])[1], **_projection(i)}
        for i in table.get("LocalSecondaryIndexes") or []
    ]


def describe(ctx: Context, name: str) -> dict[str, Any]:
    """DescribeTable's ``Table``; :class:`Gone` when there is none."""
    try:
        return ctx.client("dynamodb").describe_table(TableName=name)["Table"]
    except ClientError as e:
        if e.response["Error"]["Code"] == "ResourceNotFoundException":
            raise Gone(name) from e
        raise


def table_state(ctx: Context, name: str, previous: dict[str, Any]) -> dict[str, Any]:
    """The whole state of table ``name``; ``previous`` supplies what AWS cannot report (``importTable``)."""
    table = describe(ctx, name)
    client = ctx.client("dynamodb")
    hash_key, range_key = _keys(table["KeySchema"])
    mode = (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    throughput = table.get("ProvisionedThroughput") or {}
    stream = table.get("StreamSpecification") or {}
    tags = {t["Key"]: t["Value"] for t in client.list_tags_of_resource(ResourceArn=table["TableArn"]).get("Tags", [])}
    state: dict[str, Any] = {
        "id": name,
        "name": name,
        "arn": table["TableArn"],
        "hashKey": hash_key,
        "rangeKey": range_key,
        "attributes": [{"name": a["AttributeName"], "type": a["AttributeType"]} for a in table["AttributeDefinitions"]],
        "billingMode": mode,
        "readCapacity": throughput.get("ReadCapacityUnits", 0),
        "writeCapacity": throughput.get("WriteCapacityUnits", 0),
        "globalSecondaryIndexes": global_indexes(table),
        "localSecondaryIndexes": local_indexes(table),
        "streamEnabled": bool(stream.get("StreamEnabled")),
        "streamViewType": stream.get("StreamViewType", "") if stream.get("StreamEnabled") else "",
        "streamArn": table.get("LatestStreamArn", ""),
        "streamLabel": table.get("LatestStreamLabel", ""),
        "deletionProtectionEnabled": bool(table.get("DeletionProtectionEnabled")),
        "tableClass": (table.get("TableClassSummary") or {}).get("TableClass")
        or previous.get("tableClass")
        or STANDARD,
        "serverSideEncryption": _sse(table),
        "onDemandThroughput": _caps(table.get("OnDemandThroughput")) or previous.get("onDemandThroughput"),
        "tags": tags,
        "tagsAll": dict(tags),
        "ttl": _ttl(client, name),
        "pointInTimeRecovery": _pitr(client, name),
        "importTable": previous.get("importTable"),
        "region": ctx.region,
    }
    return {k: v for k, v in state.items() if v is not None}


def _sse(table: dict[str, Any]) -> dict[str, Any] | None:
    desc = table.get("SSEDescription") or {}
    if desc.get("Status") not in ("ENABLED", "ENABLING", "UPDATING"):
        return None
    return {"enabled": True, "kmsKeyArn": desc.get("KMSMasterKeyArn", "")}


def _ttl(client: Any, name: str) -> dict[str, Any]:
    desc = client.describe_time_to_live(TableName=name).get("TimeToLiveDescription") or {}
    enabled = desc.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
    return {"attributeName": desc.get("AttributeName", "") if enabled else "", "enabled": enabled}


def _pitr(client: Any, name: str) -> dict[str, Any]:
    desc = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    pitr = desc.get("PointInTimeRecoveryDescription") or {}
    enabled = pitr.get("PointInTimeRecoveryStatus") == "ENABLED"
    return {"enabled": enabled, "recoveryPeriodInDays": pitr.get("RecoveryPeriodInDays", 35) if enabled else 0}

"""DynamoDB tables in the engine double: the whole declared spec to AWS calls, and a live table read back as inputs.

What the pulumi-aws provider does with an ``aws.dynamodb.Table``, as far as the end-to-end tests need it:

- Create: ``CreateTable`` with keys, billing (capacity or on-demand caps), global and local secondary indexes
  with their projection, stream, encryption, class, tags and deletion protection. Created by ``ImportTable``
  (``importTable``), only what ImportTable takes goes with it (keys, billing, global indexes, encryption);
  the rest is applied by updates afterwards, as the provider does (and ImportTable cannot make a table with
  local secondary indexes).
- Read (``import`` resource option): the live table as the provider's inputs (DescribeTable,
  DescribeTimeToLive, DescribeContinuousBackups, ListTagsOfResource).
- Diff of a declaration against what was read: sets compare unordered (attributes, indexes, non-key
  attributes); ``Optional+Computed`` inputs the program leaves out (point-in-time recovery, TTL, encryption,
  capacity, on-demand caps, the stream's view type, class) are not a difference; an input left out that the
  live table has (tags, indexes, a stream, deletion protection) is one. ``localSecondaryIndexes``, like the
  keys and the name, can only change by replacement.

moto 5.2.5 returns neither the table class (read as STANDARD, as the provider reads a table without a class
summary) nor on-demand caps (never read, so never a difference).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Inputs whose change the provider can only make by replacing the table (ForceNew upstream).
TABLE_CREATE_ONLY = ("name", "hashKey", "rangeKey", "importTable", "localSecondaryIndexes")
# Optional+Computed inputs: a declaration that leaves them out accepts whatever the table has.
_COMPUTED = frozenset(
    {
        "pointInTimeRecovery",
        "ttl",
        "serverSideEncryption",
        "readCapacity",
        "writeCapacity",
        "onDemandThroughput",
        "streamViewType",
        "tableClass",
    }
)
# What a declaration that leaves an input out means.
_DEFAULTS: dict[str, Any] = {
    "billingMode": "PROVISIONED",
    "streamEnabled": False,
    "deletionProtectionEnabled": False,
    "tags": {},
    "globalSecondaryIndexes": [],
    "localSecondaryIndexes": [],
}
_COMPARED = ("name", "hashKey", "rangeKey", "attributes", *_DEFAULTS, *sorted(_COMPUTED))
_IMPORT_PARAMETERS = (
    "TableName",
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "ProvisionedThroughput",
    "OnDemandThroughput",
    "SSESpecification",
    "GlobalSecondaryIndexes",
)


def _key_schema(hash_key: str, range_key: str | None) -> list[dict[str, str]]:
    keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return keys


def _projection(index: Mapping[str, Any]) -> dict[str, Any]:
    projection: dict[str, Any] = {"ProjectionType": index.get("projectionType") or "ALL"}
    if index.get("nonKeyAttributes"):
        projection["NonKeyAttributes"] = list(index["nonKeyAttributes"])
    return projection


def _index_keys(index: Mapping[str, Any]) -> list[dict[str, str]]:
    if index.get("keySchemas"):
        return [{"AttributeName": k["attributeName"], "KeyType": k["keyType"]} for k in index["keySchemas"]]
    return _key_schema(index["hashKey"], index.get("rangeKey"))


def _throughput(read: Any, write: Any) -> dict[str, int]:
    return {"ReadCapacityUnits": int(read or 1), "WriteCapacityUnits": int(write or 1)}


def create_params(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """CreateTable's parameters for a declared table (its whole spec but TTL and point-in-time recovery)."""
    provisioned = (inputs.get("billingMode") or "PROVISIONED") == "PROVISIONED"
    params: dict[str, Any] = {
        "TableName": name,
        "KeySchema": _key_schema(inputs["hashKey"], inputs.get("rangeKey")),
        "AttributeDefinitions": [
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]
        ],
        "BillingMode": "PROVISIONED" if provisioned else "PAY_PER_REQUEST",
    }
    if provisioned:
        params["ProvisionedThroughput"] = _throughput(inputs.get("readCapacity"), inputs.get("writeCapacity"))
    elif inputs.get("onDemandThroughput"):
        caps = inputs["onDemandThroughput"]
        params["OnDemandThroughput"] = {
            k: int(v)
            for k, v in (
                ("MaxReadRequestUnits", caps.get("maxReadRequestUnits")),
                ("MaxWriteRequestUnits", caps.get("maxWriteRequestUnits")),
            )
            if v is not None
        }
    if inputs.get("globalSecondaryIndexes"):
        params["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index["name"],
                "KeySchema": _index_keys(index),
                "Projection": _projection(index),
                **(
                    {"ProvisionedThroughput": _throughput(index.get("readCapacity"), index.get("writeCapacity"))}
                    if provisioned
                    else {}
                ),
            }
            for index in inputs["globalSecondaryIndexes"]
        ]
    if inputs.get("localSecondaryIndexes"):
        params["LocalSecondaryIndexes"] = [
            {
                "IndexName": index["name"],
                "KeySchema": _key_schema(inputs["hashKey"], index["rangeKey"]),
                "Projection": _projection(index),
            }
            for index in inputs["localSecondaryIndexes"]
        ]
    sse = inputs.get("serverSideEncryption") or {}
    if sse.get("enabled"):
        params["SSESpecification"] = {
            "Enabled": True,
            "SSEType": "KMS",
            **({"KMSMasterKeyId": sse["kmsKeyArn"]} if sse.get("kmsKeyArn") else {}),
        }
    if inputs.get("streamEnabled"):
        params["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": inputs["streamViewType"]}
    if inputs.get("tableClass"):
        params["TableClass"] = inputs["tableClass"]
    if inputs.get("tags"):
        params["Tags"] = [{"Key": k, "Value": v} for k, v in inputs["tags"].items()]
    return params


def import_params(create: Mapping[str, Any]) -> dict[str, Any]:
    """ImportTable's ``TableCreationParameters``: the part of CreateTable's that ImportTable takes."""
    return {k: v for k, v in create.items() if k in _IMPORT_PARAMETERS}


def applied_at_creation(create: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The settable inputs a create call already applied (so the update after it leaves them alone)."""
    done: dict[str, Any] = {}
    if "StreamSpecification" in create:
        done.update(streamEnabled=True, streamViewType=inputs.get("streamViewType"))
    if "Tags" in create:
        done["tags"] = dict(inputs.get("tags") or {})
    return done


def read_table(dynamodb: Any, name: str) -> dict[str, Any] | None:
    """The live table ``name`` as the provider reads it into inputs; None when it does not exist."""
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except dynamodb.exceptions.ResourceNotFoundException:
        return None
    keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
    mode = (table.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED"
    inputs: dict[str, Any] = {
        "name": table["TableName"],
        "hashKey": keys["HASH"],
        "attributes": [{"name": a["AttributeName"], "type": a["AttributeType"]} for a in table["AttributeDefinitions"]],
        "billingMode": mode,
        "deletionProtectionEnabled": bool(table.get("DeletionProtectionEnabled")),
    }
    if "RANGE" in keys:
        inputs["rangeKey"] = keys["RANGE"]
    # Without a summary (a table whose class never changed, and always on moto) the provider reads STANDARD.
    inputs["tableClass"] = (table.get("TableClassSummary") or {}).get("TableClass") or "STANDARD"
    if mode == "PROVISIONED":
        throughput = table.get("ProvisionedThroughput") or {}
        inputs["readCapacity"] = throughput.get("ReadCapacityUnits")
        inputs["writeCapacity"] = throughput.get("WriteCapacityUnits")
    if table.get("GlobalSecondaryIndexes"):
        inputs["globalSecondaryIndexes"] = [_read_global(i, mode) for i in table["GlobalSecondaryIndexes"]]
    if table.get("LocalSecondaryIndexes"):
        inputs["localSecondaryIndexes"] = [_read_local(i) for i in table["LocalSecondaryIndexes"]]
    stream = table.get("StreamSpecification") or {}
    inputs["streamEnabled"] = bool(stream.get("StreamEnabled"))
    if stream.get("StreamEnabled"):
        inputs["streamViewType"] = stream.get("StreamViewType")
    sse = table.get("SSEDescription") or {}
    if sse.get("Status") in ("ENABLED", "ENABLING"):
        inputs["serverSideEncryption"] = {"enabled": True, "kmsKeyArn": sse.get("KMSMasterKeyArn")}
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    enabled = ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
    inputs["ttl"] = {"attributeName": ttl.get("AttributeName", "") if enabled else "", "enabled": enabled}
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    pitr = (backups.get("PointInTimeRecoveryDescription") or {}).get("PointInTimeRecoveryStatus") == "ENABLED"
    inputs["pointInTimeRecovery"] = {"enabled": pitr}
    tags = dynamodb.list_tags_of_resource(ResourceArn=table["TableArn"]).get("Tags", [])
    inputs["tags"] = {t["Key"]: t["Value"] for t in tags}
    return inputs


def _read_global(index: Mapping[str, Any], mode: str) -> dict[str, Any]:
    projection = index.get("Projection") or {}
    out: dict[str, Any] = {
        "name": index["IndexName"],
        "keySchemas": [{"attributeName": k["AttributeName"], "keyType": k["KeyType"]} for k in index["KeySchema"]],
        "projectionType": projection.get("ProjectionType"),
    }
    if projection.get("NonKeyAttributes"):
        out["nonKeyAttributes"] = list(projection["NonKeyAttributes"])
    if mode == "PROVISIONED":
        throughput = index.get("ProvisionedThroughput") or {}
        out["readCapacity"] = throughput.get("ReadCapacityUnits")
        out["writeCapacity"] = throughput.get("WriteCapacityUnits")
    return out


def _read_local(index: Mapping[str, Any]) -> dict[str, Any]:
    projection = index.get("Projection") or {}
    keys = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
    out: dict[str, Any] = {
        "name": index["IndexName"],
        "rangeKey": keys["RANGE"],
        "projectionType": projection.get("ProjectionType"),
    }
    if projection.get("NonKeyAttributes"):
        out["nonKeyAttributes"] = list(projection["NonKeyAttributes"])
    return out


def _normal(name: str, value: Any) -> Any:
    """A value in the form two equal declarations share: sets sorted, numbers as numbers."""
    if name == "attributes":
        return sorted((a["name"], a["type"]) for a in value)
    if name in ("globalSecondaryIndexes", "localSecondaryIndexes"):
        return sorted((_normal_index(i) for i in value), key=repr)
    if name in ("readCapacity", "writeCapacity"):
        return int(value)
    if name == "ttl":
        return {"attributeName": value.get("attributeName") or "", "enabled": bool(value.get("enabled"))}
    if name == "serverSideEncryption":
        return {"enabled": bool(value.get("enabled"))}  # kmsKeyArn is computed: the AWS managed key's ARN
    return value


def _normal_index(index: Mapping[str, Any]) -> tuple[Any, ...]:
    keys = index.get("keySchemas") or [{"attributeName": index.get("hashKey"), "keyType": "HASH"}]
    schema = tuple((k["attributeName"], k["keyType"]) for k in keys)
    if index.get("rangeKey") and not index.get("keySchemas"):
        schema = (*schema, (index["rangeKey"], "RANGE"))
    capacity = tuple(int(index[k]) for k in ("readCapacity", "writeCapacity") if index.get(k) is not None)
    return (
        index["name"],
        schema,
        index.get("projectionType") or "ALL",
        tuple(sorted(index.get("nonKeyAttributes") or ())),
        capacity,
    )


def table_diff(declared: Mapping[str, Any], read: Mapping[str, Any], ignore: Iterable[str] = ()) -> tuple[str, ...]:
    """The inputs in which a declaration differs from the table read, as the provider's diff reports them."""
    ignored = {path.split(".")[0].split("[")[0] for path in ignore}
    changed = []
    for name in _COMPARED:
        if name in ignored:
            continue
        mine, theirs = declared.get(name), read.get(name)
        if mine is None and name in _COMPUTED:
            continue
        if name in ("name", "hashKey", "rangeKey"):
            if mine != theirs:
                changed.append(name)
            continue
        mine = _DEFAULTS.get(name) if mine is None else mine
        theirs = _DEFAULTS.get(name) if theirs is None else theirs
        if mine is None or theirs is None:
            if mine != theirs:
                changed.append(name)
        elif _normal(name, mine) != _normal(name, theirs):
            changed.append(name)
    return tuple(changed)

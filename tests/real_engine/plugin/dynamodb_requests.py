"""A table's inputs (pulumi-aws ``aws:dynamodb/table:Table``) → the pieces of DynamoDB API requests."""

from __future__ import annotations

from typing import Any

PROVISIONED = "PROVISIONED"


def key_schema(hash_key: str, range_key: str | None) -> list[dict[str, str]]:
    """``KeySchema`` for a partition key and an optional sort key."""
    keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return keys


def index_keys(index: dict[str, Any]) -> list[dict[str, str]]:
    """A global index's ``KeySchema``: its ``keySchemas``, or the deprecated ``hashKey``/``rangeKey``."""
    schemas = index.get("keySchemas") or []
    if schemas:
        ordered = sorted(schemas, key=lambda k: k.get("keyType") != "HASH")
        return [{"AttributeName": k["attributeName"], "KeyType": k["keyType"]} for k in ordered]
    return key_schema(index["hashKey"], index.get("rangeKey"))


def projection(index: dict[str, Any]) -> dict[str, Any]:
    """An index's ``Projection``."""
    out: dict[str, Any] = {"ProjectionType": index["projectionType"]}
    if index.get("nonKeyAttributes"):
        out["NonKeyAttributes"] = list(index["nonKeyAttributes"])
    return out


def throughput(item: dict[str, Any]) -> dict[str, int]:
    """``ProvisionedThroughput`` from ``readCapacity``/``writeCapacity``."""
    return {
        "ReadCapacityUnits": int(item.get("readCapacity") or 0),
        "WriteCapacityUnits": int(item.get("writeCapacity") or 0),
    }


def on_demand(block: dict[str, Any] | None) -> dict[str, int] | None:
    """``OnDemandThroughput`` caps, or None when none is declared."""
    if not block:
        return None
    caps = {
        "MaxReadRequestUnits": block.get("maxReadRequestUnits"),
        "MaxWriteRequestUnits": block.get("maxWriteRequestUnits"),
    }
    return {k: int(v) for k, v in caps.items() if v} or None


def global_index(index: dict[str, Any], billing_mode: str) -> dict[str, Any]:
    """One ``GlobalSecondaryIndexes`` entry (throughput only for a provisioned table, as AWS requires)."""
    out: dict[str, Any] = {"IndexName": index["name"], "KeySchema": index_keys(index), "Projection": projection(index)}
    if billing_mode == PROVISIONED:
        out["ProvisionedThroughput"] = throughput(index)
    caps = on_demand(index.get("onDemandThroughput"))
    if caps and billing_mode != PROVISIONED:
        out["OnDemandThroughput"] = caps
    return out


def local_index(index: dict[str, Any], hash_key: str) -> dict[str, Any]:
    """One ``LocalSecondaryIndexes`` entry: the table's partition key and the index's sort key."""
    return {
        "IndexName": index["name"],
        "KeySchema": key_schema(hash_key, index["rangeKey"]),
        "Projection": projection(index),
    }


def attributes(inputs: dict[str, Any]) -> list[dict[str, str]]:
    """``AttributeDefinitions``."""
    return [{"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs.get("attributes") or []]


def sse(block: dict[str, Any] | None) -> dict[str, Any] | None:
    """``SSESpecification``: a KMS key when enabled (AWS-owned key otherwise, which is no specification)."""
    if not block or not block.get("enabled"):
        return None
    out: dict[str, Any] = {"Enabled": True, "SSEType": "KMS"}
    if block.get("kmsKeyArn"):
        out["KMSMasterKeyId"] = block["kmsKeyArn"]
    return out


def stream(inputs: dict[str, Any]) -> dict[str, Any] | None:
    """``StreamSpecification`` when the stream is enabled."""
    if not inputs.get("streamEnabled"):
        return None
    return {"StreamEnabled": True, "StreamViewType": inputs["streamViewType"]}


def tag_list(tags: dict[str, str] | None) -> list[dict[str, str]]:
    """Tags as DynamoDB's ``[{Key, Value}]``."""
    return [{"Key": k, "Value": v} for k, v in (tags or {}).items()]


def create_table(inputs: dict[str, Any]) -> dict[str, Any]:
    """``CreateTable``'s arguments: the whole spec in one call, as the provider sends it."""
    mode = inputs.get("billingMode") or PROVISIONED
    args: dict[str, Any] = {
        "TableName": inputs["name"],
        "AttributeDefinitions": attributes(inputs),
        "KeySchema": key_schema(inputs["hashKey"], inputs.get("rangeKey")),
        "BillingMode": mode,
        "DeletionProtectionEnabled": bool(inputs.get("deletionProtectionEnabled")),
    }
    if mode == PROVISIONED:
        args["ProvisionedThroughput"] = throughput(inputs)
    optional = {
        "GlobalSecondaryIndexes": [global_index(i, mode) for i in inputs.get("globalSecondaryIndexes") or []],
        "LocalSecondaryIndexes": [local_index(i, inputs["hashKey"]) for i in inputs.get("localSecondaryIndexes") or []],
        "StreamSpecification": stream(inputs),
        "SSESpecification": sse(inputs.get("serverSideEncryption")),
        "TableClass": inputs.get("tableClass") or None,
        "Tags": tag_list(inputs.get("tags")),
        "OnDemandThroughput": on_demand(inputs.get("onDemandThroughput")) if mode != PROVISIONED else None,
    }
    args.update({k: v for k, v in optional.items() if v})
    return args


def import_table(inputs: dict[str, Any]) -> dict[str, Any]:
    """``ImportTable``'s arguments. Its ``TableCreationParameters`` take keys, attributes, billing, GSIs
    and encryption only: the provider applies the rest (stream, class, tags, TTL, PITR, protection)
    afterwards, and local indexes cannot be had this way at all."""
    spec = inputs["importTable"]
    mode = inputs.get("billingMode") or PROVISIONED
    params: dict[str, Any] = {
        "TableName": inputs["name"],
        "AttributeDefinitions": attributes(inputs),
        "KeySchema": key_schema(inputs["hashKey"], inputs.get("rangeKey")),
        "BillingMode": mode,
    }
    if mode == PROVISIONED:
        params["ProvisionedThroughput"] = throughput(inputs)
    indexes = [global_index(i, mode) for i in inputs.get("globalSecondaryIndexes") or []]
    if indexes:
        params["GlobalSecondaryIndexes"] = indexes
    if sse(inputs.get("serverSideEncryption")):
        params["SSESpecification"] = sse(inputs.get("serverSideEncryption"))
    source = spec["s3BucketSource"]
    s3: dict[str, str] = {"S3Bucket": source["bucket"]}
    s3.update(
        {k: source[v] for k, v in (("S3KeyPrefix", "keyPrefix"), ("S3BucketOwner", "bucketOwner")) if source.get(v)}
    )
    args: dict[str, Any] = {"S3BucketSource": s3, "InputFormat": spec["inputFormat"], "TableCreationParameters": params}
    if spec.get("inputCompressionType"):
        args["InputCompressionType"] = spec["inputCompressionType"]
    return args

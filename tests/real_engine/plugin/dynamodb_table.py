"""``aws:dynamodb/table:Table`` as pulumi-aws 7.51 (Terraform's ``aws_dynamodb_table``) manages it.

Create sends the whole spec in one CreateTable (or ImportTable, then applies what ImportTable cannot
take), then TTL and point-in-time recovery; Update applies each changed setting with its own API;
Delete fails on a protected table as AWS does (moto enforces deletion protection too).
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from . import dynamodb_requests as req
from . import dynamodb_update as upd
from .base import Context, Field, Gone, PartiallyCreated, ResourceType, known
from .dynamodb_state import table_state

IMPORT_POLL_SECONDS = 0.25
DEFAULT_CREATE_TIMEOUT = 30 * 60  # the provider's default create timeout


class Table(ResourceType):
    """A DynamoDB table."""

    token = "aws:dynamodb/table:Table"
    autoname = "name"
    fields = (
        Field("name", create_only=True),
        Field("hashKey", create_only=True, computed=True),
        Field("rangeKey", create_only=True),
        Field("attributes"),
        Field("billingMode", default=req.PROVISIONED),
        Field("readCapacity", computed=True),
        Field("writeCapacity", computed=True),
        Field("globalSecondaryIndexes"),
        Field("localSecondaryIndexes", create_only=True, computed=True),
        Field("streamEnabled"),
        Field("streamViewType", computed=True),
        Field("ttl", computed=True),
        Field("pointInTimeRecovery", computed=True),
        Field("deletionProtectionEnabled"),
        Field("serverSideEncryption", computed=True),
        Field("tableClass", computed=True),
        Field("onDemandThroughput", computed=True),
        Field("tags"),
        Field("importTable", create_only=True),
        Field("region", create_only=True, computed=True),
    )
    outputs = ("arn", "streamArn", "streamLabel", "id")

    def validate(self, inputs: dict[str, Any]) -> list[tuple[str, str]]:
        """The provider's plan-time checks: keys defined as attributes, every attribute used by a key or
        index, provisioned capacity declared, a view type for an enabled stream, an attribute for TTL."""
        failures: list[tuple[str, str]] = []
        if not known(inputs):
            return failures
        if inputs.get("hashKey") is None:
            failures.append(("hashKey", "Missing required argument: 'hashKey' (the table's partition key)"))
            return failures
        failures += _attribute_failures(inputs)
        if inputs.get("billingMode") == req.PROVISIONED:
            for name in ("readCapacity", "writeCapacity"):
                if not inputs.get(name):
                    failures.append((name, f"{name} must be set when billingMode is PROVISIONED"))
        if inputs.get("streamEnabled") and not inputs.get("streamViewType"):
            failures.append(("streamViewType", "streamViewType is required when streamEnabled = true"))
        ttl = inputs.get("ttl") or {}
        if ttl.get("enabled") and not ttl.get("attributeName"):
            failures.append(("ttl", "ttl.attributeName must be set when ttl is enabled"))
        return failures

    def changes_on_update(self, olds: dict[str, Any], news: dict[str, Any]) -> set[str]:
        """A stream switched on, off or to another view type gets a new ARN and label."""
        stream_keys = ("streamEnabled", "streamViewType")
        if any(bool(olds.get(k)) != bool(news.get(k)) or olds.get(k) != news.get(k) for k in stream_keys):
            return {"streamArn", "streamLabel"}
        return set()

    def create(self, ctx: Context, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """CreateTable (or ImportTable) with the whole spec, then TTL and PITR; returns ``(id, state)``."""
        name = inputs["name"]
        client = ctx.client("dynamodb")
        importing = bool(inputs.get("importTable"))
        if importing:
            arn = client.import_table(**req.import_table(inputs))["ImportTableDescription"]["ImportArn"]
        else:
            client.create_table(**req.create_table(inputs))
        try:
            if importing:
                self._wait_import(ctx, name, arn)
            upd.wait_active(ctx, name, ctx.timeout)
            if inputs.get("importTable"):
                baseline = table_state(ctx, name, {})
                upd.stream(ctx, baseline, inputs)
                upd.table_settings(ctx, baseline, inputs)
                upd.tags(ctx, baseline["arn"], {}, inputs)
            upd.ttl(ctx, {}, inputs)
            upd.pitr(ctx, {}, inputs)
        except Exception as e:
            raise PartiallyCreated(name, e) from e
        return name, table_state(ctx, name, inputs)

    def _wait_import(self, ctx: Context, name: str, arn: str) -> None:
        """Wait for the import within the create timeout; a failed import is the create's error (the
        table exists while it runs, so the engine records it either way, as the provider's state does)."""
        client = ctx.client("dynamodb")
        deadline = time.monotonic() + (ctx.timeout or DEFAULT_CREATE_TIMEOUT)
        while True:
            desc = client.describe_import(ImportArn=arn)["ImportTableDescription"]
            status = desc["ImportStatus"]
            if status == "COMPLETED":
                break
            if status in ("FAILED", "CANCELLED", "CANCELLING"):
                reason = f"{desc.get('FailureCode', '')}: {desc.get('FailureMessage', '')}"
                raise RuntimeError(f"importing table {name} ({arn}): {status} {reason}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"timeout while waiting for import {arn} to become COMPLETED (last: {status})")
            time.sleep(IMPORT_POLL_SECONDS)

    def read(self, ctx: Context, id_: str, state: dict[str, Any]) -> dict[str, Any]:
        """The table's state now; :class:`Gone` when it no longer exists."""
        return table_state(ctx, id_, state)

    def update(self, ctx: Context, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        """Each changed setting with its own call, in the provider's order."""
        upd.billing(ctx, olds, news)
        upd.global_indexes(ctx, olds, news)
        upd.stream(ctx, olds, news)
        upd.table_settings(ctx, olds, news)
        upd.ttl(ctx, olds, news)
        upd.tags(ctx, olds["arn"], olds, news)
        upd.pitr(ctx, olds, news)
        return table_state(ctx, id_, {**olds, **news})

    def delete(self, ctx: Context, id_: str, state: dict[str, Any]) -> None:
        """DeleteTable; AWS (and moto) refuse while deletion protection is on."""
        try:
            ctx.client("dynamodb").delete_table(TableName=id_)
        except ClientError as e:
            if e.response["Error"]["Code"] == "ResourceNotFoundException":
                return
            raise
        deadline = time.monotonic() + (ctx.timeout or 600)
        while time.monotonic() < deadline:
            try:
                ctx.client("dynamodb").describe_table(TableName=id_)
            except ClientError:
                return
            time.sleep(upd.POLL_SECONDS)
        raise TimeoutError(f"timeout while waiting for table {id_} to be deleted")


def _attribute_failures(inputs: dict[str, Any]) -> list[tuple[str, str]]:
    defined = {a.get("name") for a in inputs.get("attributes") or []}
    used = {inputs["hashKey"], inputs.get("rangeKey")}
    for index in inputs.get("globalSecondaryIndexes") or []:
        used |= {k["AttributeName"] for k in req.index_keys(index)}
    used |= {i.get("rangeKey") for i in inputs.get("localSecondaryIndexes") or []}
    used.discard(None)
    failures = []
    if used - defined:
        failures.append(
            ("attributes", f"all indexes must match a defined attribute. Undefined: {sorted(used - defined)}")
        )
    if defined - used:
        failures.append(("attributes", f"all attributes must be indexed. Unused attributes: {sorted(defined - used)}"))
    return failures


__all__ = ["Gone", "Table"]

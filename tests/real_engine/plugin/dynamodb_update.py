"""Applying a table's settings one API call at a time, in the order the provider's update does.

AWS changes one global index per UpdateTable call and refuses to change a stream's view type in place
(the provider disables the stream, then enables it with the new type); TTL, point-in-time recovery
and tags have APIs of their own.
"""

from __future__ import annotations

import time
from typing import Any

from . import dynamodb_requests as req
from .base import Context
from .compare import same

POLL_SECONDS = 0.2


def wait_active(ctx: Context, name: str, timeout: float) -> None:
    """Wait until the table and its indexes are ACTIVE (moto is at once; AWS takes its time)."""
    deadline = time.monotonic() + (timeout or 1800)
    client = ctx.client("dynamodb")
    while True:
        table = client.describe_table(TableName=name)["Table"]
        statuses = [
            table["TableStatus"],
            *(i.get("IndexStatus", "ACTIVE") for i in table.get("GlobalSecondaryIndexes") or []),
        ]
        if all(s == "ACTIVE" for s in statuses):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timeout while waiting for table {name} to become ACTIVE (last: {statuses})")
        time.sleep(POLL_SECONDS)


def billing(ctx: Context, olds: dict[str, Any], news: dict[str, Any]) -> None:
    """Billing mode and table throughput."""
    mode = news.get("billingMode") or req.PROVISIONED
    args: dict[str, Any] = {}
    if mode != olds.get("billingMode"):
        args["BillingMode"] = mode
    if mode == req.PROVISIONED and req.throughput(news) != req.throughput(olds):
        args["ProvisionedThroughput"] = req.throughput(news)
    caps = req.on_demand(news.get("onDemandThroughput"))
    if mode != req.PROVISIONED and caps and not same(news.get("onDemandThroughput"), olds.get("onDemandThroughput")):
        args["OnDemandThroughput"] = caps
    if args:
        ctx.client("dynamodb").update_table(TableName=news["name"], **args)
        wait_active(ctx, news["name"], ctx.timeout)


def global_indexes(ctx: Context, olds: dict[str, Any], news: dict[str, Any]) -> None:
    """Delete, recreate (new keys or projection) and add global indexes, one per call; adjust throughput."""
    mode = news.get("billingMode") or req.PROVISIONED
    old = {i["name"]: i for i in olds.get("globalSecondaryIndexes") or []}
    new = {i["name"]: i for i in news.get("globalSecondaryIndexes") or []}
    rebuilt = {n for n in old.keys() & new.keys() if _shape(new[n]) != _shape(old[n])}
    updates: list[dict[str, Any]] = [{"Delete": {"IndexName": n}} for n in sorted(old.keys() - new.keys() | rebuilt)]
    updates += [{"Create": req.global_index(new[n], mode)} for n in sorted(new.keys() - old.keys() | rebuilt)]
    if mode == req.PROVISIONED:
        updates += [
            {"Update": {"IndexName": n, "ProvisionedThroughput": req.throughput(new[n])}}
            for n in sorted(old.keys() & new.keys() - rebuilt)
            if req.throughput(new[n]) != req.throughput(old[n])
        ]
    client = ctx.client("dynamodb")
    for update in updates:
        client.update_table(
            TableName=news["name"], AttributeDefinitions=req.attributes(news), GlobalSecondaryIndexUpdates=[update]
        )
        wait_active(ctx, news["name"], ctx.timeout)


def _shape(index: dict[str, Any]) -> tuple[Any, ...]:
    proj = req.projection(index)
    return (str(req.index_keys(index)), proj["ProjectionType"], sorted(proj.get("NonKeyAttributes") or []))


def stream(ctx: Context, olds: dict[str, Any], news: dict[str, Any]) -> None:
    """Enable, disable or change the stream; a new view type needs the old stream disabled first."""
    was_on, now_on = bool(olds.get("streamEnabled")), bool(news.get("streamEnabled"))
    view_changed = now_on and was_on and olds.get("streamViewType") != news.get("streamViewType")
    if was_on == now_on and not view_changed:
        return
    client = ctx.client("dynamodb")
    if was_on:
        client.update_table(TableName=news["name"], StreamSpecification={"StreamEnabled": False})
        wait_active(ctx, news["name"], ctx.timeout)
    if now_on:
        client.update_table(TableName=news["name"], StreamSpecification=req.stream(news))
        wait_active(ctx, news["name"], ctx.timeout)


def table_settings(ctx: Context, olds: dict[str, Any], news: dict[str, Any]) -> None:
    """Encryption, table class and deletion protection (UpdateTable)."""
    args: dict[str, Any] = {}
    if not same(news.get("serverSideEncryption"), olds.get("serverSideEncryption")) and news.get(
        "serverSideEncryption"
    ):
        args["SSESpecification"] = req.sse(news["serverSideEncryption"]) or {"Enabled": False}
    if news.get("tableClass") and news.get("tableClass") != (olds.get("tableClass") or "STANDARD"):
        args["TableClass"] = news["tableClass"]
    if bool(news.get("deletionProtectionEnabled")) != bool(olds.get("deletionProtectionEnabled")):
        args["DeletionProtectionEnabled"] = bool(news.get("deletionProtectionEnabled"))
    if args:
        ctx.client("dynamodb").update_table(TableName=news["name"], **args)
        wait_active(ctx, news["name"], ctx.timeout)


def ttl(ctx: Context, olds: dict[str, Any], news: dict[str, Any]) -> None:
    """TTL on, off or on another attribute (AWS wants it disabled before it names another one)."""
    old, new = olds.get("ttl") or {}, news.get("ttl")
    if new is None or same(new, old):
        return
    client = ctx.client("dynamodb")
    was_on, now_on = bool(old.get("enabled")), bool(new.get("enabled"))
    if was_on and (not now_on or new.get("attributeName") != old.get("attributeName")):
        spec = {"Enabled": False, "AttributeName": old["attributeName"]}
        client.update_time_to_live(TableName=news["name"], TimeToLiveSpecification=spec)
    if now_on:
        spec = {"Enabled": True, "AttributeName": new["attributeName"]}
        client.update_time_to_live(TableName=news["name"], TimeToLiveSpecification=spec)


def pitr(ctx: Context, olds: dict[str, Any], news: dict[str, Any]) -> None:
    """Point-in-time recovery on or off (and its recovery period)."""
    new = news.get("pointInTimeRecovery")
    if new is None or same(new, olds.get("pointInTimeRecovery") or {"enabled": False}):
        return
    spec: dict[str, Any] = {"PointInTimeRecoveryEnabled": bool(new.get("enabled"))}
    if new.get("enabled") and new.get("recoveryPeriodInDays"):
        spec["RecoveryPeriodInDays"] = int(new["recoveryPeriodInDays"])
    ctx.client("dynamodb").update_continuous_backups(TableName=news["name"], PointInTimeRecoverySpecification=spec)


def tags(ctx: Context, arn: str, olds: dict[str, Any], news: dict[str, Any]) -> None:
    """Tag and untag so the table carries exactly the declared tags.

    A key whose value changes is untagged first: AWS's TagResource overwrites a key's value, moto's
    adds a second tag with the same key, so tagging alone would leave both on moto.
    """
    old, new = olds.get("tags") or {}, news.get("tags") or {}
    client = ctx.client("dynamodb")
    changed = {k: v for k, v in new.items() if old.get(k) != v}
    removed = sorted((old.keys() - new.keys()) | (old.keys() & changed.keys()))
    if removed:
        client.untag_resource(ResourceArn=arn, TagKeys=removed)
    if changed:
        client.tag_resource(ResourceArn=arn, Tags=req.tag_list(changed))

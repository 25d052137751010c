"""``aws:cloudwatch/logGroup:LogGroup`` as pulumi-aws 7.51 manages it.

The name (autonamed), name prefix, KMS key and class are create-only; retention (0: never expire) and
tags update in place. The ARN is reported without the ``:*`` suffix AWS appends.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .base import Context, Field, Gone, ResourceType


class LogGroup(ResourceType):
    """A CloudWatch Logs log group."""

    token = "aws:cloudwatch/logGroup:LogGroup"
    autoname = "name"
    autoname_max = 512
    fields = (
        Field("name", create_only=True, computed=True),
        Field("namePrefix", create_only=True),
        Field("retentionInDays", default=0),
        Field("kmsKeyId"),
        Field("logGroupClass", create_only=True, computed=True),
        Field("skipDestroy", default=False),
        Field("deletionProtectionEnabled", computed=True),
        Field("tags"),
        Field("region", create_only=True, computed=True),
    )
    outputs = ("arn", "id")

    def create(self, ctx: Context, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """CreateLogGroup, then its retention policy."""
        name = inputs["name"]
        args: dict[str, Any] = {"logGroupName": name}
        if inputs.get("kmsKeyId"):
            args["kmsKeyId"] = inputs["kmsKeyId"]
        if inputs.get("tags"):
            args["tags"] = dict(inputs["tags"])
        if inputs.get("logGroupClass"):
            args["logGroupClass"] = inputs["logGroupClass"]
        logs = ctx.client("logs")
        logs.create_log_group(**args)
        if inputs.get("retentionInDays"):
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(inputs["retentionInDays"]))
        return name, self.read(ctx, name, inputs)

    def read(self, ctx: Context, id_: str, state: dict[str, Any]) -> dict[str, Any]:
        """DescribeLogGroups by prefix; :class:`Gone` when no group has exactly this name."""
        logs = ctx.client("logs")
        groups = logs.describe_log_groups(logGroupNamePrefix=id_).get("logGroups", [])
        group = next((g for g in groups if g["logGroupName"] == id_), None)
        if group is None:
            raise Gone(id_)
        arn = group["arn"].removesuffix(":*")
        tags = logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
        return {
            "id": id_,
            "name": id_,
            "arn": arn,
            "retentionInDays": group.get("retentionInDays", 0),
            "kmsKeyId": group.get("kmsKeyId", ""),
            "logGroupClass": group.get("logGroupClass", "STANDARD"),
            "skipDestroy": bool(state.get("skipDestroy", False)),
            "deletionProtectionEnabled": bool(group.get("deletionProtectionEnabled", False)),
            "tags": tags,
            "tagsAll": dict(tags),
            "region": ctx.region,
        }

    def update(self, ctx: Context, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        """Retention and tags."""
        logs = ctx.client("logs")
        if int(olds.get("retentionInDays") or 0) != int(news.get("retentionInDays") or 0):
            if news.get("retentionInDays"):
                logs.put_retention_policy(logGroupName=id_, retentionInDays=int(news["retentionInDays"]))
            else:
                logs.delete_retention_policy(logGroupName=id_)
        old_tags, new_tags = olds.get("tags") or {}, news.get("tags") or {}
        if old_tags.keys() - new_tags.keys():
            logs.untag_resource(resourceArn=olds["arn"], tagKeys=sorted(old_tags.keys() - new_tags.keys()))
        changed = {k: v for k, v in new_tags.items() if old_tags.get(k) != v}
        if changed:
            logs.tag_resource(resourceArn=olds["arn"], tags=changed)
        return self.read(ctx, id_, news)

    def delete(self, ctx: Context, id_: str, state: dict[str, Any]) -> None:
        """DeleteLogGroup, unless ``skipDestroy`` keeps it."""
        if state.get("skipDestroy"):
            return
        try:
            ctx.client("logs").delete_log_group(logGroupName=id_)
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceNotFoundException":
                raise

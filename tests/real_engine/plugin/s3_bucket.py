"""``aws:s3/bucket:Bucket`` as pulumi-aws 7.51 (Terraform's ``aws_s3_bucket``) manages it.

The bucket's name is create-only and autonamed (lower case, as S3 wants); ``forceDestroy`` is the
provider's own switch (not an AWS setting): deleting a bucket that still holds objects fails
(BucketNotEmpty), unless it is on, when every object version is deleted first.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .base import Context, Field, Gone, ResourceType

MISSING_BUCKET = ("404", "NoSuchBucket", "NotFound")
US_EAST_1_ZONE = "Z3AQBSTGFYJSTF"  # S3's hosted zone in us-east-1, which the provider reports


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code"))


class Bucket(ResourceType):
    """An S3 bucket (its settings are resources of their own)."""

    token = "aws:s3/bucket:Bucket"
    autoname = "bucket"
    autoname_max = 63
    lower_autoname = True
    fields = (
        Field("bucket", create_only=True, computed=True),
        Field("bucketPrefix", create_only=True),
        Field("forceDestroy", default=False),
        Field("objectLockEnabled", create_only=True, computed=True),
        Field("tags"),
        Field("region", create_only=True, computed=True),
    )
    outputs = ("arn", "bucketDomainName", "bucketRegionalDomainName", "hostedZoneId", "bucketRegion", "id")

    def create(self, ctx: Context, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """CreateBucket (with a location outside us-east-1) and its tags."""
        name = inputs["bucket"]
        args: dict[str, Any] = {"Bucket": name}
        if ctx.region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
        if inputs.get("objectLockEnabled"):
            args["ObjectLockEnabledForBucket"] = True
        ctx.client("s3").create_bucket(**args)
        self._tag(ctx, name, inputs.get("tags") or {})
        return name, self.read(ctx, name, inputs)

    def _tag(self, ctx: Context, name: str, tags: dict[str, str]) -> None:
        s3 = ctx.client("s3")
        if tags:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
        else:
            s3.delete_bucket_tagging(Bucket=name)

    def read(self, ctx: Context, id_: str, state: dict[str, Any]) -> dict[str, Any]:
        """The bucket's state; :class:`Gone` when HeadBucket finds none."""
        s3 = ctx.client("s3")
        try:
            s3.head_bucket(Bucket=id_)
        except ClientError as e:
            if _code(e) in MISSING_BUCKET:
                raise Gone(id_) from e
            raise
        try:
            tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=id_)["TagSet"]}
        except ClientError as e:
            if _code(e) != "NoSuchTagSet":
                raise
            tags = {}
        return {
            "id": id_,
            "bucket": id_,
            "arn": f"arn:aws:s3:::{id_}",
            "bucketDomainName": f"{id_}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{id_}.s3.{ctx.region}.amazonaws.com",
            "hostedZoneId": US_EAST_1_ZONE,
            "bucketRegion": ctx.region,
            "region": ctx.region,
            "forceDestroy": bool(state.get("forceDestroy", False)),
            "objectLockEnabled": bool(state.get("objectLockEnabled", False)),
            "tags": tags,
            "tagsAll": dict(tags),
        }

    def update(self, ctx: Context, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        """Tags are all a bucket updates in place; ``forceDestroy`` only changes the state."""
        if (olds.get("tags") or {}) != (news.get("tags") or {}):
            self._tag(ctx, id_, news.get("tags") or {})
        return self.read(ctx, id_, news)

    def delete(self, ctx: Context, id_: str, state: dict[str, Any]) -> None:
        """DeleteBucket, after emptying it when ``forceDestroy`` is on."""
        s3 = ctx.client("s3")
        try:
            if state.get("forceDestroy"):
                _empty(s3, id_)
            s3.delete_bucket(Bucket=id_)
        except ClientError as e:
            if _code(e) not in MISSING_BUCKET:
                raise


def _empty(s3: Any, bucket: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if doomed:
            result = s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
            if result.get("Errors"):
                first = result["Errors"][0]
                raise RuntimeError(
                    f"emptying bucket {bucket}: {first.get('Code')} on {first.get('Key')}: {first.get('Message')}"
                )

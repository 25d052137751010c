"""A bucket's settings, each a resource of pulumi-aws 7.51 whose id is the bucket's name.

``BucketPublicAccessBlock``, ``BucketOwnershipControls``, ``BucketServerSideEncryptionConfiguration``
and ``BucketPolicy`` each put, read and delete one S3 sub-resource; their ``bucket`` is create-only.
A setting S3 reports missing is gone (Read), and deleting one already gone succeeds.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from .base import Context, Field, Gone, ResourceType


class BucketSetting(ResourceType):
    """One S3 bucket sub-resource: ``put``/``get``/``remove`` are the type's API calls."""

    missing: tuple[str, ...] = ()

    def put(self, s3: Any, inputs: dict[str, Any]) -> None:  # pragma: no cover - each type has its own
        """Apply the setting."""
        raise NotImplementedError

    def get(self, s3: Any, bucket: str) -> dict[str, Any]:  # pragma: no cover
        """The setting's state properties."""
        raise NotImplementedError

    def remove(self, s3: Any, bucket: str) -> None:  # pragma: no cover
        """Delete the setting."""
        raise NotImplementedError

    def create(self, ctx: Context, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Put the setting; the id is the bucket's name."""
        self.put(ctx.client("s3"), inputs)
        return inputs["bucket"], self.read(ctx, inputs["bucket"], inputs)

    def read(self, ctx: Context, id_: str, state: dict[str, Any]) -> dict[str, Any]:
        """The setting as S3 has it; :class:`Gone` when S3 has none (or no bucket)."""
        try:
            props = self.get(ctx.client("s3"), id_)
        except ClientError as e:
            if e.response["Error"]["Code"] in (*self.missing, "NoSuchBucket", "404"):
                raise Gone(id_) from e
            raise
        kept = {f.name: state[f.name] for f in self.fields if f.name not in props and f.name in state}
        return {**kept, "id": id_, "bucket": id_, "region": ctx.region, **props}

    def update(self, ctx: Context, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        """Put the setting again."""
        self.put(ctx.client("s3"), news)
        return self.read(ctx, id_, news)

    def delete(self, ctx: Context, id_: str, state: dict[str, Any]) -> None:
        """Delete the setting (gone already is fine)."""
        try:
            self.remove(ctx.client("s3"), id_)
        except ClientError as e:
            if e.response["Error"]["Code"] not in (*self.missing, "NoSuchBucket", "404"):
                raise


BLOCK_KEYS = {
    "blockPublicAcls": "BlockPublicAcls",
    "blockPublicPolicy": "BlockPublicPolicy",
    "ignorePublicAcls": "IgnorePublicAcls",
    "restrictPublicBuckets": "RestrictPublicBuckets",
}


class BucketPublicAccessBlock(BucketSetting):
    """The bucket's public access block (every flag defaults to false)."""

    token = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
    fields = (
        Field("bucket", required=True, create_only=True),
        *(Field(k, default=False) for k in BLOCK_KEYS),
        Field("skipDestroy"),
        Field("region", create_only=True, computed=True),
    )
    missing = ("NoSuchPublicAccessBlockConfiguration",)

    def put(self, s3: Any, inputs: dict[str, Any]) -> None:
        """PutPublicAccessBlock."""
        config = {api: bool(inputs.get(k)) for k, api in BLOCK_KEYS.items()}
        s3.put_public_access_block(Bucket=inputs["bucket"], PublicAccessBlockConfiguration=config)

    def get(self, s3: Any, bucket: str) -> dict[str, Any]:
        """GetPublicAccessBlock."""
        config = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        return {k: bool(config.get(api)) for k, api in BLOCK_KEYS.items()}

    def remove(self, s3: Any, bucket: str) -> None:
        """DeletePublicAccessBlock."""
        s3.delete_public_access_block(Bucket=bucket)

    def delete(self, ctx: Context, id_: str, state: dict[str, Any]) -> None:
        """Delete the block, unless ``skipDestroy`` keeps it."""
        if not state.get("skipDestroy"):
            super().delete(ctx, id_, state)


class BucketOwnershipControls(BucketSetting):
    """Who owns the objects written to the bucket."""

    token = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
    fields = (
        Field("bucket", required=True, create_only=True),
        Field("rule", required=True),
        Field("region", create_only=True, computed=True),
    )
    missing = ("OwnershipControlsNotFoundError",)

    def put(self, s3: Any, inputs: dict[str, Any]) -> None:
        """PutBucketOwnershipControls."""
        rule = {"ObjectOwnership": inputs["rule"]["objectOwnership"]}
        s3.put_bucket_ownership_controls(Bucket=inputs["bucket"], OwnershipControls={"Rules": [rule]})

    def get(self, s3: Any, bucket: str) -> dict[str, Any]:
        """GetBucketOwnershipControls."""
        rules = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
        return {"rule": {"objectOwnership": rules[0]["ObjectOwnership"]}}

    def remove(self, s3: Any, bucket: str) -> None:
        """DeleteBucketOwnershipControls."""
        s3.delete_bucket_ownership_controls(Bucket=bucket)


class BucketServerSideEncryptionConfiguration(BucketSetting):
    """The bucket's default encryption."""

    token = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    fields = (
        Field("bucket", required=True, create_only=True),
        Field("rules", required=True),
        Field("expectedBucketOwner", create_only=True),
        Field("region", create_only=True, computed=True),
    )
    missing = ("ServerSideEncryptionConfigurationNotFoundError",)

    def put(self, s3: Any, inputs: dict[str, Any]) -> None:
        """PutBucketEncryption."""
        rules = []
        for rule in inputs["rules"]:
            default = rule.get("applyServerSideEncryptionByDefault") or {}
            entry: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": default["sseAlgorithm"]}}
            if default.get("kmsMasterKeyId"):
                entry["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] = default["kmsMasterKeyId"]
            if rule.get("bucketKeyEnabled") is not None:
                entry["BucketKeyEnabled"] = bool(rule["bucketKeyEnabled"])
            rules.append(entry)
        s3.put_bucket_encryption(Bucket=inputs["bucket"], ServerSideEncryptionConfiguration={"Rules": rules})

    def get(self, s3: Any, bucket: str) -> dict[str, Any]:
        """GetBucketEncryption."""
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        out = []
        for rule in rules:
            default = rule.get("ApplyServerSideEncryptionByDefault") or {}
            by_default = {
                "sseAlgorithm": default.get("SSEAlgorithm"),
                "kmsMasterKeyId": default.get("KMSMasterKeyID", ""),
            }
            out.append(
                {
                    "applyServerSideEncryptionByDefault": by_default,
                    "bucketKeyEnabled": bool(rule.get("BucketKeyEnabled")),
                }
            )
        return {"rules": out}

    def remove(self, s3: Any, bucket: str) -> None:
        """DeleteBucketEncryption."""
        s3.delete_bucket_encryption(Bucket=bucket)


class BucketPolicy(BucketSetting):
    """The bucket's policy document (compared by meaning, not by text)."""

    token = "aws:s3/bucketPolicy:BucketPolicy"
    fields = (
        Field("bucket", required=True, create_only=True),
        Field("policy", required=True, as_json=True),
        Field("region", create_only=True, computed=True),
    )
    missing = ("NoSuchBucketPolicy",)

    def put(self, s3: Any, inputs: dict[str, Any]) -> None:
        """PutBucketPolicy."""
        policy = inputs["policy"]
        s3.put_bucket_policy(Bucket=inputs["bucket"], Policy=policy if isinstance(policy, str) else json.dumps(policy))

    def get(self, s3: Any, bucket: str) -> dict[str, Any]:
        """GetBucketPolicy."""
        return {"policy": s3.get_bucket_policy(Bucket=bucket)["Policy"]}

    def remove(self, s3: Any, bucket: str) -> None:
        """DeleteBucketPolicy."""
        s3.delete_bucket_policy(Bucket=bucket)

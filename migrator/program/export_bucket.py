"""The private, encrypted bucket that holds the export and its transformed copy."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws


def tls_only_policy(bucket_arn: str) -> dict[str, object]:
    """A bucket policy denying every request that does not use TLS."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def export_bucket(
    name: str, opts: pulumi.ResourceOptions, *, old_name: str | None = None, tls_only: bool = True
) -> aws.s3.Bucket:
    """Declare the bucket ``name`` and its access block, ownership, encryption and policy children.

    ``tls_only`` declares the policy denying every request without TLS. It is off only for a local
    emulator (``table-migration:endpoint``): an emulator such as moto enforces a bucket policy's Deny but
    never sets ``aws:SecureTransport``, so the policy would deny every request to it, TLS or not.

    The bucket and its settings are retained when they leave the stack and the bucket is never
    emptied by Pulumi: it holds the only copy of the export outside DynamoDB. ``old_name``: the name
    the bucket had before (its children were named from it too); each resource gets an ``Alias`` of
    its old name, so a stack made with the old names keeps its bucket.
    """

    def named(suffix: str, options: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
        if old_name is None:
            return options
        return pulumi.ResourceOptions.merge(
            options, pulumi.ResourceOptions(aliases=[pulumi.Alias(name=old_name + suffix)])
        )

    keep = pulumi.ResourceOptions(retain_on_delete=True)
    bucket = aws.s3.Bucket(name, force_destroy=False, opts=named("", pulumi.ResourceOptions.merge(opts, keep)))
    child = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(parent=bucket, retain_on_delete=True))
    access = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=named("-public-access", child),
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=named("-ownership", child),
    )
    _encryption(name, bucket, named("-encryption", child))
    if not tls_only:
        return bucket
    # S3 rejects a policy change that races the public access block change on the same bucket.
    aws.s3.BucketPolicy(
        f"{name}-tls-only",
        bucket=bucket.id,
        policy=bucket.arn.apply(lambda arn: json.dumps(tls_only_policy(arn))),
        opts=named("-tls-only", pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[access]))),
    )
    return bucket


def _encryption(name: str, bucket: aws.s3.Bucket, opts: pulumi.ResourceOptions) -> None:
    # SSE-S3 rather than KMS: DynamoDB export and ImportTable then need no key policy or
    # kms:Decrypt grant for whoever runs the migration, and emulators support it.
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                )
            )
        ],
        opts=opts,
    )

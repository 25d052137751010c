"""The explicit AWS provider for ``table-migration:endpoint`` (a local emulator such as moto)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from migrator.core.config import MigrationConfig

PROVIDER_NAME = "endpoint"


def endpoint_provider(config: MigrationConfig) -> aws.Provider | None:
    """An ``aws.Provider`` sending every service the program uses to the endpoint; None without one."""
    if config.endpoint is None:
        return None
    ep = config.endpoint
    return aws.Provider(
        PROVIDER_NAME,
        region=config.region,
        # An emulator has no account, no STS identity and no instance metadata to ask.
        skip_credentials_validation=True,
        skip_requesting_account_id=True,
        skip_metadata_api_check=True,
        skip_region_validation=True,
        # Emulators serve S3 on one host: virtual-hosted bucket names would not resolve.
        s3_use_path_style=True,
        endpoints=[
            aws.ProviderEndpointArgs(
                dynamodb=ep,
                s3=ep,
                lambda_=ep,
                iam=ep,
                sts=ep,
                cloudwatchlogs=ep,
            )
        ],
    )


def provider_options(provider: aws.Provider | None) -> pulumi.ResourceOptions:
    """Options that pin a custom resource to ``provider`` (or leave the default provider)."""
    return pulumi.ResourceOptions(provider=provider) if provider is not None else pulumi.ResourceOptions()

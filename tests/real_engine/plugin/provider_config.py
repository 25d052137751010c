"""CheckConfig, DiffConfig and Configure of ``pulumi:providers:aws``, as pulumi-aws answers them.

pulumi-aws needs a region (config or environment) and, unless ``skipCredentialsValidation``, checks
the credentials with STS GetCallerIdentity when it is configured; that call also gives the account
id, unless ``skipRequestingAccountId`` (then ARNs it builds carry moto's default account).
"""

from __future__ import annotations

import os
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .compare import same
from .config import AwsConfig, decode, from_variables
from .values import UNKNOWN, contains_unknown

DEFAULT_ACCOUNT = "123456789012"  # moto's account, used when the provider may not ask STS
MISSING_REGION = (
    "Missing region information: set the `aws:region` configuration (or the provider's `region`), "
    "or the AWS_REGION environment variable"
)

__all__ = ["ConfigError", "ProviderState", "check", "diff", "from_variables"]


class ConfigError(Exception):
    """The provider cannot be configured (no region, credentials refused)."""


def check(news: dict[str, Any]) -> list[tuple[str, str]]:
    """Failures of the provider's inputs: only a missing region (a known value that is empty)."""
    region = news.get("region")
    if region is UNKNOWN:
        return []
    if not region and not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        return [("region", MISSING_REGION)]
    return []


def diff(olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
    """The settings that changed (unknown ones count as changed)."""
    keys = sorted(set(olds) | set(news))
    return [k for k in keys if not same(decode(news.get(k)), decode(olds.get(k)))]


class ProviderState:
    """The configuration of this provider process once Configure has run."""

    def __init__(self) -> None:
        self.aws: AwsConfig | None = None
        self.account = DEFAULT_ACCOUNT

    def configure(self, inputs: dict[str, Any]) -> None:
        """Take the settings; with all of them known and validation on, check the credentials."""
        aws = AwsConfig.from_inputs(inputs)
        if not aws.region and "region" not in inputs:
            raise ConfigError(MISSING_REGION)
        self.aws = aws
        if contains_unknown(inputs) or aws.skip_credentials_validation:
            return
        try:
            self.account = aws.client("sts").get_caller_identity()["Account"]
        except (BotoCoreError, ClientError) as e:
            reason = f"validating provider credentials: retrieving caller identity from STS: {e}"
            raise ConfigError(f"configuring the AWS provider: {reason}") from e

    def require(self) -> AwsConfig:
        """The configuration; a call before Configure is the engine's mistake."""
        if self.aws is None:
            raise ConfigError("the provider was not configured")
        return self.aws

"""The door to AWS: building clients, and the one place where botocore's errors become ours.

Clients are passed into the data-plane functions; they are built only at the edge (CLI, orchestrator).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from ..core.errors import AwsError, BadInputError, NotFoundError

DEFAULT_REGION = "us-east-1"

_NOT_FOUND = {
    "ResourceNotFoundException",
    "TableNotFoundException",
    "NoSuchBucket",
    "NoSuchKey",
    "ExportNotFoundException",
    "ImportNotFoundException",
}


@dataclass(frozen=True)
class AwsSettings:
    """Where AWS calls go: region and an optional endpoint (moto, LocalStack)."""

    region: str = DEFAULT_REGION
    endpoint_url: str | None = None

    @classmethod
    def resolve(cls, *, region: str | None = None, endpoint_url: str | None = None) -> AwsSettings:
        """Explicit values over the environment (AWS_ENDPOINT_URL, AWS_REGION, AWS_DEFAULT_REGION) over defaults."""
        return cls(
            region=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
            endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None,
        )

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` with adaptive retries and a pool large enough for parallel scans."""
        options: dict[str, Any] = {}
        if service == "dynamodbstreams":
            # Account-based endpoints (https://<account>.ddb.<region>...) exist for DynamoDB, not for its
            # Streams API; with them resolved, moto answers stream calls 404. Streams stay on the
            # regional endpoint, which is where AWS serves them anyway.
            options["account_id_endpoint_mode"] = "disabled"
        config = Config(retries={"mode": "adaptive", "max_attempts": 10}, max_pool_connections=64, **options)
        return boto3.session.Session().client(
            service, region_name=self.region, endpoint_url=self.endpoint_url, config=config
        )


def error_code(error: ClientError) -> str:
    """AWS's error code of a ClientError."""
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def error_message(error: ClientError) -> str:
    """AWS's error message of a ClientError."""
    return str(error.response.get("Error", {}).get("Message", "")).strip()


@contextmanager
def aws_errors(action: str, *, what: str | None = None, hint: str | None = None) -> Iterator[None]:
    """Turn botocore errors raised inside into ours.

    ``action`` says what we were doing ("export MyTable"); ``what`` names the thing that may be
    missing ("table MyTable", "bucket b") for a not-found error.
    """
    try:
        yield
    except ClientError as e:
        code, message = error_code(e), error_message(e)
        if code in _NOT_FOUND or code == "404":
            thing = what or "the resource"
            raise NotFoundError(
                f"Cannot {action}: {thing} does not exist ({code}).",
                hint=hint or "Check the name, the region and the account (or --endpoint-url).",
                code=code,
            ) from e
        if code in ("AccessDenied", "AccessDeniedException", "UnrecognizedClientException"):
            raise AwsError(
                f"Cannot {action}: access denied ({code}: {message}).",
                hint="Use credentials allowed to do this (AWS_PROFILE or the role in use).",
                code=code,
            ) from e
        raise AwsError(f"Cannot {action}: {code}: {message}", hint=hint or "", code=code) from e
    except NoCredentialsError as e:
        raise BadInputError(
            f"Cannot {action}: no AWS credentials found.",
            hint="Set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (any values for a local emulator).",
        ) from e
    except EndpointConnectionError as e:
        raise BadInputError(
            f"Cannot {action}: no AWS endpoint answers at {e.kwargs.get('endpoint_url', '?')}.",
            hint="Check --endpoint-url / AWS_ENDPOINT_URL and the region.",
        ) from e
    except BotoCoreError as e:
        raise AwsError(f"Cannot {action}: {e}", hint=hint or "") from e

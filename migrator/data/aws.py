"""The door to AWS: building clients, and the one place where botocore's errors become ours.

Clients are passed into the data-plane functions; they are built only at the edge (CLI, orchestrator).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
)

from migrator.core.errors import AwsError, BadInputError, NotFoundError

DEFAULT_REGION = "us-east-1"
# botocore's own rules, checked here first so a bad value is one sentence instead of a traceback.
_REGION = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])?")
_ENDPOINT = re.compile(r"https?://[^\s/?#]+(?:[/?#]\S*)?")
# What S3 accepts for existing buckets (older us-east-1 buckets may hold capitals and '_').
_BUCKET = re.compile(r"[a-zA-Z0-9.\-_]{1,255}")

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
    def resolve(
        cls,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        names: tuple[str, str] = ("region", "endpoint URL"),
    ) -> AwsSettings:
        """Explicit values over the environment (AWS_ENDPOINT_URL, AWS_REGION, AWS_DEFAULT_REGION) over defaults.

        Each value is checked; :class:`BadInputError` names where a bad one came from: ``names`` for
        the explicit values (the CLI passes its option names), else the environment variable.
        """
        region_from, region_value = _first(
            (names[0], region),
            ("AWS_REGION", os.environ.get("AWS_REGION")),
            ("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION")),
            ("the default region", DEFAULT_REGION),
        )
        endpoint_from, endpoint_value = _first(
            (names[1], endpoint_url), ("AWS_ENDPOINT_URL", os.environ.get("AWS_ENDPOINT_URL"))
        )
        if not _REGION.fullmatch(region_value or ""):
            raise BadInputError(
                f"{region_from} {region_value!r} is not an AWS region name; give one like us-east-1.", hint=""
            )
        if endpoint_value is not None and not _ENDPOINT.fullmatch(endpoint_value):
            raise BadInputError(
                f"{endpoint_from} {endpoint_value!r} is not an http(s) URL; give one like http://127.0.0.1:5000, "
                "or none for AWS itself.",
                hint="",
            )
        return cls(region=region_value or DEFAULT_REGION, endpoint_url=endpoint_value)

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` with adaptive retries and a pool large enough for parallel scans."""
        options: dict[str, Any] = {}
        if service == "dynamodbstreams":
            # Account-based endpoints (https://<account>.ddb.<region>...) exist for DynamoDB, not for its
            # Streams API; with them resolved, moto answers stream calls 404. Streams stay on the
            # regional endpoint, which is where AWS serves them anyway.
            options["account_id_endpoint_mode"] = "disabled"
        config = Config(retries={"mode": "adaptive", "max_attempts": 10}, max_pool_connections=64, **options)
        try:
            return boto3.session.Session().client(
                service, region_name=self.region, endpoint_url=self.endpoint_url, config=config
            )
        except (BotoCoreError, ValueError) as e:  # a region or endpoint botocore refuses (settings built by hand)
            raise BadInputError(
                f"Cannot use AWS with region {self.region!r} and endpoint {self.endpoint_url!r}: {e}.",
                hint="Check --region and --endpoint-url (or AWS_REGION, AWS_ENDPOINT_URL).",
            ) from e


def _first(*candidates: tuple[str, str | None]) -> tuple[str, str | None]:
    """The first candidate with a value (an empty string counts as none), as (where from, value)."""
    for source, value in candidates:
        if value:
            return source, value
    return candidates[-1][0], None


def check_bucket_name(name: str, *, given_as: str) -> str:
    """``name`` if S3 could hold a bucket so named; :class:`BadInputError` naming ``given_as`` otherwise."""
    if not _BUCKET.fullmatch(name):
        raise BadInputError(
            f"{given_as} {name!r} is not an S3 bucket name; bucket names are lowercase letters, digits, '.' and '-'.",
            hint="",
        )
    return name


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
    except ParamValidationError as e:
        # botocore's text can run to hundreds of characters (it quotes its regexes): keep the first clause.
        first = str(e).splitlines()[-1].split(":")[0].strip()
        raise BadInputError(f"Cannot {action}: {first}.", hint=hint or "Check the names given.") from e
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

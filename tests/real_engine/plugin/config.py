"""The provider's configuration (``pulumi:providers:aws`` inputs or the stack's ``aws:*`` config) and its clients.

pulumi-aws takes its settings from the provider's inputs, then from the environment as the AWS SDK
does: region from ``AWS_REGION``/``AWS_DEFAULT_REGION``, credentials from ``AWS_ACCESS_KEY_ID`` etc.,
and an endpoint per service from ``endpoints``, then ``AWS_ENDPOINT_URL_<SERVICE>`` or
``AWS_ENDPOINT_URL`` (the Go SDK v2 honours those for every provider instance). The Python SDK sends
the provider's non-string inputs JSON-encoded (``endpoints``, booleans), so values are decoded here.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from .values import UNKNOWN

# boto3 service name → the key of pulumi-aws's ``endpoints`` block that overrides it.
ENDPOINT_KEYS = {
    "dynamodb": ("dynamodb",),
    "dynamodbstreams": ("dynamodb",),
    "s3": ("s3", "s3api"),
    "lambda": ("lambda",),
    "iam": ("iam",),
    "sts": ("sts",),
    "logs": ("cloudwatchlogs", "logs", "cloudwatchlog"),
}
BOOLEAN_KEYS = ("skipCredentialsValidation", "skipRequestingAccountId", "s3UsePathStyle", "skipRegionValidation")


def decode(value: Any) -> Any:
    """A provider input as a value: the SDK JSON-encodes everything but strings."""
    if isinstance(value, str) and (value[:1] in ("[", "{") or value in ("true", "false")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def from_variables(variables: dict[str, str]) -> dict[str, Any]:
    """Configure's legacy ``aws:config:<key>`` map as provider inputs."""
    return {key.rsplit(":", 1)[-1]: value for key, value in variables.items()}


@dataclass
class AwsConfig:
    """The settings one provider instance applies resources with."""

    region: str | None = None
    endpoints: dict[str, str] = field(default_factory=dict)
    access_key: str | None = None
    secret_key: str | None = None
    token: str | None = None
    path_style: bool = False
    skip_credentials_validation: bool = False
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_inputs(cls, inputs: dict[str, Any]) -> AwsConfig:
        """The settings from the provider's (decoded) inputs, the environment filling the gaps."""
        values = {k: decode(v) for k, v in inputs.items() if v is not UNKNOWN}
        endpoints: dict[str, str] = {}
        for block in values.get("endpoints") or []:
            endpoints.update({k: v for k, v in (block or {}).items() if isinstance(v, str) and v})
        return cls(
            region=values.get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
            endpoints=endpoints,
            access_key=values.get("accessKey"),
            secret_key=values.get("secretKey"),
            token=values.get("token"),
            path_style=bool(values.get("s3UsePathStyle")),
            skip_credentials_validation=bool(values.get("skipCredentialsValidation")),
        )

    def endpoint(self, service: str) -> str | None:
        """The endpoint for ``service``: the provider's ``endpoints``, else the environment's."""
        for key in ENDPOINT_KEYS.get(service, (service,)):
            if self.endpoints.get(key):
                return self.endpoints[key]
        env_name = "AWS_ENDPOINT_URL_" + service.upper()
        return os.environ.get(env_name) or os.environ.get("AWS_ENDPOINT_URL")

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` (one per service, shared by the gRPC threads: clients are thread-safe)."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._new_client(service)
            return self._clients[service]

    def _new_client(self, service: str) -> Any:
        config = Config(
            retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": "path" if self.path_style else "auto"},
            # moto's DynamoDB Streams only answers on the plain endpoint, not the account-based one.
            account_id_endpoint_mode="disabled",
        )
        session = boto3.session.Session(
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            aws_session_token=self.token,
            region_name=self.region,
        )
        return session.client(service, endpoint_url=self.endpoint(service), config=config)

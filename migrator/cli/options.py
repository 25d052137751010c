"""Options shared by the data-plane commands (export, transform, verify): where AWS calls go, and ``--json``."""

from __future__ import annotations

from typing import Annotated

import typer

from migrator.data.aws import AwsSettings

EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        help="Send every AWS call here (moto, LocalStack). Default: AWS_ENDPOINT_URL, else AWS itself.",
        show_default=False,
    ),
]
RegionOpt = Annotated[
    str | None,
    typer.Option(
        "--region", help="AWS region. Default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1.", show_default=False
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout; progress stays on stderr.")]


def settings(endpoint: str | None, region: str | None) -> AwsSettings:
    """The AwsSettings for the options given: flags over the environment over defaults."""
    return AwsSettings.resolve(region=region, endpoint_url=endpoint, names=("--region", "--endpoint-url"))

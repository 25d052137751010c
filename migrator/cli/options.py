"""Options shared by the data-plane commands (export, transform, verify): where AWS calls go, where the work
runs (``--compute``), and ``--json``."""

from __future__ import annotations

from typing import Annotated

import typer

from migrator.core.data_config import COMPUTE_KINDS, DEFAULT_MASTER, MASTER_HINT, Compute, is_master
from migrator.core.errors import BadInputError
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


ComputeOpt = Annotated[
    str,
    typer.Option(
        "--compute",
        help="Where the work runs: local (this machine's processes) or spark (the spark extra, Java 17).",
    ),
]
MasterOpt = Annotated[
    str | None,
    typer.Option(
        "--master",
        help="Spark master with --compute spark: local[*] (default), spark://…, yarn, k8s://…",
        show_default=False,
    ),
]


def compute(kind: str, master: str | None) -> Compute:
    """The Compute for ``--compute`` and ``--master``; BadInputError (exit 2) naming the option otherwise."""
    if kind not in COMPUTE_KINDS:
        raise BadInputError(
            f"--compute {kind!r} is not one of {', '.join(COMPUTE_KINDS)}.", hint="Use --compute local or spark."
        )
    if master is not None and kind != "spark":
        raise BadInputError("--master is for Spark.", hint="Add --compute spark, or leave --master out.")
    if master is not None and not is_master(master):
        raise BadInputError(f"--master {master!r} is not a Spark master.", hint=MASTER_HINT)
    return Compute(kind, master or DEFAULT_MASTER)

"""Reading the writers as Lambda has them now (their table variable and reserved concurrency), changing nothing."""

from __future__ import annotations

from typing import Any

from migrator.core.errors import MigrationError
from migrator.core.evidence import LiveWriter
from migrator.core.online_config import Writer
from migrator.data.aws import aws_errors


def read_writer(lambda_client: Any, writer: Writer) -> LiveWriter:
    """``writer``'s table variable and reserved concurrency; a writer that cannot be read says why."""
    try:
        with aws_errors(f"read function {writer.function}", what=f"function {writer.function}"):
            config = lambda_client.get_function_configuration(FunctionName=writer.function)
            # GetFunction omits a reserved concurrency of 0 on moto; GetFunctionConcurrency gives it on both.
            concurrency = lambda_client.get_function_concurrency(FunctionName=writer.function)
    except MigrationError as e:
        return LiveWriter(writer.function, writer.env, problem=e.message)
    variables = (config.get("Environment") or {}).get("Variables") or {}
    reserved = concurrency.get("ReservedConcurrentExecutions")
    table = variables.get(writer.env)
    return LiveWriter(writer.function, writer.env, table, None if reserved is None else int(reserved))

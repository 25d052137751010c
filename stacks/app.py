"""The example application: a ``MigratingTable`` and the ``HelloWorld`` Lambda that uses its active table."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from migrator.program import (
    MigratingTable,
    MigrationConfig,
    derive_assets,
    endpoint_provider,
    lambda_trust_policy,
    load_config,
    provider_options,
)

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_DIR = ROOT / "functions" / "hello_world"
LOG_RETENTION_DAYS = 7
TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)


def function_name(stack: str) -> str:
    """The physical Lambda name: one per stack, in Lambda's alphabet and 64 characters."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"HelloWorld-{stack}")[:64]


def function_code() -> pulumi.AssetArchive:
    """The Lambda archive: the handler at the root, plus the migrator's derive code (stdlib only) to key new items."""
    return pulumi.AssetArchive({"handler.py": pulumi.FileAsset(str(FUNCTION_DIR / "handler.py")), **derive_assets()})


def table_schemas(config: MigrationConfig) -> str:
    """``TABLE_SCHEMAS``: how the handler keys an item for each table, by table name (the new one with its derive)."""
    schemas = {}
    for spec, derive in ((config.legacy, None), (config.new, config.derive)):
        assert spec is not None  # newTable is required from stage 1
        entry: dict[str, object] = {"partitionKey": spec.partition_key.name}
        if spec.sort_key is not None:
            entry["sortKey"] = spec.sort_key.name
        if spec.ttl_attribute:
            entry["ttlAttribute"] = spec.ttl_attribute
        if derive:
            entry["derive"] = {rule.target: rule.text for rule in derive}
        schemas[spec.name] = entry
    return json.dumps(schemas, sort_keys=True)


def consumer_environment(config: MigrationConfig, table: MigratingTable) -> dict[str, pulumi.Input[str]]:
    """The function's environment: the active table and what the handler needs to key an item for it.

    Online, at stages 2 and 3, it also names both tables' schemas (``TABLE_SCHEMAS``) and the single-table
    variables stay the legacy table's: the migrator's cutover flips ``TABLE_NAME`` alone (the handler
    keys items by the schema of the table it names), and the stage-3 update then declares that very
    environment, so it leaves the function as the flip made it.
    """
    if table.plan.both_schemas:
        spec = config.legacy
        env: dict[str, pulumi.Input[str]] = {
            "TABLE_NAME": table.active_table_name,
            "PARTITION_KEY": spec.partition_key.name,
            "NAME_ATTRIBUTE": spec.partition_key.name,
            "NAME_TYPE": spec.partition_key.type,
            "TABLE_SCHEMAS": table_schemas(config),
        }
        if spec.sort_key is not None:
            env["SORT_KEY"] = spec.sort_key.name
        if spec.ttl_attribute:
            env["TTL_ATTRIBUTE"] = spec.ttl_attribute
        return env
    spec = table.active_spec
    env: dict[str, pulumi.Input[str]] = {
        "TABLE_NAME": table.active_table_name,
        "PARTITION_KEY": spec.partition_key.name,
        "NAME_ATTRIBUTE": config.legacy.partition_key.name,
        "NAME_TYPE": config.legacy.partition_key.type,
    }
    if spec.sort_key is not None:
        env["SORT_KEY"] = spec.sort_key.name
    if spec.ttl_attribute:
        env["TTL_ATTRIBUTE"] = spec.ttl_attribute
    if table.plan.active == "new" and config.derive:
        env["KEY_DERIVE"] = json.dumps({rule.target: rule.text for rule in config.derive})
    return env


def consumer_policy(table_arns: list[str], log_group_arn: str) -> str:
    """Read/write on the given tables (and their indexes) and writing to its own log group; nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Tables",
                    "Effect": "Allow",
                    "Action": list(TABLE_ACTIONS),
                    "Resource": [arn for table in table_arns for arn in (table, f"{table}/index/*")],
                },
                {
                    "Sid": "OwnLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": [log_group_arn, f"{log_group_arn}:*"],
                },
            ],
        }
    )


@dataclass(frozen=True)
class HelloWorld:
    """The consumer's resources."""

    function: aws.lambda_.Function
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup


def hello_world(config: MigrationConfig, table: MigratingTable, provider: aws.Provider | None) -> HelloWorld:
    """Declare the HelloWorld Lambda, its log group and its role.

    The role is granted every table the stack declares: the legacy one until it leaves (stage 4), the
    new one from when it exists (stage 2). Across the cutover both are granted, so the running function
    never writes to a table it has no grant for, whichever of policy and environment changes first
    (and the same going back with ``down`` 3→2).
    """
    opts = provider_options(provider)
    name = function_name(pulumi.get_stack())
    log_group = aws.cloudwatch.LogGroup(
        "hello-world-logs", name=f"/aws/lambda/{name}", retention_in_days=LOG_RETENTION_DAYS, opts=opts
    )
    role = aws.iam.Role("hello-world-role", assume_role_policy=lambda_trust_policy(), opts=opts)
    policy = aws.iam.RolePolicy(
        "hello-world-policy",
        role=role.id,
        policy=pulumi.Output.all(log_group.arn, *table.table_arns).apply(lambda a: consumer_policy(list(a[1:]), a[0])),
        opts=opts,
    )
    function = aws.lambda_.Function(
        "hello-world",
        name=name,
        runtime="python3.12",
        handler="handler.handler",
        code=function_code(),
        role=role.arn,
        timeout=10,
        memory_size=128,
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=consumer_environment(config, table)),
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=log_group.name),
        # Lambda would otherwise create the group itself on first log, with no retention,
        # and the function must not run before its policy allows it to reach the table.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[log_group, policy])),
    )
    return HelloWorld(function, role, log_group)


def export_outputs(config: MigrationConfig, table: MigratingTable, consumer: HelloWorld) -> None:
    """The stack outputs the README lists ("The program"): the stage and the tables, bucket and function."""
    pulumi.export("stage", config.stage)
    pulumi.export("activeTableName", table.active_table_name)
    pulumi.export("activeTableArn", table.active_table_arn)
    pulumi.export("legacyTableName", table.legacy.name if table.legacy is not None else config.legacy.name)
    if table.legacy is not None:
        pulumi.export("legacyTableArn", table.legacy.arn)
    if table.new is not None:
        pulumi.export("newTableName", table.new.name)
        pulumi.export("newTableArn", table.new.arn)
    if table.export_bucket_name is not None:
        pulumi.export("exportBucket", table.export_bucket_name)
    pulumi.export("consumerFunctionName", consumer.function.name)


def main() -> None:
    """The whole program: read the config, declare the stage, export the outputs."""
    config = load_config()
    provider = endpoint_provider(config)
    component_opts = pulumi.ResourceOptions(providers=[provider]) if provider is not None else None
    table = MigratingTable("table", config, opts=component_opts)
    consumer = hello_world(config, table, provider)
    export_outputs(config, table, consumer)

"""A Lambda function with its role, inline policy and log group through the plugin on the real engine:
the archive the engine sends is zipped and uploaded, and an update's environment and reserved
concurrency are really applied in moto.
"""

from __future__ import annotations

import pytest

from tests.real_engine.helpers import Project, RealEngine

pytestmark = pytest.mark.real_engine

FUNCTION = "consumer-real-engine"

PROGRAM = """
import json
import pulumi
import pulumi_aws as aws
from migrator.program.lambda_code import derive_assets

logs = aws.cloudwatch.LogGroup("logs", name="/aws/lambda/consumer-real-engine", retention_in_days=7)
trust = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
role = aws.iam.Role("role", assume_role_policy=json.dumps(trust))
policy = aws.iam.RolePolicy("policy", role=role.id, policy=logs.arn.apply(lambda arn: json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": arn}]})))
handler = pulumi.StringAsset("def handler(e, c):\\n    return e\\n")
code = pulumi.AssetArchive({"handler.py": handler, **derive_assets()})
function = aws.lambda_.Function(
    "consumer",
    name="consumer-real-engine",
    runtime="python3.12",
    handler="handler.handler",
    code=code,
    role=role.arn,
    timeout=10,
    memory_size=128,
    environment=aws.lambda_.FunctionEnvironmentArgs(variables={"STAGE": "%s"}),
    logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=logs.name),
    %s
    opts=pulumi.ResourceOptions(depends_on=[policy]),
)
pulumi.export("role", role.name)
pulumi.export("codeHash", function.source_code_hash)
"""


@pytest.fixture(scope="module")
def consumer(real_engine: RealEngine) -> Project:
    """The function at stage 1, no reserved concurrency."""
    project = real_engine.project("functions", PROGRAM % ("1", ""))
    project.up()
    return project


def test_the_function_role_policy_and_log_group_exist_in_moto_as_declared(
    real_engine: RealEngine, consumer: Project
) -> None:
    conf = real_engine.client("lambda").get_function(FunctionName=FUNCTION)["Configuration"]
    assert conf["Environment"]["Variables"] == {"STAGE": "1"}
    assert (conf["Runtime"], conf["Handler"], conf["Timeout"], conf["MemorySize"]) == (
        "python3.12",
        "handler.handler",
        10,
        128,
    )
    role = str(consumer.stack.outputs()["role"].value)
    assert role.startswith("role-")  # autonamed
    assert conf["Role"] == real_engine.client("iam").get_role(RoleName=role)["Role"]["Arn"]
    assert real_engine.client("iam").list_role_policies(RoleName=role)["PolicyNames"][0].startswith("policy-")
    groups = real_engine.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/consumer-real-engine")[
        "logGroups"
    ]
    assert groups[0]["retentionInDays"] == 7
    # the uploaded zip is what the state records
    assert consumer.stack.outputs()["codeHash"].value == conf["CodeSha256"]


def test_an_update_of_environment_and_concurrency_is_visible_in_moto_and_then_stable(
    real_engine: RealEngine, consumer: Project
) -> None:
    # Given the function at stage 1, when the program sets stage 2 and reserves concurrency
    result = consumer.up(PROGRAM % ("2", "reserved_concurrent_executions=3,"))
    assert result.summary.resource_changes.get("update") == 1, result.summary.resource_changes

    # then moto has the new environment and the reservation, and the code is the same upload
    client = real_engine.client("lambda")
    found = client.get_function(FunctionName=FUNCTION)
    assert found["Configuration"]["Environment"]["Variables"] == {"STAGE": "2"}
    assert client.get_function_concurrency(FunctionName=FUNCTION)["ReservedConcurrentExecutions"] == 3
    assert result.outputs["codeHash"].value == found["Configuration"]["CodeSha256"]

    # and nothing is left to change.
    assert consumer.preview() == {}


def test_ignore_changes_leaves_an_environment_change_out_of_the_plan(consumer: Project) -> None:
    # Given the function at stage 2, when the program says stage 3 but ignores changes to its environment
    program = (PROGRAM % ("3", "reserved_concurrent_executions=3,")).replace(
        "depends_on=[policy])", 'depends_on=[policy], ignore_changes=["environment"])'
    )
    # then the preview has nothing to do; without ignore_changes it has an update.
    assert consumer.preview(program) == {}
    assert consumer.preview(PROGRAM % ("3", "reserved_concurrent_executions=3,")) == {"update": 1}

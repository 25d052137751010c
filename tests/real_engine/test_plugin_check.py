"""The plugin's Check on the real engine: pulumi-aws's defaults and plan-time validation reach the user
as the preview's error, before anything is created (the engine stops at the first failed Check, so
each case is a program of its own)."""

from __future__ import annotations

import pytest
from pulumi import automation as auto

from tests.real_engine.helpers import Project, RealEngine

pytestmark = pytest.mark.real_engine

CASES = {
    # No billing mode: pulumi-aws defaults it to PROVISIONED, which then needs both capacities.
    "readCapacity must be set when billingMode is PROVISIONED": """
aws.dynamodb.Table(
    "unbilled", name="Unbilled", hash_key="Id", attributes=[aws.dynamodb.TableAttributeArgs(name="Id", type="S")]
)
""",
    "all attributes must be indexed. Unused attributes: ['Spare']": """
aws.dynamodb.Table(
    "unused", name="Unused", hash_key="Id", billing_mode="PAY_PER_REQUEST",
    attributes=[
        aws.dynamodb.TableAttributeArgs(name="Id", type="S"),
        aws.dynamodb.TableAttributeArgs(name="Spare", type="S"),
    ],
)
""",
    "streamViewType is required when streamEnabled = true": """
aws.dynamodb.Table(
    "streamed", name="Streamed", hash_key="Id", billing_mode="PAY_PER_REQUEST", stream_enabled=True,
    attributes=[aws.dynamodb.TableAttributeArgs(name="Id", type="S")],
)
""",
}


@pytest.fixture(scope="module")
def checks(real_engine: RealEngine) -> Project:
    """An empty program's stack."""
    return real_engine.project("checks", "")


@pytest.mark.parametrize("reason", list(CASES))
def test_a_check_failure_stops_the_preview_with_the_providers_reason(
    real_engine: RealEngine, checks: Project, reason: str
) -> None:
    with pytest.raises(auto.CommandError) as failed:
        checks.preview("import pulumi_aws as aws\n" + CASES[reason])
    assert reason in str(failed.value)
    assert not {"Unbilled", "Unused", "Streamed"} & set(real_engine.client("dynamodb").list_tables()["TableNames"])


def test_the_installed_plugin_reports_the_version_pulumi_aws_asks_for(real_engine: RealEngine) -> None:
    listed = real_engine.pulumi("plugin", "ls", cwd=real_engine.root).stdout
    assert any(line.split()[:3] == ["aws", "resource", "7.51.1"] for line in listed.splitlines()), listed

"""Contract: an update held to the plan of the preview before it; one body for the double and the real engine.

:class:`~migrator.engine.workspace.PulumiWorkspace` saves a plan with each preview (``--save-plan``) and
runs the next update with it (``up --plan``): a program that changed in between cannot do what the
preview did not show. One stack per side, in order.
"""

from __future__ import annotations

import pytest

from migrator.core.errors import PulumiError
from tests.real_engine.contract import SIDES, Side, error_text, side_fixture

BASE = """
import pulumi
import pulumi_aws as aws

def table(name, physical, tags=None):
    return aws.dynamodb.Table(
        name,
        name=physical,
        hash_key="Id",
        attributes=[aws.dynamodb.TableAttributeArgs(name="Id", type="S")],
        billing_mode="PAY_PER_REQUEST",
        tags=tags,
    )

"""
FIRST = BASE + 'table("first", "@PlanFirst", {"v": "1"})\n'
PLANNED = FIRST + 'table("planned", "@PlanPlanned")\n'
SWAPPED = FIRST + 'table("other", "@PlanOther")\n'
RETAGGED = BASE + 'table("first", "@PlanFirst", {"v": "2"})\n'


@pytest.fixture(scope="module", params=SIDES)
def side(request: pytest.FixtureRequest) -> Side:
    return side_fixture(request, "contract-plans", FIRST)


def test_a_create_the_preview_did_not_show_is_refused(side: Side) -> None:
    # Given a stack, and a preview of a program adding one table
    side.stack.up()
    side.write(PLANNED)
    assert side.summary() == {"create": 1}

    # when the program adds another table instead before the update, then the update is refused
    side.write(SWAPPED)
    with pytest.raises(PulumiError) as refused:
        side.stack.up()
    assert "not allowed by the plan" in error_text(refused.value)
    # and neither table is made.
    assert set(side.held()) == {"first"}
    assert not {side.physical("PlanPlanned"), side.physical("PlanOther")} & side.tables()


def test_changed_inputs_violate_the_plan_and_a_new_preview_makes_a_new_one(side: Side) -> None:
    # Given a preview of the program as it is (no change)
    side.write(FIRST)
    assert side.summary() == {}

    # when the program changes the table's tags before the update, then the update is refused,
    side.write(RETAGGED)
    with pytest.raises(PulumiError) as refused:
        side.stack.up()
    assert "violates plan" in error_text(refused.value)
    arn = side.dynamodb.describe_table(TableName=side.physical("PlanFirst"))["Table"]["TableArn"]
    assert side.dynamodb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "v", "Value": "1"}]

    # while a preview of the new program makes a plan that the update then keeps to.
    assert side.summary() == {"update": 1}
    side.stack.up()
    assert side.dynamodb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "v", "Value": "2"}]

"""Update plans on the real engine: the migrator's ``preview --save-plan`` then ``up --plan`` is accepted, and
the engine holds the update to the plan (a step the preview did not show is refused); with
``TABLE_MIGRATION_UPDATE_PLANS=off`` the update runs without one (README, "The guard fails closed")."""

from __future__ import annotations

import pytest

from migrator.core.errors import PulumiError
from migrator.engine.workspace import UPDATE_PLANS_ENV, PulumiWorkspace
from tests.real_engine.helpers import RealEngine

pytestmark = pytest.mark.real_engine

TABLE = "aws:dynamodb/table:Table"
PROGRAM = """
import pulumi_aws as aws

aws.dynamodb.Table(
    "orders",
    name="PlanOrders",
    hash_key="Customer",
    attributes=[aws.dynamodb.TableAttributeArgs(name="Customer", type="S")],
    billing_mode="PAY_PER_REQUEST",
    tags=%r,
)
"""


def test_the_engine_accepts_the_saved_plan_and_refuses_a_step_it_did_not_show(
    real_engine: RealEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = real_engine.project("update-plans", PROGRAM % {"v": "1"})
    workspace = PulumiWorkspace.open(stack="test", work_dir=project.folder, env=real_engine.env)
    assert workspace.supports_update_plans()

    # the plan of a preview is accepted by the update it was made for
    assert workspace.preview().counts.get("create") == 2  # the stack and the table
    workspace.up()
    assert project.resource(TABLE, "orders") is not None

    # a program that changed between the preview and the update: the engine refuses the unplanned step
    workspace.preview()
    project.write(PROGRAM % {"v": "2"})
    with pytest.raises(PulumiError, match="plan"):
        workspace.up()
    assert project.resource(TABLE, "orders")["inputs"]["tags"] == {"v": "1"}

    # with update plans turned off, the same update runs
    monkeypatch.setenv(UPDATE_PLANS_ENV, "off")
    assert not workspace.supports_update_plans()
    workspace.preview()
    project.write(PROGRAM % {"v": "3"})
    workspace.up()
    assert project.resource(TABLE, "orders")["inputs"]["tags"] == {"v": "3"}

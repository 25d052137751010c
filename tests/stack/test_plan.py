"""The pure stage plan (the README's "Stages" and "The program" tables, as data)."""

from __future__ import annotations

import pytest

from migrator.core.config import parse_config
from migrator.program.plan import active_spec, plan_for, plan_stage
from tests.stack.harness import example_config


def test_plan_of_each_stage():
    rows = [
        (p.declare_legacy, p.legacy_pitr, p.export_bucket, p.declare_new, p.new_is_live, p.active)
        for p in (plan_stage(s) for s in range(5))
    ]
    assert rows == [
        (True, False, False, False, False, "legacy"),
        (True, True, True, False, False, "legacy"),
        (True, True, True, True, False, "legacy"),
        (True, True, True, True, True, "new"),
        (False, True, True, True, True, "new"),
    ]


@pytest.mark.parametrize("stage", range(5))
def test_configured_bucket_is_never_created(stage):
    plan = plan_stage(stage, export_bucket_configured=True)
    assert plan.create_export_bucket is False
    assert plan.export_bucket == (stage >= 1)
    assert plan_stage(stage).create_export_bucket == (stage >= 1)


@pytest.mark.parametrize("stage", [-1, 5])
def test_plan_refuses_unknown_stages(stage):
    with pytest.raises(ValueError, match="not 0..4"):
        plan_stage(stage)


@pytest.mark.parametrize(("stage", "table"), [(0, "MyTable"), (2, "MyTable"), (3, "MyNewTable"), (4, "MyNewTable")])
def test_active_spec_follows_the_cutover(stage, table):
    config = parse_config({**example_config(), "stage": str(stage)})
    assert active_spec(config).name == table
    assert plan_for(config).to_dict()["stage"] == stage

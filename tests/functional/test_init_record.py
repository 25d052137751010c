"""``migrate init`` reads the record table: a stack file can be older than the migration it belongs to."""

from __future__ import annotations

from typing import Any

import pytest

from migrator.core.ports import PROGRESS
from migrator.data.record_table import DynamoRecordStore
from tests.functional.test_init_cli import NEW_ARGS, TABLE, Stacks, init, make_orders, stacks

pytestmark = pytest.mark.filterwarnings(r"ignore:.*deprecated in favor of.*:DeprecationWarning")
__all__ = ["stacks"]  # the fixture, used by name


@pytest.mark.parametrize(
    ("recorded", "words"),
    [
        ({"completedStage": 1, "exportArn": "arn:aws:dynamodb:us-east-1:1:table/Orders/export/1"}, "stage 1 is done"),
        ({"completedStage": 0, "exportArn": "arn:aws:dynamodb:us-east-1:1:table/Orders/export/1"}, "stage 1 has begun"),
    ],
)
def test_init_force_refuses_a_migration_the_record_table_says_is_under_way(
    moto: Any, stacks: Stacks, recorded: dict[str, Any], words: str
) -> None:
    # Given a stack set up by init, whose migration went on elsewhere: the record table says so, while this
    # working copy's stack file still says stage 0 (an old checkout)
    make_orders(moto, kms=False)
    assert init(moto, "--table", TABLE, "--stack", "orders", "--adopt", *NEW_ARGS).exit_code == 0
    stack = stacks.stacks["orders"]
    DynamoRecordStore(moto.settings, scope=f"{stack.project}/orders").save(PROGRESS, recorded)
    before = stack.get_config()
    assert before["stage"] == "0"

    # when init --force runs there
    result = init(moto, "--table", TABLE, "--stack", "orders", "--new-name", "Other", "--force", "--adopt")

    # then it exits 2 naming the record, and the stack file is as it was
    assert result.exit_code == 2, result.stdout
    assert words in result.stderr and "under way" in result.stderr and "table-migration-records" in result.stderr
    assert stack.get_config() == before


def test_init_force_replaces_a_config_whose_record_says_only_stage_0_ran(moto: Any, stacks: Stacks) -> None:
    # Given stage 0 done (the table under the migrator, nothing exported yet)
    make_orders(moto, kms=False)
    assert init(moto, "--table", TABLE, "--stack", "orders", "--adopt", *NEW_ARGS).exit_code == 0
    stack = stacks.stacks["orders"]
    DynamoRecordStore(moto.settings, scope=f"{stack.project}/orders").save(PROGRESS, {"completedStage": 0})

    # when init --force runs, then the config is replaced: the migration has not begun
    result = init(moto, "--table", TABLE, "--stack", "orders", "--new-name", "Other", "--force", "--adopt")
    assert result.exit_code == 0, result.stderr
    assert stack.get_config()["newTable"]["name"] == "Other"

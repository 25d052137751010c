"""One stack walked through the stages on the real engine, with a crash in each of stages 1-3's updates.

Each test moves the same stack on (they run in file order and share it, to keep the tier's time):
stage 0, then stage 1, 2 and 3, each killed (``kill -9`` of the ``migrate`` process group) while the
engine waits on a step the plugin has applied in moto but not answered, and each finished by a plain
rerun of the same command; then ``plan --stage 4`` (changes nothing), ``down --stage 2`` and up to 3
again, and stage 4.
"""

from __future__ import annotations

import uuid

import pytest

from tests.real_engine.helpers import RealEngine
from tests.real_engine.migration_stack import MigrationStack

pytestmark = pytest.mark.real_engine

ITEMS = 120
NEW_TABLE_URN_NAME = "table-new"


@pytest.fixture(scope="module")
def walk(real_engine: RealEngine) -> MigrationStack:
    """The walk's stack, at stage 0 with the legacy table seeded."""
    stack = MigrationStack(real_engine, "walk", ITEMS)
    stack.ok("up", "--stage", "0", "--yes", "--json")
    stack.seed()
    return stack


def completed_stage(stack: MigrationStack) -> int:
    status = stack.ok("status", "--json").json()
    return int(status["completedStage"])


def test_a_kill_during_stage_1s_update_is_finished_by_a_plain_rerun(walk: MigrationStack) -> None:
    process, held = walk.start_held("up", "--stage", "1", "--yes", hold="update=aws:dynamodb/table:Table")
    assert held.startswith("update aws:dynamodb/table:Table")
    walk.kill(process)

    walk.ok("up", "--stage", "1", "--yes", "--json")

    assert completed_stage(walk) == 1
    assert walk.pending() == []


def test_a_kill_while_stage_2_creates_the_new_table_is_finished_by_a_plain_rerun(
    walk: MigrationStack, real_engine: RealEngine
) -> None:
    process, held = walk.start_held("up", "--stage", "2", "--yes", hold="create=aws:dynamodb/table:Table")
    # The table exists in AWS and the state holds a pending create of it: the point of no return.
    assert held.endswith(NEW_TABLE_URN_NAME)
    assert "MyNewTable" in real_engine.client("dynamodb").list_tables()["TableNames"]
    assert [op["type"] for op in walk.pending()] == ["creating"]
    walk.kill(process)

    walk.ok("up", "--stage", "2", "--yes", "--json")

    assert walk.pending() == []
    assert walk.resources()[NEW_TABLE_URN_NAME]["id"] == "MyNewTable"
    legacy = {item["Name"]["S"]: item for item in walk.table_items("MyTable")}
    new = {item["Name"]["S"]: item for item in walk.table_items("MyNewTable")}
    assert len(legacy) == ITEMS and new.keys() == legacy.keys()
    for name, item in legacy.items():
        assert new[name] == {**item, "UUID": {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, name))}}
    assert completed_stage(walk) == 2


def test_a_kill_during_stage_3s_update_is_finished_by_a_plain_rerun(walk: MigrationStack) -> None:
    process, held = walk.start_held("up", "--stage", "3", "--yes", hold="update=aws:lambda/function:Function")
    assert held.startswith("update aws:lambda/function:Function")
    walk.kill(process)

    walk.ok("up", "--stage", "3", "--yes", "--json")

    assert completed_stage(walk) == 3
    assert walk.pending() == []


def test_plan_of_stage_4_changes_neither_the_state_nor_the_stack_file(walk: MigrationStack) -> None:
    state, stack_file = walk.export(), walk.stack_file()

    plan = walk.ok("plan", "--stage", "4", "--json").json()

    assert plan  # the preview and the steps, as one object
    assert walk.export() == state
    assert walk.stack_file() == stack_file


def test_down_to_stage_2_and_up_to_3_again(walk: MigrationStack) -> None:
    walk.ok("down", "--stage", "2", "--yes", "--json")
    assert completed_stage(walk) == 2
    walk.ok("up", "--stage", "3", "--yes", "--json")
    assert completed_stage(walk) == 3


def test_stage_4_retires_the_legacy_table_and_keeps_it_in_aws(walk: MigrationStack, real_engine: RealEngine) -> None:
    walk.ok("up", "--stage", "4", "--yes", "--json")

    assert completed_stage(walk) == 4
    assert "table-legacy" not in walk.resources()
    legacy = real_engine.client("dynamodb").describe_table(TableName="MyTable")["Table"]
    assert legacy["DeletionProtectionEnabled"]

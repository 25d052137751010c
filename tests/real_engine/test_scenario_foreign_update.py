"""A live update by someone else is never cancelled: the migrator refuses and says so.

A user's own ``pulumi up`` runs on the stack (held open by the plugin while it updates the legacy
table, so it holds the backend's lock); ``migrate up`` then finds that update's pending operation and
the lock, and must neither cancel it nor touch what it is changing.
"""

from __future__ import annotations

import pytest

from tests.real_engine.helpers import RealEngine
from tests.real_engine.migration_stack import MigrationStack

pytestmark = pytest.mark.real_engine


def test_a_live_pulumi_up_by_someone_else_is_never_cancelled(real_engine: RealEngine) -> None:
    stack = MigrationStack(real_engine, "foreign", 5, tables=("ForeignTable", "ForeignNewTable"))
    stack.ok("up", "--stage", "0", "--yes", "--json")
    # given: a user's own update of the legacy table (new tags), running
    config = stack.workspace.get_config()
    stack.workspace.set_config({"legacyTable": {**config["legacyTable"], "tags": {"team": "orders"}}})
    process, held = stack.start_held(
        "up", "--yes", "--skip-preview", hold="update=aws:dynamodb/table:Table", pulumi=True
    )
    try:
        assert held.startswith("update aws:dynamodb/table:Table")

        # when the migrator is asked for stage 1
        run = stack.migrate("up", "--stage", "1", "--yes", "--json")

        # then it refuses, says the update is not cancelled and why, and the user's update still runs
        assert run.code != 0, run.explain()
        assert "It is not cancelled" in run.stderr and "no run of the migrator recorded" in run.stderr, run.explain()
        assert process.poll() is None
        assert [op["type"] for op in stack.pending()] == ["updating"]
        assert stack.ok("status", "--json").json()["completedStage"] == 0
    finally:
        stack.kill(process)

"""Contract: a create killed after AWS made the table, the lock the killed update leaves, ``pulumi cancel``,
and the state edit plus ``import_`` that adopt the table; one body for the double and the real engine.

The story runs in order on one stack per side: a table is in the stack, an update adding a second is
killed while the provider creates it (AWS made it), and each test takes the stack from there.
"""

from __future__ import annotations

import os
import socket

import pytest

from migrator.core.errors import PulumiError, StackBusyError
from tests.real_engine.contract import SIDES, TABLE, Side, error_text, side_fixture

FIRST, SECOND = "PendingFirst", "PendingSecond"

PROGRAM = """
import pulumi
import pulumi_aws as aws

def table(name, physical, opts=None):
    return aws.dynamodb.Table(
        name,
        name=physical,
        hash_key="Id",
        attributes=[aws.dynamodb.TableAttributeArgs(name="Id", type="S")],
        billing_mode="PAY_PER_REQUEST",
        opts=opts,
    )

table("first", "@PendingFirst")
"""
BOTH = PROGRAM + 'table("second", "@PendingSecond")\n'
ADOPTED = PROGRAM + 'table("second", "@PendingSecond", pulumi.ResourceOptions(import_="@PendingSecond"))\n'


@pytest.fixture(scope="module", params=SIDES)
def side(request: pytest.FixtureRequest) -> Side:
    return side_fixture(request, "contract-pending", PROGRAM)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def test_a_create_killed_after_aws_made_the_table_stays_pending_and_out_of_the_state(side: Side) -> None:
    # Given a stack holding one table, when the update adding a second dies while the provider creates it
    side.stack.up()
    side.write(BOTH)
    side.killed_during_create(side.physical(SECOND))

    # then the state keeps a pending create of it (named by its name input), not the table itself,
    (pending,) = side.stack.pending_creates()
    assert (pending.type, pending.name, pending.physical_name) == (TABLE, "second", side.physical(SECOND))
    assert pending.urn.endswith(f"::{TABLE}::second")
    assert "second" not in side.held() and side.held()["first"][0] == side.physical(FIRST)
    # while AWS has it.
    assert {side.physical(FIRST), side.physical(SECOND)} <= side.tables()


def test_the_killed_update_s_lock_refuses_updates_and_state_edits_but_not_a_preview(side: Side) -> None:
    # Given the killed update's lock, left in the backend
    assert side.stack.pending_creates(), "the story's killed update comes first"

    # then an update is refused, naming this host and the process, which is gone,
    with pytest.raises(StackBusyError) as refused:
        side.stack.up()
    (holder,) = refused.value.holders
    assert holder.host == socket.gethostname() and not _alive(holder.pid)
    # and so is a state edit (`stack import`), which would lose nothing here but is an update too,
    with pytest.raises(StackBusyError):
        side.stack.clear_pending_creates([side.stack.pending_creates()[0].urn])
    # while a config change, an export (the pending creates) and a preview run; the table is still to
    # create (a pending create is not in the state).
    side.stack.set_config({"note": "locked"})
    assert side.stack.get_config()["note"] == "locked"
    assert len(side.stack.pending_creates()) == 1
    assert side.summary() == {"create": 1}


def test_after_cancel_the_next_update_calls_create_again_and_fails_on_the_existing_table(side: Side) -> None:
    # Given the lock, when `pulumi cancel` ends the dead update
    side.stack.cancel_update()

    # then an update runs, calls Create again and fails: AWS refuses a second table of that name;
    with pytest.raises(PulumiError) as failed:
        side.stack.up()
    assert not isinstance(failed.value, StackBusyError)
    assert "already exists" in error_text(failed.value)
    # the pending create is carried on (once), and the table is still out of the state.
    (pending,) = side.stack.pending_creates()
    assert pending.physical_name == side.physical(SECOND) and "second" not in side.held()


def test_a_state_edit_drops_the_pending_create_and_import_adopts_the_table(side: Side) -> None:
    # Given the pending create, when the state edit drops it
    (pending,) = side.stack.pending_creates()
    side.stack.clear_pending_creates([pending.urn])

    # then it is gone, nothing else changed, and the table is still in AWS,
    assert side.stack.pending_creates() == []
    assert set(side.held()) == {"first"} and side.physical(SECOND) in side.tables()
    # and declaring it with `import_` adopts it: an import in the preview, the table in the state,
    side.write(ADOPTED)
    assert side.summary() == {"import": 1}
    side.stack.up()
    assert side.held()["second"][0] == side.physical(SECOND)
    # after which the import still declared does nothing: the state holds the table with that id.
    assert side.summary() == {}

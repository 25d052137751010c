"""What ``pulumi refresh`` does with a pending create, on the real engine only.

The engine double has no refresh (``tests/e2e/mock_engine.py`` says why): the migrator never runs one,
and adopts a pending create of its own table by a state edit and ``import_`` instead
(``test_contract_pending.py`` holds the double to that). These tests keep the facts that choice rests
on, and the hint the migrator prints for other pending creates (``--clear-pending-creates``), true on
the engine: ``--import-pending-creates`` only retypes the operation as *importing*, which the snapshot
does not keep (``pkg/cmd/pulumi/operations/refresh.go``, ``pkg/backend/snapshot.go``), so the resource
ends in neither the state nor the pending list.
"""

from __future__ import annotations

import pytest

from tests.real_engine.contract import Side, real_side
from tests.real_engine.helpers import RealEngine
from tests.real_engine.test_contract_pending import BOTH, PROGRAM

pytestmark = pytest.mark.real_engine

SECOND = "PendingSecond"


@pytest.fixture(scope="module")
def side(real_engine: RealEngine) -> Side:
    return real_side(real_engine, "contract-refresh", PROGRAM)


def _pending_after_a_killed_create(side: Side) -> str:
    """Kill the update creating the second table, cancel its lock; the pending create's URN."""
    side.write(BOTH)
    side.killed_during_create(side.physical(SECOND))
    side.stack.cancel_update()
    (pending,) = side.stack.pending_creates()
    return pending.urn


def _refresh(engine: RealEngine, side: Side, *flags: str) -> None:
    engine.pulumi("refresh", "--yes", "--stack", "test", *flags, cwd=side.folder)


def test_a_plain_refresh_keeps_a_pending_create(real_engine: RealEngine, side: Side) -> None:
    # Given a pending create left by a killed update (its table made in AWS)
    side.stack.up()
    urn = _pending_after_a_killed_create(side)

    # when a refresh runs without flags (not interactive), then it succeeds and keeps it as it is.
    _refresh(real_engine, side)
    assert [p.urn for p in side.stack.pending_creates()] == [urn]
    assert set(side.held()) == {"first"}


def test_import_pending_creates_drops_the_operation_and_adopts_nothing(real_engine: RealEngine, side: Side) -> None:
    # Given the pending create, when the refresh is told its id
    (pending,) = side.stack.pending_creates()
    _refresh(
        real_engine, side, "--import-pending-creates", pending.urn, "--import-pending-creates", pending.physical_name
    )

    # then the operation is gone, and the table is not in the state either: it is only in AWS.
    assert side.stack.pending_creates() == []
    assert set(side.held()) == {"first"} and side.physical(SECOND) in side.tables()


def test_clear_pending_creates_drops_only_the_operation(real_engine: RealEngine, side: Side) -> None:
    # Given a new pending create (the table deleted by hand, then its create killed again)
    side.dynamodb.delete_table(TableName=side.physical(SECOND))
    _pending_after_a_killed_create(side)

    # when the refresh clears pending creates, then the operation goes, the state and AWS keep the rest.
    _refresh(real_engine, side, "--clear-pending-creates")
    assert side.stack.pending_creates() == []
    assert set(side.held()) == {"first"} and side.physical(SECOND) in side.tables()

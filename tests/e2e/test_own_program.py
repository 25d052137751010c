"""Your own Pulumi program: a top-level table moved under a MigratingTable keeps its identity and migrates.

Through the engine double, which matches a new URN to an old state entry through an alias as the engine does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.core.errors import GuardError
from tests.conftest import Moto
from tests.e2e.conftest import scan_all
from tests.e2e.own_program import (
    COMPONENT_PROGRAM,
    ORDERS,
    ORDERS_V2,
    PLAIN_PROGRAM,
    index_names,
    migration_of,
    orders_config,
    own_stack,
    put_orders,
    table_steps,
    write_program,
)

COMPONENT_CHILD = "table-migration:index:MigratingTable$aws:dynamodb/table:Table::orders-legacy"


def test_a_top_level_table_moves_under_the_component_with_no_create_delete_or_replace_and_migrates(
    moto: Moto, tmp_path: Path
) -> None:
    # Given a stack applied with a plain top-level table, holding orders
    project = write_program(tmp_path / "shop", PLAIN_PROGRAM)
    engine = own_stack(moto, project, {"aws:region": "us-east-1"})
    engine.up()
    (before,) = engine.resources()
    assert before.urn.endswith("::aws:dynamodb/table:Table::orders")
    items = put_orders(moto.dynamodb, ORDERS, 30)

    # when the program declares it under MigratingTable("orders") with an alias of its old URN
    write_program(project, COMPONENT_PROGRAM)
    engine.set_config(orders_config())
    preview = engine.preview()

    # then the preview creates, deletes, replaces (and even updates) no table: the table is the same resource
    assert table_steps(preview) == []
    assert {c.op for c in preview.changes} == {"create"}  # the component itself, a new resource of no cloud kind
    assert preview.counts.get("delete", 0) == 0 and preview.counts.get("replace", 0) == 0

    # and `migrate up --stage 0` takes it over: the state holds it under the component, AWS is untouched
    lines: list[str] = []
    migration_of(engine, moto, tmp_path, lines).up(0)
    (legacy,) = [r for r in engine.resources() if r.type == "aws:dynamodb/table:Table"]
    assert legacy.urn.endswith(COMPONENT_CHILD) and legacy.physical_id == ORDERS
    assert (legacy.protect, legacy.retain_on_delete) == (True, True)
    assert len(scan_all(moto.dynamodb, ORDERS)) == 30

    # and the whole migration runs on that program, which exports nothing the migrator needs
    result = migration_of(engine, moto, tmp_path, lines).up(4)
    assert result.stages_run == (1, 2, 3, 4)
    assert len(scan_all(moto.dynamodb, ORDERS_V2)) == len(items)
    assert index_names(moto.dynamodb, ORDERS_V2) == {"ByStatus"}  # the new table inherited the index
    assert result.report is not None
    assert result.report.new_table_indexes == ("ByStatus (global): Status (S); INCLUDE Total",)
    assert ORDERS in moto.dynamodb.list_tables()["TableNames"]  # the legacy table is retained
    assert engine.outputs()["ordersTable"] == ORDERS_V2


def test_without_the_alias_the_guard_refuses_and_nothing_changes(moto: Moto, tmp_path: Path) -> None:
    # Given the same stack, and a program that moves the table under the component but forgets the alias
    project = write_program(tmp_path / "shop", PLAIN_PROGRAM)
    engine = own_stack(moto, project, {"aws:region": "us-east-1"})
    engine.up()
    put_orders(moto.dynamodb, ORDERS, 5)
    write_program(
        project,
        COMPONENT_PROGRAM.replace(
            ', legacy_aliases=[pulumi.Alias(name="orders", parent=pulumi.ROOT_STACK_RESOURCE)]', ""
        ),
    )
    engine.set_config(orders_config())
    state = dict(engine.state)

    # then the engine would create a second Orders and delete the first: the guard refuses it
    assert ("orders", "delete") in table_steps(engine.preview())
    with pytest.raises(GuardError, match="does not plan to delete DynamoDB table Orders"):
        migration_of(engine, moto, tmp_path).up(0)

    # and nothing changed: the state, the table and its items
    assert engine.state == state and engine.updates == 1
    assert len(scan_all(moto.dynamodb, ORDERS)) == 5

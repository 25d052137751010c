"""The migration's resources are told by URN: the MigratingTable's children, never a bare name."""

from __future__ import annotations

import pytest

from migrator.core.errors import BadInputError
from migrator.core.urns import (
    COMPONENT_TYPE,
    check_one_migration,
    child_name,
    migration_components,
    parse_urn,
    role_of,
)

HEAD = "urn:pulumi:prod::shop::"
TABLE = "aws:dynamodb/table:Table"
BUCKET = "aws:s3/bucket:Bucket"


def test_a_urn_is_parsed_into_stack_project_type_chain_and_name() -> None:
    urn = parse_urn(f"{HEAD}{COMPONENT_TYPE}${TABLE}::orders-legacy")

    assert urn is not None
    assert (urn.stack, urn.project, urn.type, urn.parent_type, urn.name) == (
        "prod",
        "shop",
        TABLE,
        COMPONENT_TYPE,
        "orders-legacy",
    )
    assert parse_urn(f"{HEAD}{TABLE}::odd::name").name == "odd::name"  # type: ignore[union-attr]
    assert parse_urn("urn:legacy") is None
    assert parse_urn("not a urn") is None


@pytest.mark.parametrize(
    ("urn", "role"),
    [
        (f"{HEAD}{COMPONENT_TYPE}${TABLE}::orders-legacy", "legacy"),
        (f"{HEAD}{COMPONENT_TYPE}${TABLE}::orders-new", "new"),
        (f"{HEAD}{COMPONENT_TYPE}${TABLE}::legacy", "legacy"),  # a state from before the children were renamed
        (f"{HEAD}{COMPONENT_TYPE}${TABLE}::new", "new"),
        (f"{HEAD}{COMPONENT_TYPE}${BUCKET}::orders-export-bucket", "export-bucket"),
        (f"{HEAD}my:index:Wrapper${COMPONENT_TYPE}${TABLE}::orders-new", "new"),  # the component inside another
        (f"{HEAD}{TABLE}::legacy", None),  # the user's own top-level tables
        (f"{HEAD}{TABLE}::new", None),
        (f"{HEAD}{TABLE}::orders-new", None),
        (f"{HEAD}my:index:Store${TABLE}::orders-legacy", None),  # under a component of the user's
        (f"{HEAD}{COMPONENT_TYPE}${BUCKET}::orders-legacy", None),  # not a table
        (f"{HEAD}{COMPONENT_TYPE}${TABLE}::orders-audit", None),
        ("urn:legacy", None),
    ],
)
def test_the_role_of_a_resource_comes_from_its_parent_type_its_type_and_its_name(urn: str, role: str | None) -> None:
    assert role_of(urn) == role


def test_children_are_named_from_the_component() -> None:
    assert child_name("orders", "legacy") == "orders-legacy"
    assert child_name("orders", "export-bucket") == "orders-export-bucket"


def test_one_migration_per_stack() -> None:
    one = f"{HEAD}{COMPONENT_TYPE}::orders"
    two = f"{HEAD}{COMPONENT_TYPE}::invoices"
    urns = [one, f"{HEAD}{COMPONENT_TYPE}${TABLE}::orders-legacy", one, two]

    assert migration_components(urns) == [one, two]
    check_one_migration(urns[:3], stack="prod")
    with pytest.raises(BadInputError) as caught:
        check_one_migration(urns, stack="prod")
    assert caught.value.exit_code == 2
    assert "2 MigratingTables ('invoices', 'orders')" in str(caught.value)
    assert "one migration per stack" in str(caught.value)

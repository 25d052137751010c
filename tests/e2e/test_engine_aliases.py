"""The engine double's alias and import rules, on their own (what the engine refuses, the double refuses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from migrator.core.errors import PulumiError
from tests.conftest import Moto
from tests.e2e.engine_aliases import generate_aliases, resolve_aliases
from tests.e2e.engine_tables import read_table, table_diff
from tests.e2e.mock_engine import MockEngineStack, program_under_mocks

HEAD = "urn:pulumi:dev::proj::"
ROOT = f"{HEAD}pulumi:pulumi:Stack::proj-dev"
COMPONENT = "my:index:Thing"
TABLE = "aws:dynamodb/table:Table"


@dataclass(frozen=True)
class Res:
    urn: str
    type: str
    name: str
    parent: str = ROOT
    aliases: tuple[dict[str, Any], ...] = field(default=())


def spec(**parts: Any) -> dict[str, Any]:
    return {"name": "", "type": "", "stack": "", "project": "", "parentUrn": "", "noParent": False, **parts}


def test_an_alias_spec_defaults_to_the_resource_s_own_parent_type_and_stack() -> None:
    component = f"{HEAD}{COMPONENT}::orders"
    child = Res(f"{HEAD}{COMPONENT}${TABLE}::orders-legacy", TABLE, "orders-legacy", component, (spec(name="legacy"),))

    assert generate_aliases(child, {}) == [f"{HEAD}{COMPONENT}${TABLE}::legacy"]


def test_no_parent_means_a_top_level_urn() -> None:
    component = f"{HEAD}{COMPONENT}::orders"
    child = Res(
        f"{HEAD}{COMPONENT}${TABLE}::orders-legacy", TABLE, "orders-legacy", component, (spec(name="o", noParent=True),)
    )

    assert generate_aliases(child, {}) == [f"{HEAD}{TABLE}::o"]


def test_a_child_inherits_the_alias_of_a_renamed_parent() -> None:
    # Given a component renamed from "shop" to "orders", found through its alias
    new_parent = f"{HEAD}{COMPONENT}::orders"
    matched = {new_parent: f"{HEAD}{COMPONENT}::shop"}
    child = Res(f"{HEAD}{COMPONENT}${TABLE}::orders-legacy", TABLE, "orders-legacy", new_parent)

    # then its child named from it has an alias named from the old name
    assert generate_aliases(child, matched) == [f"{HEAD}{COMPONENT}${TABLE}::shop-legacy"]


def test_the_own_urn_wins_then_the_first_alias_the_state_holds() -> None:
    state = {f"{HEAD}{TABLE}::a", f"{HEAD}{TABLE}::b", f"{HEAD}{TABLE}::c"}
    keeps = Res(f"{HEAD}{TABLE}::a", TABLE, "a", aliases=(spec(name="b"),))
    moves = Res(f"{HEAD}{TABLE}::d", TABLE, "d", aliases=(spec(name="x"), spec(name="c")))

    assert resolve_aliases(state, [keeps, moves], stack="dev") == {moves.urn: f"{HEAD}{TABLE}::c"}


def test_one_old_resource_cannot_be_taken_over_twice() -> None:
    state = {f"{HEAD}{TABLE}::old"}
    one = Res(f"{HEAD}{TABLE}::one", TABLE, "one", aliases=(spec(name="old"),))
    two = Res(f"{HEAD}{TABLE}::two", TABLE, "two", aliases=(spec(name="old"),))

    with pytest.raises(PulumiError, match="Duplicate resource alias"):
        resolve_aliases(state, [one, two], stack="dev")


def test_an_alias_may_not_name_a_resource_the_program_declares_too() -> None:
    state = {f"{HEAD}{TABLE}::old"}
    old = Res(f"{HEAD}{TABLE}::old", TABLE, "old")
    new = Res(f"{HEAD}{TABLE}::new", TABLE, "new", aliases=(spec(name="old"),))

    with pytest.raises(PulumiError, match="Duplicate resource alias"):
        resolve_aliases(state, [old, new], stack="dev")
    with pytest.raises(PulumiError, match="Duplicate resource URN"):
        resolve_aliases(state, [new, old], stack="dev")


def test_a_declaration_that_matches_the_table_read_has_no_diff_and_one_that_does_not_names_the_inputs(
    moto: Moto,
) -> None:
    moto.dynamodb.create_table(
        TableName="T",
        KeySchema=[{"AttributeName": "P", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "P", "AttributeType": "S"},
            {"AttributeName": "G", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByG",
                "KeySchema": [{"AttributeName": "G", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        Tags=[{"Key": "team", "Value": "a"}],
    )
    read = read_table(moto.dynamodb, "T")
    assert read is not None
    declared = {
        "name": "T",
        "hashKey": "P",
        "attributes": [{"name": "G", "type": "S"}, {"name": "P", "type": "S"}],  # a set: order does not matter
        "billingMode": "PAY_PER_REQUEST",
        "globalSecondaryIndexes": [
            {"name": "ByG", "keySchemas": [{"attributeName": "G", "keyType": "HASH"}], "projectionType": "ALL"}
        ],
        "tags": {"team": "a"},
    }

    assert table_diff(declared, read) == ()
    assert table_diff({**declared, "tags": None, "streamEnabled": True, "streamViewType": "NEW_IMAGE"}, read) == (
        "streamEnabled",
        "tags",
        "streamViewType",
    )
    assert table_diff({k: v for k, v in declared.items() if k != "globalSecondaryIndexes"}, read) == (
        "globalSecondaryIndexes",
    )
    assert read_table(moto.dynamodb, "Missing") is None


def test_importing_a_table_that_does_not_exist_fails_the_preview_with_the_engine_s_message(moto: Moto) -> None:
    config = {
        "aws:region": "us-east-1",
        "endpoint": moto.endpoint,
        "legacyTable": {"name": "Gone", "partitionKey": {"name": "Id", "type": "S"}, "adopt": True},
    }
    engine = MockEngineStack("dev", config, program_under_mocks)

    with pytest.raises(PulumiError, match="resource 'Gone' does not exist"):
        engine.preview()
    assert engine.resources() == []

"""Contract: aliases (``pkg/resource/deploy/step_generator.go``); one body for the double and the real engine.

A resource renamed and moved under a component with an alias spec (``parent=ROOT_STACK_RESOURCE`` for
its old top-level self), and a component renamed with an alias whose child, named from it, inherits
one, are taken over: neither created nor deleted. Two resources claiming one old entry are refused.
"""

from __future__ import annotations

import pytest

from migrator.core.errors import PulumiError
from tests.real_engine.contract import SIDES, Side, error_text, side_fixture

BASE = """
import pulumi
import pulumi_aws as aws

def table(name, physical, **options):
    return aws.dynamodb.Table(
        name,
        name=physical,
        hash_key="Id",
        attributes=[aws.dynamodb.TableAttributeArgs(name="Id", type="S")],
        billing_mode="PAY_PER_REQUEST",
        opts=pulumi.ResourceOptions(**options),
    )

class Box(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("contract:index:Box", name, None, opts)
        table(f"{name}-t", "@AliasBoxed", parent=self)
        self.register_outputs({})

class Holder(pulumi.ComponentResource):
    def __init__(self, name, children, opts=None):
        super().__init__("contract:index:Holder", name, None, opts)
        for child, aliases in children:
            table(child, "@AliasOrders", parent=self, aliases=aliases)
        self.register_outputs({})

"""
BEFORE = BASE + 'table("orders", "@AliasOrders")\nBox("box")\n'
MOVED = (
    BASE
    + 'Holder("holder", [("orders2", [pulumi.Alias(name="orders", parent=pulumi.ROOT_STACK_RESOURCE)])])\n'
    + 'Box("crate", pulumi.ResourceOptions(aliases=[pulumi.Alias(name="box")]))\n'
)
CLAIMED_TWICE = (
    BASE
    + 'Holder("holder", [("x1", [pulumi.Alias(name="orders2")]), ("x2", [pulumi.Alias(name="orders2")])])\n'
    + 'Box("crate")\n'
)


@pytest.fixture(scope="module", params=SIDES)
def side(request: pytest.FixtureRequest) -> Side:
    return side_fixture(request, "contract-aliases", BEFORE)


def test_renamed_and_moved_resources_are_taken_over_through_their_aliases(side: Side) -> None:
    # Given a top-level table and a component with a child table named from it
    side.stack.up()
    assert set(side.held()) == {"orders", "box", "box-t"}

    # when the table moves under a new component with a new name, and the component is renamed,
    side.write(MOVED)

    # then only the new component is created: nothing is deleted, no table is made again,
    assert side.summary() == {"create": 1}
    side.stack.up()
    # and the state holds the tables under their new names, with the same tables in AWS.
    held = side.held()
    assert set(held) == {"holder", "orders2", "crate", "crate-t"}
    assert (held["orders2"][0], held["crate-t"][0]) == (side.physical("AliasOrders"), side.physical("AliasBoxed"))
    assert side.summary() == {}


def test_two_resources_claiming_one_old_entry_are_refused(side: Side) -> None:
    # Given the moved table, when two resources name it as their alias, then the preview is refused.
    side.write(CLAIMED_TWICE)
    with pytest.raises(PulumiError) as refused:
        side.stack.preview()
    assert "Duplicate resource alias" in error_text(refused.value)

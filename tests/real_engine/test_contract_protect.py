"""Contract: ``protect`` and ``retainOnDelete``; one body for the double and the real engine.

The engine refuses to delete a resource its state protects, in a preview as in an update, and to
replace one that both the state and the program protect; a ``retainOnDelete`` resource leaves the
state and stays in AWS. One stack per side, in order.
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

"""
KEPT = 'table("kept", "@Kept", protect=True)\n'
OTHERS = 'table("retained", "@Retained", retain_on_delete=True)\ntable("plain", "@Plain")\n'
ALL = BASE + KEPT + OTHERS


@pytest.fixture(scope="module", params=SIDES)
def side(request: pytest.FixtureRequest) -> Side:
    return side_fixture(request, "contract-protect", ALL)


def test_a_resource_the_state_protects_cannot_leave_the_program(side: Side) -> None:
    # Given three tables, one protected, one retained
    side.stack.up()
    before = side.held()
    assert before == {
        "kept": (side.physical("Kept"), True, False),
        "retained": (side.physical("Retained"), False, True),
        "plain": (side.physical("Plain"), False, False),
    }

    # when the program stops declaring the protected one, then the preview and the update are refused,
    side.write(BASE + OTHERS)
    for action in (side.stack.preview, side.stack.up):
        with pytest.raises(PulumiError) as refused:
            action()
        assert "cannot be deleted" in error_text(refused.value)
    # and nothing changed.
    assert side.held() == before and side.physical("Kept") in side.tables()


def test_a_replace_is_refused_only_while_state_and_program_both_protect(side: Side) -> None:
    # Given the protected table, when the program renames it (a replace) and still protects it, refused;
    side.write(ALL.replace('"@Kept"', '"@Kept2"'))
    with pytest.raises(PulumiError) as refused:
        side.stack.preview()
    assert "currently marked for protection" in error_text(refused.value)

    # when it renames it and unprotects it in the same program, the replace is previewed.
    side.write(ALL.replace('"@Kept", protect=True', '"@Kept2"'))
    (change,) = [c for c in side.stack.preview().changes if c.name == "kept" and c.op == "replace"]
    assert change.replace_keys == ("name",)


def test_a_retained_resource_leaves_the_state_and_stays_in_aws(side: Side) -> None:
    # Given the three tables, when the program drops the retained and the plain one (and unprotects the kept)
    side.write(BASE + 'table("kept", "@Kept")\n')
    deletes = {c.name: c.retain_on_delete for c in side.stack.preview().changes if c.op == "delete"}

    # then both are previewed as deletes, the retained one marked so,
    assert deletes == {"retained": True, "plain": False}
    side.stack.up()
    # and after the update neither is in the state; the retained table is still in AWS, the plain one is gone,
    assert side.held() == {"kept": (side.physical("Kept"), False, False)}
    tables = side.tables()
    assert side.physical("Retained") in tables and side.physical("Plain") not in tables

    # and the kept table, unprotected in the state now, is deleted when the program drops it.
    side.write(BASE)
    side.stack.up()
    assert side.held() == {} and side.physical("Kept") not in side.tables()

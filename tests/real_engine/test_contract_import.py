"""Contract: the ``import_`` resource option on tables made outside the stack; one body for both engines.

Pulumi 3.174 and later: a declaration that differs from the table read is imported and then updated in
the same deployment, unless ``ignore_changes`` covers the difference; a difference only a replacement
can make is refused by the update, after the import step took the table into the state; an id that
names no table fails the preview. One stack per side.
"""

from __future__ import annotations

from typing import Any

import pytest

from migrator.core.errors import PulumiError
from tests.real_engine.contract import SIDES, Side, error_text, side_fixture

BASE = """
import pulumi
import pulumi_aws as aws

def table(name, physical, key="Id", tags=None, **options):
    return aws.dynamodb.Table(
        name,
        name=physical,
        hash_key=key,
        attributes=[aws.dynamodb.TableAttributeArgs(name=key, type="S")],
        billing_mode="PAY_PER_REQUEST",
        tags=tags,
        opts=pulumi.ResourceOptions(import_=physical, **options),
    )

table("same", "@ImportSame", tags={"team": "a"})
"""
IGNORED = BASE + 'table("tagged", "@ImportTagged", tags={"team": "b"}, ignore_changes=["tags"])\n'
UPDATED = BASE + 'table("tagged", "@ImportTagged", tags={"team": "b"})\n'
REKEYED = UPDATED + 'table("rekeyed", "@ImportRekeyed", key="Key")\n'
MISSING = UPDATED + 'table("missing", "@ImportMissing")\n'


def make_table(dynamodb: Any, name: str, tags: dict[str, str] | None = None) -> None:
    """A table made by hand, outside any stack."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "Id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "Id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    )


@pytest.fixture(scope="module", params=SIDES)
def side(request: pytest.FixtureRequest) -> Side:
    made = side_fixture(request, "contract-import", BASE)
    make_table(made.dynamodb, made.physical("ImportSame"), {"team": "a"})
    make_table(made.dynamodb, made.physical("ImportTagged"), {"team": "a"})
    make_table(made.dynamodb, made.physical("ImportRekeyed"))
    return made


def _tags(side: Side, name: str) -> dict[str, str]:
    arn = side.dynamodb.describe_table(TableName=side.physical(name))["Table"]["TableArn"]
    return {t["Key"]: t["Value"] for t in side.dynamodb.list_tags_of_resource(ResourceArn=arn)["Tags"]}


def test_a_difference_is_an_update_after_the_import_unless_ignore_changes_covers_it(side: Side) -> None:
    # Given two tables made by hand, one whose tags differ from the declaration
    # then with ignore_changes on the tags both are only imported,
    side.write(IGNORED)
    assert side.summary() == {"import": 2}
    # and without it the differing one is imported and updated in the same deployment,
    side.write(UPDATED)
    assert side.summary() == {"import": 2, "update": 1}
    side.stack.up()
    # which takes both into the state under their ids and applies the declared tags.
    assert {k: v[0] for k, v in side.held().items()} == {
        "same": side.physical("ImportSame"),
        "tagged": side.physical("ImportTagged"),
    }
    assert _tags(side, "ImportTagged") == {"team": "b"}


def test_an_import_only_a_replacement_could_match_is_refused(side: Side) -> None:
    # Given the imported tables, when a third is declared for import with another key than it has
    side.write(REKEYED)
    before = side.held()

    # then the update is refused (an imported resource that still names its id may not be replaced),
    with pytest.raises(PulumiError) as refused:
        side.stack.up()
    assert "may not be replaced" in error_text(refused.value)
    # after the import step went through: the table is in the state as read, and unchanged in AWS.
    assert side.held() == {**before, "rekeyed": (side.physical("ImportRekeyed"), False, False)}
    keys = side.dynamodb.describe_table(TableName=side.physical("ImportRekeyed"))["Table"]["KeySchema"]
    assert keys == [{"AttributeName": "Id", "KeyType": "HASH"}]


def test_an_id_that_names_no_table_fails_the_preview(side: Side) -> None:
    # Given a declaration importing a table that does not exist, then the preview fails, naming the id.
    side.write(MISSING)
    with pytest.raises(PulumiError) as failed:
        side.stack.preview()
    assert "does not exist" in error_text(failed.value)
    assert side.physical("ImportMissing") in error_text(failed.value)

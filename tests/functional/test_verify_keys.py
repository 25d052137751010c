"""A live verification that returns every differing key with its source key (moto), and its spill file."""

from __future__ import annotations

import os
import uuid

import pytest

from migrator.core.derive import Deriver, parse_rules
from migrator.core.replay_map import forward_map
from migrator.data.stream.recheck import recheck_keys
from migrator.data.verify.keys import CHANGED, EXTRA, MISSING, verify_tables_keys
from migrator.data.verify.run import verify_tables
from tests.functional.test_verify import make_table

RULES = parse_rules({"UUID": "uuid5(Name)"})


def u5(text: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, text))


def legacy_item(n: int, value: int | None = None) -> dict:
    return {"Name": {"S": f"user-{n:03d}"}, "V": {"N": str(n if value is None else value)}}


def new_item(n: int, value: int | None = None) -> dict:
    return {**legacy_item(n, value), "UUID": {"S": u5(f"user-{n:03d}")}}


@pytest.fixture
def differing(moto) -> dict[str, set[str]]:
    """Legacy holds 60 items; new lacks 3 (missing), holds 2 with another value (changed) and 1 of its own
    (extra). Returns the legacy names of each kind."""
    make_table(moto.dynamodb, "Legacy", [("Name", "S")])
    make_table(moto.dynamodb, "New", [("UUID", "S")])
    missing, changed, extra = {5, 17, 42}, {8, 33}, {99}
    for n in range(60):
        moto.dynamodb.put_item(TableName="Legacy", Item=legacy_item(n))
        if n not in missing:
            moto.dynamodb.put_item(TableName="New", Item=new_item(n, 1000 + n if n in changed else None))
    for n in extra:
        moto.dynamodb.put_item(TableName="New", Item=new_item(n))
    name = "user-{:03d}".format
    return {MISSING: {name(n) for n in missing}, CHANGED: {name(n) for n in changed}, EXTRA: {name(n) for n in extra}}


@pytest.mark.parametrize(("max_diff_items", "spill_after"), [(200_000, 100_000), (1, 2)])
def test_every_differing_key_comes_back_with_its_legacy_key(moto, differing, max_diff_items, spill_after) -> None:
    # When the tables are verified with keys (pass 2 in groups of one item, keys spilled after 2, or neither)
    report, keys = verify_tables_keys(
        moto.settings,
        source_table="Legacy",
        target_table="New",
        deriver=Deriver(RULES),
        max_diff_items=max_diff_items,
        spill_after=spill_after,
    )
    with keys:
        found = {kind: set() for kind in (MISSING, CHANGED, EXTRA)}
        for kind, ref in keys:
            # each difference names the legacy key (typed, as a consistent read takes it) and the new key
            name = ref.source_key["Name"]["S"]
            assert ref.target_keys == ({"UUID": {"S": u5(name)}},)
            found[kind].add(name)
        spilled = keys.path
        assert (spilled is not None) == (spill_after < 6) and len(keys) == 6

    # then the report counts as verify_tables does, and every key of every kind is there, nothing else
    plain = verify_tables(moto.settings, source_table="Legacy", target_table="New", deriver=Deriver(RULES))
    counts = ("identical", "source_count", "target_count", "missing_count", "extra_count", "changed_count")
    assert {k: getattr(report, k) for k in counts} == {k: getattr(plain, k) for k in counts}
    assert found == differing
    assert spilled is None or not os.path.exists(spilled)  # closing removes the spill file


def test_the_keys_feed_a_consistent_recheck(moto, differing) -> None:
    # Given the differing keys of a verification, when the legacy table is fixed for the missing ones
    _report, keys = verify_tables_keys(moto.settings, source_table="Legacy", target_table="New", deriver=Deriver(RULES))
    for n in (5, 17, 42):
        moto.dynamodb.delete_item(TableName="Legacy", Key={"Name": {"S": f"user-{n:03d}"}})
    item_map = forward_map(RULES, ("Name",), ("UUID",))
    with keys:
        result = recheck_keys(
            moto.dynamodb, source_table="Legacy", target_table="New", item_map=item_map, keys=list(keys.refs())
        )
    # then the re-check reads both sides by those keys: only the changed and extra ones still differ
    assert sorted(k["UUID"] for k in result.differing) == sorted(u5(n) for n in differing[CHANGED] | differing[EXTRA])


def test_identical_tables_give_no_keys(moto) -> None:
    make_table(moto.dynamodb, "Legacy", [("Name", "S")])
    make_table(moto.dynamodb, "New", [("UUID", "S")])
    for n in range(10):
        moto.dynamodb.put_item(TableName="Legacy", Item=legacy_item(n))
        moto.dynamodb.put_item(TableName="New", Item=new_item(n))
    report, keys = verify_tables_keys(moto.settings, source_table="Legacy", target_table="New", deriver=Deriver(RULES))
    assert report.identical and len(keys) == 0 and list(keys) == []

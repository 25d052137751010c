"""Re-checking keys with consistent reads of both tables on moto."""

from __future__ import annotations

import uuid

from migrator.core.derive import parse_rules
from migrator.core.replay_map import forward_map
from migrator.core.replay_plan import KeyRef
from migrator.data.stream.recheck import recheck_keys
from tests.functional.test_verify import make_table

BY_NAME = forward_map(parse_rules({"UUID": "uuid5(Name)"}), ("Name",), ("UUID",))
BY_EMAIL = forward_map(parse_rules({"UUID": "uuid5(Email)"}), ("Name",), ("UUID",))


def u5(text: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, text))


def name(n: str) -> dict:
    return {"Name": {"S": n}}


def tables(moto, legacy: list[dict], new: list[dict]) -> None:
    make_table(moto.dynamodb, "Legacy", [("Name", "S")])
    make_table(moto.dynamodb, "New", [("UUID", "S")])
    for item in legacy:
        moto.dynamodb.put_item(TableName="Legacy", Item=item)
    for item in new:
        moto.dynamodb.put_item(TableName="New", Item=item)


def check(moto, refs, item_map=BY_NAME):
    return recheck_keys(moto.dynamodb, source_table="Legacy", target_table="New", item_map=item_map, keys=refs)


def test_equal_items_pass_and_differences_are_named(moto):
    # Given a: equal; b: changed; c: missing from new; d: gone from legacy but still in new; e: gone on both
    legacy = [{**name("a"), "V": {"N": "1"}}, {**name("b"), "V": {"N": "2"}}, {**name("c"), "V": {"N": "3"}}]
    new = [
        {**name("a"), "V": {"N": "1.0"}, "UUID": {"S": u5("a")}},  # same number, spelled differently
        {**name("b"), "V": {"N": "9"}, "UUID": {"S": u5("b")}},
        {**name("d"), "UUID": {"S": u5("d")}},
    ]
    tables(moto, legacy, new)
    result = check(moto, [KeyRef(name(n)) for n in "abcde"])
    assert result.checked == 5
    assert sorted(k["UUID"] for k in result.differing) == sorted([u5("b"), u5("c"), u5("d")])
    assert not result.clean and result.to_dict()["differing"] == 3


def test_an_item_that_moved_to_a_new_key_is_judged_at_both_keys(moto):
    # Given new key = uuid5(Email): a changed its Email; the replay put the new key and deleted the old one
    legacy = [{**name("a"), "Email": {"S": "new@x"}}]
    new = [{**name("a"), "Email": {"S": "new@x"}, "UUID": {"S": u5("new@x")}}]
    tables(moto, legacy, new)
    ref = KeyRef(name("a"), ({"UUID": {"S": u5("new@x")}}, {"UUID": {"S": u5("old@x")}}))
    assert check(moto, [ref], BY_EMAIL).clean
    # If the old key were still there, it would be a difference
    moto.dynamodb.put_item(TableName="New", Item={**name("a"), "Email": {"S": "old@x"}, "UUID": {"S": u5("old@x")}})
    assert check(moto, [ref], BY_EMAIL).differing == ({"UUID": u5("old@x")},)


def test_a_target_key_held_by_another_source_item_is_judged_against_it(moto):
    # Given b moved onto the key a left: the check reads b's legacy item too
    legacy = [{**name("a"), "Email": {"S": "a2@x"}}, {**name("b"), "Email": {"S": "shared@x"}}]
    new = [
        {**name("a"), "Email": {"S": "a2@x"}, "UUID": {"S": u5("a2@x")}},
        {**name("b"), "Email": {"S": "shared@x"}, "UUID": {"S": u5("shared@x")}},
    ]
    tables(moto, legacy, new)
    ref = KeyRef(name("a"), ({"UUID": {"S": u5("a2@x")}}, {"UUID": {"S": u5("shared@x")}}))
    assert check(moto, [ref], BY_EMAIL).clean


def test_a_gone_item_whose_new_key_cannot_be_known_is_unresolved(moto):
    tables(moto, [], [])
    result = check(moto, [KeyRef(name("zed"))], BY_EMAIL)
    assert result.unresolved == ({"Name": "zed"},) and not result.clean


def test_a_source_item_the_rules_cannot_map_is_a_reject(moto):
    tables(moto, [name("a")], [])
    result = check(moto, [KeyRef(name("a"))], BY_EMAIL)
    assert result.rejects == ('{"Name":"a"}: missing attribute Email',) and not result.clean


def test_many_keys_in_batches(moto):
    legacy = [{**name(f"n{i:03d}"), "V": {"N": str(i)}} for i in range(230)]
    new = [{**item, "UUID": {"S": u5(item["Name"]["S"])}} for item in legacy]
    new[150]["V"] = {"N": "-1"}
    tables(moto, legacy, new)
    result = check(moto, [KeyRef(name(f"n{i:03d}")) for i in range(230)])
    assert result.checked == 230 and result.differing == ({"UUID": u5("n150")},)

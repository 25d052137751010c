"""Pure replay rules: item maps (forward, reverse), stream view types, and planning a page of records."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from migrator.core.canonical import key_bytes
from migrator.core.derive import RejectError, parse_rules
from migrator.core.errors import ReplayImpossibleError
from migrator.core.replay_map import forward_map, replay_mode, reverse_map
from migrator.core.replay_plan import Change, KeyRef, epoch_seconds, parse_record, plan_batch


def u5(text: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, text))


BY_NAME = forward_map(parse_rules({"UUID": "uuid5(Name)"}), ("Name",), ("UUID",))
BY_EMAIL = forward_map(parse_rules({"UUID": "uuid5(Email)"}), ("Name",), ("UUID",))


def item(name: str, **attrs: str) -> dict:
    return {"Name": {"S": name}, **{k: {"S": v} for k, v in attrs.items()}}


def key(name: str) -> dict:
    return {"Name": {"S": name}}


def change(seq: int, event: str, name: str, new=None, old=None) -> Change:
    return Change(str(seq), event, key(name), new, old)


# --- item maps and view types ---------------------------------------------------------------------


def test_forward_key_follows_from_the_legacy_key_only_when_the_rules_read_key_attributes():
    assert BY_NAME.key_of_source_key(key("a")) == {"UUID": {"S": u5("a")}}
    assert not BY_NAME.guard_deletes
    assert BY_EMAIL.key_of_source_key is None and BY_EMAIL.guard_deletes
    # A non-key derived attribute does not matter; a new key copied from a non-key attribute does
    mixed = forward_map(parse_rules({"UUID": "uuid5(Name)", "Label": 'format("{Name}#{City}")'}), ("Name",), ("UUID",))
    assert mixed.key_of_source_key(key("a")) == {"UUID": {"S": u5("a")}}
    assert forward_map((), ("Name",), ("City",)).key_of_source_key is None
    assert forward_map((), ("Name",), ("Name",)).key_of_source_key(key("a")) == key("a")
    assert forward_map((), ("Name",), ("Name",), hook=lambda i: i).key_of_source_key is None


def test_reverse_strips_the_derived_attributes_and_needs_the_legacy_key():
    back = reverse_map(parse_rules({"UUID": "uuid5(Name)"}), ("Name",), ("UUID",))
    new_item = {"UUID": {"S": u5("a")}, "Name": {"S": "a"}, "Age": {"N": "3"}}
    assert back.target_item(new_item) == {"Name": {"S": "a"}, "Age": {"N": "3"}}
    assert back.source_keys == ("UUID",) and back.target_keys == ("Name",)
    assert back.key_of_source_key is None  # a UUID does not give its Name back
    with pytest.raises(RejectError, match="lacks legacy key attribute"):
        back.target_item({"UUID": {"S": "x"}})


@pytest.mark.parametrize(
    ("rules", "hook", "says"),
    [({"UUID": "uuid5(Name)"}, lambda i: i, "hook"), ({"Name": "uuid5(Name)"}, None, "overwrite the legacy key")],
)
def test_reverse_is_refused_with_the_reason(rules, hook, says):
    with pytest.raises(ReplayImpossibleError, match=says) as caught:
        reverse_map(parse_rules(rules), ("Name",), ("UUID",), hook=hook)
    assert "--discard-new-writes" in str(caught.value)


def test_view_types():
    assert replay_mode("NEW_AND_OLD_IMAGES", BY_EMAIL, table="T").read_back is False
    assert replay_mode("NEW_IMAGE", BY_NAME, table="T").old_images is False
    assert replay_mode("KEYS_ONLY", BY_NAME, table="T").read_back is True
    assert replay_mode("OLD_IMAGE", BY_EMAIL, table="T").read_back is True
    for view in ("NEW_IMAGE", "KEYS_ONLY"):
        with pytest.raises(ReplayImpossibleError, match="not computed from that key alone") as caught:
            replay_mode(view, BY_EMAIL, table="T")
        assert "UUID=uuid5(Email)" in str(caught.value) and "NEW_AND_OLD_IMAGES" in str(caught.value)
    with pytest.raises(ReplayImpossibleError, match="does not know"):
        replay_mode("SOMETHING", BY_NAME, table="T")


# --- records ----------------------------------------------------------------------------------------


def test_a_wire_record_parses():
    record = {
        "eventName": "MODIFY",
        "dynamodb": {
            "Keys": key("a"),
            "NewImage": item("a", Age="2"),
            "OldImage": item("a", Age="1"),
            "SequenceNumber": "100",
            "ApproximateCreationDateTime": 1700000000.5,
        },
    }
    assert parse_record(record) == Change(
        "100", "MODIFY", key("a"), item("a", Age="2"), item("a", Age="1"), 1.7e9 + 0.5
    )
    assert epoch_seconds(datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)) == 1.7e9
    assert epoch_seconds("2023-11-14T22:13:20+00:00") == 1.7e9
    assert epoch_seconds(None) is None


# --- planning ----------------------------------------------------------------------------------------


def test_last_state_per_key_wins_and_a_removed_item_is_deleted():
    changes = [
        change(1, "INSERT", "a", new=item("a", V="1")),
        change(2, "MODIFY", "a", new=item("a", V="2"), old=item("a", V="1")),
        change(3, "INSERT", "b", new=item("b")),
        change(4, "REMOVE", "b", old=item("b")),
        change(5, "REMOVE", "c", old=item("c")),
    ]
    plan = plan_batch(changes, BY_NAME)
    assert plan.puts == [{"Name": {"S": "a"}, "V": {"S": "2"}, "UUID": {"S": u5("a")}}]
    assert plan.deletes == [{"UUID": {"S": u5("b")}}, {"UUID": {"S": u5("c")}}]
    assert (plan.rejects, plan.duplicates, plan.guarded_deletes) == ([], 0, [])
    assert plan.touched[0] == KeyRef(key("a"), ({"UUID": {"S": u5("a")}},))


def test_a_changed_derived_key_deletes_every_old_one_with_a_guard():
    # Given rules whose new key reads a non-key attribute that changes twice in one page
    changes = [
        change(1, "MODIFY", "a", new=item("a", Email="y"), old=item("a", Email="x")),
        change(2, "MODIFY", "a", new=item("a", Email="z"), old=item("a", Email="y")),
    ]
    plan = plan_batch(changes, BY_EMAIL)
    # Then the last state is put and both earlier keys are deleted, each only if it still holds item a
    assert plan.puts == [{**item("a", Email="z"), "UUID": {"S": u5("z")}}]
    assert plan.deletes == []
    assert plan.guarded_deletes == [({"UUID": {"S": u5("x")}}, key("a")), ({"UUID": {"S": u5("y")}}, key("a"))]


def test_rejects_are_reported_and_the_old_version_is_deleted():
    changes = [
        change(1, "MODIFY", "a", new=item("a"), old=item("a", Email="x")),  # lost its Email: a reject
        change(2, "INSERT", "b", new=item("b")),  # never had one: a reject, nothing to delete
    ]
    plan = plan_batch(changes, BY_EMAIL)
    assert plan.puts == [] and [r["reason"] for r in plan.rejects] == ["missing attribute Email"] * 2
    assert plan.rejects[0]["item"] == item("a") and plan.rejects[0]["sequence"] == "1"
    assert plan.guarded_deletes == [({"UUID": {"S": u5("x")}}, key("a"))]


def test_two_source_items_on_one_target_key_are_duplicates_and_neither_is_written():
    group = forward_map(parse_rules({"G": "Group"}), ("Name",), ("G",))
    changes = [
        change(1, "INSERT", "a", new=item("a", Group="g")),
        change(2, "INSERT", "b", new=item("b", Group="g")),
        change(3, "INSERT", "c", new=item("c", Group="h")),
    ]
    plan = plan_batch(changes, group)
    assert plan.duplicates == 2 and len(plan.rejects) == 2
    assert 'map to one target key {"G":"g"}' in plan.rejects[0]["reason"]
    assert plan.puts == [{**item("c", Group="h"), "G": {"S": "h"}}]


def test_a_put_wins_over_another_items_stale_delete_of_the_same_key():
    group = forward_map(parse_rules({"G": "Group"}), ("Name",), ("G",))
    changes = [
        change(1, "MODIFY", "a", new=item("a", Group="h"), old=item("a", Group="g")),  # a leaves g
        change(2, "MODIFY", "b", new=item("b", Group="g"), old=item("b", Group="f")),  # b moves onto g
    ]
    plan = plan_batch(changes, group)
    assert sorted(p["G"]["S"] for p in plan.puts) == ["g", "h"]
    assert plan.guarded_deletes == [({"G": {"S": "f"}}, key("b"))]


def test_read_back_uses_the_current_item_and_the_key_for_deletes():
    # KEYS_ONLY: records carry keys only; the items were read back from the source table
    changes = [change(1, "INSERT", "a"), change(2, "MODIFY", "b"), change(3, "REMOVE", "c")]
    current = {key_bytes(key("a"), ("Name",)): item("a", V="now"), key_bytes(key("b"), ("Name",)): None}
    plan = plan_batch(changes, BY_NAME, current=current)
    assert plan.puts == [{**item("a", V="now"), "UUID": {"S": u5("a")}}]
    assert plan.deletes == [{"UUID": {"S": u5("b")}}, {"UUID": {"S": u5("c")}}]


def test_reverse_plan_puts_legacy_items_and_deletes_legacy_keys():
    back = reverse_map(parse_rules({"UUID": "uuid5(Name)"}), ("Name",), ("UUID",))
    new_a = {"UUID": {"S": u5("a")}, "Name": {"S": "a"}}
    new_b = {"UUID": {"S": u5("b")}, "Name": {"S": "b"}}
    changes = [
        Change("1", "INSERT", {"UUID": new_a["UUID"]}, new_a, None),
        Change("2", "REMOVE", {"UUID": new_b["UUID"]}, None, new_b),
    ]
    plan = plan_batch(changes, back)
    assert plan.puts == [{"Name": {"S": "a"}}]
    assert plan.deletes == [{"Name": {"S": "b"}}]

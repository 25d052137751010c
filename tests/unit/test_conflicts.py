"""The late-write rule's pure parts: the write's condition, the conflict's name and record, its text."""

from __future__ import annotations

import pytest

from migrator.core.conflicts import APPLIED, DROPPED, Conflict, condition_on, conflict_id
from migrator.report.conflicts import ConflictsResult, conflicts_line, image_text

SEEN = {"UUID": {"S": "u"}, "Score": {"N": "2"}}
LATE = {"UUID": {"S": "u"}, "Score": {"N": "1"}, "Note": {"S": "late"}}


def test_the_condition_holds_every_attribute_seen_and_no_other_of_the_late_image():
    condition = condition_on(SEEN, LATE, ("UUID",))
    assert condition.expression == "#a0 = :v0 AND #a1 = :v1 AND attribute_not_exists(#x0)"
    assert condition.names == {"#a0": "Score", "#a1": "UUID", "#x0": "Note"}
    assert condition.values == {":v0": {"N": "2"}, ":v1": {"S": "u"}}
    assert condition.kwargs()["ExpressionAttributeValues"] == condition.values


def test_with_no_item_seen_the_key_must_still_be_absent():
    condition = condition_on(None, LATE, ("UUID", "Created"))
    assert condition.expression == "attribute_not_exists(#k0)" and condition.names == {"#k0": "UUID"}
    assert "ExpressionAttributeValues" not in condition.kwargs()


def test_a_conflict_is_named_by_its_key_and_reads_back_what_it_wrote():
    conflict = Conflict({"UUID": "u"}, {"Name": "n"}, "7", LATE, SEEN, "why", "t1")
    assert conflict.id == conflict_id({"UUID": "u"}) != conflict_id({"UUID": "v"}) and len(conflict.id) == 16
    assert Conflict.from_dict(conflict.to_dict()) == conflict and conflict.open
    done = conflict.resolved(APPLIED, "t2")
    assert (done.status, done.resolved_at, done.open) == (APPLIED, "t2", False)
    with pytest.raises(ValueError):
        conflict.resolved("maybe", "t2")


def test_status_line_and_listing_name_the_open_conflicts_and_the_command():
    summary = {"open": 1, "found": 2, "applied": 0, "dropped": 1, "keys": [{"UUID": "u"}], "location": "s3://b/p/"}
    line = conflicts_line(summary)
    assert "1 conflict(s) open" in line and "UUID=u" in line and "migrate conflicts" in line
    assert conflicts_line({}) is None and "resolve" not in conflicts_line({**summary, "open": 0, "keys": []})
    listed = ConflictsResult("dev", "s3://b/p/", (Conflict({"UUID": "u"}, {}, "1", LATE, None, "why", "t1"),))
    text = listed.text()
    assert "1 open" in text and "Note=S:late" in text and "(no item)" in text and "--apply" in text
    assert ConflictsResult("dev", "m", ()).text().endswith("no late-write conflicts.")
    dropped = Conflict({"UUID": "u"}, {}, "1", LATE, None, "why", "t1").resolved(DROPPED, "t2")
    assert ConflictsResult("dev", "m", (dropped,), (dropped,)).to_dict()["open"] == 0
    assert image_text({f"A{i}": {"S": "x"} for i in range(8)}).endswith("(2 more)")

"""The migrator's record in stack config (``table-migration:progress``): reading, writing, refusing a broken one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from migrator.core.errors import EXIT_BAD_INPUT, RecordError, StageError
from migrator.core.record import Record

FULL = {
    "completedStage": 3,
    "exportArn": "arn:aws:dynamodb:us-east-1:1:table/MyTable/export/01",
    "exportAttempt": 2,
    "export": {"arn": "arn:aws:dynamodb:us-east-1:1:table/MyTable/export/01", "itemCount": 3},
    "transform": {"itemsIn": 3, "itemsOut": 3, "rejects": 0, "dataPrefix": "t/data/"},
    "importCheck": {"status": "COMPLETED", "importedCount": 3},
    "verify": {"export": {"identical": True}, "live": {"identical": True}},
    "driftAccepted": {"missing_count": 1},
    "servedTraffic": True,
    "stageTimes": {"1": "2026-01-02T03:04:05Z", "3": "2026-01-02T03:09:00Z"},
    "report": {"stack": "dev"},
    "downPending": 2,
    "importSource": {"bucket": "b", "keyPrefix": "t/data/", "compression": "GZIP", "itemCount": 3},
    "stream": {"arn": "arn:aws:dynamodb:us-east-1:1:table/MyTable/stream/2026", "viewType": "NEW_AND_OLD_IMAGES"},
    "cutover": {"phase": "frozen", "direction": "forward"},
    "online": {"catchUp": {"recordsReplayed": 4}},
    "verifyExports": {"new@2": {"arn": "arn:aws:dynamodb:us-east-1:1:table/New/export/02", "attempt": 1}},
}


def test_without_a_record_the_declared_stage_steps_count_as_not_finished() -> None:
    assert Record.from_config(None, declared_stage=2) == Record(completed_stage=1)
    assert Record.from_config("", declared_stage=0) == Record(completed_stage=-1)


def test_a_record_without_a_completed_stage_reruns_the_declared_stage_steps() -> None:
    assert Record.from_config({}, declared_stage=3).completed_stage == 2


def test_every_field_is_read_from_the_config_object() -> None:
    record = Record.from_config(FULL, declared_stage=3)

    assert record == Record(
        completed_stage=3,
        export_arn="arn:aws:dynamodb:us-east-1:1:table/MyTable/export/01",
        export_attempt=2,
        export={"arn": "arn:aws:dynamodb:us-east-1:1:table/MyTable/export/01", "itemCount": 3},
        transform={"itemsIn": 3, "itemsOut": 3, "rejects": 0, "dataPrefix": "t/data/"},
        import_check={"status": "COMPLETED", "importedCount": 3},
        verify={"export": {"identical": True}, "live": {"identical": True}},
        drift_accepted={"missing_count": 1},
        served_traffic=True,
        stage_times={"1": "2026-01-02T03:04:05Z", "3": "2026-01-02T03:09:00Z"},
        report={"stack": "dev"},
        down_pending=2,
        import_source={"bucket": "b", "keyPrefix": "t/data/", "compression": "GZIP", "itemCount": 3},
        stream={"arn": "arn:aws:dynamodb:us-east-1:1:table/MyTable/stream/2026", "viewType": "NEW_AND_OLD_IMAGES"},
        cutover={"phase": "frozen", "direction": "forward"},
        online={"catchUp": {"recordsReplayed": 4}},
        verify_exports={"new@2": {"arn": "arn:aws:dynamodb:us-east-1:1:table/New/export/02", "attempt": 1}},
    )


def test_to_config_writes_every_field_under_its_contract_name() -> None:
    assert Record.from_config(FULL, declared_stage=3).to_config() == FULL
    assert Record().to_config() == {
        "completedStage": -1,
        "exportArn": None,
        "exportAttempt": 1,
        "export": None,
        "transform": None,
        "importCheck": None,
        "verify": {},
        "driftAccepted": None,
        "servedTraffic": False,
        "stageTimes": {},
        "report": None,
        "downPending": None,
        "importSource": None,
        "stream": None,
        "cutover": None,
        "online": {},
        "verifyExports": {},
    }


def test_the_record_round_trips_through_config_json() -> None:
    record = Record(completed_stage=2, export_arn="arn:x", export_attempt=2, served_traffic=True).completed(3, "t")
    again = Record.from_config(json.dumps(record.to_config()), declared_stage=3)
    assert again == record


def test_a_record_stored_as_json_text_is_read_like_the_object() -> None:
    assert Record.from_config(json.dumps(FULL), declared_stage=3) == Record.from_config(FULL, declared_stage=3)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, Record(completed_stage=0)),
        ({"exportAttempt": None, "exportArn": "", "servedTraffic": None}, Record(completed_stage=0)),
        ({"exportAttempt": 0, "export": {}, "verify": None}, Record(completed_stage=0)),
        (
            {"completedStage": "1", "exportAttempt": "3", "downPending": "1"},
            Record(1, export_attempt=3, down_pending=1),
        ),
    ],
)
def test_absent_null_and_empty_fields_read_as_their_defaults(fields: dict[str, Any], expected: Record) -> None:
    assert Record.from_config(fields, declared_stage=1) == expected


def test_completed_marks_the_stage_done_at_a_time_and_clears_a_pending_down() -> None:
    record = Record(completed_stage=1, stage_times={"1": "a"}, down_pending=1, served_traffic=True)

    done = record.completed(2, "b")

    assert done == Record(completed_stage=2, stage_times={"1": "a", "2": "b"}, down_pending=None, served_traffic=True)
    assert record.stage_times == {"1": "a"}  # a copy: the old record is unchanged


def test_with_changes_only_the_named_fields() -> None:
    record = Record(completed_stage=1, export_arn="arn:x")

    assert record.with_(export_attempt=2) == Record(completed_stage=1, export_arn="arn:x", export_attempt=2)


# --- a broken record is bad input (exit 2) that names the key and the fix --------------------------

BROKEN = [
    ("{not json", "is not JSON"),
    ("stage 2 done", "is not JSON"),
    ('["completedStage", 2]', "is not an object"),
    ("42", "is not an object"),
    (["completedStage", 2], "is not an object"),
    (7, "is not an object"),
    ({"completedStage": "two"}, "completedStage is not a whole number ('two')"),
    ({"completedStage": 1.5}, "completedStage is not a whole number (1.5)"),
    ({"completedStage": True}, "completedStage is not a whole number (True)"),
    ({"completedStage": [1]}, "completedStage is not a whole number ([1])"),
    ({"completedStage": 1, "exportAttempt": "second"}, "exportAttempt is not a whole number ('second')"),
    ({"completedStage": 1, "downPending": {"stage": 1}}, "downPending is not a whole number ({'stage': 1})"),
    ({"completedStage": 1, "servedTraffic": "false"}, "servedTraffic is not true or false ('false')"),
    ({"completedStage": 1, "exportArn": 12}, "exportArn is not a string (12)"),
    ({"completedStage": 1, "verify": "identical"}, "verify is not an object (str)"),
    ({"completedStage": 1, "stageTimes": [["1", "t"]]}, "stageTimes is not an object (list)"),
    ({"completedStage": 1, "export": "arn:x"}, "export is not an object (str)"),
    ({"completedStage": 1, "transform": 3}, "transform is not an object (int)"),
    ({"completedStage": 1, "importCheck": True}, "importCheck is not an object (bool)"),
    ({"completedStage": 1, "driftAccepted": [1]}, "driftAccepted is not an object (list)"),
    ({"completedStage": 1, "report": "done"}, "report is not an object (str)"),
]


@pytest.mark.parametrize(("raw", "problem"), BROKEN)
def test_a_broken_record_is_bad_input_naming_the_key_and_the_fix(raw: Any, problem: str) -> None:
    with pytest.raises(RecordError) as caught:
        Record.from_config(raw, declared_stage=1)

    error = caught.value
    assert error.exit_code == EXIT_BAD_INPUT
    assert error.message == (
        f"The migration record (progress): {problem}; the migrator writes it, it is not edited by hand."
    )
    assert error.hint == (
        "Restore it from the record table's point-in-time backups, or delete the entry to make the migrator "
        "rerun the declared stage's steps."
    )


# --- a record that cannot go with the declared stage -------------------------------------------------


@pytest.mark.parametrize(("declared", "completed"), [(2, 2), (2, 1), (0, -1), (0, 0), (4, 3)])
def test_a_record_at_or_one_behind_the_declared_stage_is_accepted(declared: int, completed: int) -> None:
    assert Record.from_config({"completedStage": completed}, declared_stage=declared).completed_stage == completed


@pytest.mark.parametrize(
    ("declared", "completed", "set_back"),
    [(3, 1, 1), (2, 0, 0), (1, -1, 0)],
)
def test_a_record_that_cannot_go_with_the_declared_stage_is_refused(
    declared: int, completed: int, set_back: int
) -> None:
    with pytest.raises(StageError) as caught:
        Record.from_config({"completedStage": completed}, declared_stage=declared)

    assert caught.value.exit_code == EXIT_BAD_INPUT
    assert caught.value.message == (
        f"Stack config says stage {declared}, but the migrator's record says stage {completed} is done."
    )
    assert caught.value.hint == (
        f"Set it back with `pulumi config set table-migration:stage {set_back}` and use `migrate up`/`down` "
        "to move between stages."
    )


GOING_BACK = {
    # the `down` that goes back from the stale copy's stage, when there is one (it runs from that stack file)
    (2, 3, False): "If going back was meant, run `migrate down --stage 2` (it works from this stack file).",
    (1, 2, False): "If going back was meant, run `migrate down --stage 1` (it works from this stack file).",
    # else why there is none, with the reason `down` itself would give
    (1, 2, True): "Going back to stage 1 drops the new table, which has served traffic: only `migrate down --stage "
    "1 --lose-new-table-writes` does it, losing every write only that table holds.",
    (1, 3, True): "Going back to stage 1 drops the new table, which has served traffic: only `migrate down --stage "
    "1 --lose-new-table-writes` does it, losing every write only that table holds.",
    (0, 1, False): "Going back to stage 0 is not possible from stage 1.",
    (2, 4, True): "Going back to stage 2 is not possible from stage 4.",
}


@pytest.mark.parametrize(("declared", "completed", "served"), list(GOING_BACK))
def test_a_stack_file_behind_the_record_is_refused_naming_the_down_that_works(
    declared: int, completed: int, served: bool
) -> None:
    with pytest.raises(StageError) as caught:
        Record.from_config({"completedStage": completed, "servedTraffic": served}, declared_stage=declared)

    assert caught.value.exit_code == EXIT_BAD_INPUT
    assert caught.value.message == (
        f"The stack file declares stage {declared}, but the migration record says stage {completed} is done: "
        "this working copy's Pulumi.<stack>.yaml is older than the migration, and an update with it would roll "
        "the stack back."
    )
    assert caught.value.hint == (
        f"Use the current stack file (stage {completed}; or `pulumi config set table-migration:stage {completed}`). "
        + GOING_BACK[(declared, completed, served)]
    )

"""The stage table and the moves between stages (pure)."""

from __future__ import annotations

import pytest

from migrator.core import stages as st
from migrator.core.errors import EXIT_BAD_INPUT, GuardError, StageError
from migrator.core.guard import AllowedChange, PlannedChange, Preview, check_preview
from migrator.core.record import Record


def test_up_from_nothing_runs_every_stage_in_order() -> None:
    # Given a stack the migrator never touched, when planning up to stage 4
    plans = st.plan_up(-1, 4)
    # then every stage runs once, in order, each with its own steps
    assert [p.stage for p in plans] == [0, 1, 2, 3, 4]
    assert plans[1].after == (st.EXPORT, st.TRANSFORM, st.RECORD_IMPORT_SOURCE)
    assert plans[2].after == (st.CHECK_IMPORT, st.VERIFY_EXPORT)
    assert plans[3].before == (st.VERIFY_LIVE,) and plans[3].at_update == (st.MARK_TRAFFIC,)
    # no step unprotects anything: the program declares stage 3's legacy table unprotected
    assert plans[4].before == () and plans[4].after == (st.CHECK_RETAINED, st.REPORT)


def test_no_step_unprotects_a_table_out_of_band() -> None:
    steps = {s for p in st.plan_up(-1, 4) for s in p.steps} | {
        s for p in st.plan_down(3, 1, served_traffic=False) for s in p.steps
    }
    assert not any("unprotect" in s for s in steps) and not hasattr(st, "UNPROTECT")


def test_up_starts_after_the_last_completed_stage() -> None:
    assert [p.stage for p in st.plan_up(1, 3)] == [2, 3]


def test_up_to_the_completed_stage_is_a_no_op() -> None:
    assert st.plan_up(2, 2) == []


def test_a_pure_rename_skips_the_transform() -> None:
    (plan,) = st.plan_up(0, 1, needs_transform=False)
    assert plan.after == (st.EXPORT, st.RECORD_IMPORT_SOURCE)


@pytest.mark.parametrize("target", [-1, 5, 42])
def test_up_refuses_a_stage_outside_0_to_4(target: int) -> None:
    with pytest.raises(StageError) as caught:
        st.plan_up(0, target)
    assert caught.value.exit_code == EXIT_BAD_INPUT
    assert "0 legacy" in str(caught.value)


def test_up_refuses_going_backwards_and_names_down() -> None:
    with pytest.raises(StageError) as caught:
        st.plan_up(3, 1)
    assert "migrate down --stage 1" in str(caught.value)


def test_only_stage_4_may_drop_the_legacy_table_and_only_as_a_retain() -> None:
    plans = st.plan_up(-1, 4)
    urn = "urn:pulumi:dev::table-migration::table-migration:index:MigratingTable$aws:dynamodb/table:Table::t-legacy"
    retain = PlannedChange(urn, st.TABLE_TYPE, "t-legacy", "delete", retain_on_delete=True)
    real_delete = PlannedChange(urn, st.TABLE_TYPE, "t-legacy", "delete", retain_on_delete=False)
    # Given the stage 4 allowances, a retained delete of legacy passes and a real delete does not
    check_preview(Preview((retain,)), allowed=plans[4].allowed)
    with pytest.raises(GuardError, match="delete"):
        check_preview(Preview((real_delete,)), allowed=plans[4].allowed)
    # and no earlier stage allows either
    for plan in plans[:4]:
        with pytest.raises(GuardError, match="legacy"):
            check_preview(Preview((retain,)), allowed=plan.allowed)
    assert plans[4].drops == (st.LEGACY,)


def test_down_3_to_2_warns_about_writes_since_cutover() -> None:
    (plan,) = st.plan_down(3, 2, served_traffic=True, legacy_name="MyTable", new_name="MyNewTable")
    assert plan.stage == 2 and plan.direction == "down" and plan.allowed == ()
    assert "MyNewTable since cutover are not in MyTable" in (plan.warning or "")


def test_down_2_to_1_drops_the_new_table_when_it_never_served_traffic() -> None:
    (plan,) = st.plan_down(2, 1, served_traffic=False)
    assert plan.stage == 1
    assert plan.allowed == (AllowedChange(st.TABLE_TYPE, st.NEW, "delete"),)
    assert plan.before == () and plan.after == (st.FORGET_IMPORT,)
    assert plan.drops == (st.NEW,)


def test_down_2_to_1_is_refused_once_the_new_table_served_traffic() -> None:
    with pytest.raises(StageError, match="served traffic"):
        st.plan_down(2, 1, served_traffic=True)


def test_down_3_to_1_is_refused_as_a_whole_before_anything_runs() -> None:
    with pytest.raises(StageError, match="served traffic"):
        st.plan_down(3, 1, served_traffic=True)


@pytest.mark.parametrize(
    ("current", "target", "reason"),
    [
        (4, 3, "has left the stack and may have diverged"),
        (4, 2, "has left the stack"),
        (1, 0, "orphan the exported data"),
        (2, 5, "not a stage"),
        (1, 3, "migrate up --stage 3"),
    ],
)
def test_unsupported_downs_are_refused_with_the_reason(current: int, target: int, reason: str) -> None:
    with pytest.raises(StageError) as caught:
        st.plan_down(current, target, served_traffic=False)
    assert reason in str(caught.value)
    assert caught.value.exit_code == EXIT_BAD_INPUT


def test_down_to_the_current_stage_is_a_no_op() -> None:
    assert st.plan_down(2, 2, served_traffic=False) == []


def test_stage_plan_to_dict_lists_the_steps_around_the_update() -> None:
    (plan,) = st.plan_up(2, 3)
    data = plan.to_dict()
    assert [s["step"] for s in data["steps"]] == [st.VERIFY_LIVE, "preview", st.MARK_TRAFFIC, "update"]
    assert data["name"] == "cutover" and data["from"] == 2


def test_record_without_progress_reruns_the_declared_stage_steps() -> None:
    assert Record.from_config(None, declared_stage=2).completed_stage == 1
    assert Record.from_config(None, declared_stage=0).completed_stage == -1


def test_record_round_trips_through_config_json() -> None:
    record = Record(completed_stage=2, export_arn="arn:x", export_attempt=2, served_traffic=True).completed(3, "t")
    again = Record.from_config(record.to_config(), declared_stage=3)
    assert again == record


@pytest.mark.parametrize(("declared", "completed"), [(1, 3), (3, 1)])
def test_record_that_cannot_go_with_the_declared_stage_is_refused(declared: int, completed: int) -> None:
    with pytest.raises(StageError, match="pulumi config set table-migration:stage"):
        Record.from_config({"completedStage": completed}, declared_stage=declared)


def test_a_new_table_loaded_by_writing_is_loaded_at_stage_2_instead_of_checked() -> None:
    (two,) = st.plan_up(1, 2, load_write=True)
    assert two.after == (st.LOAD, st.VERIFY_EXPORT)
    assert "BatchWriteItem" in two.to_dict()["steps"][-2]["text"]
    (imported,) = st.plan_up(1, 2)
    assert imported.after == (st.CHECK_IMPORT, st.VERIFY_EXPORT)

"""The stage table and the moves between stages (pure)."""

from __future__ import annotations

import pytest

from migrator.core import stages as st
from migrator.core.errors import EXIT_BAD_INPUT, GuardError, StageError
from migrator.core.guard import AllowedChange, PlannedChange, Preview, check_preview

DECLARES = {
    0: "the legacy table; the consumer reads and writes it",
    1: "+ point-in-time recovery on the legacy table; + the export bucket",
    2: "+ the new table, created by an import from importSource (not protected: a copy until cutover)",
    3: "the consumer's TABLE_NAME moves to the new table (its IAM grant covers both tables from stage 2 until 4); "
    "the legacy table is no longer protected (retained, deletion protection on)",
    4: "the legacy table leaves the stack (kept in AWS, deletion protection on)",
}
UP = [
    st.StageMove(0, "legacy", "up", DECLARES[0]),
    st.StageMove(
        1, "export", "up", DECLARES[1], after=(st.EXPORT, st.TRANSFORM, st.RECORD_IMPORT_SOURCE), from_stage=0
    ),
    st.StageMove(2, "dual", "up", DECLARES[2], after=(st.CHECK_IMPORT, st.VERIFY_EXPORT), from_stage=1),
    st.StageMove(3, "cutover", "up", DECLARES[3], before=(st.VERIFY_LIVE,), at_update=(st.MARK_TRAFFIC,), from_stage=2),
    st.StageMove(
        4,
        "retire",
        "up",
        DECLARES[4],
        after=(st.CHECK_RETAINED, st.REPORT),
        allowed=(AllowedChange(st.TABLE_TYPE, "legacy", "retain"),),
        from_stage=3,
        drops=("legacy",),
    ),
]


def test_up_from_nothing_runs_every_stage_in_order() -> None:
    # Given a stack the migrator never touched, when planning up to stage 4, then every stage runs once,
    # in order, each with its own steps; only stage 4 drops a table from the stack (the legacy one, retained).
    assert st.plan_up(-1, 4) == UP
    assert [p.steps for p in UP] == [
        ("preview", "update"),
        ("preview", "update", "export", "transform", "record-import-source"),
        ("preview", "update", "check-import", "verify-export"),
        ("verify-live", "preview", "mark-traffic", "update"),
        ("preview", "update", "check-retained", "report"),
    ]


def test_no_step_unprotects_a_table_out_of_band() -> None:
    steps = {s for p in st.plan_up(-1, 4) for s in p.steps} | {
        s for p in st.plan_down(3, 1, served_traffic=False) for s in p.steps
    }
    assert not any("unprotect" in s for s in steps) and not hasattr(st, "UNPROTECT")


def test_up_starts_after_the_last_completed_stage() -> None:
    assert st.plan_up(1, 3) == UP[2:4]
    assert st.plan_up(3, 4) == UP[4:]


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
    assert caught.value.message == "Stage 1 is behind the stack, which is at stage 3; `up` only goes forward."
    assert caught.value.hint == "To go back, use `migrate down --stage 1` (only 3→2 and 2→1 are possible)."


@pytest.mark.parametrize("stage", [True, False, "1", 1.0, None, -1, 5])
def test_only_the_whole_numbers_0_to_4_are_stages(stage: object) -> None:
    with pytest.raises(StageError) as caught:
        st.check_stage(stage)  # type: ignore[arg-type]
    assert caught.value.message == f"{stage!r} is not a stage."
    assert caught.value.hint == "Stages are 0 legacy, 1 export, 2 dual, 3 cutover, 4 retire."


def test_check_stage_returns_a_stage() -> None:
    assert [st.check_stage(n) for n in range(5)] == [0, 1, 2, 3, 4]


def test_stage_names() -> None:
    assert [st.stage_name(n) for n in range(-1, 6)] == ["none", "legacy", "export", "dual", "cutover", "retire", "none"]


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


DOWN_TO_2 = st.StageMove(
    2,
    "dual",
    "down",
    DECLARES[2],
    from_stage=3,
    warning="Writes made to MyNewTable since cutover are not in MyTable; the consumer goes back to MyTable "
    "without them.",
)
DOWN_TO_1 = st.StageMove(
    1,
    "export",
    "down",
    DECLARES[1],
    after=(st.FORGET_IMPORT,),
    allowed=(AllowedChange(st.TABLE_TYPE, "new", "delete"),),
    from_stage=2,
    drops=("new",),
)


def test_down_3_to_2_warns_about_writes_since_cutover() -> None:
    assert st.plan_down(3, 2, served_traffic=True, legacy_name="MyTable", new_name="MyNewTable") == [DOWN_TO_2]


def test_down_2_to_1_drops_the_new_table_when_it_never_served_traffic() -> None:
    assert st.plan_down(2, 1, served_traffic=False) == [DOWN_TO_1]


def test_down_3_to_1_goes_one_stage_at_a_time() -> None:
    # (a new table that never served traffic at stage 3: the record was put back by hand)
    moves = st.plan_down(3, 1, served_traffic=False, legacy_name="MyTable", new_name="MyNewTable")
    assert moves == [DOWN_TO_2, DOWN_TO_1]


def test_down_2_to_1_is_refused_once_the_new_table_served_traffic() -> None:
    with pytest.raises(StageError) as caught:
        st.plan_down(2, 1, served_traffic=True, new_name="MyNewTable")
    assert caught.value.message == (
        "Cannot go back from stage 2 to 1: MyNewTable has served traffic (stage 3 was applied), and dropping it "
        "would lose those writes."
    )
    assert caught.value.hint == "Stay at stage 2, or go forward with `migrate up --stage 3`."


def test_down_3_to_1_is_refused_as_a_whole_before_anything_runs() -> None:
    with pytest.raises(StageError, match="served traffic"):
        st.plan_down(3, 1, served_traffic=True)


def test_down_names_the_tables_generically_unless_told_their_names() -> None:
    (move,) = st.plan_down(3, 2, served_traffic=True)
    assert move.warning == (
        "Writes made to the new table since cutover are not in the legacy table; the consumer goes back to the "
        "legacy table without them."
    )


@pytest.mark.parametrize(
    ("current", "target", "message", "hint"),
    [
        (
            4,
            3,
            "Cannot go back from stage 4: MyTable has left the stack and may have diverged from MyNewTable since "
            "cutover.",
            "MyTable is still in AWS with deletion protection on; to use it again, start a new migration towards it "
            "(or `pulumi import` it into a stack).",
        ),
        (
            1,
            0,
            "Cannot go back from stage 1 to 0: stage 1 only added point-in-time recovery and the export bucket, "
            "which holds the export; removing them undoes nothing and would orphan the exported data.",
            "Stay at stage 1; `migrate up` continues from there.",
        ),
        (
            1,
            3,
            "Stage 3 is ahead of the stack, which is at stage 1; `down` only goes back.",
            "To go forward, use `migrate up --stage 3`.",
        ),
    ],
)
def test_refused_downs_say_why_and_what_to_do(current: int, target: int, message: str, hint: str) -> None:
    with pytest.raises(StageError) as caught:
        st.plan_down(current, target, served_traffic=False, legacy_name="MyTable", new_name="MyNewTable")
    assert (caught.value.message, caught.value.hint) == (message, hint)


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
    assert plan.to_dict() == {
        "stage": 3,
        "name": "cutover",
        "direction": "up",
        "from": 2,
        "declares": DECLARES[3],
        "steps": [
            {
                "step": "verify-live",
                "text": "verify the live legacy table against the new one (writes after the export are drift)",
            },
            {
                "step": "preview",
                "text": "preview the update; refuse if a table would be deleted or replaced other than planned",
            },
            {"step": "mark-traffic", "text": "record that the new table serves traffic from now on"},
            {"step": "update", "text": "Pulumi update"},
        ],
        "allowedTableChanges": [],
        "warning": None,
    }


def test_stage_plan_to_dict_lists_allowances_and_the_warning() -> None:
    data = DOWN_TO_1.to_dict()
    assert data["allowedTableChanges"] == [{"table": "new", "op": "delete"}]
    assert (data["direction"], data["from"], data["warning"]) == ("down", 2, None)
    assert DOWN_TO_2.to_dict()["warning"] == DOWN_TO_2.warning


def test_a_step_without_a_description_is_shown_by_its_name() -> None:
    plan = st.StageMove(9, "custom", "up", "a test stage", after=("hand-check",))
    assert plan.to_dict()["steps"][-1] == {"step": "hand-check", "text": "hand-check"}


def test_a_new_table_loaded_by_writing_is_loaded_at_stage_2_instead_of_checked() -> None:
    (two,) = st.plan_up(1, 2, load_write=True)
    assert two.after == (st.LOAD, st.VERIFY_EXPORT)
    assert "BatchWriteItem" in two.to_dict()["steps"][-2]["text"]
    (imported,) = st.plan_up(1, 2)
    assert imported.after == (st.CHECK_IMPORT, st.VERIFY_EXPORT)


@pytest.mark.parametrize("online", [False, True])
def test_the_stage_2_header_of_a_table_loaded_by_writing_does_not_speak_of_an_import(online: bool) -> None:
    (two,) = st.plan_up(1, 2, load_write=True, online=online)
    assert "import" not in two.declares and "filled by writing the export" in two.declares
    (imported,) = st.plan_up(1, 2, online=online)
    assert "created by an import from importSource" in imported.declares

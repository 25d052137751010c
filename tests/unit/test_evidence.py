"""The rules that weigh the record against the live writers and the stack (migrator.core.evidence)."""

from __future__ import annotations

import pytest

from migrator.core.cutover_state import FORWARD, REVERSE, CutoverState
from migrator.core.errors import StageError
from migrator.core.evidence import Evidence, LiveWriter, check_cutover_resumed, check_drop, check_up_without_record
from migrator.core.stages import plan_down, plan_up

NEW = "New"
DROP = plan_down(2, 1, served_traffic=False)
ON_NEW = LiveWriter("fn", "TABLE_NAME", NEW, None)
ON_LEGACY = LiveWriter("fn", "TABLE_NAME", "Legacy", None)


def evidence(found: bool = True, outputs: dict | None = None, writers=(ON_LEGACY,), flip: bool = False) -> Evidence:
    return Evidence(found, "DynamoDB table records (us-east-1)", outputs or {"stage": 2}, tuple(writers), flip)


@pytest.mark.parametrize(
    ("facts", "words"),
    [
        (evidence(found=False), "missing from DynamoDB table records"),
        (evidence(writers=(ON_NEW,)), "writer fn uses it now"),
        (evidence(outputs={"stage": "3"}), "applied stage 3"),
        (evidence(outputs={"stage": 2, "activeTableName": NEW}), "name it as the active table"),
        (evidence(flip=True), "at the flip"),
    ],
)
def test_dropping_the_new_table_is_refused_on_any_sign_or_without_a_record(facts: Evidence, words: str) -> None:
    with pytest.raises(StageError) as refused:
        check_drop(facts, DROP, record_served=False, new_table=NEW, stack="s", lose=False)
    assert words in str(refused.value) and "--lose-new-table-writes" in str(refused.value)
    assert refused.value.exit_code == 2
    check_drop(facts, DROP, record_served=False, new_table=NEW, stack="s", lose=True)  # the flag gives it up


def test_a_found_record_and_no_sign_drops_and_a_move_that_drops_nothing_is_never_refused() -> None:
    check_drop(evidence(), DROP, record_served=False, new_table=NEW, stack="s", lose=False)
    keep = plan_down(3, 2, served_traffic=True)
    check_drop(evidence(found=False, writers=(ON_NEW,)), keep, record_served=True, new_table=NEW, stack="s", lose=False)


def test_up_without_a_record_is_refused_only_once_the_new_table_serves_traffic() -> None:
    check_up_without_record(evidence(found=False), new_table=NEW, stack="s")
    check_up_without_record(evidence(writers=(ON_NEW,)), new_table=NEW, stack="s")  # the record is there
    with pytest.raises(StageError, match="Restore the record table|point-in-time"):
        check_up_without_record(evidence(found=False, writers=(ON_NEW,)), new_table=NEW, stack="s")


@pytest.mark.parametrize(
    ("direction", "moves", "resumed"),
    [
        (FORWARD, plan_up(2, 3, online=True), True),
        (FORWARD, plan_up(2, 2, online=True), False),
        (FORWARD, plan_up(3, 4, online=True), False),
        (REVERSE, plan_down(3, 2, served_traffic=True, carry_back=True), True),
        (REVERSE, plan_down(3, 2, served_traffic=True), False),  # --discard-new-writes: no window to resume
        (REVERSE, plan_up(3, 4, online=True), False),
    ],
)
def test_only_the_move_that_runs_the_window_again_may_follow_an_interrupted_one(direction, moves, resumed) -> None:
    state = CutoverState(direction, "frozen", {}, "A", "B", "t")
    if resumed:
        check_cutover_resumed(state, moves, command="migrate x")
        return
    with pytest.raises(StageError) as refused:
        check_cutover_resumed(state, moves, command="migrate x")
    assert f"Run `{state.resume_command}` first" in refused.value.hint


def test_a_live_writer_says_what_lambda_has() -> None:
    assert LiveWriter("fn", "T", NEW, 0).describe() == "fn uses New (reserved concurrency 0: frozen)"
    assert LiveWriter("fn", "T", NEW, None).describe() == "fn uses New (reserved concurrency unset)"
    assert LiveWriter("fn", "T", problem="gone").describe() == "fn: unknown (gone)"
    assert not LiveWriter("fn", "T", problem="gone").frozen

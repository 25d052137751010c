"""The online mode's plan and record (pure), and ``down``'s choice between carrying writes back and refusing."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.core import stages as st
from migrator.core.cutover_state import FLIPPED, FORWARD, REVERSE, CutoverState, add_replayed, positions, with_positions
from migrator.core.errors import EXIT_BAD_INPUT, ReplayImpossibleError
from migrator.core.record import Record
from migrator.data.stream.replay import ReplaySource
from migrator.orchestrate.stream_steps import gap_hint
from tests.unit.test_migration import make_world, progress_record


def test_online_stages_declare_the_stream_replay_and_cut_over_with_a_freeze() -> None:
    plans = st.plan_up(-1, 4, online=True)
    assert plans[1].before == (st.CHECK_STREAM,)
    # the stream is ENABLED before the export starts, and checked against the export's time after it
    assert plans[1].after == (st.WAIT_STREAM, st.EXPORT, st.RECORD_STREAM, st.TRANSFORM, st.RECORD_IMPORT_SOURCE)
    assert plans[2].after == (st.CHECK_IMPORT, st.VERIFY_EXPORT, st.CATCH_UP)
    assert plans[3].before == (st.CUTOVER,) and plans[3].after == (st.LEGACY_WRITES,)
    assert st.VERIFY_LIVE not in plans[3].steps  # no drift check: the writes are replayed
    assert plans[4].after == (st.CHECK_RETAINED, st.REPORT)
    # stage 4 replays late writes once more and refuses while a conflict is open, before its update
    assert plans[4].before == (st.CHECK_CONFLICTS,)
    # a pure rename skips the transform online too
    assert st.TRANSFORM not in st.plan_up(0, 1, needs_transform=False, online=True)[0].after


def test_offline_stages_are_as_before() -> None:
    assert st.plan_up(-1, 4, online=False) == st.plan_up(-1, 4)
    assert st.plan_up(2, 3)[0].before == (st.VERIFY_LIVE,)


def test_down_3_to_2_online_carries_writes_back_and_warns_of_nothing_lost() -> None:
    (plan,) = st.plan_down(3, 2, served_traffic=True, carry_back=True, new_name="MyNewTable")
    assert plan.before == (st.CARRY_BACK,) and plan.warning is None
    (offline,) = st.plan_down(3, 2, served_traffic=True, new_name="MyNewTable")
    assert offline.before == () and "since cutover are not in" in (offline.warning or "")
    # 2→1 is not affected
    assert st.plan_down(2, 1, served_traffic=False, carry_back=True)[0].before == ()


def test_the_record_keeps_the_stream_the_cutover_and_the_online_report() -> None:
    record = Record(
        completed_stage=2,
        stream={"arn": "arn:s", "viewType": "NEW_AND_OLD_IMAGES", "created": 1.5},
        cutover=CutoverState(FORWARD, "frozen", {"format": 1, "writers": []}, "A", "B", "t").to_dict(),
        online={"catchUp": {"recordsReplayed": 3}},
    )
    assert Record.from_config(record.to_config(), declared_stage=3) == record
    assert Record.from_config({"completedStage": 2}, declared_stage=3).cutover is None


def test_a_cutover_state_round_trips_and_says_where_the_writers_are() -> None:
    state = CutoverState(FORWARD, "frozen", {"format": 1}, "MyTable", "MyNewTable", "t1")
    assert CutoverState.from_dict(state.to_dict()) == state and not state.pending_update
    flipped = state.flipped("t2")
    assert flipped.phase == FLIPPED and flipped.pending_update and flipped.at == "t2"
    assert "flipped, update pending" in flipped.describe() and "MyNewTable" in flipped.describe()
    assert CutoverState.from_dict(None) is None


def test_checkpoints_belong_to_their_stream_and_export() -> None:
    entry = with_positions(None, FORWARD, {"shard-1": "100"}, stream="arn:legacy", export="arn:export/1")
    entry = with_positions(entry, REVERSE, {"shard-9": "7"}, stream="arn:new")
    assert positions(entry, FORWARD, stream="arn:legacy", export="arn:export/1") == {"shard-1": "100"}
    assert positions(entry, REVERSE, stream="arn:new") == {"shard-9": "7"}
    # another export (after down 2→1) or another stream (replaced) starts from the stream's beginning
    assert positions(entry, FORWARD, stream="arn:legacy", export="arn:export/2") == {}
    assert positions(entry, FORWARD, stream="arn:other", export="arn:export/1") == {}
    # replacing one direction keeps the other
    again = with_positions(entry, FORWARD, {"shard-1": "200"}, stream="arn:legacy", export="arn:export/1")
    assert positions(again, REVERSE, stream="arn:new") == {"shard-9": "7"}


def test_replay_reports_add_up_over_runs() -> None:
    first = add_replayed({}, "catchUp", {"recordsReplayed": 5, "passes": 2, "lagSeconds": 3.0, "seconds": 1.0})
    both = add_replayed(first, "catchUp", {"recordsReplayed": 2, "passes": 1, "lagSeconds": 0.5, "seconds": 0.5})
    assert both["catchUp"]["recordsReplayed"] == 7 and both["catchUp"]["passes"] == 3
    assert both["catchUp"]["lagSeconds"] == 0.5 and both["catchUp"]["seconds"] == 1.5


def _at_stage_3_online(tmp_path: Path, derive: dict[str, str]):
    world = make_world(tmp_path)
    world.migration().up(3)  # the fakes run the offline steps; the record is what matters here
    world.stack.config.update(online="true", derive=derive)
    world.events.clear()
    return world


def test_down_refuses_when_writes_cannot_be_carried_back_and_changes_nothing(tmp_path: Path) -> None:
    # Given stage 3 online with rules that overwrite the legacy key (new items no longer hold it)
    world = _at_stage_3_online(tmp_path, {"UUID": "uuid5(Name)", "Name": 'format("x-{Name}")'})
    before = progress_record(world.stack)
    # when going back without --discard-new-writes, then it refuses with the reason and the way out
    with pytest.raises(ReplayImpossibleError) as refused:
        world.migration().down(2)
    assert refused.value.exit_code == EXIT_BAD_INPUT
    assert "overwrite the legacy key" in str(refused.value) and "--discard-new-writes" in str(refused.value)
    assert world.events == [] and world.stack.config["stage"] == "3" and progress_record(world.stack) == before


def test_down_with_discard_new_writes_goes_back_and_says_what_stays_behind(tmp_path: Path) -> None:
    world = _at_stage_3_online(tmp_path, {"UUID": "uuid5(Name)", "Name": 'format("x-{Name}")'})
    result = world.migration().down(2, discard_new_writes=True)
    assert result.stage == 2 and result.carried_back is None
    assert any("since cutover are not in MyTable" in w for w in result.warnings)


def test_a_stream_gap_names_a_new_export_forward_and_discarding_the_writes_back() -> None:
    forward = gap_hint("prod", ReplaySource("Legacy", "New", "arn", "NEW_AND_OLD_IMAGES", None), FORWARD)
    assert "`migrate down --stage 1`, then `migrate up --stage 2`" in forward
    assert "`pulumi refresh --stack prod`" in forward and "stream of Legacy" in forward
    back = gap_hint("prod", ReplaySource("New", "Legacy", "arn", "NEW_AND_OLD_IMAGES", None), REVERSE)
    assert "`migrate down --stage 2 --discard-new-writes`" in back and "made to New" in back

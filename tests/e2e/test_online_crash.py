"""Online cutover: a crash at each new step, then a rerun of the same command, with the consumer writing all along.

One migration dies at every point in turn (the process is gone: nothing on the way cleans up) and each
rerun must get past it: during the catch-up (a write done, its checkpoint not saved), after the
freeze, after the flip (the writers point at the new table, still frozen, "flipped" not yet recorded),
before the unfreeze ("flipped" recorded). The rerun unfreezes and starts the cutover again from step 1
when the record says "frozen", and finishes the update when it says "flipped". Nothing acknowledged is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

import migrator.data.stream.window as window
from migrator.core.errors import PulumiError
from migrator.core.ports import CHECKPOINTS
from migrator.data.record_table import DynamoRecordStore
from migrator.orchestrate.migration import Migration
from tests.conftest import Moto
from tests.e2e.conftest import fast_data_plane, seed_legacy, stack_records
from tests.e2e.online_support import (
    ITEMS,
    LEGACY,
    NEW,
    RULES,
    by_name,
    expected_new,
    online_engine,
    start_consumer,
    wait_for_writes,
    writers_state,
)
from tests.e2e.test_crash_resume import Crash, Crasher, leave_lock_of_a_killed_run

POINTS = ("during catch-up", "after freeze", "after flip", "before unfreeze")


def die_at_the_cutover_steps(dying: Crasher, monkeypatch: pytest.MonkeyPatch) -> None:
    """Report the steps of the freeze window and the first checkpoint write to ``dying``."""
    real_freeze, real_flip, real_unfreeze, real_save = (
        window.freeze,
        window.flip,
        window.unfreeze,
        DynamoRecordStore.save,
    )

    def freeze(*args: Any, **kwargs: Any) -> Any:
        real_freeze(*args, **kwargs)
        dying.reached("after freeze")

    def flip(*args: Any, **kwargs: Any) -> Any:
        flipped = real_flip(*args, **kwargs)
        dying.reached("after flip")
        return flipped

    def unfreeze(*args: Any, **kwargs: Any) -> Any:
        dying.reached("before unfreeze")
        return real_unfreeze(*args, **kwargs)

    def restore(*args: Any, **kwargs: Any) -> None:
        cause = args[2] if len(args) > 2 else kwargs.get("cause")
        if not isinstance(cause, Crash):  # a dead process restores nothing; a real failure still does
            real_restore(*args, **kwargs)

    def save(store: DynamoRecordStore, kind: str, value: Mapping[str, Any]) -> None:
        if kind == CHECKPOINTS:  # the page is written; its checkpoint would be saved now
            dying.reached("during catch-up")
        real_save(store, kind, value)

    real_restore = window._restore
    monkeypatch.setattr(window, "freeze", freeze)
    monkeypatch.setattr(window, "flip", flip)
    monkeypatch.setattr(window, "unfreeze", unfreeze)
    monkeypatch.setattr(window, "_restore", restore)
    monkeypatch.setattr(DynamoRecordStore, "save", save)


def test_a_crash_at_each_cutover_step_then_a_rerun_loses_nothing(
    moto: Moto, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given stage 0 online, 300 legacy items and the consumer writing, when `up --stage 3` dies at each point
    engine = online_engine(moto)
    engine.up()
    items = seed_legacy(moto.dynamodb, ITEMS)
    function = engine.outputs()["consumerFunctionName"]
    dying = Crasher(POINTS)
    die_at_the_cutover_steps(dying, monkeypatch)
    seen: list[tuple[str, tuple[str, int | None], Any]] = []
    consumer = start_consumer(engine, moto, items)
    try:
        for point in POINTS:
            with pytest.raises(Crash) as crashed:
                _migration(engine, moto, tmp_path).up(3)
            assert crashed.value.args[0] == point  # the rerun got past the previous crash, up to this one
            progress = stack_records(moto, engine).load("progress") or {}
            seen.append((point, writers_state(moto, function), (progress.get("cutover") or {}).get("phase")))
            leave_lock_of_a_killed_run(engine, moto)
        result = _migration(engine, moto, tmp_path).up(3)
        wait_for_writes(consumer, NEW, 10)
    finally:
        consumer.stop()

    # then each crash left what the record says: frozen on the legacy table, frozen on the new table with the
    # record still saying "frozen" (the rerun flips it back), frozen on the new table recorded "flipped"
    assert seen == [
        ("during catch-up", (LEGACY, None), None),
        ("after freeze", (LEGACY, 0), "frozen"),
        ("after flip", (NEW, 0), "frozen"),
        ("before unfreeze", (NEW, 0), "flipped"),
    ]
    # and the last rerun finished: writers unfrozen on the new table, which has every acknowledged write
    assert result.stage == 3 and consumer.errors == []
    assert writers_state(moto, function) == (NEW, None)
    assert by_name(moto, NEW) == expected_new(consumer, items)
    assert (stack_records(moto, engine).load("progress") or {}).get("cutover") is None


def test_a_failed_update_after_the_flip_leaves_the_writers_on_the_new_table_and_the_rerun_finishes(
    moto: Moto, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given stage 2 done online and the consumer writing, when stage 3's update fails after the flip
    engine = online_engine(moto)
    engine.up()
    items = seed_legacy(moto.dynamodb, 100)
    function = engine.outputs()["consumerFunctionName"]
    _migration(engine, moto, tmp_path).up(2)
    real_up = engine.up
    consumer = start_consumer(engine, moto, items)
    try:
        monkeypatch.setattr(engine, "up", _failing_once(real_up))
        with pytest.raises(PulumiError):
            _migration(engine, moto, tmp_path).up(3)
        # then the writers stay on the new table, unfrozen; the record and `status` say the update is pending
        assert writers_state(moto, function) == (NEW, None)
        status = _migration(engine, moto, tmp_path).status()
        assert status.cutover is not None and status.cutover["phase"] == "flipped"
        assert "flipped, update pending" in status.next_step and "migrate up --stage 3" in status.next_step
        assert "flipped, update pending" in status.text()
        wait_for_writes(consumer, NEW, 5)
        # and the rerun finishes the update without flipping anything back
        result = _migration(engine, moto, tmp_path).up(3)
        wait_for_writes(consumer, NEW, 5)
    finally:
        consumer.stop()
    assert result.stage == 3 and writers_state(moto, function) == (NEW, None)
    assert {a.table for a in consumer.acks[-10:]} == {NEW} and consumer.errors == []
    assert by_name(moto, NEW) == expected_new(consumer, items)
    assert _migration(engine, moto, tmp_path).status().cutover is None


def _failing_once(real_up: Callable[..., Any]) -> Callable[..., Any]:
    calls = {"n": 0}

    def up(on_output: Any = None) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise PulumiError("Update of stack e2e failed: the provider timed out.", hint="Rerun.")
        return real_up(on_output)

    return up


def _migration(engine: Any, moto: Moto, tmp_path: Any) -> Migration:
    return Migration(engine, aws=moto.settings, data=fast_data_plane(moto), lock_dir=tmp_path / "locks")


__all__ = ["RULES"]

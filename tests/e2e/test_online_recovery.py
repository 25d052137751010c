"""After a kill anywhere in a freeze window, the command the migrator names restores the writers and goes on.

One migration is killed at every point of the cutover and of going back (``down --stage 2``): while frozen,
after the flip before it is recorded, after "flipped" is recorded; the same three the other way. Each time,
``status`` names a command, ``catch-up`` refuses naming the same one, a command that would leave the
writers as they are is refused, and running the named command leaves the writers unfrozen on the table they
belong on, with nothing lost. moto stores reserved concurrency without enforcing it: the setting is asserted
(and the simulated consumer, which honours it, is throttled while it is 0).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from migrator.core.errors import BadInputError, StageError
from migrator.orchestrate.migration import Migration
from tests.conftest import Moto
from tests.e2e.conftest import fast_data_plane, seed_legacy, stack_records
from tests.e2e.online_support import (
    LEGACY,
    NEW,
    by_name,
    expected_legacy,
    online_engine,
    start_consumer,
    wait_for_writes,
    writers_state,
)
from tests.e2e.test_crash_resume import Crash, Crasher, leave_lock_of_a_killed_run
from tests.e2e.test_online_crash import die_at_the_cutover_steps

# (the command that is killed, where, the phase the record then says, the table the writers end on)
KILLS = (
    ("up", "after freeze", "frozen", NEW),
    ("down", "after freeze", "frozen", LEGACY),
    ("up", "after flip", "frozen", NEW),
    ("down", "after flip", "frozen", LEGACY),
    ("up", "before unfreeze", "flipped", NEW),
    ("down", "before unfreeze", "flipped", LEGACY),
)
NAMED = re.compile(r"`(migrate (?:up|down) --stage \d)`")


def test_after_a_kill_at_every_cutover_point_the_named_command_unfreezes_the_writers_and_goes_on(
    moto: Moto, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given stage 2 done online, the consumer writing all along
    engine = online_engine(moto)
    engine.up()
    items = seed_legacy(moto.dynamodb, 60)
    function = engine.outputs()["consumerFunctionName"]
    _migration(engine, moto, tmp_path).up(2)
    dying = Crasher(())
    die_at_the_cutover_steps(dying, monkeypatch)
    consumer = start_consumer(engine, moto, items, seed=7)
    seen: list[tuple[str, str, str, Any, str]] = []
    try:
        for command, point, _phase, ends_on in KILLS:
            # when the command is killed at that point (the process is gone: nothing cleans up)
            dying.points[:] = [point]
            with pytest.raises(Crash):
                _run(_migration(engine, moto, tmp_path), command)
            assert dying.points == []
            leave_lock_of_a_killed_run(engine, moto)
            cutover = (stack_records(moto, engine).load("progress") or {}).get("cutover") or {}
            frozen = writers_state(moto, function)[1]
            # then status names one command, and catch-up refuses naming the same one
            status = _migration(engine, moto, tmp_path).status()
            named = _named(status.next_step)
            with pytest.raises(BadInputError) as refused:
                _migration(engine, moto, tmp_path).catch_up()
            assert _named(refused.value.hint) == named
            assert [w.reserved_concurrency for w in status.writers] == [0] and "frozen" in status.text()
            seen.append((command, point, cutover.get("phase"), frozen, named))
            # and a command that would leave the writers frozen is refused, changing nothing
            _refuses_the_other_command(engine, moto, tmp_path, named)
            # and the named command restores the writers and finishes what was killed
            result = _run(_migration(engine, moto, tmp_path), named.split()[1], int(named[-1]))
            assert result.stage == (3 if ends_on == NEW else 2)
            assert writers_state(moto, function) == (ends_on, None), (command, point)
            wait_for_writes(consumer, ends_on, 3)
    finally:
        consumer.stop()

    # every kill left the writers frozen, and the named command was the one that resumes that direction
    assert seen == [
        (command, point, phase, 0, "migrate up --stage 3" if command == "up" else "migrate down --stage 2")
        for command, point, phase, _ in KILLS
    ]
    # nothing acknowledged was lost: back at stage 2, the legacy table holds every write (carried back)
    assert consumer.errors == [] and by_name(moto, LEGACY) == expected_legacy(consumer, items)
    assert (stack_records(moto, engine).load("progress") or {}).get("cutover") is None


def _refuses_the_other_command(engine: Any, moto: Moto, tmp_path: Any, named: str) -> None:
    other = "migrate up --stage 2" if named.startswith("migrate up") else "migrate up --stage 4"
    before = stack_records(moto, engine).load("progress")
    with pytest.raises(StageError) as refused:
        _run(_migration(engine, moto, tmp_path), other.split()[1], int(other[-1]))
    assert named in str(refused.value)
    assert stack_records(moto, engine).load("progress") == before


def _named(text: str) -> str:
    found = set(NAMED.findall(text))
    assert len(found) == 1, text
    return found.pop()


def _run(migration: Migration, command: str, stage: int | None = None) -> Any:
    if command == "up":
        return migration.up(3 if stage is None else stage)
    return migration.down(2 if stage is None else stage)


def _migration(engine: Any, moto: Moto, tmp_path: Any) -> Migration:
    return Migration(engine, aws=moto.settings, data=fast_data_plane(moto), lock_dir=tmp_path / "locks")

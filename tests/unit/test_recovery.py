"""When a rerun may cancel the engine's update: only a provably dead run of its own, on this host."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from migrator.orchestrate.recovery import UpdateMark, dead_own_update, process_alive

HOST = "runner-1"
MARK = UpdateMark(HOST, 111, 2, "2026-12-07T06:54:30Z")


@dataclass(frozen=True)
class Lock:
    host: str
    pid: int
    at: str


def dead(_pid: int) -> bool:
    return False


def test_the_own_dead_run_on_this_host_may_be_cancelled() -> None:
    assert dead_own_update(MARK, [Lock(HOST, 222, "2026-12-07T06:54:31Z")], host=HOST, alive=dead) is None


@pytest.mark.parametrize(
    ("mark", "locks", "alive", "reason"),
    [
        (None, [Lock(HOST, 222, "2026-12-07T06:54:31Z")], dead, "no run of the migrator"),
        (UpdateMark("other", 111, 2, MARK.started), [Lock(HOST, 222, "2026-12-07T06:55Z")], dead, "started on other"),
        (MARK, [Lock(HOST, 222, "2026-12-07T06:54:31Z")], lambda pid: pid == 111, "(pid 111) is still alive"),
        (MARK, [], dead, "names none"),  # Pulumi Cloud: no process named
        (MARK, [Lock("laptop", 222, "2026-12-07T06:54:31Z")], dead, "taken on laptop"),  # someone else's `pulumi up`
        (MARK, [Lock(HOST, 222, "2026-12-07T06:54:31Z")], lambda pid: pid == 222, "(pid 222) is alive"),
        (MARK, [Lock(HOST, 222, "2026-12-07T06:50:00Z")], dead, "before the migrator's update began"),
    ],
    ids=["no-mark", "other-host", "run-alive", "cloud", "lock-elsewhere", "engine-alive", "older-lock"],
)
def test_anything_else_is_never_cancelled(mark, locks, alive, reason) -> None:  # type: ignore[no-untyped-def]
    found = dead_own_update(mark, locks, host=HOST, alive=alive)
    assert found is not None and reason in found


def test_a_mark_round_trips_and_a_damaged_one_reads_as_none() -> None:
    assert UpdateMark.from_dict(MARK.to_dict()) == MARK
    assert UpdateMark.from_dict({"host": HOST}) is None and UpdateMark.from_dict("text") is None
    here = UpdateMark.here(3, "2026-12-07T07:00:00Z")
    assert process_alive(here.pid) and here.stage == 3

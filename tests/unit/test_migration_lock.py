"""One migration at a time per stack: the file lock, the lock entry in the record store, stale locks."""

from __future__ import annotations

import multiprocessing
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from migrator.core.errors import BadInputError, StackBusyError
from migrator.core.memory_store import MemoryRecordStore
from migrator.core.ports import LOCK
from migrator.orchestrate.lock import LOCK_KEY, StackLock
from tests.unit.test_migration import World, example_config, make_world


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


class ConfigOnly:
    """Just enough of a stack for the lock: a name and the stack config (where 0.1 kept its lock)."""

    def __init__(self, name: str = "unit", config: dict[str, Any] | None = None) -> None:
        self.name = name
        self.config: dict[str, Any] = dict(config or example_config())

    def get_config(self) -> dict[str, Any]:
        return dict(self.config)

    def remove_config(self, keys: Any) -> None:
        for key in keys:
            self.config.pop(key, None)


def test_a_second_run_on_the_same_stack_stops_at_once(world: World) -> None:
    # Given a run holding the stack's lock
    with StackLock(world.stack, world.stack.records, command="up --stage 2", lock_dir=world.lock_dir):
        started = time.monotonic()
        # when a second run starts
        with pytest.raises(StackBusyError) as caught:
            world.migration().up(1)
        # then it stops at once, says who holds it, and changed nothing
        assert time.monotonic() - started < 2
    assert "`migrate up --stage 2`" in str(caught.value) and "nothing was changed" in str(caught.value)
    assert world.events == []
    # and once the first run is done, the stack is free again
    world.migration().up(0)
    assert world.stack.records.load(LOCK) is None and LOCK_KEY not in world.stack.config


def test_a_run_on_another_machine_sees_the_lock(tmp_path: Path) -> None:
    # Given two machines (separate lock folders, separate stack files) sharing one record store
    records = MemoryRecordStore()
    here, there = ConfigOnly(), ConfigOnly()
    with StackLock(here, records, command="up --stage 1", lock_dir=tmp_path / "a"):
        # then the other machine's run stops at once; its stack file was never needed for that
        with pytest.raises(StackBusyError, match="`migrate up --stage 1`"):
            StackLock(there, records, command="up --stage 2", lock_dir=tmp_path / "b").acquire()
        assert LOCK_KEY not in here.config and LOCK_KEY not in there.config
    StackLock(there, records, command="up --stage 2", lock_dir=tmp_path / "b").acquire()


def test_the_lock_is_released_when_a_step_fails(world: World) -> None:
    world.data.fail["export"] = RuntimeError("boom")
    with pytest.raises(RuntimeError):
        world.migration().up(1)
    assert world.stack.records.load(LOCK) is None
    world.migration().up(1)  # not busy


def _hold(path: str, ready: Any, release: Any) -> None:
    import fcntl

    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        ready.set()
        release.wait(10)


def test_the_file_lock_holds_across_processes(tmp_path: Path) -> None:
    records = MemoryRecordStore()
    lock = StackLock(ConfigOnly(), records, command="status", lock_dir=tmp_path)
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    lock.path.parent.mkdir(parents=True, exist_ok=True)
    holder = multiprocessing.Process(target=_hold, args=(str(lock.path), ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(StackBusyError, match="another `migrate` run on this machine"):
            lock.acquire()
        assert records.load(LOCK) is None
    finally:
        release.set()
        holder.join(10)
    with lock:
        assert (records.load(LOCK) or {})["command"] == "status"


def test_a_lock_of_a_live_run_elsewhere_blocks_with_the_command_to_clear_it(tmp_path: Path) -> None:
    records = MemoryRecordStore()
    other = {"host": "other-host", "pid": 1, "command": "up --stage 1", "started": time.time(), "token": "t"}
    records.save(LOCK, other)
    with pytest.raises(StackBusyError) as caught:
        StackLock(ConfigOnly(), records, command="up --stage 2", lock_dir=tmp_path, clear_hint="run X").acquire()
    assert "If that run is gone (its machine stopped), run X" in str(caught.value)
    assert records.load(LOCK) == other  # untouched


def test_a_lock_left_by_a_dead_process_on_this_host_is_taken_over(tmp_path: Path) -> None:
    records = MemoryRecordStore()
    dead = {"host": socket.gethostname(), "pid": 999_999, "command": "up", "started": time.time(), "token": "d"}
    records.save(LOCK, dead)
    lines: list[str] = []
    with StackLock(
        ConfigOnly(),
        records,
        command="up --stage 1",
        lock_dir=tmp_path,
        progress=lines.append,
        pid_alive=lambda _p: False,
    ):
        assert (records.load(LOCK) or {})["pid"] == os.getpid()
    assert any("no longer running" in line for line in lines)
    assert records.load(LOCK) is None


def test_an_expired_lock_is_taken_over(tmp_path: Path) -> None:
    records = MemoryRecordStore()
    old = {"host": "other-host", "pid": 1, "command": "up", "started": time.time() - 3 * 86400, "token": "o"}
    records.save(LOCK, old)
    lines: list[str] = []
    with StackLock(ConfigOnly(), records, command="up --stage 1", lock_dir=tmp_path, progress=lines.append):
        assert (records.load(LOCK) or {})["host"] == socket.gethostname()
    assert any("last renewed 4320 min ago" in line for line in lines)


def test_two_runs_taking_over_the_same_stale_lock_cannot_both_get_it(tmp_path: Path) -> None:
    # Given a stale lock that two runs both judged stale: the second one's takeover names a token
    # that is no longer there, so its conditional write fails
    records = MemoryRecordStore()
    old = {"host": "other-host", "pid": 1, "command": "up", "started": 0, "token": "old"}
    records.save(LOCK, old)
    first = StackLock(ConfigOnly(), records, command="up --stage 1", lock_dir=tmp_path / "a")
    first.acquire()
    assert records.put_if(LOCK, {"token": "second"}, current_token="old") is False
    first.release()


def test_release_leaves_a_lock_entry_that_is_no_longer_ours(tmp_path: Path) -> None:
    records = MemoryRecordStore()
    lock = StackLock(ConfigOnly(), records, command="up", lock_dir=tmp_path)
    lock.acquire()
    records.save(LOCK, {"host": "h", "pid": 2, "command": "up", "started": 0, "token": "someone-else"})
    lock.release()
    assert (records.load(LOCK) or {})["token"] == "someone-else"


def test_a_lock_left_in_stack_config_by_version_0_1_is_honoured_then_dropped(tmp_path: Path) -> None:
    # Given a 0.1 run elsewhere that holds its lock in stack config only
    records, stack = MemoryRecordStore(), ConfigOnly()
    stack.config[LOCK_KEY] = {"host": "other-host", "pid": 1, "command": "up --stage 1", "started": time.time()}
    # then a run stops, names it and the command that clears it, and holds nothing afterwards
    with pytest.raises(StackBusyError) as caught:
        StackLock(stack, records, command="up --stage 2", lock_dir=tmp_path).acquire()
    assert "pulumi config rm table-migration:lock --stack unit" in str(caught.value)
    assert records.load(LOCK) is None and LOCK_KEY in stack.config
    # and once that lock is stale, it is taken over and removed from the stack config.
    stack.config[LOCK_KEY]["started"] = time.time() - 3 * 86400
    with StackLock(stack, records, command="up --stage 2", lock_dir=tmp_path):
        assert LOCK_KEY not in stack.config and records.load(LOCK) is not None


def test_stacks_with_the_same_name_in_other_work_dirs_do_not_share_the_file_lock(tmp_path: Path) -> None:
    a = StackLock(ConfigOnly("dev"), MemoryRecordStore(), command="up", scope="/repo/a", lock_dir=tmp_path)
    b = StackLock(ConfigOnly("dev"), MemoryRecordStore(), command="up", scope="/repo/b", lock_dir=tmp_path)
    assert a.path != b.path
    with a, b:
        pass


# --- migrate unlock ------------------------------------------------------------------------------


def _left_behind(world: World, *, host: str, pid: int, token: str = "t-1") -> dict[str, Any]:
    """A lock entry as a run writes it, left in the store (the run died, or still runs)."""
    # (started a minute before the world's clock begins: far from stale)
    entry = {"host": host, "pid": pid, "command": "up --stage 2", "started": 1_800_000_000.0 - 60, "token": token}
    world.stack.records.save(LOCK, entry)
    return entry


def test_unlock_removes_the_lock_of_a_run_on_another_machine_once_confirmed(world: World) -> None:
    # Given a lock left by a run on another machine (a CI runner that was stopped)
    _left_behind(world, host="ci-runner-7", pid=4242)
    asked: list[str] = []

    # when it is unlocked and the question is answered yes
    result = world.migration().unlock(confirm=asked.append)

    # then the question named the holder, the entry is gone, and the next run goes on
    (question,) = asked
    assert question.startswith("Stack unit: remove the lock of `migrate up --stage 2` (pid 4242 on ci-runner-7, since ")
    assert "Only do this if that run is gone" in asked[0]
    assert world.stack.records.load(LOCK) is None
    assert result.to_dict() == {
        "stack": "unit",
        "removed": True,
        "holder": {
            "host": "ci-runner-7",
            "pid": 4242,
            "command": "up --stage 2",
            "started": result.holder["started"],
            "renewed": 0.0,
        },
    }
    world.migration().up(1)


def test_unlock_changes_nothing_when_not_confirmed(world: World) -> None:
    entry = _left_behind(world, host="ci-runner-7", pid=4242)

    def say_no(question: str) -> None:
        raise BadInputError("Not confirmed; nothing was changed.")

    with pytest.raises(BadInputError):
        world.migration().unlock(confirm=say_no)
    assert world.stack.records.load(LOCK) == entry


def test_unlock_refuses_while_the_holder_runs_on_this_machine(world: World) -> None:
    # Given a lock held by a live process here (this test's own pid)
    entry = _left_behind(world, host=socket.gethostname(), pid=os.getpid())

    # then unlock refuses without asking, and the entry stays
    with pytest.raises(StackBusyError, match="still running on this machine"):
        world.migration().unlock(confirm=lambda q: pytest.fail(f"asked: {q}"))
    assert world.stack.records.load(LOCK) == entry


def test_unlock_with_no_lock_says_so_and_removes_nothing(world: World) -> None:
    result = world.migration().unlock(confirm=lambda q: pytest.fail(f"asked: {q}"))
    assert result.holder is None and result.text() == "Stack unit has no lock entry; nothing to do."


def test_unlock_keeps_a_lock_another_run_took_meanwhile(world: World) -> None:
    # Given a stale entry, and another run taking the lock while the question is asked
    _left_behind(world, host="ci-runner-7", pid=4242, token="old")
    newer = {"host": "laptop", "pid": 7, "command": "up --stage 3", "started": time.time(), "token": "new"}

    def meanwhile(question: str) -> None:
        world.stack.records.save(LOCK, newer)

    # then unlock removes nothing and says the lock changed
    with pytest.raises(StackBusyError, match="changed while it was being removed"):
        world.migration().unlock(confirm=meanwhile)
    assert world.stack.records.load(LOCK) == newer


def test_the_busy_message_names_migrate_unlock(world: World) -> None:
    _left_behind(world, host="ci-runner-7", pid=4242)
    with pytest.raises(StackBusyError) as caught:
        world.migration().up(1)
    assert "run `migrate unlock --stack unit`" in str(caught.value)


class FakeClock:
    """A clock whose time moves only when the test says so."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def test_a_live_run_renews_its_lock_so_a_long_stage_keeps_it(tmp_path: Path) -> None:
    # Given a run on another machine holding the lock, renewing it every minute, on a fake clock
    records = MemoryRecordStore()
    clock = FakeClock()
    holder = StackLock(
        ConfigOnly(),
        records,
        command="up --stage 2",
        lock_dir=tmp_path / "a",
        clock=clock,
        ttl_seconds=600,
        renew_seconds=60,
        renew_in_background=False,
    )
    holder.acquire()
    try:
        # when the stage runs for three hours (far past the TTL), renewing all along
        for _ in range(180):
            clock.now += 60
            assert holder.renew()
        # then a run on another machine is refused: the entry was renewed a minute ago
        with pytest.raises(StackBusyError):
            StackLock(
                ConfigOnly(),
                records,
                command="up",
                lock_dir=tmp_path / "b",
                clock=clock,
                ttl_seconds=600,
                pid_alive=lambda _p: True,
            ).acquire()
        assert (records.load(LOCK) or {})["renewed"] == clock.now
    finally:
        holder.release()
    assert records.load(LOCK) is None


def test_a_lock_no_longer_renewed_is_taken_over_after_the_ttl(tmp_path: Path) -> None:
    # Given an entry renewed 11 minutes ago by a run on a machine that stopped (TTL 10 minutes)
    records = MemoryRecordStore()
    clock = FakeClock()
    records.save(
        LOCK,
        {
            "host": "gone-host",
            "pid": 7,
            "command": "up",
            "started": clock.now - 7200,
            "renewed": clock.now - 660,
            "token": "t",
        },
    )
    lines: list[str] = []
    taker = StackLock(
        ConfigOnly(),
        records,
        command="up",
        lock_dir=tmp_path,
        clock=clock,
        ttl_seconds=600,
        progress=lines.append,
        renew_in_background=False,
    )
    # when another run starts, then it takes the lock over, saying since when the entry was not renewed
    taker.acquire()
    taker.release()
    assert any("last renewed 11 min ago" in line for line in lines)
    # while one renewed 9 minutes ago is still held
    records.save(
        LOCK,
        {
            "host": "gone-host",
            "pid": 7,
            "command": "up",
            "started": clock.now - 7200,
            "renewed": clock.now - 540,
            "token": "t",
        },
    )
    with pytest.raises(StackBusyError):
        StackLock(
            ConfigOnly(),
            records,
            command="up",
            lock_dir=tmp_path,
            clock=clock,
            ttl_seconds=600,
            renew_in_background=False,
        ).acquire()


def test_a_renewal_after_a_takeover_says_the_lock_was_lost(tmp_path: Path) -> None:
    records = MemoryRecordStore()
    lines: list[str] = []
    lock = StackLock(
        ConfigOnly(), records, command="up", lock_dir=tmp_path, progress=lines.append, renew_in_background=False
    )
    lock.acquire()
    records.save(LOCK, {"host": "h", "pid": 1, "command": "up", "started": 0, "token": "someone-else"})
    assert not lock.renew() and lock.lost
    assert any("taken over by another run" in line for line in lines)
    lock.release()
    assert (records.load(LOCK) or {})["token"] == "someone-else"  # the other run's entry is left alone


def test_the_renewing_thread_runs_while_the_lock_is_held_and_stops_with_it(tmp_path: Path) -> None:
    records = MemoryRecordStore()
    with StackLock(ConfigOnly(), records, command="up", lock_dir=tmp_path, renew_seconds=0.02):
        first = records.writes
        deadline = time.monotonic() + 5
        while records.writes < first + 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert records.writes >= first + 3
    after = records.writes
    time.sleep(0.1)
    assert records.writes == after  # released: no renewal after the delete


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped), so that no process runs under it now."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_status_shows_a_dead_process_s_lock_as_stale(world: World) -> None:
    # Given a lock entry left on this host by a process that is gone
    _left_behind(world, host=socket.gethostname(), pid=_dead_pid())
    status = world.migration().status()
    # then status says it is stale, why, and that the next run takes it over
    assert status.lock is not None and status.lock["stale"] == "its process is no longer running on this host"
    assert "stale: its process is no longer running" in status.text() and "takes it over" in status.text()
    assert status.to_dict()["lock"]["stale"]


def test_status_shows_a_lock_not_renewed_for_the_ttl_as_stale(world: World) -> None:
    entry = _left_behind(world, host="ci-runner-7", pid=4242)
    world.stack.records.save(LOCK, {**entry, "started": 1_800_000_000.0 - 3600})
    assert "stale: not renewed for 60 min" in world.migration().status().text()


@pytest.mark.parametrize("host", ["here", "ci-runner-7"])
def test_status_shows_a_live_lock_without_stale(world: World, host: str) -> None:
    # a live process here (this test's own pid), or a run elsewhere renewed a minute ago
    _left_behind(world, host=socket.gethostname() if host == "here" else host, pid=os.getpid())
    status = world.migration().status()
    assert status.lock is not None and status.lock["stale"] is None
    assert "locked by: up --stage 2" in status.text() and "stale" not in status.text()

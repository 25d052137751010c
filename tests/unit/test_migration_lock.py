"""One migration at a time per stack: the file lock, the lock record in stack config, stale locks."""

from __future__ import annotations

import multiprocessing
import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from migrator.core.errors import StackBusyError
from migrator.engine.lock import LOCK_KEY, StackLock
from tests.unit.test_migration import World, example_config, make_world


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


class ConfigOnly:
    """Just enough of a stack for the lock."""

    def __init__(self, name: str = "unit", config: dict[str, Any] | None = None) -> None:
        self.name = name
        self.config: dict[str, Any] = dict(config or example_config())

    def get_config(self) -> dict[str, Any]:
        return dict(self.config)

    def set_config(self, values: dict[str, Any]) -> None:
        self.config.update(values)

    def remove_config(self, keys: Any) -> None:
        for key in keys:
            self.config.pop(key, None)


def test_a_second_run_on_the_same_stack_stops_at_once(world: World) -> None:
    # Given a run holding the stack's lock
    with StackLock(world.stack, command="up --stage 2", lock_dir=world.lock_dir):
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
    assert LOCK_KEY not in world.stack.config


def test_the_lock_is_released_when_a_step_fails(world: World) -> None:
    world.data.fail["export"] = RuntimeError("boom")
    with pytest.raises(RuntimeError):
        world.migration().up(1)
    assert LOCK_KEY not in world.stack.config
    world.migration().up(1)  # not busy


def _hold(path: str, ready: Any, release: Any) -> None:
    import fcntl

    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        ready.set()
        release.wait(10)


def test_the_file_lock_holds_across_processes(tmp_path: Path) -> None:
    stack = ConfigOnly()
    lock = StackLock(stack, command="status", lock_dir=tmp_path)
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    lock.path.parent.mkdir(parents=True, exist_ok=True)
    holder = multiprocessing.Process(target=_hold, args=(str(lock.path), ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(StackBusyError, match="another `migrate` run on this machine"):
            lock.acquire()
        assert LOCK_KEY not in stack.config
    finally:
        release.set()
        holder.join(10)
    with lock:
        assert stack.config[LOCK_KEY]["command"] == "status"


def test_a_lock_record_of_a_live_run_elsewhere_blocks_with_the_command_to_clear_it(tmp_path: Path) -> None:
    stack = ConfigOnly()
    stack.config[LOCK_KEY] = {"host": "other-host", "pid": 1, "command": "up --stage 1", "started": time.time()}
    with pytest.raises(StackBusyError) as caught:
        StackLock(stack, command="up --stage 2", lock_dir=tmp_path).acquire()
    assert "pulumi config rm table-migration:lock --stack unit" in str(caught.value)
    assert stack.config[LOCK_KEY]["host"] == "other-host"  # untouched


def test_a_lock_left_by_a_dead_process_on_this_host_is_taken_over(tmp_path: Path) -> None:
    stack = ConfigOnly()
    stack.config[LOCK_KEY] = {"host": socket.gethostname(), "pid": 999_999, "command": "up", "started": time.time()}
    lines: list[str] = []
    with StackLock(stack, command="up --stage 1", lock_dir=tmp_path, progress=lines.append, pid_alive=lambda _p: False):
        assert stack.config[LOCK_KEY]["pid"] == os.getpid()
    assert any("no longer running" in line for line in lines)
    assert LOCK_KEY not in stack.config


def test_an_expired_lock_is_taken_over(tmp_path: Path) -> None:
    stack = ConfigOnly()
    stack.config[LOCK_KEY] = {"host": "other-host", "pid": 1, "command": "up", "started": time.time() - 3 * 86400}
    lines: list[str] = []
    with StackLock(stack, command="up --stage 1", lock_dir=tmp_path, progress=lines.append):
        assert stack.config[LOCK_KEY]["host"] == socket.gethostname()
    assert any("72 h old" in line for line in lines)


def test_release_leaves_a_lock_record_that_is_no_longer_ours(tmp_path: Path) -> None:
    stack = ConfigOnly()
    lock = StackLock(stack, command="up", lock_dir=tmp_path)
    lock.acquire()
    stack.config[LOCK_KEY] = {"host": "h", "pid": 2, "command": "up", "started": 0, "token": "someone-else"}
    lock.release()
    assert stack.config[LOCK_KEY]["token"] == "someone-else"


def test_stacks_with_the_same_name_in_other_work_dirs_do_not_share_the_file_lock(tmp_path: Path) -> None:
    a = StackLock(ConfigOnly("dev"), command="up", scope="/repo/a", lock_dir=tmp_path)
    b = StackLock(ConfigOnly("dev"), command="up", scope="/repo/b", lock_dir=tmp_path)
    assert a.path != b.path
    with a, b:
        pass

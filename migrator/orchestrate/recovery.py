"""After a run killed during a Pulumi update: whose engine lock may be cancelled. Pure rules.

A ``migrate`` process killed while ``pulumi up`` runs (``kill -9`` of its process group, a machine that
died, a CI runner stopped) leaves two things behind: the backend's lock, which refuses every later
update until ``pulumi cancel``, and, when it was creating the new table, a pending create of a table
that AWS may have finished making. The rerun finishes both by itself, but cancels an update only when
it is provably its own dead run: before each update the run records an :class:`UpdateMark` (host, pid,
stage, start) in the record store, and the rerun cancels only when that mark names this host, its process
is gone, and every lock the backend names was taken on this host, by a process that is gone too, no
earlier than the mark. A live update by anyone else — a plain ``pulumi up``, a Deployment, another
machine, or a backend that names no process (Pulumi Cloud) — is never cancelled: the user is told.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class LockHolder(Protocol):
    """A lock the backend names (``migrator.engine.backend_lock.EngineLock``)."""

    host: str
    pid: int
    at: str


@dataclass(frozen=True)
class UpdateMark:
    """The update a run started: written before ``pulumi up``, removed when it returns."""

    host: str
    pid: int
    stage: int
    started: str  # UTC, ``2026-12-07T06:54:32Z``: the backend's lock time has the same form

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "pid": self.pid, "stage": self.stage, "started": self.started}

    @classmethod
    def from_dict(cls, raw: Any) -> UpdateMark | None:
        """The mark stored in the record store, or None when there is none (or it is not one)."""
        if not isinstance(raw, Mapping):
            return None
        try:
            return cls(str(raw["host"]), int(raw["pid"]), int(raw["stage"]), str(raw["started"]))
        except (KeyError, TypeError, ValueError):
            return None

    @classmethod
    def here(cls, stage: int, started: str) -> UpdateMark:
        """The mark of this process, on this host."""
        return cls(socket.gethostname(), os.getpid(), stage, started)


def process_alive(pid: int) -> bool:
    """True when a process ``pid`` runs on this machine (signal 0 checks without touching it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def dead_own_update(
    mark: UpdateMark | None,
    holders: Iterable[LockHolder],
    *,
    host: str | None = None,
    alive: Callable[[int], bool] = process_alive,
) -> str | None:
    """Why the backend's lock may NOT be cancelled, or None when it is provably this host's dead run.

    ``mark``: the update the last run recorded; ``holders``: the locks the backend names.
    """
    host = host or socket.gethostname()
    holders = tuple(holders)
    if mark is None:
        return "no run of the migrator recorded an update in progress"
    if mark.host != host:
        return f"the update was started on {mark.host}, not on this machine ({host})"
    if mark.pid == os.getpid() or alive(mark.pid):
        return f"the run that started it (pid {mark.pid}) is still alive"
    if not holders:
        return "the backend does not say which process holds its lock (Pulumi Cloud names none)"
    for holder in holders:
        if holder.host != host:
            return f"a lock was taken on {holder.host}"
        if alive(holder.pid):
            return f"the process holding the lock (pid {holder.pid}) is alive"
        if holder.at < mark.started:
            return f"a lock was taken at {holder.at}, before the migrator's update began ({mark.started})"
    return None

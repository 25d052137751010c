"""One migration at a time per stack.

Pulumi locks a stack only while an update runs, not in the minutes or hours between updates when
the migrator exports, transforms and verifies. Two locks close that gap:

- an OS file lock (``flock``) on a file in the temp folder, named after the stack and its work
  dir: a second run on this machine stops at once, and the kernel releases it when a run dies;
- a lock entry in the record store (:mod:`migrator.core.ports`: host, pid, command, time, token),
  taken with a conditional write, so a run on any other machine (or a Deployment) that reaches the
  same store sees it, and two runs that start at the same moment cannot both get it.

While a run lives, a thread renews its entry every ``renew_seconds`` (a conditional write on its own
token), so a stage that outlasts any fixed limit (an export, an ImportTable and a verification of a
big table take hours) keeps its lock. A record left by a crashed run is taken over when its owner is
provably gone (same host, pid not running) or when it was last renewed more than ``ttl_seconds`` ago
(its machine stopped); otherwise the second run stops with who holds the lock and the command that
clears it. A lock left in stack config by version 0.1
(``table-migration:lock``) is honoured the same way, then dropped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import re
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType, TracebackType
from typing import IO, Any, Protocol

from migrator.core.config import key
from migrator.core.errors import MigrationError, StackBusyError
from migrator.core.ports import LOCK, Progress, RecordStore

LOCK_KEY = "lock"  # where version 0.1 kept the lock: stack config, table-migration:lock
# A live run renews its entry every RENEW_SECONDS; one not renewed for TTL_SECONDS has lost its machine.
DEFAULT_RENEW_SECONDS = 60.0
DEFAULT_TTL_SECONDS = 15 * 60.0


class ConfigPort(Protocol):
    """The part of the stack port the lock needs: the stack's name and its (0.1) config."""

    name: str

    def get_config(self) -> dict[str, Any]: ...

    def remove_config(self, keys: Any) -> None: ...


@dataclass(frozen=True)
class LockOwner:
    """Who holds the lock."""

    host: str
    pid: int
    command: str
    started: float
    token: str
    renewed: float = 0.0  # the last renewal by the run's thread (0: never; a 0.3 entry)

    @property
    def seen(self) -> float:
        """When the run was last known alive: its last renewal, else its start."""
        return max(self.started, self.renewed)

    def to_config(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "pid": self.pid,
            "command": self.command,
            "started": self.started,
            "renewed": self.renewed,
            "token": self.token,
        }

    def public(self) -> dict[str, Any]:
        """What may be shown of the owner: everything but the token (which would let a run take the lock over)."""
        return {k: v for k, v in self.to_config().items() if k != "token"}

    @classmethod
    def from_config(cls, raw: Any) -> LockOwner | None:
        """The owner recorded in config, or None when there is none (or it is unreadable)."""
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                return None
        if not isinstance(raw, Mapping):
            return None
        try:
            return cls(
                str(raw.get("host", "")),
                int(raw.get("pid", 0)),
                str(raw.get("command", "")),
                float(raw.get("started", 0)),
                str(raw.get("token", "")),
                float(raw.get("renewed", 0) or 0),
            )
        except (TypeError, ValueError):
            return None

    def describe(self) -> str:
        started = datetime.fromtimestamp(self.started, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"`migrate {self.command}` (pid {self.pid} on {self.host}, since {started})"


def pid_alive(pid: int) -> bool:
    """True when a process with this pid runs on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def stale_reason(
    owner: LockOwner,
    *,
    now: float,
    ttl_seconds: float = DEFAULT_TTL_SECONDS,
    pid_alive: Callable[[int], bool] = pid_alive,
) -> str | None:
    """Why the next run would take ``owner``'s lock over (the rules :class:`StackLock` applies), or None
    when the lock is live: its process runs on this host, or it was renewed within ``ttl_seconds``."""
    if owner.host == socket.gethostname() and not pid_alive(owner.pid):
        return "its process is no longer running on this host"
    age = now - owner.seen
    if age > ttl_seconds:
        return f"not renewed for {age / 60:.0f} min"
    return None


class StackLock:
    """Context manager: hold the migration lock of one stack, or raise :class:`StackBusyError` at once."""

    def __init__(
        self,
        stack: ConfigPort,
        records: RecordStore,
        *,
        command: str,
        scope: str | None = None,
        lock_dir: Path | None = None,
        clock: ModuleType | Any = time,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        renew_seconds: float = DEFAULT_RENEW_SECONDS,
        progress: Progress | None = None,
        pid_alive: Callable[[int], bool] = pid_alive,
        clear_hint: str = "",
        renew_in_background: bool = True,
    ) -> None:
        self._stack = stack
        self._records = records
        self._command = command
        self._clock = clock
        self._ttl = ttl_seconds
        self._renew_seconds = renew_seconds
        self._renewer: threading.Thread | None = None
        self._stop = threading.Event()
        self._in_background = renew_in_background
        self.lost = False  # set when a renewal found the entry no longer ours
        self._progress = progress or (lambda _message: None)
        self._pid_alive = pid_alive
        self._clear_hint = clear_hint or f"remove the lock entry of stack {stack.name} from {records.where}"
        # (clear_hint completes "If that run is gone, …": e.g. "run `migrate unlock --stack dev`")
        ident = hashlib.sha256(f"{scope or ''}\0{stack.name}".encode()).hexdigest()[:16]
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", stack.name)[:60]
        self._path = (lock_dir or Path(tempfile.gettempdir()) / "table-migration-locks") / f"{safe}-{ident}.lock"
        self._file: IO[str] | None = None
        self._owner: LockOwner | None = None

    @property
    def path(self) -> Path:
        return self._path

    def __enter__(self) -> StackLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.release()
            return
        # The run already failed: that error is the one to report, not a second one from the release.
        with contextlib.suppress(MigrationError):
            self.release()

    def acquire(self) -> None:
        """Take both locks, or raise :class:`StackBusyError` naming the holder and what to do."""
        self._take_file_lock()
        try:
            self._take_store_lock()
            self._honour_config_lock()
        except BaseException:
            self.release()
            raise
        if self._in_background and self._renew_seconds > 0:
            self._stop.clear()
            self._renewer = threading.Thread(target=self._renew_loop, name="table-migration-lock", daemon=True)
            self._renewer.start()

    def renew(self) -> bool:
        """Write this run's entry again with the time now, only while it is still ours; False when it is not."""
        owner = self._owner
        if owner is None:
            return False
        renewed = dataclasses.replace(owner, renewed=self._clock.time())
        if not self._records.put_if(LOCK, renewed.to_config(), current_token=owner.token):
            self.lost = True
            self._progress(
                f"warning: the lock of stack {self._stack.name} was taken over by another run; this run's steps "
                "may overlap with it. Check `migrate status`."
            )
            return False
        self._owner = renewed
        return True

    def _renew_loop(self) -> None:
        # Event.wait returns True once release() sets it: the loop ends with the run.
        while not self._stop.wait(self._renew_seconds):
            with contextlib.suppress(MigrationError):  # a failed write is tried again at the next interval
                if not self.renew():
                    return

    def release(self) -> None:
        """Give both locks back; the store's entry only if it is still ours."""
        self._stop.set()
        if self._renewer is not None and self._renewer is not threading.current_thread():
            self._renewer.join(timeout=5)
        self._renewer = None
        try:
            if self._owner is not None:
                self._records.delete_if(LOCK, token=self._owner.token)
        finally:
            self._owner = None
            self._drop_file_lock()

    def _take_file_lock(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self._path, "a+")  # noqa: SIM115  held open for the lock's lifetime
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            handle.close()
            if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            holder = LockOwner.from_config(self._records.load(LOCK))
            who = holder.describe() if holder else "another `migrate` run on this machine"
            raise StackBusyError(
                f"Stack {self._stack.name} is busy: {who} is migrating it.",
                hint="Wait for it to finish, then run this again; nothing was changed.",
            ) from None
        self._file = handle

    def _drop_file_lock(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def _take_store_lock(self) -> None:
        raw = self._records.load(LOCK)
        current = LockOwner.from_config(raw)
        if current is not None:
            self._check_stale(current, hint=self._clear_hint)
        owner = LockOwner(socket.gethostname(), os.getpid(), self._command, self._clock.time(), uuid.uuid4().hex)
        # A takeover replaces exactly the entry that was judged stale; None: only if there is none.
        previous = None if raw is None else str(raw.get("token") or "")
        if not self._records.put_if(LOCK, owner.to_config(), current_token=previous):
            winner = LockOwner.from_config(self._records.load(LOCK))
            who = winner.describe() if winner else "another run"
            raise StackBusyError(
                f"Stack {self._stack.name} is busy: {who} took its lock at the same moment.",
                hint="Wait for it to finish, then run this again; nothing was changed.",
            )
        self._owner = owner

    def _honour_config_lock(self) -> None:
        """A run of version 0.1 elsewhere holds its lock in stack config only: respect it, then drop it."""
        raw = self._stack.get_config().get(LOCK_KEY)
        if raw is None:
            return
        current = LockOwner.from_config(raw)
        if current is not None:
            self._check_stale(
                current,
                hint=f"clear it with `pulumi config rm {key(LOCK_KEY)} --stack {self._stack.name}`",
            )
        self._stack.remove_config([LOCK_KEY])

    def _check_stale(self, current: LockOwner, *, hint: str) -> None:
        age = self._clock.time() - current.seen
        if current.host == socket.gethostname() and not self._pid_alive(current.pid):
            # We hold the file lock, and its owner on this host is gone: it crashed.
            self._progress(f"Taking over the lock left by {current.describe()}: that process is no longer running.")
            return
        if age > self._ttl:
            self._progress(
                f"Taking over the lock left by {current.describe()}: it was last renewed {age / 60:.0f} min ago."
            )
            return
        raise StackBusyError(
            f"Stack {self._stack.name} is busy: {current.describe()} is migrating it.",
            hint=f"Wait for it to finish. If that run is gone (its machine stopped), {hint} and run this again.",
        )


def remove_stale_lock(
    stack: str,
    records: RecordStore,
    *,
    confirm: Callable[[str], None],
    pid_alive: Callable[[int], bool] = pid_alive,
) -> LockOwner | None:
    """Remove the lock entry a run left behind (``migrate unlock``); return whose it was, or None if none.

    A holder on this host whose process still runs is refused (:class:`StackBusyError`). Any other
    holder may still be running elsewhere, so ``confirm`` is called with who it is first (it raises to
    say no). The entry is removed only if it is still the one shown: a lock taken meanwhile stays.
    """
    owner = LockOwner.from_config(records.load(LOCK))
    if owner is None:
        return None
    if owner.host == socket.gethostname() and pid_alive(owner.pid):
        raise StackBusyError(
            f"Stack {stack} is locked by {owner.describe()}, which is still running on this machine.",
            hint="Wait for it to finish (or stop it), then run this again; nothing was changed.",
        )
    confirm(f"Stack {stack}: remove the lock of {owner.describe()}? Only do this if that run is gone")
    if not records.delete_if(LOCK, token=owner.token):
        raise StackBusyError(
            f"Stack {stack}'s lock changed while it was being removed: another run has taken it.",
            hint="Run `migrate status` to see who holds it now; nothing was changed.",
        )
    return owner

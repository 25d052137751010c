"""Who holds a stack's lock in the Pulumi backend, read from the CLI's refusal. Pure.

A self-managed backend (``file://``, ``s3://``…) keeps one lock file per running update and, when an
update finds one, names its creator: ``…/locks/…/<id>.json?…: created by root@host (pid 4242) at
2026-12-07T06:54:32Z``. A killed ``pulumi up`` leaves its file behind, and every later update is refused
until ``pulumi cancel`` removes it. Pulumi Cloud names no process; there, nothing is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HOLDER = re.compile(
    r"created by (?P<user>[^@\s]+)@(?P<host>\S+) \(pid (?P<pid>\d+)\) at (?P<at>\d{4}-\d\d-\d\dT[\d:.]+Z?)"
)


@dataclass(frozen=True)
class EngineLock:
    """One lock file of the backend: the process that made it (on ``host``), and when."""

    user: str
    host: str
    pid: int
    at: str

    def describe(self) -> str:
        """``root@vm (pid 4242) since 2026-12-07T06:54:32Z``."""
        return f"{self.user}@{self.host} (pid {self.pid}) since {self.at}"


def engine_locks(text: str) -> tuple[EngineLock, ...]:
    """Every lock holder the CLI's output names, in order; empty when it names none (Pulumi Cloud)."""
    return tuple(
        EngineLock(m.group("user"), m.group("host"), int(m.group("pid")), m.group("at")) for m in _HOLDER.finditer(text)
    )

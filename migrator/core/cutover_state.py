"""What the record keeps of an online cutover, and what a rerun does with it. Pure.

A cutover freezes the writers, drains the stream, flips each writer's table variable and unfreezes
(``migrator.data.stream.window``). Before the writers are frozen the migrator records a :class:`CutoverState`
(phase ``frozen``, with everything needed to restore them); once every writer is flipped it records
phase ``flipped``. A process that dies in between leaves one of the two behind, and the rerun reads it:

- ``frozen``: the writers may be frozen, and some may already point at the other table, but none has
  written there (they were frozen): put every writer back on its table, unfreeze, start again.
- ``flipped``: the writers use the other table (and may still be frozen): unfreeze them, never flip
  them back, and finish what comes after (the Pulumi update that declares the same environment).

Stream checkpoints live in the record store's ``checkpoints`` entry, one position map per direction,
tied to the stream (and, forward, to the export) they belong to: positions of another stream or
another export are never resumed from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FORWARD = "forward"  # the legacy table's stream onto the new table; writers move legacy → new
REVERSE = "reverse"  # the new table's stream onto the legacy table; writers move back
FROZEN = "frozen"
FLIPPED = "flipped"


@dataclass(frozen=True)
class CutoverState:
    """A freeze window in progress: which way, how far it got, and the writers as captured before the freeze."""

    direction: str
    phase: str
    freeze: Mapping[str, Any]  # migrator.data.stream.freeze.FreezeState.to_dict()
    from_table: str
    to_table: str
    at: str = ""

    def flipped(self, at: str) -> CutoverState:
        """This state once every writer uses ``to_table``."""
        return CutoverState(self.direction, FLIPPED, self.freeze, self.from_table, self.to_table, at)

    @property
    def pending_update(self) -> bool:
        """True when the writers were flipped and what follows (the update) has not finished."""
        return self.phase == FLIPPED

    def describe(self) -> str:
        """One line for ``status``."""
        if self.phase == FLIPPED:
            return (
                f"flipped, update pending: the writers use {self.to_table} since {self.at}, and the update that "
                "declares it has not finished"
            )
        return (
            f"interrupted while freezing the writers to move them from {self.from_table} to {self.to_table} "
            f"({self.at}): they may still be frozen"
        )

    @property
    def resume_command(self) -> str:
        """The command that finishes this window: it unfreezes the writers first, then goes on.

        Forward (stage 3's cutover, before its update) that is ``up --stage 3``; the other way (``down`` from
        3) ``down --stage 2``. Any other command leaves the writers as they are.
        """
        return "migrate up --stage 3" if self.direction == FORWARD else "migrate down --stage 2"

    def next_step(self) -> str:
        """What to run, in one line: the command that restores the writers and goes on."""
        if self.phase == FLIPPED:
            return f"{self.describe()}: run `{self.resume_command}`, which unfreezes them and finishes it"
        then = "starts the cutover again" if self.direction == FORWARD else "carries the writes back again"
        return (
            f"a run was {self.describe()}: run `{self.resume_command}`, which puts them back as they were, unfrozen, "
            f"and {then}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "phase": self.phase,
            "freeze": dict(self.freeze),
            "from": self.from_table,
            "to": self.to_table,
            "at": self.at,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> CutoverState | None:
        if not raw:
            return None
        return cls(
            str(raw.get("direction", FORWARD)),
            str(raw.get("phase", FROZEN)),
            dict(raw.get("freeze") or {}),
            str(raw.get("from", "")),
            str(raw.get("to", "")),
            str(raw.get("at", "")),
        )


def positions(entry: Mapping[str, Any] | None, direction: str, *, stream: str, export: str | None = None) -> dict:
    """The checkpoints of ``direction`` in a ``checkpoints`` entry, if they belong to this stream (and export)."""
    found = (entry or {}).get(direction) or {}
    if found.get("stream") != stream or (export is not None and found.get("export") != export):
        return {}
    return {str(k): str(v) for k, v in (found.get("positions") or {}).items()}


def with_positions(
    entry: Mapping[str, Any] | None,
    direction: str,
    checkpoints: Mapping[str, str],
    *,
    stream: str,
    export: str | None = None,
) -> dict[str, Any]:
    """The ``checkpoints`` entry with ``direction``'s positions replaced (the other direction kept)."""
    updated = {k: v for k, v in (entry or {}).items() if k in (FORWARD, REVERSE)}
    part: dict[str, Any] = {"stream": stream, "positions": dict(checkpoints)}
    if export is not None:
        part["export"] = export
    updated[direction] = part
    return updated


def without(entry: Mapping[str, Any] | None, direction: str) -> dict[str, Any]:
    """The ``checkpoints`` entry without ``direction`` (a new export replays from the stream's start)."""
    return {k: v for k, v in (entry or {}).items() if k in (FORWARD, REVERSE) and k != direction}


def add_replayed(online: Mapping[str, Any], key: str, done: Mapping[str, Any]) -> dict[str, Any]:
    """``online`` with the replay report ``done`` (a ReplayResult's ``to_dict()``) added into ``online[key]``.

    Counts add up over every run (a rerun, a daily ``migrate catch-up``); lag and ``caughtUp`` are the last run's.
    """
    before = dict(online.get(key) or {})
    summed = dict(done)
    for name in ("recordsReplayed", "written", "deleted", "skippedDeletes", "rejects", "duplicates", "passes"):
        summed[name] = int(before.get(name, 0)) + int(done.get(name, 0))
    summed["seconds"] = round(float(before.get("seconds", 0.0)) + float(done.get("seconds", 0.0)), 3)
    summed["maxLagSeconds"] = max(float(before.get("maxLagSeconds", 0.0)), float(done.get("maxLagSeconds", 0.0)))
    summed["rejectReasons"] = (list(before.get("rejectReasons") or []) + list(done.get("rejectReasons") or []))[:5]
    return {**online, key: summed}

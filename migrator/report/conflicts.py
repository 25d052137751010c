"""What ``migrate conflicts`` shows: the late-write conflicts of a stack, and those it just resolved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from migrator.core.conflicts import Conflict

MAX_ATTRIBUTES = 6  # attributes shown per image in the text; --json has them all


def key_text(key: Mapping[str, Any]) -> str:
    """``UUID=…, Created=…``."""
    return ", ".join(f"{k}={v}" for k, v in key.items())


def image_text(image: Mapping[str, Any] | None) -> str:
    """A short view of an item in DynamoDB JSON (``Score=N:3, Note=S:hi``), or ``(no item)``."""
    if image is None:
        return "(no item)"
    parts = []
    for name, value in sorted(image.items())[:MAX_ATTRIBUTES]:
        ((kind, raw),) = value.items()
        parts.append(f"{name}={kind}:{raw if kind in ('S', 'N', 'BOOL') else '…'}")
    more = len(image) - MAX_ATTRIBUTES
    return ", ".join(parts) + (f", … ({more} more)" if more > 0 else "")


def conflicts_line(summary: Mapping[str, Any]) -> str | None:
    """The line of ``status`` and ``up`` for the record's ``online.conflicts``; None when there is nothing to say."""
    if not summary or not summary.get("found"):
        return None
    line = (
        f"late writes: {summary.get('open', 0)} conflict(s) open, {summary.get('applied', 0)} applied, "
        f"{summary.get('dropped', 0)} dropped (kept in {summary.get('location')})"
    )
    if summary.get("open"):
        keys = "; ".join(key_text(k) for k in summary.get("keys") or [])
        line += f"; open: {keys}; resolve with `migrate conflicts`"
    return line


@dataclass(frozen=True)
class ConflictsResult:
    """Every conflict of the stack (open first), where they are kept, and what this run resolved."""

    stack: str
    location: str
    conflicts: tuple[Conflict, ...]
    resolved: tuple[Conflict, ...] = ()

    @property
    def open(self) -> tuple[Conflict, ...]:
        return tuple(c for c in self.conflicts if c.open)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "location": self.location,
            "open": len(self.open),
            "conflicts": [c.to_dict() for c in self.conflicts],
            "resolved": [c.to_dict() for c in self.resolved],
        }

    def text(self) -> str:
        lines = [f"{'Applied' if c.status == 'applied' else 'Dropped'} {key_text(c.key)}." for c in self.resolved]
        if not self.conflicts:
            return "\n".join([*lines, f"Stack {self.stack}: no late-write conflicts."])
        lines.append(f"Stack {self.stack}: {len(self.open)} open late-write conflict(s), kept in {self.location}.")
        for c in sorted(self.conflicts, key=lambda c: (not c.open, c.found_at)):
            state = "open" if c.open else f"{c.status} {c.resolved_at}"
            lines.append(f"  {c.id}  {key_text(c.key)}  [{state}] {c.reason} (found {c.found_at})")
            lines.append(f"      late write (legacy): {image_text(c.late)}")
            lines.append(f"      new table now:       {image_text(c.current)}")
        if self.open:
            lines.append(
                "Resolve each: `migrate conflicts --apply ID` writes the late image onto the new table, "
                "`--drop ID` keeps the new table's item; `--all --apply` or `--all --drop` for every open one."
            )
        return "\n".join(lines)

"""Where a stack really is, besides what its record says: the rules that read the live writers and the state. Pure.

The migration record (the record store's ``progress`` entry) is the migrator's account of what it did, and
the only place that says whether the new table served traffic. It can be missing (the record table deleted,
another account or region, a typo in ``recordTable``) or behind (restored from an older backup). So before a
command acts on it in a way that cannot be undone, these rules compare it with what the live world shows:

- the writers' table variable and reserved concurrency, read from Lambda (:class:`LiveWriter`);
- the stack's outputs, which the last applied update wrote (``stage``, ``activeTableName``);
- the position the cutover saves on the new table's stream at the flip (the record store's checkpoints,
  a separate entry that survives a lost ``progress`` entry).

Dropping the new table (``down`` to stage 1) is refused when the record is missing or when any of these says
the new table served traffic, unless the user passes the flag that says what it gives up. ``up`` is refused
when the record is missing and the writers already use the new table: rerunning the cutover from a lost
record would redo it from the legacy side.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from migrator.core.cutover_state import FORWARD, CutoverState
from migrator.core.errors import StageError
from migrator.core.stages import CARRY_BACK, CUTOVER, NEW, StageMove

LOSE_FLAG = "--lose-new-table-writes"


@dataclass(frozen=True)
class LiveWriter:
    """One writer as Lambda has it now: its table variable and reserved concurrency (None: unset)."""

    function: str
    env: str
    table: str | None = None
    reserved_concurrency: int | None = None
    problem: str | None = None  # why it could not be read (then table and concurrency are unknown)

    @property
    def frozen(self) -> bool:
        """Reserved concurrency 0: every new invocation is throttled."""
        return self.problem is None and self.reserved_concurrency == 0

    def describe(self) -> str:
        """One line: ``HelloWorld uses MyNewTable (reserved concurrency 0: frozen)``."""
        if self.problem is not None:
            return f"{self.function}: unknown ({self.problem})"
        concurrency = "unset" if self.reserved_concurrency is None else str(self.reserved_concurrency)
        frozen = ": frozen" if self.frozen else ""
        return f"{self.function} uses {self.table} (reserved concurrency {concurrency}{frozen})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "env": self.env,
            "table": self.table,
            "reservedConcurrency": self.reserved_concurrency,
            "frozen": self.frozen,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class Evidence:
    """What the record store, the stack's outputs and Lambda say, read before a command that cannot be undone."""

    record_found: bool
    record_where: str
    outputs: dict[str, Any]
    writers: tuple[LiveWriter, ...] = ()
    flip_position: bool = False  # the record store holds the position saved on the new table's stream at a flip

    def served_traffic(self, new_table: str) -> list[str]:
        """Each sign that ``new_table`` served traffic, in words; empty when there is none."""
        signs = [f"writer {w.function} uses it now" for w in self.writers if w.table == new_table]
        stage = _whole(self.outputs.get("stage"))
        if stage is not None and stage >= 3:
            signs.append(f"the stack's last update applied stage {stage} (its outputs)")
        elif self.outputs.get("activeTableName") == new_table:
            signs.append("the stack's outputs name it as the active table")
        if self.flip_position:
            signs.append("a cutover saved its position on its stream at the flip (the record store's checkpoints)")
        return signs


def check_drop(
    evidence: Evidence, moves: Sequence[StageMove], *, record_served: bool, new_table: str, stack: str, lose: bool
) -> None:
    """Refuse a ``down`` whose moves drop ``new_table`` when the record is missing or the live world says it
    served traffic (the record's own ``servedTraffic`` is ``plan_down``'s); ``lose``: the user gives that up."""
    if lose or not any(NEW in m.drops for m in moves):
        return
    signs = [] if record_served else evidence.served_traffic(new_table)
    if evidence.record_found and not signs:
        return
    if not evidence.record_found:
        why = (
            f"the migration record of stack {stack} is missing from {evidence.record_where}, and only the record "
            f"says whether {new_table} served traffic"
        )
        why += f" ({'; '.join(signs)})" if signs else ""
    else:
        why = f"the migration record says {new_table} never served traffic, but {'; '.join(signs)}"
    raise StageError(
        f"Refusing to drop {new_table}: {why}. Writes made only to it would be lost. Nothing was changed.",
        hint=f"Restore the record table from its point-in-time backups (it has point-in-time recovery on: "
        f"RestoreTableToPointInTime to a new table, then set table-migration:recordTable to it) and rerun; or, to "
        f"drop {new_table} anyway and lose every write that only it holds, rerun with {LOSE_FLAG}.",
    )


def check_up_without_record(evidence: Evidence, *, new_table: str | None, stack: str) -> None:
    """Refuse ``up`` when the record is missing and the live world says the cutover already happened."""
    if evidence.record_found or new_table is None:
        return
    signs = evidence.served_traffic(new_table)
    if not signs:
        return
    raise StageError(
        f"The migration record of stack {stack} is missing from {evidence.record_where}, but {new_table} already "
        f"serves traffic ({'; '.join(signs)}): without the record the migrator would redo the cutover from the "
        "legacy side, and it does not. Nothing was changed.",
        hint="Restore the record table from its point-in-time backups (RestoreTableToPointInTime to a new table, "
        "then set table-migration:recordTable to it) and rerun `migrate status`.",
    )


def check_cutover_resumed(cutover: CutoverState | None, moves: Iterable[StageMove], *, command: str) -> None:
    """Refuse a command that would leave an interrupted freeze window (and its writers) as it is.

    Only the move that runs the window again resumes it: stage 3's cutover forward, ``down`` 3→2's carry-back
    the other way (:attr:`CutoverState.resume_command`).
    """
    if cutover is None:
        return
    step = CUTOVER if cutover.direction == FORWARD else CARRY_BACK
    if any(step in m.before for m in moves):
        return
    raise StageError(
        f"`{command}` would leave the writers as an interrupted run left them: {cutover.describe()}. Nothing was "
        "changed.",
        hint=f"Run `{cutover.resume_command}` first: it restores the writers and finishes that run.",
    )


def _whole(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

"""The preview guard: refuse an update that would delete or replace a DynamoDB table the stage does not plan to.

Pure: it reads a :class:`Preview` (built from the engine's resource events by ``workspace.py``) and
raises :class:`GuardError` naming each table, the operation and what to do. It imports no Pulumi.

A resource with ``retainOnDelete`` that leaves the program previews as op ``delete`` (the CLI shows
``delete[retain]``); only the old state's ``retainOnDelete`` flag tells it from a real delete, so a
:class:`PlannedChange` carries that flag and the guard calls such a delete a *retain*.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from migrator.core.errors import GuardError
from migrator.core.urns import TABLE_TYPE as TABLE_TYPE  # re-exported: the guard's callers name the type with it
from migrator.core.urns import role_of

# Every engine step op (pulumi.automation.events.OpType) that creates a second copy of a resource
# and removes the first one: all of them mean "replace" for a table, whatever the step order.
REPLACE_OPS = frozenset(
    {
        "replace",
        "create-replacement",
        "delete-replaced",
        "discard-replaced",
        "import-replacement",
        "read-replacement",
        "remove-pending-replace",
    }
)
# Ops that remove a resource from the stack; ``discard`` drops a read resource from state.
DELETE_OPS = frozenset({"delete", "discard"})
DESTRUCTIVE_OPS = REPLACE_OPS | DELETE_OPS

# What an allowance or a refusal talks about: the effective kind of a change.
REPLACE, DELETE, RETAIN = "replace", "delete", "retain"
_KINDS = (REPLACE, DELETE, RETAIN)

# Properties of aws.dynamodb.Table whose change forces a replacement because of the key schema or name.
_KEY_PROPERTIES = frozenset({"hashKey", "rangeKey", "attributes", "name", "localSecondaryIndexes"})

_SYMBOLS = {
    "create": "+",
    "update": "~",
    REPLACE: "+-",
    DELETE: "-",
    RETAIN: "-",
    "import": "=",
    "read": ">",
    "refresh": "~",
}
_COUNT_ORDER = ("create", "update", "replace", "delete", "import", "read", "refresh")


def effective_kind(op: str, *, retain_on_delete: bool = False) -> str:
    """``replace`` for every replace-family op, ``retain`` for a delete of a retained resource,
    ``delete`` for the other deletes; any other op unchanged (``create``, ``update``…)."""
    if op in REPLACE_OPS:
        return REPLACE
    if op in DELETE_OPS:
        return RETAIN if retain_on_delete and op == "delete" else DELETE
    return op


@dataclass(frozen=True)
class PlannedChange:
    """One step of a preview for one resource.

    ``name`` is the Pulumi resource name (the URN's last part, e.g. ``table-legacy``); ``physical_id`` the
    cloud name when known (``MyTable``); ``replace_keys`` the properties that force a replacement;
    ``diffs`` the properties an update (or a replacement) changes.
    """

    urn: str
    type: str
    name: str
    op: str
    retain_on_delete: bool = False
    physical_id: str | None = None
    replace_keys: tuple[str, ...] = ()
    diffs: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """The effective change: ``replace``, ``delete``, ``retain``, or the op itself."""
        return effective_kind(self.op, retain_on_delete=self.retain_on_delete)

    @property
    def label(self) -> str:
        """``MyTable (resource 'legacy')``, or just the resource name when the cloud name is unknown."""
        if self.physical_id and self.physical_id != self.name:
            return f"{self.physical_id} (resource '{self.name}')"
        return f"'{self.name}'"

    def to_dict(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "op": self.op,
            "kind": self.kind,
            "retainOnDelete": self.retain_on_delete,
            "physicalId": self.physical_id,
            "replaceKeys": list(self.replace_keys),
            "diffs": list(self.diffs),
        }


@dataclass(frozen=True)
class AllowedChange:
    """A destructive change the stage plans to the migration's table in ``role`` (``legacy`` or ``new``):
    ``op`` is ``replace``, ``delete`` or ``retain``.

    The table is found by its URN, as a child of the ``MigratingTable`` component (:func:`~.urns.role_of`),
    never by its name alone: a user's own table called ``legacy`` is not allowed anything. ``delete``
    also allows a retain (keeping the table is never worse than deleting it); ``retain`` allows only a
    delete whose state has ``retainOnDelete``. Engine op names are accepted too (``create-replacement``
    means ``replace``).
    """

    type: str
    role: str
    op: str

    def __post_init__(self) -> None:
        kind = effective_kind(self.op)
        if kind not in _KINDS:
            raise ValueError(f"AllowedChange op must be one of {', '.join(_KINDS)}, not {self.op!r}")

    def allows(self, change: PlannedChange) -> bool:
        """True when ``change`` is this planned change (the migration's table in this role, a kind this allows)."""
        if change.type != self.type or role_of(change.urn) != self.role:
            return False
        allowed = effective_kind(self.op)
        kind = change.kind
        return kind == allowed or (allowed == DELETE and kind == RETAIN)


@dataclass(frozen=True)
class Preview:
    """What an update would do: every non-``same`` step, and the engine's count per op.

    ``resources`` lists the URN of every resource the preview stepped over, ``same`` included: what
    the program declares (the migrator counts the ``MigratingTable`` components in it).
    """

    changes: tuple[PlannedChange, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)
    resources: tuple[str, ...] = ()

    def by_resource(self) -> list[tuple[str, list[PlannedChange]]]:
        """Steps grouped by URN, in first-seen order (a replacement has several steps per resource)."""
        groups: dict[str, list[PlannedChange]] = {}
        for change in self.changes:
            groups.setdefault(change.urn, []).append(change)
        return list(groups.items())

    def table_changes(self) -> list[PlannedChange]:
        """One destructive change per DynamoDB table (the strongest of its steps)."""
        found = []
        for _urn, steps in self.by_resource():
            main = _main_step(steps)
            if main.type == TABLE_TYPE and main.op in DESTRUCTIVE_OPS:
                found.append(main)
        return found

    def summary_text(self) -> str:
        """Human lines for ``migrate plan``: the counts, then one line per changed resource."""
        lines = [f"Preview: {self._counts_text()}"]
        for _urn, steps in self.by_resource():
            main = _main_step(steps)
            kind = main.kind
            shown = "delete[retain]" if kind == RETAIN else kind
            symbol = _SYMBOLS.get(kind, "*")
            line = f"  {symbol:<2} {shown:<14} {main.type}  {main.label}"
            if kind == REPLACE and main.replace_keys:
                line += f"  (because of {', '.join(main.replace_keys)})"
            lines.append(line)
        return "\n".join(lines)

    def _counts_text(self) -> str:
        counts = dict(self.counts) if self.counts else _count_steps(self.changes)
        parts = [f"{counts[op]} to {op}" for op in _COUNT_ORDER if counts.get(op)]
        parts += [f"{n} {op}" for op, n in sorted(counts.items()) if n and op not in _COUNT_ORDER and op != "same"]
        if counts.get("same"):
            parts.append(f"{counts['same']} unchanged")
        return ", ".join(parts) if parts else "no changes"

    def to_dict(self) -> dict[str, Any]:
        return {"changes": [c.to_dict() for c in self.changes], "counts": dict(self.counts)}


def refused_changes(preview: Preview, *, allowed: Iterable[AllowedChange] = ()) -> list[PlannedChange]:
    """The table deletes and replacements of ``preview`` that no ``allowed`` entry covers (pure)."""
    allowances = list(allowed)
    return [c for c in preview.table_changes() if not any(a.allows(c) for a in allowances)]


def check_preview(preview: Preview, *, allowed: Iterable[AllowedChange] = (), stage: str | None = None) -> None:
    """Raise :class:`GuardError` when a DynamoDB table would be deleted or replaced other than ``allowed``.

    ``stage`` names the stage in the message (e.g. ``"stage 3 (cutover)"``). A delete whose old
    state has ``retainOnDelete`` is a retain and needs an allowance of ``retain`` (or ``delete``).
    """
    who = stage or "this stage"
    unseen = unseen_changes(preview)
    if unseen:
        raise GuardError(
            f"Refusing to update the stack: the preview of {who} counts {unseen}, but the guard saw the resource "
            "events of fewer: an engine event was lost, so it cannot tell which resources would go. Nothing was "
            "changed.",
            hint="Rerun; if it happens again, read `pulumi preview` of the stack by hand before going on.",
        )
    refused = refused_changes(preview, allowed=allowed)
    if not refused:
        return
    problems = [_problem(c, who) for c in refused]
    hints: list[str] = []
    for change in refused:
        hint = _hint(change)
        if hint not in hints:
            hints.append(hint)
    raise GuardError(
        "Refusing to update the stack: " + "; ".join(problems) + ". Nothing was changed.",
        hint=" ".join(hints),
    )


def unseen_changes(preview: Preview) -> str | None:
    """What the engine's summary counts beyond the resource events the preview kept, or None.

    The SDK turns an event it cannot parse (or a failing callback) into a warning and goes on, so
    a delete or replace can reach the summary without its event: the guard must then fail closed.
    Deletes (retains included) and replaces count per resource, as the engine counts logical steps.
    """
    if not preview.counts:
        return None
    seen = {DELETE: 0, REPLACE: 0}
    for _urn, steps in preview.by_resource():
        kind = _main_step(steps).kind
        if kind in (DELETE, RETAIN):
            seen[DELETE] += 1
        elif kind == REPLACE:
            seen[REPLACE] += 1
    counted = {
        DELETE: sum(preview.counts.get(op, 0) for op in DELETE_OPS),
        REPLACE: preview.counts.get(REPLACE, 0),
    }
    missing = [
        f"{counted[kind]} to {kind} (events for {seen[kind]})"
        for kind in (DELETE, REPLACE)
        if counted[kind] > seen[kind]
    ]
    return " and ".join(missing) or None


def _main_step(steps: list[PlannedChange]) -> PlannedChange:
    """The step that says what happens to the resource: a replace step over a delete over the rest."""
    for wanted in (REPLACE, DELETE, RETAIN):
        for step in steps:
            if step.kind == wanted:
                if wanted == REPLACE and not step.replace_keys:
                    keys = next((s.replace_keys for s in steps if s.replace_keys), ())
                    return replace(step, replace_keys=keys)
                return step
    return steps[0]


def _count_steps(changes: Iterable[PlannedChange]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for change in changes:
        if change.op in ("create-replacement", "delete-replaced"):
            continue  # the engine counts a replacement once, as ``replace``
        op = REPLACE if change.op in REPLACE_OPS else change.op
        counts[op] = counts.get(op, 0) + 1
    return counts


def _problem(change: PlannedChange, who: str) -> str:
    kind = change.kind
    if kind == REPLACE:
        cause = f" (a change to {', '.join(change.replace_keys)} forces it)" if change.replace_keys else ""
        return f"{who} does not plan to replace DynamoDB table {change.label}, but the preview would{cause}"
    if kind == RETAIN:
        return f"{who} does not plan to drop DynamoDB table {change.label} from the stack, but the preview would"
    return (
        f"{who} does not plan to delete DynamoDB table {change.label}, but the preview would (op {change.op}; "
        "retainOnDelete is not set in its state, so its data would be lost)"
    )


def _hint(change: PlannedChange) -> str:
    kind = change.kind
    keys = set(change.replace_keys)
    if kind == REPLACE and "importTable" in keys:
        return (
            "importTable must not change once the table exists: keep ignore_changes=['importTable'] on it and "
            "leave table-migration:importSource as the migrator wrote it."
        )
    if kind == REPLACE and keys & _KEY_PROPERTIES:
        return (
            "A DynamoDB table's key schema and name cannot change in place: revert that change in the stack config "
            "(legacyTable/newTable); to change the keys again, migrate to another new table."
        )
    if kind == REPLACE:
        return "Revert the program or stack config change that causes the replacement, then run `migrate plan` again."
    if kind == RETAIN:
        return (
            "Check table-migration:stage and the table names in the stack config: only stage 4 (retire) drops the "
            "legacy table from the stack."
        )
    return (
        "Put the table back in the program (check table-migration:stage and the table names in the stack config); "
        "a table that must leave the stack needs retainOnDelete first."
    )

"""Which resources of a stack are the migration's: the ``MigratingTable`` component's children, told by URN. Pure.

A Pulumi URN is ``urn:pulumi:<stack>::<project>::<qualified type>::<name>``, where the qualified type
is the chain of parent types ending in the resource's own type (``Parent$Child``; the root stack is
left out). The migration's tables are the ``aws:dynamodb/table:Table`` children of a
``table-migration:index:MigratingTable`` component, named ``<component>-legacy`` and ``<component>-new``
(or ``legacy`` and ``new``, as 0.2 named them, in a state not yet updated since). A user's own table
called ``legacy`` or ``orders-new`` anywhere else in the program is not ours, whatever its name: the
guard never allows its deletion, and the migrator never adopts or drops it.

``migrate`` drives one migration per stack: a program that declares more than one ``MigratingTable``
is refused (:func:`check_one_migration`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from migrator.core.errors import BadInputError

COMPONENT_TYPE = "table-migration:index:MigratingTable"
TABLE_TYPE = "aws:dynamodb/table:Table"
BUCKET_TYPE = "aws:s3/bucket:Bucket"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"

# The roles of the component's children; a child is named ``f"{component}-{role}"``.
LEGACY = "legacy"
NEW = "new"
EXPORT_BUCKET = "export-bucket"
_ROLE_TYPES = {LEGACY: TABLE_TYPE, NEW: TABLE_TYPE, EXPORT_BUCKET: BUCKET_TYPE}


def child_name(component: str, role: str) -> str:
    """The Pulumi name of the component's child in ``role`` (Pulumi's convention: ``orders-legacy``)."""
    return f"{component}-{role}"


@dataclass(frozen=True)
class Urn:
    """The parts of a URN that tell what a resource is."""

    stack: str
    project: str
    types: tuple[str, ...]  # the qualified type: parents' types first, the resource's own type last
    name: str

    @property
    def type(self) -> str:
        return self.types[-1]

    @property
    def parent_type(self) -> str | None:
        """The type of the resource's parent, or None under the root stack."""
        return self.types[-2] if len(self.types) > 1 else None


def parse_urn(urn: str) -> Urn | None:
    """The parts of ``urn``, or None when it is not a Pulumi URN."""
    head, sep, rest = urn.partition("::")
    if not sep or not head.startswith("urn:pulumi:"):
        return None
    parts = rest.split("::", 2)  # a resource name may itself contain "::"
    if len(parts) != 3 or not parts[1]:
        return None
    project, qualified, name = parts
    return Urn(head[len("urn:pulumi:") :], project, tuple(qualified.split("$")), name)


def role_of(urn: str) -> str | None:
    """``legacy``, ``new`` or ``export-bucket`` when ``urn`` is that child of a ``MigratingTable``; else None."""
    parsed = parse_urn(urn)
    if parsed is None or parsed.parent_type != COMPONENT_TYPE:
        return None
    for role, kind in _ROLE_TYPES.items():
        if parsed.type == kind and (parsed.name == role or parsed.name.endswith("-" + role)):
            return role
    return None


def migration_components(urns: Iterable[str]) -> list[str]:
    """The URNs of the ``MigratingTable`` components among ``urns``, once each, in order."""
    found: list[str] = []
    for urn in urns:
        parsed = parse_urn(urn)
        if parsed is not None and parsed.type == COMPONENT_TYPE and urn not in found:
            found.append(urn)
    return found


def check_one_migration(urns: Iterable[str], *, stack: str) -> None:
    """Raise :class:`BadInputError` (exit 2) when the program declares more than one ``MigratingTable``."""
    components = migration_components(urns)
    if len(components) <= 1:
        return
    names = ", ".join(sorted(repr(parse_urn(urn).name) for urn in components))  # type: ignore[union-attr]
    raise BadInputError(
        f"The program of stack {stack} declares {len(components)} MigratingTables ({names}); `migrate` drives one "
        "migration per stack. Nothing was changed.",
        hint="Keep one MigratingTable in this stack's program and migrate the other table from a stack of its own "
        "(one Pulumi stack, or project, per table).",
    )

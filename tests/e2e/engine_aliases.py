"""Aliases in the engine double: which old state entry a newly named resource takes over (pure).

The rules are the engine's (``pkg/resource/deploy/step_generator.go``: ``getOldResource``,
``generateAliases``, ``collapseAliasToUrn``, ``inheritedChildAlias``):

- A resource is looked up by its own URN first; only when the state has no such entry are its aliases tried,
  in order, and the first one the state holds is the resource's old self (no create, no delete).
- An alias spec defaults every part to the resource's own: name, type, parent (the current parent, or the
  old URN of that parent when the parent itself was found through an alias), project, stack. ``noParent``
  (``Alias(parent=pulumi.ROOT_STACK_RESOURCE)``) or the root stack as parent means a top-level URN.
- A child whose parent was found through an alias inherits an alias: the parent's old URN as prefix, and
  the child's name with the parent's new name swapped for its old one (``{name}-details`` convention).
- An old entry can be taken over once, and not by an alias when another resource of the program already
  has that URN; a resource whose URN another one claimed as an alias is refused too
  (``sdk/go/common/diag/errors.go``: errors 2008 and 2016).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, Protocol

from migrator.core.errors import PulumiError

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


class Registered(Protocol):
    """What alias resolution reads of a declared resource."""

    urn: str
    type: str
    name: str
    parent: str
    aliases: tuple[dict[str, Any], ...]


def qualified_type(urn: str) -> str:
    """The qualified type of a URN (``Parent$Child``)."""
    return urn.split("::")[2]


def urn_name(urn: str) -> str:
    return urn.split("::", 3)[3]


def make_urn(stack: str, project: str, parent_qualified: str, type_: str, name: str) -> str:
    """``urn.New``: the parent's qualified type in front, unless there is no parent or it is the root stack."""
    if parent_qualified and parent_qualified != ROOT_STACK_TYPE:
        type_ = f"{parent_qualified}${type_}"
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def _stack_and_project(urn: str) -> tuple[str, str]:
    head, project = urn.split("::")[:2]
    return head[len("urn:pulumi:") :], project


def collapse_alias(resource: Registered, alias: Mapping[str, Any], matched: Mapping[str, str]) -> str:
    """The URN an alias (a URN or a spec) names for ``resource`` (``collapseAliasToUrn``)."""
    if alias.get("urn"):
        return str(alias["urn"])
    stack, project = _stack_and_project(resource.urn)
    parent = alias.get("parentUrn") or resource.parent
    if alias.get("parentUrn"):
        parent = matched.get(parent, parent)  # a parent found through an alias: its old URN
    if alias.get("noParent") or (parent and qualified_type(parent) == ROOT_STACK_TYPE):
        parent = ""
    return make_urn(
        alias.get("stack") or stack,
        alias.get("project") or project,
        qualified_type(parent) if parent else "",
        alias.get("type") or resource.type,
        alias.get("name") or resource.name,
    )


def _inherited(type_: str, name: str, parent_name: str, parent_alias: str) -> str:
    stack, project = _stack_and_project(parent_alias)
    if name.startswith(parent_name):
        name = urn_name(parent_alias) + name[len(parent_name) :]
    return make_urn(stack, project, qualified_type(parent_alias), type_, name)


def generate_aliases(resource: Registered, matched: Mapping[str, str]) -> list[str]:
    """Every alias URN of ``resource``: its own aliases, then those inherited from an aliased parent."""
    found: list[str] = []

    def add(urn: str) -> None:
        if urn not in found:
            found.append(urn)

    for alias in resource.aliases:
        add(collapse_alias(resource, alias, matched))
    parent_alias = matched.get(resource.parent) if resource.parent else None
    if parent_alias is not None:
        parent_name = urn_name(resource.parent)
        add(_inherited(resource.type, resource.name, parent_name, parent_alias))
        for alias in resource.aliases:
            own = collapse_alias(resource, alias, matched)
            add(_inherited(own.split("::")[2].split("$")[-1], urn_name(own), parent_name, parent_alias))
    return found


def resolve_aliases(state: Collection[str], declared: Iterable[Registered], *, stack: str) -> dict[str, str]:
    """New URN → the old state URN it takes over through an alias; raises the engine's errors."""
    matched: dict[str, str] = {}  # new URN → old URN (the engine's ``aliases``)
    claimed: dict[str, str] = {}  # old URN → new URN (``aliased``)
    registered: set[str] = set()  # URNs registered so far (``urns``)
    for resource in declared:
        if resource.urn in claimed:
            _refuse(
                stack,
                f"Duplicate resource URN '{resource.urn}' conflicting with alias on resource with URN "
                f"'{claimed[resource.urn]}'",
            )
        aliases = generate_aliases(resource, matched)
        if resource.urn not in state:
            for alias in aliases:
                if alias not in state:
                    continue
                if alias in registered or alias in claimed:
                    other = claimed.get(alias, resource.urn)
                    _refuse(
                        stack,
                        f"Duplicate resource alias '{alias}' applied to resource with URN "
                        f"'{resource.urn}' conflicting with resource with URN '{other}'",
                    )
                claimed[alias] = resource.urn
                matched[resource.urn] = alias
                break
        registered.add(resource.urn)
    return matched


def _refuse(stack: str, message: str) -> None:
    raise PulumiError(
        f"Pulumi could not preview stack {stack}: {message}.",
        hint="Give each resource a unique name and alias; an old resource can be taken over by one resource only.",
    )

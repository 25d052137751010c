"""The stack's state as ``pulumi stack export`` gives it: resources and pending creates. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from migrator.core.ports import PendingCreate, StateResource


def urn_name(urn: str) -> str:
    """The resource name of a URN (its last ``::`` part)."""
    return urn.rsplit("::", 1)[-1]


def pending_creates(deployment: Mapping[str, Any]) -> list[PendingCreate]:
    """The pending creates of an exported deployment (``pending_operations`` of type ``creating``)."""
    found = []
    for op in deployment.get("pending_operations") or []:
        resource = op.get("resource") or {}
        if op.get("type") != "creating" or not resource.get("urn"):
            continue
        urn = str(resource["urn"])
        name = (resource.get("inputs") or {}).get("name")
        found.append(
            PendingCreate(urn, str(resource.get("type", "")), urn_name(urn), name if isinstance(name, str) else None)
        )
    return found


def state_resources(deployment: Mapping[str, Any]) -> list[StateResource]:
    """The resources of an exported deployment (``pulumi stack export``'s ``deployment`` object)."""
    found = []
    for res in deployment.get("resources") or []:
        urn = str(res.get("urn", ""))
        found.append(
            StateResource(
                urn=urn,
                type=str(res.get("type", "")),
                name=urn_name(urn),
                protect=bool(res.get("protect", False)),
                retain_on_delete=bool(res.get("retainOnDelete", False)),
                physical_id=res.get("id") or None,
            )
        )
    return found


def without_pending(deployment: Mapping[str, Any], urns: set[str]) -> dict[str, Any]:
    """``deployment`` with the pending operations on ``urns`` removed (the rest kept as they are)."""
    pending = deployment.get("pending_operations") or ()
    kept = [op for op in pending if (op.get("resource") or {}).get("urn") not in urns]
    edited = {k: v for k, v in deployment.items() if k != "pending_operations"}
    if kept:
        edited["pending_operations"] = kept
    return edited

"""A ``freezeHook`` for the end-to-end tests: it records each call (``tests.e2e.hook_recorder:hook``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CALLS: list[tuple[str, dict[str, Any]]] = []


def hook(action: str, context: Mapping[str, Any]) -> None:
    """Record ``(action, context)``; a real hook would stop or start writers outside Lambda here."""
    CALLS.append((action, dict(context)))

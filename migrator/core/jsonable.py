"""Plain JSON values from the mappings and sequences the records and results hold. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def plain(value: Any) -> Any:
    """A copy of ``value`` that ``json.dumps`` takes as is: every mapping a ``dict`` with string keys, every list
    or tuple a ``list``, at any depth; anything else (None included) unchanged."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value

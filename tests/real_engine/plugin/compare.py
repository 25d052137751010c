"""Whether a declared value differs from the one in the state, as a Terraform plan decides it.

Terraform compares the configuration with the state attribute by attribute: an attribute left out of
the configuration that is Optional+Computed keeps its state value (no diff), sets compare without
order, JSON policy documents compare by meaning (pulumi-aws suppresses whitespace/order-only diffs),
and an empty list, map or string is the same as unset. Nested blocks here are compared the same way:
an attribute a declared block leaves out keeps whatever the state holds.
"""

from __future__ import annotations

import json
from typing import Any

from .values import UNKNOWN, Archive, Asset


def is_empty(value: Any) -> bool:
    """Unset as the Terraform SDK sees it: null or a zero value (false, 0, empty string, list or map)."""
    if value is None or value is False:
        return True
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value == 0
    return value in ("", [], {})


def same(new: Any, old: Any, *, as_json: bool = False) -> bool:
    """Whether declaring ``new`` leaves ``old`` (the state's value) as it is."""
    if new is UNKNOWN:
        return False
    if as_json and isinstance(new, str) and isinstance(old, str):
        return _same_json(new, old)
    if isinstance(new, Asset | Archive) or isinstance(old, Asset | Archive):
        return isinstance(old, type(new)) and new.hash == old.hash
    if is_empty(new) or is_empty(old):
        return is_empty(new) and is_empty(old)
    if isinstance(new, dict):
        return isinstance(old, dict) and all(v is None or same(v, old.get(k)) for k, v in new.items())
    if isinstance(new, list):
        return isinstance(old, list) and _same_set(new, old)
    return _same_scalar(new, old)


def _same_scalar(new: Any, old: Any) -> bool:
    if isinstance(new, bool) or isinstance(old, bool):
        return new == old
    if isinstance(new, int | float) or isinstance(old, int | float):
        try:
            return float(new) == float(old)
        except (TypeError, ValueError):
            return False
    return new == old


def _same_set(new: list[Any], old: list[Any]) -> bool:
    # Terraform sets are unordered; the lists here are short (attributes, indexes), so match greedily.
    if len(new) != len(old):
        return False
    unused = list(old)
    for item in new:
        match = next((i for i, candidate in enumerate(unused) if same(item, candidate)), None)
        if match is None:
            return False
        unused.pop(match)
    return True


def _same_json(new: str, old: str) -> bool:
    try:
        return json.loads(new) == json.loads(old)
    except ValueError:
        return new == old

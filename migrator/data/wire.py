"""Items between their two spellings: DynamoDB JSON with B as base64 text, and boto3's with B as bytes.

The derive rules, the canonical form and raw (orjson-parsed) responses use base64 text; botocore's
serializer wants bytes for B and BS values, and its parser returns bytes.
"""

from __future__ import annotations

import base64
from typing import Any

Item = dict[str, Any]


def _value_to_wire(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, raw),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(raw)} if isinstance(raw, str) else value
    if kind == "BS":
        return {"BS": [base64.b64decode(b) if isinstance(b, str) else b for b in raw]}
    if kind == "M":
        return {"M": to_wire(raw)}
    if kind == "L":
        return {"L": [_value_to_wire(v) for v in raw]}
    return value


def _value_from_wire(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, raw),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(raw).decode("ascii")} if isinstance(raw, bytes | bytearray) else value
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode("ascii") if isinstance(b, bytes | bytearray) else b for b in raw]}
    if kind == "M":
        return {"M": from_wire(raw)}
    if kind == "L":
        return {"L": [_value_from_wire(v) for v in raw]}
    return value


def to_wire(item: Item) -> Item:
    """The item with B values as bytes, for boto3 requests."""
    return {name: _value_to_wire(value) for name, value in item.items()}


def from_wire(item: Item) -> Item:
    """The item with B values as base64 text, as the derive rules and the canonical form read them."""
    return {name: _value_from_wire(value) for name, value in item.items()}

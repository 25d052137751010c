"""Canonical form of DynamoDB-JSON items: equal data gives equal bytes, whatever the spelling.

Pure: no boto3. Items are plain DynamoDB JSON (``{"Name": {"S": "a"}}``) as Scan responses and export
lines carry them (B as base64 text); B given as ``bytes`` (boto3's parsed form) is accepted too.

What does not matter: attribute order, map key order, set order, number spelling (``1``, ``1.0``,
``1e0``, ``01`` and ``+1`` are one number; ``-0`` is ``0``) and base64 spelling (padding, URL-safe
alphabet, line breaks). Every type counts: S, N, B, BOOL, NULL, L, M, SS, NS, BS; ``{"S": "1"}`` and
``{"N": "1"}`` differ.

Digests are xxHash3-128 (:func:`digest`): verification hashes every item of both tables, and xxh3 is
several times faster than blake2b while 128 bits keep an accidental collision out of reach
(about n²/2¹²⁹ for n items). It is not meant to resist someone crafting colliding items on purpose;
the tables being compared are the operator's own data.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from decimal import Context, Decimal, InvalidOperation
from typing import Any

import orjson
import xxhash

Item = Mapping[str, Any]

# DynamoDB numbers carry up to 38 significant digits; the default context (28) would round them.
_CONTEXT = Context(prec=60)
_SORT = orjson.OPT_SORT_KEYS
_digest = xxhash.xxh3_128_intdigest


class CanonicalError(ValueError):
    """A value that is not valid DynamoDB JSON (a number or base64 that does not parse)."""


def normalize_number(text: str) -> str:
    """The one spelling of a DynamoDB number: no exponent, no leading zeros, no trailing fraction zeros.

    ``"1.0"``, ``"1e0"``, ``"01"`` and ``"+1"`` give ``"1"``; ``"-0"`` gives ``"0"``; ``"1.50"`` gives ``"1.5"``.
    """
    # Fast path: a plain integer is already canonical (the common case by far).
    if text.isdigit() and text.isascii() and (text[0] != "0" or len(text) == 1):
        return text
    if text[:1] == "-" and text[1:].isdigit() and text.isascii() and text[1:2] != "0":
        return text
    try:
        number = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        raise CanonicalError(f"{text!r} is not a number") from None
    if not number.is_finite():
        raise CanonicalError(f"{text!r} is not a finite number")
    if number.is_zero():
        return "0"
    return format(number.normalize(_CONTEXT), "f")


def normalize_binary(value: str | bytes | bytearray) -> str:
    """Standard padded base64 of the bytes ``value`` holds (base64 text in any spelling, or raw bytes)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    text = "".join(value.split()).replace("-", "+").replace("_", "/").rstrip("=")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise CanonicalError(f"{value[:40]!r} is not base64") from None
    return base64.b64encode(raw).decode("ascii")


def _value(value: Mapping[str, Any]) -> Any:
    """The canonical form of one attribute value (the same object when it is already canonical)."""
    if len(value) != 1:
        raise CanonicalError(f"attribute value {dict(value)!r} does not have exactly one type")
    ((kind, raw),) = value.items()
    if kind == "S" or kind == "BOOL" or kind == "NULL":
        return value
    if kind == "N":
        number = normalize_number(raw)
        return value if number is raw else {"N": number}
    if kind == "M":
        return {"M": {k: _value(v) for k, v in raw.items()}}
    if kind == "L":
        return {"L": [_value(v) for v in raw]}
    if kind == "SS":
        return {"SS": sorted(raw)}
    if kind == "NS":
        return {"NS": sorted(normalize_number(n) for n in raw)}
    if kind == "B":
        return {"B": normalize_binary(raw)}
    if kind == "BS":
        return {"BS": sorted(normalize_binary(b) for b in raw)}
    raise CanonicalError(f"unknown DynamoDB type {kind!r}")


def canonical_value(value: Mapping[str, Any]) -> bytes:
    """Canonical bytes of one attribute value such as ``{"N": "1.0"}``."""
    return orjson.dumps(_value(value), option=_SORT)


def canonical_item(item: Item) -> bytes:
    """Canonical bytes of one item: sorted attribute and map keys, sorted sets, normalised N and B."""
    return orjson.dumps({name: _value(value) for name, value in item.items()}, option=_SORT)


def digest(data: bytes) -> int:
    """xxHash3-128 of ``data`` as an int (see the module docstring for why this hash)."""
    return _digest(data)


def item_digest(item: Item) -> int:
    """The digest of an item's canonical bytes: equal for equal data."""
    return _digest(canonical_item(item))


def key_text(value: Mapping[str, Any] | None) -> str:
    """The plain text of a key attribute value: S as is, N normalised, B as standard base64."""
    if value is None or len(value) != 1:
        raise CanonicalError("missing key attribute")
    ((kind, raw),) = value.items()
    if kind == "S":
        return raw
    if kind == "N":
        return normalize_number(raw)
    if kind == "B":
        return normalize_binary(raw)
    raise CanonicalError(f"key attribute of type {kind} (keys are S, N or B)")


def item_key(item: Item, key_names: Sequence[str]) -> dict[str, str]:
    """The key of an item as plain JSON (``{"UUID": "…"}``), in key-schema order.

    Raise :class:`CanonicalError` when the item lacks a key attribute or holds one of a non-key type.
    """
    key = {}
    for name in key_names:
        try:
            key[name] = key_text(item.get(name))
        except CanonicalError as e:
            raise CanonicalError(f"key {name}: {e}") from None
    return key


def key_bytes(item: Item, key_names: Sequence[str]) -> bytes:
    """:func:`item_key` as compact JSON bytes: one canonical spelling per key, usable as a dict key."""
    return orjson.dumps(item_key(item, key_names))

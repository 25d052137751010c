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

from migrator.core.dynamojson import MAX_DEPTH, number_problem, value_problem

Item = Mapping[str, Any]

# DynamoDB numbers carry up to 38 significant digits; the default context (28) would round them.
_CONTEXT = Context(prec=60)
_SORT = orjson.OPT_SORT_KEYS
_digest = xxhash.xxh3_128_intdigest


class CanonicalError(ValueError):
    """A value that is not valid DynamoDB JSON (by the rules of :mod:`migrator.core.dynamojson`)."""


def normalize_number(text: str) -> str:
    """The one spelling of a DynamoDB number: no exponent, no leading zeros, no trailing fraction zeros.

    ``"1.0"``, ``"1e0"``, ``"01"`` and ``"+1"`` give ``"1"``; ``"-0"`` gives ``"0"``; ``"1.50"`` gives ``"1.5"``.
    """
    if type(text) is not str:
        raise CanonicalError(f"number {text!r:.40} is not given as text")
    # Fast path: a plain integer of at most 38 digits is already canonical (the common case by far).
    if len(text) <= 39:
        if text.isdigit() and text.isascii() and (text[0] != "0" or len(text) == 1) and len(text) <= 38:
            return text
        if text[:1] == "-" and text[1:].isdigit() and text.isascii() and text[1:2] != "0":
            return text
    if problem := number_problem(text):
        raise CanonicalError(problem)
    try:
        number = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        raise CanonicalError(f"{text!r} is not a number") from None
    if number.is_zero():
        return "0"
    return format(number.normalize(_CONTEXT), "f")


def normalize_binary(value: str | bytes | bytearray) -> str:
    """Standard padded base64 of the bytes ``value`` holds (base64 text in any spelling, or raw bytes)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if type(value) is not str:
        raise CanonicalError(f"binary {value!r:.40} is not base64 text")
    text = "".join(value.split()).replace("-", "+").replace("_", "/").rstrip("=")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise CanonicalError(f"{value[:40]!r} is not base64") from None
    return base64.b64encode(raw).decode("ascii")


def _invalid(value: Any, depth: int = 1) -> CanonicalError:
    return CanonicalError(value_problem(value, depth) or f"{value!r:.40} is not valid DynamoDB JSON")


def _set(kind: str, raw: Any, member: Any) -> list[Any]:
    """The sorted canonical members of a set; CanonicalError unless it is a non-empty list of unique members."""
    if type(raw) is not list or not raw:
        raise _invalid({kind: raw})
    members = sorted(map(member, raw))
    if len(set(members)) != len(members):
        raise CanonicalError(f"{kind} holds a member twice")
    return members


def _string(text: Any) -> str:
    if type(text) is not str:
        raise CanonicalError(f"string {text!r:.40} is not text")
    return text


def _same(check: Any) -> Any:
    """A canonical form for a kind whose valid values are canonical already (S, BOOL, NULL)."""

    def form(kind: str, raw: Any, _depth: int) -> Any:
        if check(raw):
            return {kind: raw}
        raise CanonicalError(value_problem({kind: raw}) or f"{kind} {raw!r:.40} is not valid")

    return form


def _nested(kind: str, raw: Any, depth: int) -> Any:
    if depth >= MAX_DEPTH or type(raw) is not (dict if kind == "M" else list):
        raise _invalid({kind: raw}, depth)
    if kind == "M":
        return {"M": {k: _value(v, depth + 1) for k, v in raw.items()}}
    return {"L": [_value(v, depth + 1) for v in raw]}


_FORMS: dict[str, Any] = {
    "S": _same(lambda raw: type(raw) is str),
    "BOOL": _same(lambda raw: type(raw) is bool),
    "NULL": _same(lambda raw: raw is True),
    "N": lambda kind, raw, _depth: {"N": normalize_number(raw)},
    "B": lambda kind, raw, _depth: {"B": normalize_binary(raw)},
    "SS": lambda kind, raw, _depth: {"SS": _set(kind, raw, _string)},
    "NS": lambda kind, raw, _depth: {"NS": _set(kind, raw, normalize_number)},
    "BS": lambda kind, raw, _depth: {"BS": _set(kind, raw, normalize_binary)},
    "M": _nested,
    "L": _nested,
}


def _value(value: Any, depth: int = 1) -> Any:
    """The canonical form of one attribute value (the same object when it is already canonical).

    Every rule of :mod:`migrator.core.dynamojson` is checked on the way (cheaply: this runs for every
    item verification reads); a value that breaks one raises :class:`CanonicalError`.
    """
    if type(value) is not dict or len(value) != 1:
        raise _invalid(value, depth)
    ((kind, raw),) = value.items()
    if kind == "S" and type(raw) is str:  # the common case, without a call
        return value
    form = _FORMS.get(kind)
    if form is None:
        raise _invalid(value, depth)
    return form(kind, raw, depth)


def canonical_value(value: Mapping[str, Any]) -> bytes:
    """Canonical bytes of one attribute value such as ``{"N": "1.0"}``."""
    return orjson.dumps(_value(value), option=_SORT)


def canonical_item(item: Item) -> bytes:
    """Canonical bytes of one item: sorted attribute and map keys, sorted sets, normalised N and B.

    :class:`CanonicalError` when the item is not valid DynamoDB JSON.
    """
    if type(item) is not dict or "" in item:
        raise CanonicalError(
            "the item is not an object" if type(item) is not dict else "an attribute has an empty name"
        )
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

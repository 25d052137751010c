"""Is this valid DynamoDB JSON? The rules an item must follow for ImportTable (and PutItem) to take it.

Pure: no boto3. Items are plain DynamoDB JSON as export lines spell them (``{"Name": {"S": "a"}}``,
B as base64 text). :func:`item_problem` says what is wrong with an item, or None; the transform
makes such an item a reject, and verification reports it as unreadable, instead of either passing
it on to fail hours later at import.

The rules (DynamoDB's developer guide, "Supported data types and naming rules"): every attribute
value is an object with exactly one type; S is text, N a number of at most 38 significant digits
between 1E-130 and 9.9999999999999999999999999999999999999E+125 in magnitude (or zero), B base64;
BOOL true or false; NULL true; SS, NS and BS non-empty lists of unique members; L a list and M an
object of values; attribute names are at least one character; nesting stops at 32 levels.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

MAX_DEPTH = 32
MAX_DIGITS = 38
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Plain notation: with at most 38 digits in all it is within every limit (below 1E38, at least 1E-38).
_PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_SMALLEST, _TOO_LARGE = Decimal("1E-130"), Decimal("1E+126")
_SHOWN = 40


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def number_problem(text: Any) -> str | None:
    """Why ``text`` is not a DynamoDB number, or None."""
    if not isinstance(text, str):
        return f"number {_show(text)} is not given as text"
    if (
        len(text) <= MAX_DIGITS + 2
        and _PLAIN.fullmatch(text)
        and len(text) - ("-" in text) - ("." in text) <= MAX_DIGITS
    ):
        return None
    if not _NUMBER.fullmatch(text):
        return f"{_show(text)} is not a number"
    number = Decimal(text)
    if number.is_zero():
        return None
    significant = "".join(map(str, number.as_tuple().digits)).strip("0")  # normalize() would round to 28
    if len(significant) > MAX_DIGITS:
        return f"{_show(text)} has more than {MAX_DIGITS} significant digits"
    magnitude = number.copy_abs()
    if not _SMALLEST <= magnitude < _TOO_LARGE:
        return f"{_show(text)} is outside DynamoDB's number range (1E-130 to 9.99…E+125)"
    return None


def binary_problem(text: Any) -> str | None:
    """Why ``text`` is not base64 (standard alphabet, padded, as exports write B), or None."""
    if not isinstance(text, str):
        return f"binary {_show(text)} is not base64 text"
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return f"{_show(text)} is not base64"
    return None


def _string_problem(text: Any) -> str | None:
    return None if isinstance(text, str) else f"string {_show(text)} is not text"


def _set_problem(kind: str, members: Any, member: Callable[[Any], str | None]) -> str | None:
    if not isinstance(members, list):
        return f"{kind} {_show(members)} is not a list"
    if not members:
        return f"{kind} is empty (DynamoDB has no empty sets)"
    for m in members:
        if problem := member(m):
            return f"{kind} member: {problem}"
    if kind == "NS":
        unique = {Decimal(m) for m in members}
    elif kind == "BS":
        unique = {base64.b64decode(m) for m in members}
    else:
        unique = set(members)
    if len(unique) != len(members):
        return f"{kind} holds a member twice"
    return None


_SCALARS: dict[str, Callable[[Any], str | None]] = {
    "S": _string_problem,
    "N": number_problem,
    "B": binary_problem,
    "BOOL": lambda v: None if isinstance(v, bool) else f"BOOL {_show(v)} is not true or false",
    "NULL": lambda v: None if v is True else f"NULL {_show(v)} is not true",
}
_SET_MEMBERS = {"SS": _string_problem, "NS": number_problem, "BS": binary_problem}
TYPES = frozenset({*_SCALARS, *_SET_MEMBERS, "L", "M"})


def value_problem(value: Any, depth: int = 1) -> str | None:
    """Why one attribute value is not valid DynamoDB JSON, or None."""
    if not isinstance(value, dict):
        return f'value {_show(value)} is not an object like {{"S": …}}'
    if len(value) != 1:
        kinds = ", ".join(sorted(map(str, value))) or "none"
        return f"value has {len(value)} types ({kinds}); it must have exactly one"
    ((kind, raw),) = value.items()
    if kind == "S" and type(raw) is str:  # the common case first: checking every item costs
        return None
    if kind in _SCALARS:
        return _SCALARS[kind](raw)
    if kind in _SET_MEMBERS:
        return _set_problem(kind, raw, _SET_MEMBERS[kind])
    if kind not in ("L", "M"):
        return f"{_show(kind)} is not a DynamoDB type"
    if depth >= MAX_DEPTH:
        return f"nesting deeper than {MAX_DEPTH} levels"
    return _list_problem(raw, depth) if kind == "L" else _map_problem(raw, depth)


def _list_problem(raw: Any, depth: int) -> str | None:
    if not isinstance(raw, list):
        return f"L {_show(raw)} is not a list"
    for n, element in enumerate(raw):
        if problem := value_problem(element, depth + 1):
            return f"[{n}]{_join(problem)}"
    return None


def _map_problem(raw: Any, depth: int) -> str | None:
    if not isinstance(raw, dict):
        return f"M {_show(raw)} is not an object"
    for name, element in raw.items():
        # An empty map key is not refused: DynamoDB documents no such rule, and exports may hold one.
        if problem := value_problem(element, depth + 1):
            return f".{name}{_join(problem)}"
    return None


def _join(problem: str) -> str:
    return problem if problem.startswith((".", "[")) else ": " + problem


def item_problem(item: Any) -> str | None:
    """Why ``item`` is not a valid DynamoDB-JSON item, or None; names the attribute (``Address.Zip``, ``L[2]``)."""
    if not isinstance(item, dict):
        return f"the item {_show(item)} is not an object"
    for name, value in item.items():
        if not name:
            return "an attribute has an empty name"
        if problem := value_problem(value):
            return f"attribute {name}{_join(problem)}"
    return None

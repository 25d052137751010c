"""A byte-level check that export lines are valid DynamoDB JSON, for the transform paths that never parse them.

The batch and splice paths of :mod:`migrator.data.transform.lines` copy most of each line as bytes, so
without this a value such as ``{"N":"abc"}``, a bare ``"X":"1"`` or a truncated line would reach the
import untouched. Here one compiled grammar, run in C over a whole run of lines at once, accepts a
strict subset of valid DynamoDB JSON (:mod:`migrator.core.dynamojson` has the rules):

- lines without a backslash only (the callers send escaped lines to the full parse), so every ``"``
  delimits a string, and a string is ``"[^"]*"``; raw control characters are refused by one scan;
- N in plain notation with at most 38 digits (an exponent or longer text takes the full parse,
  which checks DynamoDB's exact limits); B as padded standard base64; BOOL, NULL; SS, NS, BS non-empty;
- L and M nested up to :data:`DEPTH` levels (deeper takes the full parse).

Set members must also be unique, which a regular grammar cannot say: the grammar takes NS and BS
members only in their canonical spelling (other spellings take the full parse), so a repeated member
is a repeated text, which :func:`sets_unique` finds in C. A line the grammar does not accept is not
necessarily invalid: it takes the full parse, which decides and gives the reason.
"""

from __future__ import annotations

import re

DEPTH = 2

_TEXT = rb'[^"]'  # no backslash in the lines checked here, and control characters are refused apart
STR = rb'"' + _TEXT + rb'*+"'
_NAME = rb'"' + _TEXT + rb'++"'
# At most 38 digits: 38 without a point, or 39 characters with one.
_DIGITS = rb'(?=-?(?:[0-9]{1,38}"|(?=[0-9.]{3,39}")[0-9]*+\.))'
NUMBER = _DIGITS + rb"-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?+"
BASE64 = rb"(?:[A-Za-z0-9+/]{4})*+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?+"
_NUM = rb'"' + NUMBER + rb'"'
_B64 = rb'"' + BASE64 + rb'"'
# Set members in their one canonical spelling (no trailing fraction zeros, no -0; base64 with zero
# padding bits), so that two different texts are two different members and a repeat is a text repeat.
_SET_NUM = rb'"' + _DIGITS + rb'(?:0|-?[1-9][0-9]*+(?:\.[0-9]*[1-9])?+|-?0\.[0-9]*[1-9])"'
_SET_B64 = rb'"(?:[A-Za-z0-9+/]{4})*+(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?+"'
# Everything but the control characters a JSON string may not hold raw ("\n" separates lines).
_ALLOWED = bytes(b for b in range(256) if b >= 0x20 or b == 0x0A)


def _list(element: bytes) -> bytes:
    return rb"\[" + element + rb"(?:," + element + rb")*+\]"


# Plain groups, not atomic ones: each alternative starts with its own literal, so little is retried.
_SCALAR = (
    rb'\{"(?:S":' + STR + rb'|N":' + _NUM + rb'|B":' + _B64 + rb'|BOOL":(?:true|false)|NULL":true'
    rb'|SS":' + _list(STR) + rb'|NS":' + _list(_SET_NUM) + rb'|BS":' + _list(_SET_B64) + rb")\}"
)


def _value(depth: int) -> bytes:
    if depth == 0:
        return _SCALAR
    inner = _value(depth - 1)
    members = rb"(?:" + inner + rb"(?:," + inner + rb")*+)?+"
    entries = rb"(?:" + STR + b":" + inner + rb"(?:," + STR + b":" + inner + rb")*+)?+"
    return rb"(?:" + _SCALAR + rb'|\{"L":\[' + members + rb'\]\}|\{"M":\{' + entries + rb"\}\})"


ATTRIBUTE = _NAME + b":" + _value(DEPTH)
LINE = re.compile(rb'\{"Item":\{' + ATTRIBUTE + rb"(?:," + ATTRIBUTE + rb")*+\}\}")
_NUMBERS = re.compile(rb"(?:" + NUMBER + rb"\n)*+" + NUMBER)
_BASE64S = re.compile(rb"(?:" + BASE64 + rb"\n)*+" + BASE64)
# A member of a set that comes again later in the same set. Only sets open with '["' (a list's
# elements are objects), and members hold no '"'; '[' is rare, which keeps the search fast.
_REPEATED_MEMBER = re.compile(rb'\["(?:[^"]*+",")*?([^"]*+)"(?:,"[^"]*+")*?,"\1"[,\]]')


def valid_line(line: bytes) -> bool:
    """True when ``line`` is one export line ``{"Item":{…}}`` the grammar accepts, with unique set members."""
    if b"\\" in line or b"\n" in line or not plain_text(line):
        return False
    return LINE.fullmatch(line) is not None and sets_unique(line)


def plain_text(data: bytes) -> bool:
    """True when ``data`` is UTF-8 holding no raw control character but newlines (JSON text may hold none)."""
    if data.translate(None, _ALLOWED):
        return False
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def sets_unique(data: bytes) -> bool:
    """True when no SS, NS or BS in ``data`` (lines the grammar accepted) holds a member twice."""
    return _REPEATED_MEMBER.search(data) is None


def source_attribute(name_json: bytes) -> re.Pattern[bytes]:
    """A pattern that matches one whole line the grammar accepts, holding the top-level scalar ``name``.

    Its groups: the line up to and including that attribute, the attribute's type (S, N or B), its
    value text, and the rest of the line. ``name_json`` is the attribute name as JSON (``b'"Name"'``).
    Used with ``re.split`` over a run of lines without backslashes or control characters: the text
    between matches must be exactly one newline each, and there must be one match per line.
    """
    before = rb"(?:(?!" + re.escape(name_json) + rb":)" + ATTRIBUTE + rb",)*+"
    after = rb"((?:," + ATTRIBUTE + rb")*+\}\})"
    source = re.escape(name_json) + rb':\{"([SNB])":"(' + _TEXT + rb'*+)"\}'
    return re.compile(rb'(\{"Item":\{' + before + source + rb")" + after)


def typed_values_valid(kinds: list[bytes], values: list[bytes]) -> bool:
    """True when every N value is a number and every B value base64, as the grammar reads them."""
    numbers = [v for k, v in zip(kinds, values, strict=True) if k == b"N"]
    binaries = [v for k, v in zip(kinds, values, strict=True) if k == b"B"]
    return (not numbers or _NUMBERS.fullmatch(b"\n".join(numbers)) is not None) and (
        not binaries or _BASE64S.fullmatch(b"\n".join(binaries)) is not None
    )

"""``X=uuid5(Y)`` for a whole run of export lines at once, with the per-item work in C.

The common derive (one ``uuid5`` rule whose target is the new key) costs a parse per item when
done line by line. Here a run of lines that hold no backslash and no target attribute yet (the
caller checks that) is handled as one bytes object: one regex pass (:mod:`migrator.data.transform.linecheck`)
checks that every line is valid DynamoDB JSON and reads its source value, SHA-1 runs per value, the
UUID texts are laid out for all items at once with strided slice assignments, and the new attribute
is joined in right after the source attribute. The grammar places the source attribute at the top
level of each line (a nested ``"Y":`` inside a map is part of another attribute's value); a run it
does not accept whole goes line by line.
"""

from __future__ import annotations

import binascii
import hashlib
import uuid
from array import array

import orjson

from migrator.data.transform import linecheck

# uuid text position → hex digit of the SHA-1 (dashes at 8, 13, 18, 23; version at 14; variant at 19)
_LAYOUT = (
    [(k, k) for k in range(8)]
    + [(k, k - 1) for k in range(9, 13)]
    + [(k, k - 2) for k in range(15, 18)]
    + [(k, k - 3) for k in range(20, 23)]
    + [(k, k - 4) for k in range(24, 36)]
)
_VARIANT = bytes.maketrans(b"0123456789abcdef", b"89ab89ab89ab89ab")
_VERSION = bytes((b & 0x0F) | 0x50 for b in range(256))  # a table for bytes.translate
_HEX_PER_DIGEST = 40


def stamp(hexes: bytes, count: int, head: bytes, tail: bytes) -> bytes:
    """``head + uuid + tail + newline`` for each of ``count`` SHA-1 digests given as consecutive hex text."""
    size = len(head) + 36 + len(tail) + 1
    buf = bytearray(size * count)
    for i, c in enumerate(head):
        buf[i::size] = bytes((c,)) * count
    at = len(head)
    for k, j in _LAYOUT:
        buf[at + k :: size] = hexes[j::_HEX_PER_DIGEST]
    for k in (8, 13, 18, 23):
        buf[at + k :: size] = b"-" * count
    buf[at + 14 :: size] = b"5" * count
    buf[at + 19 :: size] = hexes[16::_HEX_PER_DIGEST].translate(_VARIANT)
    for i, c in enumerate(tail + b"\n"):
        buf[at + 36 + i :: size] = bytes((c,)) * count
    return bytes(buf)


def uuid_digests(digests: bytes, count: int) -> list[int]:
    """:func:`migrator.data.transform.dupes.key_digest` of each uuid5 key, from the SHA-1 digests (20 bytes each)."""
    buf = bytearray(8 * count)
    for k in range(8):
        buf[k::8] = digests[k::20]
    buf[6::8] = buf[6::8].translate(_VERSION)
    return array("Q", buf).tolist()  # native byte order, as key_digest reads them


class Uuid5Batch:
    """Adds ``target = uuid5(source)`` to every line of a run; the new key is ``target`` alone."""

    def __init__(self, source: str, target: str, namespace: uuid.UUID) -> None:
        # split() with these groups gives [sep, line up to the source, type, value, rest of line, sep, …]
        self._split = linecheck.source_attribute(orjson.dumps(source)).split
        self._head = b"," + orjson.dumps(target) + b':{"S":"'
        self._base = hashlib.sha1(namespace.bytes)

    def rewrite(self, segment: bytes) -> tuple[bytes, list[int], bytes] | None:
        """``(new lines, key digests, canonical keys as lines)`` for a run of lines (no trailing
        newline); None unless every line is valid DynamoDB JSON holding the source attribute."""
        pieces = self._split(segment)
        count = len(pieces) // 5
        separators = pieces[0::5]
        if count != segment.count(b"\n") + 1 or separators[0] or separators[-1] or separators.count(b"\n") != count - 1:
            return None
        kinds, values = pieces[2::5], pieces[3::5]
        if kinds.count(b"S") != count and not linecheck.typed_values_valid(kinds, values):
            return None
        if not linecheck.plain_text(segment) or not linecheck.sets_unique(segment):
            return None
        digests = b"".join(map(self._sha1, values))
        hexes = binascii.hexlify(digests)
        pieces[2::5] = stamp(hexes, count, self._head, b'"}').split(b"\n")[:-1]
        pieces[3::5] = [b""] * count
        return b"".join(pieces), uuid_digests(digests, count), stamp(hexes, count, b'[["S","', b'"]]')

    def _sha1(self, value: bytes) -> bytes:
        h = self._base.copy()
        h.update(value)
        return h.digest()

"""Rewriting export lines for the new key schema, on local streams (no S3 here).

A DynamoDB export line is ``{"Item":{...}}`` in compact DynamoDB JSON. Adding derived attributes
does not need the item parsed and re-serialised; three paths, cheapest first:

- batch (:mod:`migrator.data.transform.batch`): one ``uuid5`` rule whose target is the new key, for a
  whole run of lines at once;
- byte level: the source values are read straight from the line and the new attributes' JSON is
  spliced in after ``{"Item":{``;
- full: parse with orjson, derive (or call the hook), splice or re-serialise. Taken by lines that
  hold a backslash (escaped text), a target attribute already (a JSON object must not hold a key
  twice), a map (byte level only: a nested ``"Name":`` could be mistaken for the top-level one),
  lines the fast paths' grammar does not accept, and by hooks.

The fast paths copy most of a line as bytes, so every line they take must first pass the grammar of
:mod:`migrator.data.transform.linecheck` (valid DynamoDB JSON, checked in C); the full path checks the parsed
item with :func:`migrator.core.dynamojson.item_problem`. An invalid item is a reject with the reason,
never passed on to fail at import. Without maps every ``"Name":`` key of a line is a top-level
attribute: the other keys of DynamoDB JSON are the type names S, N, B, L… The lines needing the full
path are found with a few byte scans per chunk, not per line. Output is plain UTF-8 (moto's import
does not decode ``\\uXXXX`` escapes) compressed as standard gzip by ISA-L, which ImportTable reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import orjson
from isal import igzip, isal_zlib

from migrator.core.derive import Copy, Deriver, RejectError, Uuid5, attribute_text, evaluate, load_hook, parse_rules
from migrator.core.dynamojson import item_problem
from migrator.data.transform.batch import Uuid5Batch
from migrator.data.transform.dupes import DigestSpill, canonical_key
from migrator.data.transform.linecheck import valid_line

PREFIX = b'{"Item":{'
_MAP = b'"M":'
GZIP_LEVEL = 1  # ISA-L level 0..3; measured in bench/transform.py
READ_CHUNK = 1 << 20
_SAMPLE = 1 << 16
_BYTES_PER_CHECK = 300  # one memchr hit checked in Python costs about a plain search of this many bytes
MAX_REASONS = 5
_SCALARS = ("S", "N", "B")
# Keys of DynamoDB JSON itself: an attribute with one of these names defeats the byte scan.
_TYPE_NAMES = {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}
_VALUE_STARTS = {b'S":"': "S", b'N":"': "N", b'B":"': "B"}
_VARIANT = {c: format((int(c, 16) & 3) | 8, "x") for c in "0123456789abcdef"}


@dataclass(frozen=True)
class DeriverSpec:
    """Derive rules and an optional ``module:function`` hook, as text (picklable for worker processes)."""

    rules: tuple[str, ...] = ()
    hook: str | None = None

    def build(self) -> Deriver:
        """Parse the rules and load the hook; :class:`DeriveSyntaxError` when they cannot be used."""
        return Deriver(parse_rules(self.rules), load_hook(self.hook) if self.hook else None)

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(rule.target for rule in parse_rules(self.rules))

    def to_dict(self) -> dict[str, Any]:
        return {"rules": list(self.rules), "hook": self.hook}


@dataclass(frozen=True)
class FileCounts:
    """What one data file gave: items read, written, rejected, and the first reject reasons."""

    items_in: int
    items_out: int
    rejects: int
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChunkResult:
    """Rewritten lines (each element one or more lines, no final newline), their canonical keys in
    order, and reject lines ``{"reason", "item"}``."""

    lines: list[bytes]
    keys: list[bytes]
    rejects: list[bytes]
    # from the batch: key digests, and their canonical keys as newline-ended lines
    digests: list[int] = field(default_factory=list)
    digest_keys: list[bytes] = field(default_factory=list)

    @property
    def items(self) -> int:
        return len(self.keys) + len(self.digests)


class LineReject(RejectError):
    """A line that cannot be transformed, with what to write aside next to the reason."""

    def __init__(self, reason: str, item: Any) -> None:
        super().__init__(reason)
        self.item = item


def fast_uuid5(namespace: bytes, name: bytes) -> str:
    """``str(uuid.uuid5(ns, name))`` for a UTF-8 ``name``, without building UUID objects."""
    h = hashlib.sha1(namespace + name).digest()[:16].hex()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


def scalar_at(line: bytes, pattern: bytes) -> tuple[str, bytes, bytes] | None:
    """``(type, value text, raw value JSON)`` of the attribute whose ``"name":{"`` is ``pattern``.

    Only for lines without maps (see the module doc). None when it is not found as a plain
    S/N/B value without escapes: the caller then takes the full path.
    """
    i = line.find(pattern)
    if i <= 0 or line[i - 1] not in b"{,":
        return None
    j = i + len(pattern)
    kind = _VALUE_STARTS.get(line[j : j + 4])
    if kind is None:
        return None
    end = line.find(b'"', j + 4)
    text = line[j + 4 : end]
    if end < 0 or b"\\" in text or line[end + 1 : end + 2] != b"}":
        return None
    return kind, text, line[j - 2 : end + 2]


def find_all(data: bytes, needle: bytes) -> Iterator[int]:
    """Every position of ``needle`` in ``data``.

    JSON is full of ``"`` and ``:``, which makes a plain search for ``"M":`` crawl. When a letter of
    the needle is rare (judged on a sample), its positions are found with memchr and checked instead.
    """
    sample = min(len(data), _SAMPLE)
    rarest = min(
        ((data.count(needle[i : i + 1], 0, sample), i) for i, b in enumerate(needle) if b not in b'":{}[],\\'),
        default=None,
    )
    if rarest is not None and rarest[0] * _BYTES_PER_CHECK < sample:
        offset = rarest[1]
        probe = needle[offset : offset + 1]
        at = data.find(probe, offset)
        while at >= 0:
            if data.startswith(needle, at - offset):
                yield at - offset
            at = data.find(probe, at + 1)
        return
    at = data.find(needle)
    while at >= 0:
        yield at
        at = data.find(needle, at + 1)


def _batch_for(deriver: Deriver, key_names: tuple[str, ...]) -> Uuid5Batch | None:
    """The batch path serves the common derive: one ``uuid5`` rule whose target is the whole new key."""
    if len(deriver.rules) != 1 or key_names != (deriver.rules[0].target,):
        return None
    expression = deriver.rules[0].expression
    if not isinstance(expression, Uuid5):
        return None
    return Uuid5Batch(expression.source, deriver.rules[0].target, expression.namespace)


class LineRewriter:
    """Turns export lines into the new items' lines and their canonical new keys."""

    def __init__(self, deriver: Deriver, key_names: tuple[str, ...]) -> None:
        self.deriver = deriver
        self.key_names = key_names
        self.targets = tuple(rule.target for rule in deriver.rules)
        self._target_json = tuple(orjson.dumps(t) for t in self.targets)
        names = {*self.targets, *key_names, *(s for r in deriver.rules for s in r.expression.sources)}
        self._fast = deriver.hook is None and not names & _TYPE_NAMES
        self._batch = _batch_for(deriver, key_names) if self._fast else None
        # The batch's grammar places the source attribute itself; the byte-level splice needs lines without maps.
        maps = () if self._batch is not None else (_MAP,)
        self._needles = (*maps, b"\\", *(t + b":" for t in self._target_json))
        self._patterns = {n: orjson.dumps(n) + b':{"' for n in names}
        sources = dict.fromkeys(s for r in deriver.rules for s in r.expression.sources)
        self._sources = tuple((n, self._patterns[n]) for n in sources)
        self._plan = tuple(
            (r.target, t, r.expression, r.expression.namespace.bytes if isinstance(r.expression, Uuid5) else None)
            for t, r in zip(self._target_json, deriver.rules, strict=True)
        )

    def rewrite_chunk(self, data: bytes) -> ChunkResult:
        """Rewrite whole lines (``data`` holds no partial line); the byte scans run once per chunk."""
        result = ChunkResult([], [], [])
        if not self._fast:
            self._lines(data, result, fast=False)
            return result
        # Output order within a file does not matter to ImportTable: the lines that need the full
        # path are taken out, and the rest is rewritten as one run.
        runs, at = [], 0
        for start, end in self._full_ranges(data):
            if start > at:
                runs.append(data[at : start - 1])
            self._lines(data[start:end], result, fast=False)
            at = end + 1
        if at < len(data):
            runs.append(data[at:])
        if runs:
            self._run(runs[0] if len(runs) == 1 else b"\n".join(runs), result)
        return result

    def _run(self, segment: bytes, result: ChunkResult) -> None:
        """Lines with no map, no backslash and no target attribute: the batch, else line by line."""
        done = self._batch.rewrite(segment) if self._batch is not None else None
        if done is None:
            self._lines(segment, result, fast=True)
        else:
            result.lines.append(done[0])
            result.digests.extend(done[1])
            result.digest_keys.append(done[2])

    def _lines(self, segment: bytes, result: ChunkResult, *, fast: bool) -> None:
        for line in segment.split(b"\n"):
            try:
                done = self._rewrite_fast(line) if fast else None
                if done is None:
                    done = self._rewrite_full(line)
            except LineReject as e:
                result.rejects.append(orjson.dumps({"reason": e.reason, "item": e.item}) + b"\n")
                continue
            if done is not None:
                result.lines.append(done[0])
                result.keys.append(done[1])

    def _full_ranges(self, data: bytes) -> list[tuple[int, int]]:
        """``(start, end)`` of each line that holds a backslash or a target attribute already (or, for the
        byte-level splice, a map)."""
        ranges: set[tuple[int, int]] = set()
        for needle in self._needles:
            end = -1
            for at in find_all(data, needle):
                if at <= end:
                    continue  # this line is taken already
                start = data.rfind(b"\n", 0, at) + 1
                end = data.find(b"\n", at)
                end = len(data) if end < 0 else end
                ranges.add((start, end))
        return sorted(ranges)

    def _rewrite_fast(self, line: bytes) -> tuple[bytes, bytes] | None:
        """The byte-level path for a valid line with no map, no escape and no target attribute yet."""
        if not line.startswith(PREFIX) or _MAP in line or not valid_line(line):
            return None
        found: dict[str, tuple[str, bytes, bytes]] = {}
        for name, pattern in self._sources:
            value = scalar_at(line, pattern)
            if value is None:
                return None
            found[name] = value
        spliced = []
        for target, target_json, expression, namespace in self._plan:
            if namespace is not None:
                text = fast_uuid5(namespace, found[expression.source][1]).encode()
                value = ("S", text, b'{"S":"' + text + b'"}')
            elif isinstance(expression, Copy):
                value = found[expression.source]
            else:
                item = {f: {"S": found[f][1].decode()} for f in expression.fields}
                formatted = evaluate(expression, item)["S"]
                value = ("S", formatted.encode(), orjson.dumps({"S": formatted}))
            spliced.append(target_json + b":" + value[2] + b",")
            found[target] = value
        parts = []
        for name in self.key_names:
            value = found.get(name) or scalar_at(line, self._patterns[name])
            if value is None or not value[1]:  # an empty key value: the full path makes it a reject
                return None
            parts.append((value[0], value[1].decode()))
        if line[9:10] == b"}" and spliced:
            spliced[-1] = spliced[-1][:-1]
        return PREFIX + b"".join(spliced) + line[9:], canonical_key(tuple(parts))

    def _rewrite_full(self, line: bytes) -> tuple[bytes, bytes] | None:
        line = line.strip()
        if not line:
            return None
        try:
            document = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            raise LineReject(f"line is not JSON ({e})", line.decode("utf-8", "replace")) from None
        item = document.get("Item") if isinstance(document, dict) else None
        if not isinstance(item, dict):
            raise LineReject('line has no "Item" object', document)
        if problem := item_problem(item):
            raise LineReject(f"not valid DynamoDB JSON: {problem}", item)
        try:
            new = self.deriver(item) if self.deriver.hook is not None else self._derive(item)
        except RejectError as e:
            raise LineReject(e.reason, item) from None
        if self.deriver.hook is not None and (problem := item_problem(new)):
            raise LineReject(f"the --python hook returned invalid DynamoDB JSON: {problem}", item)
        key = self._key_of(new, item)
        if self.deriver.hook is None and line.startswith(PREFIX) and b"\\u" not in line:
            if not any(t in item for t in self.targets):
                spliced = b"".join(
                    j + b":" + orjson.dumps(new[t]) + b"," for t, j in zip(self.targets, self._target_json, strict=True)
                )
                if line[9:10] == b"}" and spliced:
                    spliced = spliced[:-1]
                return PREFIX + spliced + line[9:], key
            if new == item:
                return line, key
        try:
            return orjson.dumps({**document, "Item": new}), key
        except TypeError as e:
            raise LineReject(f"the new item is not JSON ({e})", item) from None

    def _derive(self, item: dict[str, Any]) -> dict[str, Any]:
        """What :class:`Deriver` gives without a hook, with the faster uuid5."""
        derived = {}
        for target, _, expression, namespace in self._plan:
            if namespace is not None:
                text = attribute_text(item, expression.source).encode()
                derived[target] = {"S": fast_uuid5(namespace, text)}
            else:
                derived[target] = evaluate(expression, item)
        return {**item, **derived}

    def _key_of(self, new: dict[str, Any], item: dict[str, Any]) -> bytes:
        parts = []
        for name in self.key_names:
            value = new.get(name)
            if value is None:
                raise LineReject(f"missing key attribute {name}", item)
            kind, text = next(iter(value.items())) if isinstance(value, dict) and len(value) == 1 else ("", None)
            if kind not in _SCALARS or not isinstance(text, str):
                raise LineReject(f"key attribute {name} is not S, N or B", item)
            if not text:
                raise LineReject(f"key attribute {name} is empty", item)
            parts.append((kind, text))
        return canonical_key(tuple(parts))


def transform_stream(
    source: IO[bytes],
    dest: IO[bytes],
    rejects_out: IO[bytes],
    spill: DigestSpill,
    rewriter: LineRewriter,
    *,
    compressed: bool = True,
    level: int = GZIP_LEVEL,
    on_items: Callable[[int], None] | None = None,
) -> FileCounts:
    """Stream one data file: decompress ``source``, rewrite each line, gzip into ``dest``.

    Rejects go to ``rejects_out`` as JSON lines ``{"reason": …, "item": …}``; every written item's
    canonical key goes to ``spill``; ``on_items(n)`` hears of the items read, chunk by chunk.
    Memory holds one read chunk at a time.
    """
    reader: Any = igzip.GzipFile(fileobj=source, mode="rb") if compressed else source
    compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, 31)
    items_in = items_out = rejected = 0
    reasons: list[str] = []
    pending = b""
    while True:
        chunk = reader.read(READ_CHUNK)
        data = pending + chunk
        cut = data.rfind(b"\n") if chunk else len(data)
        pending = data[cut + 1 :]
        done = rewriter.rewrite_chunk(data[:cut] if cut >= 0 else b"")
        out, rejects = done.lines, done.rejects
        spill.add_many(done.keys)
        if done.digests:
            spill.add_digests(done.digests, b"".join(done.digest_keys))
        items_in += done.items + len(rejects)
        items_out += done.items
        if on_items is not None and (done.items or rejects):
            on_items(done.items + len(rejects))
        if out:
            out.append(b"")
            dest.write(compressor.compress(b"\n".join(out)))
        if rejects:
            rejected += len(rejects)
            rejects_out.write(b"".join(rejects))
            reasons.extend(orjson.loads(r)["reason"] for r in rejects[: MAX_REASONS - len(reasons)])
        if not chunk:
            break
    dest.write(compressor.flush())
    return FileCounts(items_in, items_out, rejected, tuple(reasons))


def transform_local_file(
    source_path: str,
    dest_path: str,
    rejects_path: str,
    spill_dir: str,
    tag: str,
    spec: DeriverSpec,
    key_names: tuple[str, ...],
    level: int = GZIP_LEVEL,
) -> FileCounts:
    """Transform one local gzip data file to local files (the benchmark's and tests' entry point)."""
    rewriter = LineRewriter(spec.build(), key_names)
    spill = DigestSpill(spill_dir, tag)
    with open(source_path, "rb") as src, open(dest_path, "wb") as dst, open(rejects_path, "wb") as rej:
        counts = transform_stream(src, dst, rej, spill, rewriter, level=level)
    spill.close()
    return counts

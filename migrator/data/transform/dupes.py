"""The duplicate-key check in bounded memory.

Each derived item's new key is reduced to a canonical form (type and value of every key attribute;
numbers normalised, so ``1.0`` and ``1`` are one key) and a fixed-size 64-bit digest of it
(:func:`key_digest`). Digests are spilled to partition files on local disk by their top bits, with
the canonical keys beside them. After every file is through, each partition is checked in turn with
one set; a partition too large to hold is split again by the next bits, so memory stays flat however
many items there are. Equal digests are only candidates: they are confirmed (or not) by comparing
the canonical keys read back from disk, so a digest collision can never fail a transform.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from array import array
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import orjson
import xxhash

from migrator.core.errors import DuplicateKeysError

PARTITION_BITS = 6  # 64 partition files per spill
PARTITIONS = 1 << PARTITION_BITS
DIGEST_SIZE = 8
MAX_PARTITION_BYTES = 4 << 20  # digests; a partition larger than this is split again before it is read
MAX_CANDIDATES = 100_000
MAX_SAMPLES = 10
_FLUSH_BYTES = 64 << 10
_PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,37})")

_int_digest = xxhash.xxh3_64_intdigest
_UUID_KEY = re.compile(rb'\[\["S","([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-[0-9a-f]{4}-[0-9a-f]{12}"\]\]')


def normal_number(text: str) -> str:
    """One text per DynamoDB number: ``1``, ``1.0`` and ``1E0`` give the same result."""
    if _PLAIN_INT.fullmatch(text) and text != "-0":
        return text
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    if value == 0:
        return "0"
    return str(value.normalize())


def canonical_key(parts: tuple[tuple[str, str], ...]) -> bytes:
    """The canonical bytes of a key given as ``((type, value text), ...)`` in key order."""
    return orjson.dumps([[kind, normal_number(text) if kind == "N" else text] for kind, text in parts])


def sample_key(canonical: bytes, key_names: tuple[str, ...]) -> dict[str, Any]:
    """A key as plain JSON (``{"UUID": "…"}``) from its canonical bytes, for messages and reports."""
    out: dict[str, Any] = {}
    for name, (kind, text) in zip(key_names, orjson.loads(canonical), strict=False):
        if kind == "N":
            number = Decimal(text)
            out[name] = int(number) if number == number.to_integral_value() else float(number)
        else:
            out[name] = text
    return out


def key_digest(canonical: bytes) -> int:
    """The 64-bit digest of a canonical key.

    A single UUID-string key (``uuid5`` rules) is already a uniform hash: its first eight bytes are
    used as they are, which lets the batch path compute digests without building the keys.
    """
    match = _UUID_KEY.fullmatch(canonical)
    if match is None:
        return _int_digest(canonical)
    return int.from_bytes(bytes.fromhex(b"".join(match.groups()).decode()), sys.byteorder)


class DigestSpill:
    """Spills the keys of one data file: 8-byte digests by partition (``p??-<tag>.dig``), and the
    canonical keys as lines (``<tag>.keys``, read again only to confirm and name duplicates)."""

    def __init__(self, directory: str | Path, tag: str) -> None:
        self.directory = Path(directory)
        self.tag = tag
        self.count = 0
        self._digests = [bytearray() for _ in range(PARTITIONS)]
        self._keys = bytearray()

    def add(self, canonical: bytes) -> None:
        """Record one item's canonical key."""
        self.add_many([canonical])

    def add_many(self, canonicals: list[bytes]) -> None:
        """Record the canonical keys of many items."""
        if canonicals:
            self.add_digests(list(map(key_digest, canonicals)), b"\n".join(canonicals) + b"\n")

    def add_digests(self, digests: list[int], keys: bytes) -> None:
        """Record items by their :func:`key_digest` values and their canonical keys as newline-ended lines."""
        digests.sort()  # each partition is then one slice, cut in C
        shift, start = 64 - PARTITION_BITS, 0
        for p in range(PARTITIONS):
            end = bisect_left(digests, (p + 1) << shift, start)
            if end > start:
                self._digests[p] += array("Q", digests[start:end]).tobytes()
            start = end
        self._keys += keys
        self.count += len(digests)
        if len(self._keys) > _FLUSH_BYTES * 16:
            self.close()

    def close(self) -> None:
        """Write what is still buffered."""
        for p in range(PARTITIONS):
            if self._digests[p]:
                _append(self.directory / f"p{p:02x}-{self.tag}.dig", self._digests[p])
        if self._keys:
            _append(self.directory / f"{self.tag}.keys", self._keys)


def _append(path: Path, buffer: bytearray) -> None:
    with open(path, "ab") as f:
        f.write(buffer)
    buffer.clear()


@dataclass(frozen=True)
class DuplicateReport:
    """How many keys more than one item derives, and up to ten of them as canonical bytes."""

    duplicate_keys: int = 0
    samples: tuple[bytes, ...] = field(default_factory=tuple)

    @property
    def found(self) -> bool:
        return self.duplicate_keys > 0


class DuplicateKeysFound(DuplicateKeysError):
    """Two or more items derive the same new key; carries the count and sample keys."""

    def __init__(self, report: DuplicateReport, key_names: tuple[str, ...]) -> None:
        self.duplicate_keys = report.duplicate_keys
        self.samples = [sample_key(s, key_names) for s in report.samples]
        shown = ", ".join(orjson.dumps(s).decode() for s in self.samples[:3])
        super().__init__(
            f"{report.duplicate_keys} new key(s) are derived by more than one item (e.g. {shown}); "
            "an import would silently keep only one item per key.",
            hint="Change the derive rules (or the new key schema) so that every item gets a key of its own.",
        )

    def to_dict(self) -> dict[str, Any]:
        return {"error": "duplicate_keys", "duplicate_keys": self.duplicate_keys, "samples": self.samples}


def _check(paths: list[Path], depth: int, candidates: set[int], workdir: Path) -> None:
    """Collect the digests seen twice in one partition; split it again first when it is too large to hold."""
    if sum(p.stat().st_size for p in paths) > MAX_PARTITION_BYTES and depth < 6:
        _split(paths, depth, candidates, workdir)
        return
    digests = memoryview(b"".join(p.read_bytes() for p in paths)).cast("Q")
    if len(set(digests)) != len(digests):
        candidates.update(d for d, n in Counter(digests).items() if n > 1)


def _split(paths: list[Path], depth: int, candidates: set[int], workdir: Path) -> None:
    """Split an oversized partition by the next eight digest bits into 256 smaller ones, then check each."""
    shift = 64 - PARTITION_BITS - 8 * (depth + 1)
    with tempfile.TemporaryDirectory(dir=workdir) as sub:
        subdir = Path(sub)
        for n, path in enumerate(paths):
            parts: list[list[int]] = [[] for _ in range(256)]
            with open(path, "rb") as f:
                while block := f.read(DIGEST_SIZE * 65536):
                    for digest in memoryview(block).cast("Q"):
                        parts[(digest >> shift) & 0xFF].append(digest)
                    for byte, part in enumerate(parts):
                        if part:
                            _append(subdir / f"{byte:02x}-{n}.dig", bytearray(array("Q", part).tobytes()))
                            part.clear()
        for byte in range(256):
            group = sorted(subdir.glob(f"{byte:02x}-*.dig"))
            if group:
                _check(group, depth + 1, candidates, subdir)


def _confirm(root: Path, candidates: set[int]) -> DuplicateReport:
    """Count the canonical keys behind candidate digests that really occur more than once."""
    seen: dict[bytes, int] = {}
    for path in sorted(root.glob("*.keys")):
        with open(path, "rb") as f:
            for line in f:
                key = line.rstrip(b"\n")
                if key_digest(key) in candidates:
                    seen[key] = seen.get(key, 0) + 1
    repeated = [k for k, n in seen.items() if n > 1]
    return DuplicateReport(len(repeated), tuple(repeated[:MAX_SAMPLES]))


def find_duplicates(directory: str | Path) -> DuplicateReport:
    """Check every partition spilled under ``directory``; memory is bounded by MAX_PARTITION_BYTES."""
    root = Path(directory)
    candidates: set[int] = set()
    names = os.listdir(root)
    for p in range(PARTITIONS):
        prefix = f"p{p:02x}-"
        group = sorted(root / n for n in names if n.startswith(prefix) and n.endswith(".dig"))
        if group:
            _check(group, 0, candidates, root)
        if len(candidates) > MAX_CANDIDATES:
            break  # enough to fail; the count is then a lower bound
    return _confirm(root, candidates) if candidates else DuplicateReport()

"""The duplicate-key check in bounded memory.

Each derived item's new key is reduced to a canonical form (type and value of every key attribute;
numbers normalised, so ``1.0`` and ``1`` are one key) and a 16-byte digest of it. Digests are
spilled to partition files on local disk by digest prefix, with the canonical keys beside them
(read only to name duplicates). After every file is through, each partition is checked in turn
with one set; a partition too large to hold is split again by the next digest byte, so memory
stays flat however many items there are.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import orjson
import xxhash

from .errors import DuplicateKeysError

PARTITION_BITS = 6  # 64 partition files per spill
PARTITIONS = 1 << PARTITION_BITS
DIGEST_SIZE = 16
MAX_PARTITION_BYTES = 4 << 20  # digests; a partition larger than this is split again before it is read
MAX_SAMPLES = 10
_FLUSH_BYTES = 64 << 10
_PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,37})")

_digest = xxhash.xxh3_128_digest


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


class DigestSpill:
    """Spills the keys of one data file: 16-byte digests by partition (``p??-<tag>.dig``), and the
    canonical keys as lines (``<tag>.keys``, read again only to name duplicates)."""

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
        if not canonicals:
            return
        digests, shift = self._digests, 8 - PARTITION_BITS
        for hashed in map(_digest, canonicals):
            digests[hashed[0] >> shift] += hashed
        self._keys += b"\n".join(canonicals)
        self._keys += b"\n"
        self.count += len(canonicals)
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


def _check(paths: list[Path], depth: int, duplicates: set[bytes], workdir: Path) -> None:
    """Check one partition (``.dig`` files); split it again first when it is too large to hold."""
    if sum(p.stat().st_size for p in paths) > MAX_PARTITION_BYTES and depth < DIGEST_SIZE - 1:
        _split(paths, depth, duplicates, workdir)
        return
    blob = b"".join(p.read_bytes() for p in paths)
    # Distinct first halves prove distinct digests; the set of ints is built in C.
    halves = memoryview(blob).cast("Q")[0::2]
    if len(set(halves)) == len(halves):
        return
    repeated = {h for h, n in Counter(halves).items() if n > 1}
    seen: set[bytes] = set()
    for i, half in enumerate(halves):
        if half in repeated:
            digest = blob[i * DIGEST_SIZE : (i + 1) * DIGEST_SIZE]
            if digest in seen:
                duplicates.add(digest)
            seen.add(digest)


def _split(paths: list[Path], depth: int, duplicates: set[bytes], workdir: Path) -> None:
    """Split an oversized partition by the next digest byte into 256 smaller ones, then check each."""
    with tempfile.TemporaryDirectory(dir=workdir) as sub:
        subdir = Path(sub)
        for n, path in enumerate(paths):
            digests = [bytearray() for _ in range(256)]
            with open(path, "rb") as f:
                while block := f.read(DIGEST_SIZE * 65536):
                    for i in range(0, len(block), DIGEST_SIZE):
                        digests[block[i + depth + 1]] += block[i : i + DIGEST_SIZE]
                    for byte in range(256):
                        if digests[byte]:
                            _append(subdir / f"{byte:02x}-{n}.dig", digests[byte])
        for byte in range(256):
            group = sorted(subdir.glob(f"{byte:02x}-*.dig"))
            if group:
                _check(group, depth + 1, duplicates, subdir)


def _samples(root: Path, duplicates: set[bytes]) -> list[bytes]:
    """Up to MAX_SAMPLES canonical keys whose digest is a duplicate, read back from the ``.keys`` files."""
    samples: dict[bytes, bytes] = {}
    for path in sorted(root.glob("*.keys")):
        with open(path, "rb") as f:
            for line in f:
                key = line.rstrip(b"\n")
                digest = _digest(key)
                if digest in duplicates and digest not in samples:
                    samples[digest] = key
                    if len(samples) >= MAX_SAMPLES:
                        return list(samples.values())
    return list(samples.values())


def find_duplicates(directory: str | Path) -> DuplicateReport:
    """Check every partition spilled under ``directory``; memory is bounded by MAX_PARTITION_BYTES."""
    root = Path(directory)
    duplicates: set[bytes] = set()
    names = os.listdir(root)
    for p in range(PARTITIONS):
        prefix = f"p{p:02x}-"
        group = sorted(root / n for n in names if n.startswith(prefix) and n.endswith(".dig"))
        if group:
            _check(group, 0, duplicates, root)
        if len(duplicates) > 100_000:
            break  # enough to fail; the count is then a lower bound
    if not duplicates:
        return DuplicateReport()
    return DuplicateReport(len(duplicates), tuple(_samples(root, duplicates)))

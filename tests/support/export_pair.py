"""A legacy export and a new table's export with planted differences, and what a verification must find.

Both exports are written to S3 (moto) as DynamoDB exports write them: gzip JSON lines ``{"Item": …}``
spread over several files, the source optionally in AWS's layout with manifests. The target is the
source through the derive rules, respelled where spelling must not matter (numbers, set order,
attribute order), then with planted differences: missing, extra and changed items, source keys
derived twice, rejects and unreadable lines on both sides.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from migrator.core.canonical import key_bytes
from migrator.core.derive import Deriver, parse_rules
from migrator.data.export.files import ExportLayout, locate_export

BUCKET = "pair-bucket"
Item = dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    """Derive rules, the new key, and how the i-th legacy item looks."""

    name: str
    rules: tuple[str, ...]
    key_names: tuple[str, ...]
    legacy: Callable[[int], Item]
    source_attribute: str  # what the first rule reads
    manifest: bool = False  # the legacy export in AWS's layout, with manifests


def _uuid_item(i: int) -> Item:
    return {
        "Name": {"S": f"n{i:04d}"},
        "Count": {"N": str(i * 7)},
        "Nested": {"M": {"a": {"L": [{"N": str(i)}, {"S": "x"}]}, "tags": {"SS": ["b", "a", f"t{i % 3}"]}}},
        "Scores": {"NS": ["1.5", str(i + 2), "-3"]},
        "Blob": {"B": "AAEC"},
    }


def _bn_item(i: int) -> Item:
    raw = i.to_bytes(3, "big") + b"\xff"
    return {
        "Blob": {"B": base64.b64encode(raw).decode()},
        "Count": {"N": str(1000 - i)},
        "Nested": {"M": {"deep": {"M": {"v": {"BS": ["AQ==", "Ag=="]}}}}},
        "Name": {"S": f"b{i}"},
    }


SCENARIOS = (
    Scenario("uuid5-S-key", ("UUID=uuid5(Name)",), ("UUID",), _uuid_item, "Name"),
    Scenario("B-and-N-key", ("Bin=Blob", "Num=Count", "Tag=uuid5(Blob)"), ("Bin", "Num"), _bn_item, "Blob", True),
)


@dataclass
class Expected:
    """What the verification must report, counts and the smallest sample keys."""

    source_count: int = 0
    target_count: int = 0
    rejects: int = 0
    unreadable: int = 0
    keys: dict[str, list[bytes]] = field(
        default_factory=lambda: {"missing": [], "extra": [], "changed": [], "duplicate": []}
    )

    def samples(self, kind: str) -> list[Any]:
        return [orjson.loads(k) for k in sorted(self.keys[kind])[:10]]


def _respelled(value: Any) -> Any:
    """The same value spelled otherwise: numbers with a fraction, sets reversed, maps reordered."""
    ((kind, raw),) = value.items()
    if kind == "N":
        return {"N": raw + ".0" if "." not in raw else raw + "0"}
    if kind in ("SS", "NS", "BS"):
        return {kind: list(reversed(raw))}
    if kind == "M":
        return {"M": {k: _respelled(v) for k, v in reversed(list(raw.items()))}}
    if kind == "L":
        return {"L": [_respelled(v) for v in raw]}
    return value


def _target_of(item: Item) -> Item:
    return {k: _respelled(v) for k, v in reversed(list(item.items()))}


def _lines(items: list[Any]) -> list[bytes]:
    return [i if isinstance(i, bytes) else orjson.dumps({"Item": i}) for i in items]


def _put(s3: Any, prefix: str, lines: list[bytes], files: int, *, manifest: bool = False) -> None:
    root = f"{prefix}/AWSDynamoDB/01700000000000-abcdef01" if manifest else prefix
    entries = []
    for n in range(files):
        body = gzip.compress(b"\n".join(lines[n::files]) + b"\n")
        key = f"{root}/data/part-{n}.json.gz"
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        entries.append({"itemCount": len(lines[n::files]), "dataFileS3Key": key})
    if manifest:
        s3.put_object(Bucket=BUCKET, Key=f"{root}/_started", Body=b"")
        listing = b"".join(orjson.dumps(e) + b"\n" for e in entries)
        s3.put_object(Bucket=BUCKET, Key=f"{root}/manifest-files.json", Body=listing)
        summary = {"itemCount": len(lines), "manifestFilesS3Key": f"{root}/manifest-files.json"}
        s3.put_object(Bucket=BUCKET, Key=f"{root}/manifest-summary.json", Body=orjson.dumps(summary))


def _planted(scenario: Scenario, size: int, expected: Expected) -> tuple[list[Any], list[Any]]:
    deriver = Deriver(parse_rules(scenario.rules))
    keys = scenario.key_names
    source: list[Any] = [scenario.legacy(i) for i in range(size)]
    target: list[Any] = [_target_of(deriver(it)) for it in source]
    missing = [target.pop() for _ in range(25)]  # the last 25 source items: never imported
    expected.keys["missing"] = [key_bytes(deriver(it), keys) for it in source[size - 25 :]]
    assert len(missing) == 25
    for n in range(15):  # extra: the new table holds items no legacy item derives
        extra = _target_of(deriver(scenario.legacy(size + 100 + n)))
        target.append(extra)
        expected.keys["extra"].append(key_bytes(extra, keys))
    for n in range(12):  # changed: a nested value differs
        target[n * 3] = {**target[n * 3], "Nested": {"M": {"changed": {"BOOL": True}}}}
        expected.keys["changed"].append(key_bytes(target[n * 3], keys))
    for n in (1, 4):  # duplicates: a second legacy item derives the same key; the target keeps the first
        source.append({**source[n], "Extra": {"S": "second"}})
        expected.keys["duplicate"].append(key_bytes(target[n], keys))
    twice = {**source[7], "Extra": {"S": "third"}}  # a duplicate whose target holds neither version
    source.append(twice)
    target[7] = {**target[7], "Extra": {"S": "fourth"}}
    expected.keys["duplicate"].append(key_bytes(target[7], keys))
    expected.keys["changed"].append(key_bytes(target[7], keys))
    return source, target


def _broken(scenario: Scenario, size: int, source: list[Any], target: list[Any]) -> tuple[int, int]:
    first = scenario.source_attribute
    rejects = [{"Other": {"S": f"r{n}"}} for n in range(9)]  # the rules' source attribute is missing
    rejects += [{**scenario.legacy(size + 300 + n), first: {"BOOL": True}} for n in range(3)]  # not S, N or B
    source.extend(rejects)
    bad = [{**scenario.legacy(size + 200 + n), "Bad": {"N": f"abc{n}"}} for n in range(11)]
    source.extend([*bad, b'{"Item": not json'])
    target.extend([{**target[2], "Broken": {"SS": []}}, b"{{{", orjson.dumps({"Item": {"Lonely": {"S": "x"}}})])
    return len(rejects), len(bad) + 1 + 3


def write_pair(
    s3: Any, scenario: Scenario, *, size: int = 120, prefix: str = "pair"
) -> tuple[ExportLayout, ExportLayout, Expected]:
    """Write the pair under ``s3://pair-bucket/<prefix>/{legacy,new}/``; return both layouts and the expectation."""
    expected = Expected()
    source, target = _planted(scenario, size, expected)
    expected.rejects, expected.unreadable = _broken(scenario, size, source, target)
    s3.create_bucket(Bucket=BUCKET)
    _put(s3, f"{prefix}/legacy", _lines(source), 3, manifest=scenario.manifest)
    _put(s3, f"{prefix}/new", _lines(target), 2)
    expected.source_count, expected.target_count = len(source), len(target)
    return (
        locate_export(s3, BUCKET, f"{prefix}/legacy/"),
        locate_export(s3, BUCKET, f"{prefix}/new/"),
        expected,
    )

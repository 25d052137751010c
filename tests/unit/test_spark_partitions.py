"""The pure per-partition functions of the Spark jobs, and the pieces both verification paths share: no Spark."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from migrator.core.errors import BadInputError, MigrationError
from migrator.data.export.files import DamagedFilesError, DataFile
from migrator.data.spark.failures import CarriedError, carried, rebuilt
from migrator.data.spark.partitions import (
    FilePart,
    VerifyPlan,
    digests_part,
    findings_part,
    key_partition,
    tally_part,
)
from migrator.data.transform.lines import DeriverSpec
from migrator.data.verify.findings import KeyFindings
from migrator.data.verify.sides import SampleBook

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Folder:
    """A stand-in for AwsSettings whose S3 is a dict of objects (picklable, hashable)."""

    objects: tuple[tuple[str, bytes], ...]

    def client(self, service: str) -> Any:
        return _Objects(dict(self.objects))


class _Objects:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        import io

        return {"Body": io.BytesIO(self.objects[Key])}


def _file(lines: list[bytes]) -> bytes:
    return gzip.compress(b"\n".join(lines) + b"\n")


def _plan(objects: dict[str, bytes], rules: tuple[str, ...] = ("UUID=Name",)) -> VerifyPlan:
    return VerifyPlan(Folder(tuple(objects.items())), DeriverSpec(rules), ("UUID",))


def _part(side: int, key: str) -> FilePart:
    return FilePart(side, "b", DataFile(key, 0), "Export again.")


def line(**attributes: Any) -> bytes:
    return orjson.dumps({"Item": attributes})


def test_a_partition_tally_counts_items_rejects_and_unreadable_with_ordered_samples() -> None:
    # Given one source file with two good items, rejects named z then a, and unreadable lines
    lines = [
        line(Name={"S": "x"}),
        line(Name={"S": "y"}),
        line(Other={"S": "z"}),
        line(Name={"BOOL": True}),
        line(Name={"S": "q"}, Bad={"N": "abc"}),
        b"not json",
    ]
    plan = _plan({"f": _file(lines)})
    # When the partition is tallied
    side, tallied = tally_part(plan, _part(0, "f"))
    # Then counts are right and samples are ordered by key (a missing key first), not by line
    assert side == 0 and tallied.tally.items == 6 and sum(tallied.tally.counts) == 2
    assert tallied.tally.rejects == 2 and tallied.tally.unreadable == 2
    assert tallied.book.reject_samples() == (
        "missing attribute Name",
        "key UUID: key attribute of type BOOL (keys are S, N or B)",
    )
    unreadable = tallied.book.unreadable_samples()
    assert [u["key"] for u in unreadable] == [None, {"Name": "q"}]
    assert "f line 6 is not JSON" in unreadable[0]["reason"]


def test_a_target_item_without_the_new_key_is_unreadable_not_a_reject() -> None:
    plan = _plan({"t": _file([line(UUID={"S": "a"}), line(Name={"S": "b"})])})
    _, tallied = tally_part(plan, _part(1, "t"))
    assert tallied.tally.rejects == 0 and tallied.tally.unreadable == 1
    (sample,) = tallied.book.unreadable_samples()
    assert sample["side"] == "target" and sample["reason"].startswith("not an item of the new table")


def test_digests_of_selected_buckets_only_come_out_keyed_with_their_side() -> None:
    plan = _plan({"f": _file([line(Name={"S": "x"}), line(Name={"S": "y"}), b"junk"])})
    everything = list(digests_part(plan, bytes([1]) * 4096, _part(0, "f")))
    nothing = list(digests_part(plan, bytes(4096), _part(0, "f")))
    assert [k for k, _ in everything] == [b'{"UUID":"x"}', b'{"UUID":"y"}'] and nothing == []
    assert all(side == 0 and isinstance(d, int) for _, (side, d) in everything)


def test_findings_classify_each_key_from_its_digests_alone() -> None:
    grouped = [
        (b"k1", [(0, 1)]),  # missing
        (b"k2", [(1, 2)]),  # extra
        (b"k3", [(0, 3), (1, 4)]),  # changed
        (b"k4", [(0, 5), (0, 6), (1, 5)]),  # duplicate; the target holds one version: not changed
        (b"k5", [(1, 7), (0, 8), (0, 9)]),  # duplicate and changed
        (b"k6", [(0, 10), (1, 10)]),  # the same
    ]
    (found,) = findings_part(iter(grouped))
    assert found.counts == {"missing": 1, "extra": 1, "changed": 2, "duplicate": 2}
    assert found.samples["changed"] == [b"k3", b"k5"]


def test_findings_merged_in_any_order_keep_the_smallest_keys() -> None:
    keys = [f'{{"K":"{n:03d}"}}'.encode() for n in range(100)]
    parts = [KeyFindings() for _ in range(4)]
    for n, key in enumerate(reversed(keys)):
        parts[n % 4].add(key, [1], [])
    one = KeyFindings()
    for part in parts:
        one.merge(part)
    other = KeyFindings()
    for part in reversed(parts):
        other.merge(part)
    assert one.sample_keys("missing") == other.sample_keys("missing") == [{"K": f"{n:03d}"} for n in range(10)]
    assert one.counts["missing"] == 100


def test_sample_books_keep_the_smallest_whatever_came_first() -> None:
    book = SampleBook()
    for n in reversed(range(50)):
        book.reject({"Name": f"{n:02d}"}, f"reason {n}")
        book.unreadable_item(1 - n % 2, {"K": n}, "bad")
    assert book.reject_samples() == tuple(f"reason {n}" for n in range(10))
    assert [s["side"] for s in book.unreadable_samples()] == ["source"] * 10


def test_the_partitioner_is_stable_across_processes() -> None:
    here = key_partition(b'{"UUID":"x"}')
    code = 'from migrator.data.spark.partitions import key_partition; print(key_partition(b\'{"UUID":"x"}\'))'
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    assert int(there.stdout) == here and key_partition(1) == 1


def test_an_error_in_a_task_comes_back_as_its_own_class_with_its_hint() -> None:
    with pytest.raises(CarriedError) as raised, carried():
        raise DamagedFilesError("s3://b/f.gz is truncated.", hint="Export again.")
    wrapped = RuntimeError(f"Python worker failed:\nTraceback ...\n{raised.value}\n\tat org.apache...")
    back = rebuilt(wrapped)
    assert isinstance(back, DamagedFilesError) and back.message == "s3://b/f.gz is truncated."
    assert back.hint == "Export again." and back.exit_code == 1
    assert rebuilt(RuntimeError("something else")) is None


def test_an_error_class_that_cannot_be_rebuilt_still_comes_back_as_ours() -> None:
    record = {"module": "nowhere", "name": "Gone", "message": "m", "hint": "h", "code": None}
    back = rebuilt(RuntimeError("TABLE_MIGRATION_ERROR " + orjson.dumps(record).decode()))
    assert type(back) is MigrationError and str(back) == "m h"
    bad_input = {**record, "module": "migrator.core.errors", "name": "BadInputError"}
    assert isinstance(rebuilt(RuntimeError("TABLE_MIGRATION_ERROR " + orjson.dumps(bad_input).decode())), BadInputError)

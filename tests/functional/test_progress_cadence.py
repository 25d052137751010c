"""Verify and transform report progress at most 5 s apart while they work, on a fake clock.

Scan pages and transform chunks are made to "take" fake seconds; every progress line is stamped
with the fake time it was printed at. Before, verify spoke every 100k items per side and transform
once per file: silence for minutes on large tables or one-file exports.
"""

from __future__ import annotations

import gzip
from typing import Any

import orjson

from migrator.data.export.files import locate_export
from migrator.data.progress import LineMeters
from migrator.data.transform import lines as transform_core
from migrator.data.transform.run import DeriverSpec, transform_export
from migrator.data.verify import read as verify_read
from migrator.data.verify.run import verify_tables
from tests.functional.test_verify import make_table, put_items
from tests.unit.test_progress import FakeClock, gaps


def stamped(clock: FakeClock, lines: list[tuple[float, str]]):
    return lambda line: lines.append((clock(), line))


def test_verify_reports_at_most_5_seconds_apart_while_scanning(moto: Any, monkeypatch) -> None:
    # Given two tables of 400 items, read in 8 segments, where each Scan page takes 1.5 s
    items = [{"Name": {"S": f"n{i:04d}"}, "Count": {"N": str(i)}} for i in range(400)]
    for table in ("src", "dst"):
        make_table(moto.dynamodb, table, [("Name", "S")])
        put_items(moto.dynamodb, table, items)
    clock = FakeClock()
    pages = verify_read.scan_pages

    def slow_pages(*args: Any, **kwargs: Any):
        for page in pages(*args, **kwargs):
            clock.advance(1.5)
            yield page

    monkeypatch.setattr(verify_read, "scan_pages", slow_pages)
    lines: list[tuple[float, str]] = []
    say = stamped(clock, lines)
    # When verified
    report = verify_tables(
        moto.settings,
        source_table="src",
        target_table="dst",
        segments=8,
        progress=say,
        meters=LineMeters(say, clock=clock, tick=None),
    )
    # Then the scan took over 20 fake seconds, and no two lines were more than 5 s apart
    assert report.identical and clock.now >= 20
    times = [0.0] + [t for t, _ in lines]
    assert max(gaps(times)) <= 5.0, lines
    assert any(line.startswith("verify: pass 1") and "items/s" in line for _, line in lines)


def test_transform_of_a_one_file_export_reports_while_the_file_is_read(moto: Any, monkeypatch) -> None:
    # Given a one-file export of 2000 items read in small chunks, each taking 1 s
    moto.s3.create_bucket(Bucket="exports")
    body = b"".join(orjson.dumps({"Item": {"Name": {"S": f"n{i}"}}}) + b"\n" for i in range(2000))
    moto.s3.put_object(Bucket="exports", Key="exports/Legacy/data/only.json.gz", Body=gzip.compress(body))
    clock = FakeClock()
    monkeypatch.setattr(transform_core, "READ_CHUNK", 2048)
    rewrite = transform_core.LineRewriter.rewrite_chunk

    def slow_chunk(self: Any, data: bytes):
        clock.advance(1.0)
        return rewrite(self, data)

    monkeypatch.setattr(transform_core.LineRewriter, "rewrite_chunk", slow_chunk)
    lines: list[tuple[float, str]] = []
    say = stamped(clock, lines)
    # When transformed in this process
    result = transform_export(
        moto.settings,
        locate_export(moto.s3, "exports", "exports/Legacy/"),
        dest_bucket="exports",
        dest_prefix="transformed/New/",
        deriver_spec=DeriverSpec(("UUID=uuid5(Name)",)),
        key_names=("UUID",),
        workers=1,
        progress=say,
        meters=LineMeters(say, clock=clock, tick=None),
    )
    # Then lines came while the one file was read, never more than 5 s apart
    assert result.items_out == 2000 and clock.now >= 20
    during = [line for _, line in lines if line.startswith("transform: ") and "items/s" in line]
    assert len(during) >= 4, lines
    times = [0.0] + [t for t, line in lines if "files," in line or "items/s" in line]
    assert max(gaps(times)) <= 5.0, lines

"""exportfiles without a server: an in-memory S3 stand-in answering the few calls the module makes."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io

import pytest

from migrator.core.errors import BadInputError
from migrator.data.export.files import count_items, iter_lines, locate_export, object_md5, parse_s3_url


class Body(io.BytesIO):
    """A streaming body that never returns more than ``limit`` bytes per read, like a network stream."""

    def __init__(self, data: bytes, limit: int = 7) -> None:
        super().__init__(data)
        self.limit = limit
        self.reads = 0

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        return super().read(self.limit if size is None or size < 0 else min(size, self.limit))


class MemoryS3:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.bodies: list[Body] = []

    def get_paginator(self, _name: str):
        s3 = self

        class Paginator:
            def paginate(self, Bucket: str, Prefix: str):
                keys = sorted(k for k in s3.objects if k.startswith(Prefix))
                yield {"Contents": [{"Key": k, "Size": len(s3.objects[k])} for k in keys]}

        return Paginator()

    def get_object(self, Bucket: str, Key: str) -> dict:
        body = Body(self.objects[Key])
        self.bodies.append(body)
        return {"Body": body}


def gz_lines(*lines: bytes) -> bytes:
    return gzip.compress(b"".join(line + b"\n" for line in lines))


def test_parse_s3_url():
    assert parse_s3_url("s3://b/p/q/") == ("b", "p/q/")
    assert parse_s3_url("s3://b") == ("b", "")
    for bad in ("b/p", "s3://", "s3:///p", "https://b/p"):
        with pytest.raises(BadInputError):
            parse_s3_url(bad)


def test_iter_lines_streams_gzip_and_plain_files_across_chunk_boundaries():
    # Given a gzip file and a plain file whose lines straddle read chunks, the last without a newline
    lines = [b'{"Item": {"k": {"S": "%d"}}}' % i for i in range(50)]
    s3 = MemoryS3({"d/a.json.gz": gz_lines(*lines), "d/b.json": b"\n".join(lines) + b"\n\n" + b'{"Item": {}}'})

    # When read with a small chunk size, then every non-empty line comes back whole, in order
    assert list(iter_lines(s3, "b", "d/a.json.gz", chunk_size=5)) == lines
    assert list(iter_lines(s3, "b", "d/b.json", chunk_size=5)) == [*lines, b'{"Item": {}}']


def test_object_md5_is_the_base64_md5_and_reads_in_chunks():
    data = bytes(range(256)) * 40
    s3 = MemoryS3({"k": data})
    assert object_md5(s3, "b", "k", chunk_size=64) == base64.b64encode(hashlib.md5(data).digest()).decode()
    # Streamed: many bounded reads, never the whole object at once
    assert s3.bodies[0].reads > len(data) // 64


def test_locate_export_without_manifest_takes_the_one_data_folder():
    # Given moto's layout plus a marker that is not data (no _started: that would make it an AWS
    # export, which needs its manifests)
    s3 = MemoryS3(
        {
            "p/AWSDynamoDB/x/data/a.gz": gz_lines(b"1", b"2"),
            "p/AWSDynamoDB/x/data/b.gz": gz_lines(b"3"),
            "p/AWSDynamoDB/x/data/_SUCCESS.json": b"",
        }
    )

    # When located, then the data files and their folder are found and counted line by line
    layout = locate_export(s3, "b", "p/")
    assert layout.data_prefix == "p/AWSDynamoDB/x/data/" and not layout.has_manifest
    assert [f.key for f in layout.files] == ["p/AWSDynamoDB/x/data/a.gz", "p/AWSDynamoDB/x/data/b.gz"]
    assert layout.item_count is None and count_items(s3, layout) == 3


def test_locate_export_refuses_two_data_folders_and_an_empty_prefix():
    s3 = MemoryS3({"p/AWSDynamoDB/x/data/a.gz": gz_lines(b"1"), "p/AWSDynamoDB/y/data/a.gz": gz_lines(b"1")})
    with pytest.raises(BadInputError, match="2 folders"):
        locate_export(s3, "b", "p/")
    with pytest.raises(BadInputError, match="No export data files"):
        locate_export(s3, "b", "q/")

"""Where a replay writes the records it could not apply, as JSON lines ``{"reason", "sequence", "keys", "item"}``.

Like the transform's rejects they are written aside, never dropped: in memory for a caller that
reports them itself, or on S3 next to the transform's (one object per page, named by shard and first
sequence number, so a rerun of the same page overwrites its own file).
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from migrator.data.aws import aws_errors


class RejectSink(Protocol):
    """Somewhere to keep rejects; ``location`` says where, for the report."""

    location: str

    def write(self, rejects: list[dict[str, Any]], *, name: str) -> None: ...


class MemoryRejects:
    """Keeps every reject in ``lines``."""

    location = "memory"

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def write(self, rejects: list[dict[str, Any]], *, name: str) -> None:
        self.lines.extend(rejects)


class S3Rejects:
    """Writes each page's rejects to ``s3://bucket/<prefix><name>.jsonl``."""

    def __init__(self, s3: Any, bucket: str, prefix: str) -> None:
        self._s3, self.bucket = s3, bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.location = f"s3://{bucket}/{self.prefix}"

    def write(self, rejects: list[dict[str, Any]], *, name: str) -> None:
        body = b"".join(orjson.dumps(r) + b"\n" for r in rejects)
        key = f"{self.prefix}{name}.jsonl"
        with aws_errors(f"write s3://{self.bucket}/{key}", what=f"bucket {self.bucket}"):
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=body)

"""Where late-write conflicts are kept: one JSON object per key of the new table, beside the replay's rejects.

On S3 they live in the stack's export bucket (private, encrypted at rest, TLS only: see
:mod:`migrator.program.export_bucket`) under ``replay-conflicts/<stack>/<legacy table>/<id>.json``,
where ``id`` is :func:`migrator.core.conflicts.conflict_id` of the key. A later conflict on the same
key replaces the earlier one (it holds the legacy table's latest image); a resolution rewrites the
object with its status, so the object is also the record of how it was resolved.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from migrator.core.conflicts import Conflict
from migrator.core.errors import MigrationError
from migrator.data.aws import aws_errors


class ConflictStore(Protocol):
    """Somewhere to keep conflicts; ``location`` says where, for messages."""

    location: str

    def put(self, conflict: Conflict) -> None: ...

    def get(self, conflict_id: str) -> Conflict | None: ...

    def all(self) -> list[Conflict]: ...


class MemoryConflicts:
    """Conflicts in a dict (tests, and a stack without an export bucket)."""

    location = "memory"

    def __init__(self) -> None:
        self.kept: dict[str, Conflict] = {}

    def put(self, conflict: Conflict) -> None:
        self.kept[conflict.id] = conflict

    def get(self, conflict_id: str) -> Conflict | None:
        return self.kept.get(conflict_id)

    def all(self) -> list[Conflict]:
        return sorted(self.kept.values(), key=lambda c: c.found_at)


class S3Conflicts:
    """Conflicts as ``s3://bucket/<prefix><id>.json``."""

    def __init__(self, s3: Any, bucket: str, prefix: str) -> None:
        self._s3, self.bucket = s3, bucket
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.location = f"s3://{bucket}/{self.prefix}"

    def put(self, conflict: Conflict) -> None:
        key = f"{self.prefix}{conflict.id}.json"
        body = orjson.dumps(conflict.to_dict(), option=orjson.OPT_INDENT_2)
        with aws_errors(f"write s3://{self.bucket}/{key}", what=f"bucket {self.bucket}"):
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")

    def get(self, conflict_id: str) -> Conflict | None:
        key = f"{self.prefix}{conflict_id}.json"
        try:
            with aws_errors(f"read s3://{self.bucket}/{key}", what=f"object s3://{self.bucket}/{key}"):
                body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except MigrationError as e:
            if e.code in ("NoSuchKey", "404"):
                return None
            raise
        return Conflict.from_dict(orjson.loads(body))

    def all(self) -> list[Conflict]:
        found = []
        paginator = self._s3.get_paginator("list_objects_v2")
        with aws_errors(f"list s3://{self.bucket}/{self.prefix}", what=f"bucket {self.bucket}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                for obj in page.get("Contents", []):
                    name = obj["Key"][len(self.prefix) :]
                    if name.endswith(".json") and "/" not in name:
                        found.append(self.get(name[: -len(".json")]))
        return sorted((c for c in found if c is not None), key=lambda c: c.found_at)

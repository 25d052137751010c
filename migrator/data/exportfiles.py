"""Where an export's data files are on S3, and reading their item lines.

Real DynamoDB exports write ``<prefix>/AWSDynamoDB/<exportId>/manifest-summary.json``,
``manifest-files.json`` (JSON lines with ``dataFileS3Key``, ``itemCount``, ``md5Checksum``) and
``data/*.json.gz``. moto writes only ``data/<uuid>.gz`` under a folder that is not the export id,
and no manifest. Files we write ourselves (the transform) are plain ``data/*.json.gz``.
Both layouts are read here; callers see one :class:`ExportLayout`.
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from isal import igzip

from ..core.errors import BadInputError, ExportFailedError
from .aws import aws_errors, check_bucket_name

_DATA_SUFFIXES = (".json.gz", ".gz", ".json")


@dataclass(frozen=True)
class DataFile:
    """One data file: S3 key, size in bytes, and what the manifest says of it (when there is one)."""

    key: str
    size: int
    item_count: int | None = None
    md5: str | None = None  # base64 MD5 of the object, as manifest-files.json gives it


@dataclass(frozen=True)
class ExportLayout:
    """The data files of one export (or transformed export) under ``bucket``."""

    bucket: str
    prefix: str
    data_prefix: str  # the ``…/data/`` folder ImportTable's S3KeyPrefix must point at
    files: tuple[DataFile, ...]
    item_count: int | None  # from the manifest; None when there is none
    has_manifest: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "prefix": self.prefix,
            "data_prefix": self.data_prefix,
            "files": len(self.files),
            "item_count": self.item_count,
            "has_manifest": self.has_manifest,
        }


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` → ``(bucket, prefix)``; :class:`BadInputError` otherwise."""
    if not url.startswith("s3://") or len(url) <= 5:
        raise BadInputError(f"{url!r} is not an s3:// URL.", hint="Write it as s3://bucket/prefix.")
    bucket, _, prefix = url[5:].partition("/")
    if not bucket:
        raise BadInputError(f"{url!r} names no bucket.", hint="Write it as s3://bucket/prefix.")
    return check_bucket_name(bucket, given_as=f"The bucket of {url}"), prefix


def list_objects(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """Every object under ``prefix`` (Key, Size, ETag)."""
    out: list[dict[str, Any]] = []
    with aws_errors(f"list s3://{bucket}/{prefix}", what=f"bucket {bucket}"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            out.extend(page.get("Contents", []))
    return out


def read_object(s3: Any, bucket: str, key: str) -> bytes:
    """The whole body of a small object (a manifest)."""
    with aws_errors(f"read s3://{bucket}/{key}", what=f"s3://{bucket}/{key}"):
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def locate_export(s3: Any, bucket: str, prefix: str) -> ExportLayout:
    """Find the data files of the one export under ``s3://bucket/prefix``.

    With a manifest, the files and counts come from it; without one (moto, our own transform
    output), every data file under the prefix is taken, and they must share one ``data/`` folder.
    """
    objects = list_objects(s3, bucket, prefix)
    summaries = [o["Key"] for o in objects if o["Key"].endswith("manifest-summary.json")]
    if len(summaries) > 1:
        raise BadInputError(
            f"s3://{bucket}/{prefix} holds {len(summaries)} exports.",
            hint="Point at one export's folder (…/AWSDynamoDB/<exportId>/).",
        )
    if summaries:
        return _from_manifest(s3, bucket, prefix, summaries[0], {o["Key"]: o for o in objects})
    files = [
        DataFile(o["Key"], int(o["Size"]))
        for o in objects
        if o["Key"].endswith(_DATA_SUFFIXES)
        and "/_" not in o["Key"]
        and not o["Key"].rsplit("/", 1)[-1].startswith("_")
        and "rejects/" not in o["Key"]
    ]
    if not files:
        raise BadInputError(
            f"No export data files under s3://{bucket}/{prefix}.",
            hint="Check the bucket and prefix; run `migrate export` first.",
        )
    folders = {posixpath.dirname(f.key) for f in files}
    if len(folders) > 1:
        raise BadInputError(
            f"s3://{bucket}/{prefix} holds data files in {len(folders)} folders ({', '.join(sorted(folders)[:3])}…).",
            hint="Point at one export's folder.",
        )
    return ExportLayout(bucket, prefix, folders.pop() + "/", tuple(sorted(files, key=lambda f: f.key)), None, False)


def _manifest_key(key: str, root: str, objects: dict[str, Any]) -> str:
    """A key named in a manifest, as stored: full keys as AWS writes them, else relative to the export root."""
    if key in objects:
        return key
    # Tolerate manifests whose keys start at ``AWSDynamoDB/`` (an export copied to another prefix).
    marker = root.rfind("AWSDynamoDB/")
    if marker > 0 and key.startswith("AWSDynamoDB/") and root[:marker] + key in objects:
        return root[:marker] + key
    return key


def _from_manifest(s3: Any, bucket: str, prefix: str, summary_key: str, objects: dict[str, Any]) -> ExportLayout:
    summary = orjson.loads(read_object(s3, bucket, summary_key))
    root = posixpath.dirname(summary_key)
    files_key = _manifest_key(summary.get("manifestFilesS3Key") or f"{root}/manifest-files.json", root, objects)
    files = []
    for line in read_object(s3, bucket, files_key).splitlines():
        if not line.strip():
            continue
        entry = orjson.loads(line)
        key = _manifest_key(entry["dataFileS3Key"], root, objects)
        if key not in objects:
            raise ExportFailedError(
                f"The export manifest lists s3://{bucket}/{key}, which is missing.",
                hint="The export is incomplete or was altered; run a new export.",
            )
        files.append(DataFile(key, int(objects[key]["Size"]), int(entry.get("itemCount", 0)), entry.get("md5Checksum")))
    count = summary.get("itemCount")
    if count is not None and sum(f.item_count or 0 for f in files) != int(count):
        raise ExportFailedError(
            f"The export at s3://{bucket}/{root}/ counts {int(count)} items in manifest-summary.json but "
            f"{sum(f.item_count or 0 for f in files)} in manifest-files.json.",
            hint="The export is incomplete or was altered; run a new export.",
        )
    return ExportLayout(bucket, prefix, f"{root}/data/", tuple(files), int(count) if count is not None else None, True)


def object_md5(s3: Any, bucket: str, key: str, *, chunk_size: int = 1 << 20) -> str:
    """The base64 MD5 of one object, as manifest-files.json writes it; streamed, never held in memory."""
    digest = hashlib.md5(usedforsecurity=False)
    with aws_errors(f"read s3://{bucket}/{key}", what=f"s3://{bucket}/{key}"):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        while chunk := body.read(chunk_size):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode("ascii")


def check_files(s3: Any, layout: ExportLayout, *, progress: Callable[[str], None] | None = None) -> int:
    """Check every data file against its manifest entry (MD5); return how many were checked.

    Files without an ``md5`` (moto, our own output) are skipped: there is nothing to check them against.
    """
    checked = 0
    for n, f in enumerate(layout.files, 1):
        if f.md5 is None:
            continue
        actual = object_md5(s3, layout.bucket, f.key)
        if actual != f.md5:
            raise ExportFailedError(
                f"s3://{layout.bucket}/{f.key} does not match its manifest (MD5 {actual}, manifest says {f.md5}).",
                hint="The file was altered or is incomplete; run a new export to a fresh prefix.",
            )
        checked += 1
        # About ten lines however many files: real exports of large tables have thousands.
        if progress and (n == len(layout.files) or n % max(1, len(layout.files) // 10) == 0):
            progress(f"checked {n}/{len(layout.files)} export files against the manifest (MD5)")
    return checked


def count_items(s3: Any, layout: ExportLayout) -> int:
    """Count the item lines of every data file (for exports without a manifest); streamed."""
    return sum(sum(1 for _ in iter_lines(s3, layout.bucket, f.key)) for f in layout.files)


def iter_lines(s3: Any, bucket: str, key: str, *, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """Stream the non-empty lines of one gzip (or plain) JSON-lines data file, decompressing as it reads."""
    with aws_errors(f"read s3://{bucket}/{key}", what=f"s3://{bucket}/{key}"):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    stream: Any = igzip.GzipFile(fileobj=body, mode="rb") if not key.endswith(".json") else body
    pending = b""
    with aws_errors(f"read s3://{bucket}/{key}"):
        while chunk := stream.read(chunk_size):
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            yield from (line for line in lines if line.strip())
    if pending.strip():
        yield pending

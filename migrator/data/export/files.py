"""Where an export's data files are on S3, and reading their item lines.

Real DynamoDB exports write ``<prefix>/AWSDynamoDB/<exportId>/manifest-summary.json``,
``manifest-files.json`` (JSON lines with ``dataFileS3Key``, ``itemCount``, ``md5Checksum``) and
``data/*.json.gz``. moto writes only ``data/<uuid>.gz`` under a folder that is not the export id,
and no manifest. Files we write ourselves (the transform) are plain ``data/*.json.gz``.
Both layouts are read here; callers see one :class:`ExportLayout`.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import posixpath
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from isal import igzip
from isal.igzip_lib import IsalError

from migrator.core.errors import BadInputError, ExportFailedError
from migrator.data.aws import aws_errors, check_bucket_name

_DATA_SUFFIXES = (".json.gz", ".gz", ".json")
_STARTED = "_started"  # AWS writes it first; its manifests come only when the export completes
_MANIFESTS = ("manifest-summary.json", "manifest-files.json")
TRANSFORM_MARKER = "_transform.json"
EXPORT_AGAIN = "Export the table again to a fresh prefix (AWS never rewrites an export) and use that export."
TRANSFORM_AGAIN = "Run the same transform again: it rewrites its own files."


class DamagedFilesError(ExportFailedError):
    """Files on S3 that are not what was written: truncated, altered, missing, or without their manifests."""


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
    written_by: str = "export"  # or "transform": what to run again when a file is damaged

    @property
    def damage_hint(self) -> str:
        """What to do when one of these files turns out damaged."""
        return TRANSFORM_AGAIN if self.written_by == "transform" else EXPORT_AGAIN

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
    _refuse_started_without_manifest(bucket, [o["Key"] for o in objects])
    files = [
        DataFile(o["Key"], int(o["Size"]))
        for o in objects
        if o["Key"].endswith(_DATA_SUFFIXES)
        and "/_" not in o["Key"]
        and not posixpath.basename(o["Key"]).startswith(("_", "manifest-"))
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
    folder = folders.pop()
    written_by = (
        "transform" if posixpath.dirname(folder) + "/" + TRANSFORM_MARKER in {o["Key"] for o in objects} else "export"
    )
    return ExportLayout(
        bucket, prefix, folder + "/", tuple(sorted(files, key=lambda f: f.key)), None, False, written_by
    )


def _refuse_started_without_manifest(bucket: str, keys: list[str]) -> None:
    """A folder with AWS's ``_started`` marker is an AWS export: without its manifests it is not complete."""
    started = sorted(k for k in keys if posixpath.basename(k) == _STARTED)
    if not started:
        return
    root = posixpath.dirname(started[0]) + "/"
    present = {posixpath.basename(k) for k in keys if k.startswith(root)}
    missing = " and ".join(m for m in _MANIFESTS if m not in present) or "manifest-summary.json"
    raise DamagedFilesError(
        f"s3://{bucket}/{root} is an AWS export (it has {_STARTED}) without {missing}: "
        "the export is incomplete or damaged, or still running.",
        hint="Wait for a running export to finish; otherwise " + EXPORT_AGAIN[0].lower() + EXPORT_AGAIN[1:],
    )


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
    root = posixpath.dirname(summary_key)
    summary = _manifest(s3, bucket, summary_key, root)
    if not isinstance(summary, dict):
        raise _damaged_manifest(bucket, root, "manifest-summary.json is not a JSON object")
    files_key = _manifest_key(summary.get("manifestFilesS3Key") or f"{root}/manifest-files.json", root, objects)
    if files_key not in objects:
        raise _damaged_manifest(bucket, root, "manifest-files.json is missing")
    files = []
    for line in read_object(s3, bucket, files_key).splitlines():
        if not line.strip():
            continue
        try:
            entry = orjson.loads(line)
            key = _manifest_key(entry["dataFileS3Key"], root, objects)
            item_count, md5 = int(entry.get("itemCount", 0)), entry.get("md5Checksum")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise _damaged_manifest(
                bucket, root, f"manifest-files.json holds a line that is not an entry: {line[:80]!r}"
            ) from None
        if key not in objects:
            raise DamagedFilesError(
                f"The export manifest lists s3://{bucket}/{key}, which is missing: "
                "the export is incomplete or damaged.",
                hint=EXPORT_AGAIN,
            )
        files.append(DataFile(key, int(objects[key]["Size"]), item_count, md5))
    count = summary.get("itemCount")
    if count is not None and sum(f.item_count or 0 for f in files) != int(count):
        raise DamagedFilesError(
            f"The export at s3://{bucket}/{root}/ counts {int(count)} items in manifest-summary.json but "
            f"{sum(f.item_count or 0 for f in files)} in manifest-files.json: the export is incomplete or damaged.",
            hint=EXPORT_AGAIN,
        )
    return ExportLayout(bucket, prefix, f"{root}/data/", tuple(files), int(count) if count is not None else None, True)


def _manifest(s3: Any, bucket: str, key: str, root: str) -> Any:
    try:
        return orjson.loads(read_object(s3, bucket, key))
    except orjson.JSONDecodeError:
        raise _damaged_manifest(bucket, root, f"{posixpath.basename(key)} is not JSON") from None


def _damaged_manifest(bucket: str, root: str, problem: str) -> DamagedFilesError:
    return DamagedFilesError(
        f"The export at s3://{bucket}/{root}/ is incomplete or damaged: {problem}.", hint=EXPORT_AGAIN
    )


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
            raise DamagedFilesError(
                f"s3://{layout.bucket}/{f.key} does not match its manifest (MD5 {actual}, manifest says {f.md5}): "
                "it was altered or is incomplete.",
                hint=layout.damage_hint,
            )
        checked += 1
        # About ten lines however many files: real exports of large tables have thousands.
        if progress and (n == len(layout.files) or n % max(1, len(layout.files) // 10) == 0):
            progress(f"checked {n}/{len(layout.files)} export files against the manifest (MD5)")
    return checked


def count_items(s3: Any, layout: ExportLayout, *, only_unchecked: bool = False) -> int:
    """Count the item lines of the data files, reading each through (so a damaged gzip file fails here).

    ``only_unchecked``: count only the files without a manifest MD5 (the others were checked by MD5).
    """
    files = [f for f in layout.files if not (only_unchecked and f.md5 is not None)]
    return sum(sum(1 for _ in iter_lines(s3, layout.bucket, f.key, hint=layout.damage_hint)) for f in files)


@contextmanager
def damaged_file(bucket: str, key: str, *, hint: str) -> Iterator[None]:
    """Turn a decompression failure while reading ``key`` into :class:`DamagedFilesError` naming what is wrong."""
    try:
        yield
    except EOFError:
        raise DamagedFilesError(
            f"s3://{bucket}/{key} is truncated: its gzip data ends before the end of the stream.", hint=hint
        ) from None
    except gzip.BadGzipFile as e:
        text = str(e)
        what = (
            "is not gzip"
            if text.startswith("Not a gzipped file")
            else "fails its CRC check (CRC mismatch)"
            if "CRC" in text
            else f"is damaged ({text})"
        )
        raise DamagedFilesError(f"s3://{bucket}/{key} {what}.", hint=hint) from None
    except IsalError as e:
        raise DamagedFilesError(f"s3://{bucket}/{key} holds corrupt gzip data ({e}).", hint=hint) from None


def iter_lines(
    s3: Any, bucket: str, key: str, *, chunk_size: int = 1 << 20, hint: str = EXPORT_AGAIN
) -> Iterator[bytes]:
    """Stream the non-empty lines of one gzip (or plain) JSON-lines data file, decompressing as it reads.

    A damaged gzip file raises :class:`DamagedFilesError` naming the file, what is wrong, and ``hint``.
    """
    with aws_errors(f"read s3://{bucket}/{key}", what=f"s3://{bucket}/{key}"):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    stream: Any = igzip.GzipFile(fileobj=body, mode="rb") if not key.endswith(".json") else body
    pending = b""
    with aws_errors(f"read s3://{bucket}/{key}"), damaged_file(bucket, key, hint=hint):
        while chunk := stream.read(chunk_size):
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            yield from (line for line in lines if line.strip())
    if pending.strip():
        yield pending

"""Point-in-time export of a DynamoDB table to S3: start it once, wait, and check its files.

A rerun never makes a second export: an export of the same table to the same bucket and prefix
that is in progress is waited on, a completed one is reused, and the ``ClientToken`` is derived
from table, bucket and prefix so AWS itself returns the same export within its 8-hour window.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from migrator.core.errors import AwsError, BadInputError, ExportFailedError
from migrator.core.ports import Progress
from migrator.data.aws import aws_errors
from migrator.data.export.files import (
    EXPORT_AGAIN,
    DamagedFilesError,
    ExportLayout,
    check_files,
    count_items,
    list_objects,
    locate_export,
)

POLL_CAP_SECONDS = 60.0
_PITR_CODE = "PointInTimeRecoveryUnavailableException"


@dataclass(frozen=True)
class ExportResult:
    """A completed, checked export: its ARN, the point in time it captured, its items and files."""

    export_arn: str
    export_time: datetime
    item_count: int
    layout: ExportLayout
    reused: bool = False  # True when an earlier export of the same table, bucket and prefix was taken

    def to_dict(self) -> dict[str, Any]:
        return {
            "export_arn": self.export_arn,
            "export_time": self.export_time.isoformat(),
            "item_count": self.item_count,
            "bucket": self.layout.bucket,
            "prefix": self.layout.prefix,
            "data_prefix": self.layout.data_prefix,
            "files": len(self.layout.files),
            "has_manifest": self.layout.has_manifest,
            "reused": self.reused,
        }


def normalize_prefix(prefix: str) -> str:
    """The S3 prefix as sent to AWS: no leading or trailing ``/`` (AWS appends ``/AWSDynamoDB/…`` itself)."""
    normalized = prefix.strip("/")
    if not normalized:
        raise BadInputError(
            "An export needs a non-empty S3 prefix.", hint="Pass --prefix, e.g. exports/<table>/ (the default)."
        )
    return normalized


def default_client_token(table_arn: str, bucket: str, prefix: str, attempt: int = 0) -> str:
    """A deterministic ``ClientToken`` for one table, bucket and prefix (``attempt`` counts failed exports)."""
    digest = hashlib.sha256(f"{table_arn}|{bucket}|{normalize_prefix(prefix)}|{attempt}".encode()).hexdigest()
    return f"migrate-{digest[:32]}"


def fresh_prefix(prefix: str, now: datetime) -> str:
    """A prefix next to ``prefix`` that no earlier export used: for exporting again after damage."""
    return f"{prefix.strip('/')}-{now:%Y%m%dT%H%M%S}/"


def export_id(export_arn: str) -> str:
    """The export id: the ARN's last part, which is also the export's folder under ``AWSDynamoDB/``."""
    return export_arn.rsplit("/", 1)[-1]


def run_export(
    dynamodb: Any,
    s3: Any,
    *,
    table: str,
    bucket: str,
    prefix: str,
    client_token: str | None = None,
    export_arn: str | None = None,
    progress: Progress | None = None,
    poll_seconds: float = 10.0,
    on_started: Callable[[str], None] | None = None,
) -> ExportResult:
    """Export ``table`` to ``s3://bucket/prefix`` (DynamoDB JSON, full export), wait for it and check its files.

    ``export_arn`` given: wait on that export instead of starting one. Otherwise an export of this
    table to the same bucket and prefix that is in progress or completed is taken; only when there
    is none is a new one started (point-in-time recovery must be on). ``on_started(arn)`` is called
    as soon as the export to wait on is known, so a caller can record it and resume after a crash.
    Raises NotFoundError (unknown table or bucket), BadInputError (PITR off), ExportFailedError.
    """
    say = progress or _quiet
    # AWS exports as of the request; moto reports no time, so the request's time stands in for it.
    requested_at = datetime.now(UTC)
    normalized = normalize_prefix(prefix)
    _require_bucket(s3, bucket, table)
    table_arn = _table_arn(dynamodb, table)
    reused = False
    if export_arn is not None:
        description = _describe(dynamodb, export_arn, table)
        say(f"resuming export {export_id(export_arn)} of {table} ({description['ExportStatus']})")
    else:
        description, reused = _find_or_start(dynamodb, table, table_arn, bucket, normalized, client_token, say)
    _require_destination(description, table, table_arn, bucket, normalized)
    if on_started is not None:
        on_started(description["ExportArn"])
    description = _wait(dynamodb, description, table, poll_seconds, say)
    try:
        layout = _locate(s3, bucket, normalized, description)
        item_count = _check(s3, layout, description, say)
    except DamagedFilesError as e:
        raise DamagedFilesError(
            e.message,
            hint=f"AWS never rewrites an export: export again to a fresh prefix such as "
            f"{fresh_prefix(normalized, datetime.now(UTC))} and use that export.",
        ) from e
    export_time = _export_time(description) or _files_time(s3, layout) or requested_at
    result = ExportResult(description["ExportArn"], export_time, item_count, layout, reused)
    say(
        f"export {export_id(result.export_arn)} of {table}: {item_count} items in {len(layout.files)} files "
        f"under s3://{bucket}/{layout.data_prefix} (as of {result.export_time.isoformat()})"
    )
    return result


def _quiet(_message: str) -> None:
    return None


def _require_bucket(s3: Any, bucket: str, table: str) -> None:
    # Checked first so an unknown bucket reads "bucket B does not exist", not as a failed export.
    with aws_errors(f"export {table} to bucket {bucket}", what=f"bucket {bucket}", hint="Create it or pass --bucket."):
        s3.head_bucket(Bucket=bucket)


def _table_arn(dynamodb: Any, table: str) -> str:
    with aws_errors(f"export {table}", what=f"table {table}"):
        return str(dynamodb.describe_table(TableName=table)["Table"]["TableArn"])


def _require_pitr(dynamodb: Any, table: str) -> None:
    with aws_errors(f"export {table}", what=f"table {table}"):
        backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    status = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus", "DISABLED")
    if status != "ENABLED":
        raise _pitr_error(table, status)


def _pitr_error(table: str, status: str = "DISABLED") -> BadInputError:
    return BadInputError(
        f"Point-in-time recovery is {status} on table {table}, and an export needs it.",
        hint=(
            "Turn it on (stage 1 of `migrate up` does), or run `aws dynamodb update-continuous-backups "
            f"--table-name {table} --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true`."
        ),
        code=_PITR_CODE,
    )


def _describe(dynamodb: Any, export_arn: str, table: str) -> dict[str, Any]:
    with aws_errors(f"describe export {export_arn}", what=f"export {export_arn}", hint="Check the export ARN."):
        return dict(dynamodb.describe_export(ExportArn=export_arn)["ExportDescription"])


def _exports_of(dynamodb: Any, table_arn: str, table: str) -> Iterator[dict[str, Any]]:
    """Describe every full DynamoDB-JSON export of the table (ListExports gives only ARN and status)."""
    token: str | None = None
    while True:
        with aws_errors(f"list the exports of {table}", what=f"table {table}"):
            page = dynamodb.list_exports(TableArn=table_arn, **({"NextToken": token} if token else {}))
        for summary in page.get("ExportSummaries", []):
            if summary.get("ExportType", "FULL_EXPORT") == "FULL_EXPORT":
                description = _describe(dynamodb, summary["ExportArn"], table)
                if description.get("ExportFormat", "DYNAMODB_JSON") == "DYNAMODB_JSON":
                    yield description
        token = page.get("NextToken")
        if not token:
            return


def _find_or_start(
    dynamodb: Any, table: str, table_arn: str, bucket: str, prefix: str, client_token: str | None, say: Progress
) -> tuple[dict[str, Any], bool]:
    """The export to wait on: one in progress, else the newest completed one, else a new one; and whether reused."""
    same = [
        d
        for d in _exports_of(dynamodb, table_arn, table)
        if d.get("S3Bucket") == bucket and (d.get("S3Prefix") or "").strip("/") == prefix
    ]
    where = f"s3://{bucket}/{prefix}/"
    running = [d for d in same if d["ExportStatus"] == "IN_PROGRESS"]
    if running:
        say(f"export {export_id(running[0]['ExportArn'])} of {table} to {where} is in progress: waiting on it")
        return running[0], True
    done = sorted((d for d in same if d["ExportStatus"] == "COMPLETED"), key=_when)
    if done:
        when = _export_time(done[-1])
        at = f" (as of {when.isoformat()})" if when else ""
        say(
            f"reusing completed export {export_id(done[-1]['ExportArn'])} of {table} to {where}{at}: "
            "no new export started; checking its files"
        )
        return done[-1], True
    failed = sum(1 for d in same if d["ExportStatus"] == "FAILED")
    token = client_token or default_client_token(table_arn, bucket, prefix, failed)
    _require_pitr(dynamodb, table)
    say(f"starting a point-in-time export of {table} to {where}")
    try:
        with aws_errors(f"export {table}", what=f"table {table}"):
            response = dynamodb.export_table_to_point_in_time(
                TableArn=table_arn,
                S3Bucket=bucket,
                S3Prefix=prefix,
                ExportFormat="DYNAMODB_JSON",
                ExportType="FULL_EXPORT",
                ClientToken=token,
            )
    except AwsError as e:
        if e.code == _PITR_CODE:
            raise _pitr_error(table) from e
        raise
    return dict(response["ExportDescription"]), False


def _when(description: dict[str, Any]) -> datetime:
    return _export_time(description) or datetime.min.replace(tzinfo=UTC)


def _export_time(description: dict[str, Any]) -> datetime | None:
    """The point in time the export captured (ExportTime, else StartTime); None when AWS gives neither (moto)."""
    for field in ("ExportTime", "StartTime"):
        value = description.get(field)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def _files_time(s3: Any, layout: ExportLayout) -> datetime | None:
    """When the export's data files were written: its time when AWS does not say (moto)."""
    keys = {f.key for f in layout.files}
    times = [o["LastModified"] for o in list_objects(s3, layout.bucket, layout.data_prefix) if o["Key"] in keys]
    first = min(times, default=None)
    return first if first is None or first.tzinfo else first.replace(tzinfo=UTC)


def _require_destination(description: dict[str, Any], table: str, table_arn: str, bucket: str, prefix: str) -> None:
    if description.get("TableArn", table_arn) != table_arn:
        raise BadInputError(
            f"Export {description['ExportArn']} is of {description['TableArn']}, not of table {table}.",
            hint="Pass the export ARN of this table, or drop it to start a new export.",
        )
    got_bucket, got_prefix = description.get("S3Bucket"), (description.get("S3Prefix") or "").strip("/")
    if (got_bucket, got_prefix) != (bucket, prefix):
        raise BadInputError(
            f"Export {description['ExportArn']} wrote to s3://{got_bucket}/{got_prefix}/, not s3://{bucket}/{prefix}/.",
            hint="Pass the bucket and prefix that export used, or drop the export ARN to start a new export.",
        )


def _wait(dynamodb: Any, description: dict[str, Any], table: str, poll_seconds: float, say: Progress) -> dict[str, Any]:
    """Poll with capped exponential backoff until the export leaves IN_PROGRESS; raise on FAILED."""
    arn = description["ExportArn"]
    delay = max(poll_seconds, 0.0)
    cap = max(POLL_CAP_SECONDS, delay)
    started = time.monotonic()
    while description["ExportStatus"] == "IN_PROGRESS":
        say(f"export {export_id(arn)} of {table}: in progress, {time.monotonic() - started:.0f}s waited")
        time.sleep(delay)
        delay = min(cap, max(delay * 2, 0.01))
        description = _describe(dynamodb, arn, table)
    if description["ExportStatus"] != "COMPLETED":
        code = description.get("FailureCode") or "unknown"
        reason = description.get("FailureMessage") or "no reason given"
        raise ExportFailedError(
            f"Export {arn} of table {table} ended {description['ExportStatus']}: {code}: {reason}.",
            hint=(
                "Fix the cause (bucket policy, KMS key, permissions to write to the bucket), then run the export "
                "again: a failed export is never reused."
            ),
            code=code,
        )
    return description


def _locate(s3: Any, bucket: str, prefix: str, description: dict[str, Any]) -> ExportLayout:
    """This export's files: AWS writes them under ``<prefix>/AWSDynamoDB/<exportId>/`` with manifests."""
    keys = [o["Key"] for o in list_objects(s3, bucket, prefix + "/")]
    marker = f"AWSDynamoDB/{export_id(description['ExportArn'])}/"
    roots = {key[: key.index(marker) + len(marker)] for key in keys if marker in key}
    if len(roots) == 1:
        return locate_export(s3, bucket, roots.pop())
    if description.get("ExportManifest") or any(k.endswith("manifest-summary.json") for k in keys):
        raise DamagedFilesError(
            f"The files of export {description['ExportArn']} are not under s3://{bucket}/{prefix}/{marker}: "
            "they were moved or deleted.",
            hint=EXPORT_AGAIN,
        )
    # moto writes no manifest and uses a random folder name, not the export id: take the one data folder.
    try:
        return locate_export(s3, bucket, prefix + "/")
    except BadInputError as e:
        if "No export data files" not in e.message:
            raise
        raise DamagedFilesError(
            f"Export {description['ExportArn']} completed, but no data file of it is under s3://{bucket}/{prefix}/: "
            "they were moved or deleted.",
            hint=EXPORT_AGAIN,
        ) from e


def _check(s3: Any, layout: ExportLayout, description: dict[str, Any], say: Progress) -> int:
    """Check the export's files (MD5 where the manifest gives one, else read through); return its item count."""
    check_files(s3, layout, progress=say)
    read = count_items(s3, layout, only_unchecked=True)  # a damaged gzip file fails here
    reported = description.get("ItemCount")
    expected = layout.item_count if layout.item_count is not None else reported
    if layout.item_count is not None and reported is not None and int(reported) != layout.item_count:
        raise DamagedFilesError(
            f"Export {description['ExportArn']} reports {reported} items but its manifest {layout.item_count}.",
            hint=EXPORT_AGAIN,
        )
    if not layout.has_manifest and expected is not None and read != int(expected):
        raise DamagedFilesError(
            f"Export {description['ExportArn']} reports {expected} items but its files under "
            f"s3://{layout.bucket}/{layout.data_prefix} hold {read}: some were moved, deleted or altered.",
            hint=EXPORT_AGAIN,
        )
    return int(expected) if expected is not None else read

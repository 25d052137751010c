"""Checking the DynamoDB import that created a table: COMPLETED, no errors, every expected item.

ImportTable creates the table itself, so the import is found from the table (ListImports by table
ARN, newest first) unless the caller knows its ARN.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from migrator.core.errors import ImportFailedError, NotFoundError
from migrator.core.ports import Progress
from migrator.data.aws import aws_errors

POLL_CAP_SECONDS = 60.0
LOG_GROUP = "/aws-dynamodb/imports"  # where ImportTable writes the items it could not import
_WAITING = ("IN_PROGRESS", "CANCELLING")


@dataclass(frozen=True)
class ImportCheck:
    """The import that created a table, as checked: status and AWS's counts."""

    import_arn: str | None
    status: str
    imported_count: int
    error_count: int
    processed_count: int
    # Set when the import itself could not be read (an emulator without ListImports) and the
    # table's items were counted instead.
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "importArn": self.import_arn,
            "status": self.status,
            "importedCount": self.imported_count,
            "errorCount": self.error_count,
            "processedCount": self.processed_count,
            "note": self.note,
        }


def check_import(
    dynamodb: Any,
    *,
    table: str,
    expected_items: int,
    progress: Progress | None = None,
    poll_seconds: float = 10.0,
    import_arn: str | None = None,
) -> ImportCheck:
    """Wait for the import that created ``table`` and require COMPLETED, 0 errors and ``expected_items`` imported.

    The import is ``import_arn`` when given, else the table's newest import (ListImports). On an
    endpoint that is not AWS (moto has no ListImports) and without ``import_arn``, the table's items
    are counted instead and the result says so in ``note``. Raises ImportFailedError, NotFoundError.
    """
    say = progress or _quiet
    if import_arn is None:
        table_arn = _table_arn(dynamodb, table)
        if not _is_aws(dynamodb):
            return _check_by_count(dynamodb, table, expected_items, poll_seconds, say)
        import_arn = _newest_import(dynamodb, table, table_arn)
    description = _wait(dynamodb, import_arn, table, poll_seconds, say)
    check = ImportCheck(
        import_arn=import_arn,
        status=str(description.get("ImportStatus")),
        imported_count=int(description.get("ImportedItemCount") or 0),
        error_count=int(description.get("ErrorCount") or 0),
        processed_count=int(description.get("ProcessedItemCount") or 0),
    )
    if check.status != "COMPLETED" or check.error_count or check.imported_count != expected_items:
        raise _failure(table, expected_items, check, description)
    say(f"import into {table}: COMPLETED, {check.imported_count} items imported, no errors")
    return check


def _quiet(_message: str) -> None:
    return None


def _is_aws(dynamodb: Any) -> bool:
    host = urlparse(str(getattr(dynamodb.meta, "endpoint_url", "") or "")).hostname or ""
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws"))


def _table_arn(dynamodb: Any, table: str) -> str:
    with aws_errors(f"check the import into {table}", what=f"table {table}"):
        return str(dynamodb.describe_table(TableName=table)["Table"]["TableArn"])


def _newest_import(dynamodb: Any, table: str, table_arn: str) -> str:
    summaries: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        with aws_errors(f"list the imports into {table}", what=f"table {table}"):
            page = dynamodb.list_imports(TableArn=table_arn, **({"NextToken": token} if token else {}))
        summaries.extend(page.get("ImportSummaryList", []))
        token = page.get("NextToken")
        if not token:
            break
    if not summaries:
        raise NotFoundError(
            f"No import created table {table}: it was not created by ImportTable, or more than 90 days ago "
            "(ListImports keeps 90 days).",
            hint="Check the table name; the new table of a migration is created by stage 2 of `migrate up`.",
        )
    oldest = datetime.min.replace(tzinfo=UTC)
    return str(max(summaries, key=lambda s: _aware(s.get("StartTime")) or oldest)["ImportArn"])


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _describe(dynamodb: Any, import_arn: str) -> dict[str, Any]:
    with aws_errors(f"describe import {import_arn}", what=f"import {import_arn}", hint="Check the import ARN."):
        return dict(dynamodb.describe_import(ImportArn=import_arn)["ImportTableDescription"])


def _backoff(poll_seconds: float) -> Any:
    """Delays for polling: ``poll_seconds``, doubling, capped at a minute (or at ``poll_seconds`` if larger)."""
    delay = max(poll_seconds, 0.0)
    cap = max(POLL_CAP_SECONDS, delay)
    while True:
        yield delay
        delay = min(cap, max(delay * 2, 0.01))


def _wait(dynamodb: Any, import_arn: str, table: str, poll_seconds: float, say: Progress) -> dict[str, Any]:
    started = time.monotonic()
    delays = _backoff(poll_seconds)
    description = _describe(dynamodb, import_arn)
    while description.get("ImportStatus") in _WAITING:
        say(
            f"import into {table}: {description['ImportStatus']}, "
            f"{int(description.get('ProcessedItemCount') or 0)} items processed, "
            f"{time.monotonic() - started:.0f}s waited"
        )
        time.sleep(next(delays))
        description = _describe(dynamodb, import_arn)
    return description


def _failure(table: str, expected: int, check: ImportCheck, description: dict[str, Any]) -> ImportFailedError:
    aws_says = ""
    if description.get("FailureCode") or description.get("FailureMessage"):
        aws_says = (
            f" AWS says: {description.get('FailureCode') or 'no code'}: {description.get('FailureMessage') or ''}"
        )
    hint = (
        f"The items it could not import are logged in the CloudWatch log group {LOG_GROUP}. "
        "Fix the source files, delete the new table and import again."
    )
    if check.status == "COMPLETED" and not check.error_count:
        # Duplicate keys in the source overwrite each other silently and are not counted as errors.
        hint = (
            "Items with the same key overwrite each other during an import without an error: "
            f"look for duplicate keys in the source files (CloudWatch log group {LOG_GROUP} for other errors)."
        )
    return ImportFailedError(
        f"The import into table {table} ({check.import_arn}) ended {check.status}: "
        f"{check.imported_count} of {expected} expected items imported, {check.processed_count} processed, "
        f"{check.error_count} errors.{aws_says}".rstrip(),
        hint=hint,
        code=description.get("FailureCode"),
    )


def _check_by_count(dynamodb: Any, table: str, expected: int, poll_seconds: float, say: Progress) -> ImportCheck:
    """Emulator fallback: wait for the table to be ACTIVE, then count its items (a consistent scan)."""
    delays = _backoff(poll_seconds)
    while (status := _table_status(dynamodb, table)) == "CREATING":
        say(f"table {table}: CREATING (import in progress)")
        time.sleep(next(delays))
    note = f"this endpoint has no ListImports: counted the items of table {table} (status {status}) instead"
    say(note)
    count = 0
    with aws_errors(f"count the items of {table}", what=f"table {table}"):
        for page in dynamodb.get_paginator("scan").paginate(TableName=table, Select="COUNT", ConsistentRead=True):
            count += int(page.get("Count", 0))
    if count != expected:
        raise ImportFailedError(
            f"Table {table} holds {count} items, {expected} expected; the import's own status cannot be read "
            "on this endpoint (no ListImports).",
            hint=(
                "Items lacking a key attribute fail to import and duplicate keys overwrite each other: "
                f"check the source files (on AWS, the CloudWatch log group {LOG_GROUP})."
            ),
        )
    return ImportCheck(None, "COUNTED", count, 0, count, note=note)


def _table_status(dynamodb: Any, table: str) -> str:
    with aws_errors(f"check the import into {table}", what=f"table {table}"):
        return str(dynamodb.describe_table(TableName=table)["Table"]["TableStatus"])

"""The AWS side of the end-to-end tests, made closer to AWS for point-in-time exports.

moto (5.2) finishes an export before ``ExportTableToPointInTime`` returns, and ignores its
``ClientToken`` (a second call starts a second export). On AWS an export runs for minutes: a
migration that dies after starting one finds it ``IN_PROGRESS`` when it runs again, and must wait on
that export instead of starting another. :class:`SlowExports` gives the in-process moto server that
behaviour: every new export answers ``IN_PROGRESS`` (on the start and on its first ``reads``
``DescribeExport`` calls and in ``ListExports`` meanwhile) and only then its real outcome. Its files
are written at once, as moto does; nothing may read them before the export is reported complete.

It also logs every export call the server answers, so a test can tell "waited on the export by its
recorded ARN" (``DescribeExport`` only) from "found it again by listing the table's exports"
(``ListExports``), which end the same way.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

START, DESCRIBE, LIST = "ExportTableToPointInTime", "DescribeExport", "ListExports"


@dataclass(frozen=True)
class ExportCall:
    """One export call the server answered: the operation, the export's ARN (None for a list) and its status."""

    operation: str
    arn: str | None = None
    status: str | None = None


@dataclass
class SlowExports:
    """Keeps each new moto export ``IN_PROGRESS`` for its first ``reads`` DescribeExport calls; logs export calls."""

    reads: int = 2
    calls: list[ExportCall] = field(default_factory=list)
    _left: dict[str, int] = field(default_factory=dict)
    _outcome: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> SlowExports:
        """Patch the in-process moto server's DynamoDB backend for the rest of the test; return self."""
        from moto.dynamodb.models import DynamoDBBackend

        start, describe = DynamoDBBackend.export_table, DynamoDBBackend.describe_export
        listing = DynamoDBBackend.list_exports

        def export_table(backend: Any, **kwargs: Any) -> Any:
            export = start(backend, **kwargs)
            export.join()  # moto's export thread: its files are written; AWS would still be at work
            with self._lock:
                self._outcome[export.arn], self._left[export.arn] = export.status, self.reads
                export.status = "IN_PROGRESS"
                self.calls.append(ExportCall(START, export.arn, export.status))
            return export

        def describe_export(backend: Any, export_arn: str) -> Any:
            export = describe(backend, export_arn)
            with self._lock:
                if self._left.get(export_arn, 0) > 0:
                    self._left[export_arn] -= 1
                elif export_arn in self._outcome:
                    export.status = self._outcome.pop(export_arn)
                self.calls.append(ExportCall(DESCRIBE, export_arn, export.status))
            return export

        def list_exports(backend: Any, table_arn: str) -> Any:
            with self._lock:
                self.calls.append(ExportCall(LIST))
            return listing(backend, table_arn)

        monkeypatch.setattr(DynamoDBBackend, "export_table", export_table)
        monkeypatch.setattr(DynamoDBBackend, "describe_export", describe_export)
        monkeypatch.setattr(DynamoDBBackend, "list_exports", list_exports)
        return self

    def operations(self) -> list[str]:
        """The operations answered so far, in order."""
        with self._lock:
            return [call.operation for call in self.calls]

    def started(self) -> list[str]:
        """The ARNs of the exports started so far."""
        with self._lock:
            return [call.arn for call in self.calls if call.operation == START and call.arn]

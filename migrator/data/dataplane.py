"""The data-plane steps the orchestrator runs between Pulumi updates, behind one small interface.

:class:`AwsDataPlane` calls the boto3 modules (export, transform, imports, verify) with clients
built from one :class:`AwsSettings`; tests and embedders may pass any object with the same methods.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from migrator.core.data_config import Compute
from migrator.core.derive import Deriver
from migrator.core.errors import NotFoundError
from migrator.core.ports import Progress
from migrator.core.tablespec import TableSpec
from migrator.data.aws import AwsSettings, aws_errors
from migrator.data.describe import spec_from_description
from migrator.data.export.files import ExportLayout, locate_export
from migrator.data.export.run import ExportResult, run_export
from migrator.data.load.import_check import ImportCheck, check_import
from migrator.data.load.write import LoadResult, load_export
from migrator.data.spark import load_job
from migrator.data.transform.run import DeriverSpec, TransformResult, transform_export
from migrator.data.verify.exports import verify_exports
from migrator.data.verify.run import VerifyReport, verify_export, verify_tables


class DataPlane(Protocol):
    """What the orchestrator needs from AWS between updates."""

    def export(
        self,
        *,
        table: str,
        bucket: str,
        prefix: str,
        client_token: str,
        export_arn: str | None,
        on_started: Callable[[str], None],
    ) -> ExportResult: ...

    def transform(
        self,
        source: ExportLayout,
        *,
        dest_bucket: str,
        dest_prefix: str,
        rules: tuple[str, ...],
        key_names: tuple[str, ...],
    ) -> TransformResult: ...

    def locate(self, bucket: str, prefix: str) -> ExportLayout: ...

    def check_import(self, *, table: str, expected_items: int) -> ImportCheck: ...

    def load(self, source: ExportLayout, *, table: str, expected_items: int) -> LoadResult:
        """Write the export's items into the existing ``table`` (resumable), then count them."""
        ...

    def verify_export(self, source: ExportLayout, *, target_table: str) -> VerifyReport: ...

    def verify_tables(self, *, source_table: str, target_table: str, deriver: Deriver | None) -> VerifyReport: ...

    def verify_exports(
        self, source: ExportLayout, target: ExportLayout, *, rules: tuple[str, ...], key_names: tuple[str, ...]
    ) -> VerifyReport:
        """Compare the new table's export ``target`` with the legacy table's export ``source`` (through ``rules``)."""
        ...

    def deletion_protection(self, table: str) -> bool | None:
        """The table's DeletionProtectionEnabled, or None when the table does not exist."""
        ...

    def protect(self, table: str) -> None:
        """Turn deletion protection on."""
        ...

    def describe(self, table: str) -> TableSpec | None:
        """The table as it is in AWS (keys, billing, indexes), or None when it does not exist."""
        ...


class AwsDataPlane:
    """The data plane on AWS (or an emulator), through the boto3 modules of this package.

    ``compute`` chooses where the transform and the export comparison run: this machine's processes and
    threads, or Apache Spark (:mod:`migrator.data.spark`, imported only then).
    """

    def __init__(
        self,
        settings: AwsSettings,
        *,
        progress: Progress | None = None,
        poll_seconds: float = 10.0,
        compute: Compute = Compute(),
    ) -> None:
        self.settings = settings
        self.compute = compute
        self._progress = progress
        self._poll = poll_seconds
        self._clients: dict[str, Any] = {}

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.settings.client(service)
        return self._clients[service]

    def export(
        self,
        *,
        table: str,
        bucket: str,
        prefix: str,
        client_token: str,
        export_arn: str | None,
        on_started: Callable[[str], None],
    ) -> ExportResult:
        return run_export(
            self._client("dynamodb"),
            self._client("s3"),
            table=table,
            bucket=bucket,
            prefix=prefix,
            client_token=client_token,
            export_arn=export_arn,
            progress=self._progress,
            poll_seconds=self._poll,
            on_started=on_started,
        )

    def transform(
        self,
        source: ExportLayout,
        *,
        dest_bucket: str,
        dest_prefix: str,
        rules: tuple[str, ...],
        key_names: tuple[str, ...],
    ) -> TransformResult:
        run = (
            partial(load_job().transform_spark, master=self.compute.master) if self.compute.spark else transform_export
        )
        return run(
            self.settings,
            source,
            dest_bucket=dest_bucket,
            dest_prefix=dest_prefix,
            deriver_spec=DeriverSpec(rules=rules),
            key_names=key_names,
            progress=self._progress,
        )

    def locate(self, bucket: str, prefix: str) -> ExportLayout:
        return locate_export(self._client("s3"), bucket, prefix)

    def check_import(self, *, table: str, expected_items: int) -> ImportCheck:
        return check_import(
            self._client("dynamodb"),
            table=table,
            expected_items=expected_items,
            progress=self._progress,
            poll_seconds=self._poll,
        )

    def load(self, source: ExportLayout, *, table: str, expected_items: int) -> LoadResult:
        return load_export(
            self._client("dynamodb"),
            self._client("s3"),
            source,
            table=table,
            expected_items=expected_items,
            progress=self._progress,
        )

    def verify_export(self, source: ExportLayout, *, target_table: str) -> VerifyReport:
        return verify_export(self.settings, source, target_table=target_table, progress=self._progress)

    def verify_tables(self, *, source_table: str, target_table: str, deriver: Deriver | None) -> VerifyReport:
        return verify_tables(
            self.settings,
            source_table=source_table,
            target_table=target_table,
            deriver=deriver,
            progress=self._progress,
        )

    def verify_exports(
        self, source: ExportLayout, target: ExportLayout, *, rules: tuple[str, ...], key_names: tuple[str, ...]
    ) -> VerifyReport:
        if self.compute.spark:
            return load_job().verify_exports_spark(
                source, target, rules, key_names, self.compute.master, store=self.settings, progress=self._progress
            )
        return verify_exports(source, target, rules, key_names, store=self.settings, progress=self._progress)

    def deletion_protection(self, table: str) -> bool | None:
        described = self._described(table)
        return None if described is None else bool(described.get("DeletionProtectionEnabled", False))

    def protect(self, table: str) -> None:
        with aws_errors(f"turn deletion protection on for table {table}", what=f"table {table}"):
            self._client("dynamodb").update_table(TableName=table, DeletionProtectionEnabled=True)

    def describe(self, table: str) -> TableSpec | None:
        described = self._described(table)
        return None if described is None else spec_from_description(described, {}, {}, {})[0]

    def _described(self, table: str) -> dict[str, Any] | None:
        """DescribeTable's ``Table``; None when there is no such table."""
        try:
            with aws_errors(f"describe table {table}", what=f"table {table}"):
                return self._client("dynamodb").describe_table(TableName=table)["Table"]
        except NotFoundError:
            return None

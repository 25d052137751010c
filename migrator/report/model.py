"""Typed summaries of what a migration found, as the record keeps them and as people are shown them.

The steps of :mod:`migrator.orchestrate` build them, the record store keeps their ``to_dict()`` JSON
(camelCase, like the rest of the record), and :mod:`migrator.report.results` renders them. Each
``from_dict`` also reads what version 0.3 recorded (its verify summaries used snake_case counts).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


def plain(value: Any) -> Any:
    """``value`` as plain JSON data: mappings become dicts with string keys, tuples become lists."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _either(raw: Mapping[str, Any], camel: str, snake: str, default: Any = 0) -> Any:
    """``raw[camel]``, else 0.3's ``raw[snake]``, else ``default``."""
    if camel in raw:
        return raw[camel]
    return raw.get(snake, default)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class VerifySummary:
    """The counts of one verification (no samples): export vs new table, or live legacy vs new table."""

    identical: bool
    source: str | None = None
    target: str | None = None
    source_count: int = 0
    target_count: int = 0
    missing_count: int = 0
    extra_count: int = 0
    changed_count: int = 0
    unreadable_count: int = 0
    duplicate_count: int = 0
    at: str = ""
    # Online cutover: the counts of the scan made while writes flowed, and how many keys were read again.
    while_writes_flowed: Mapping[str, int] | None = None
    rechecked_keys: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The summary's JSON object (camelCase)."""
        data: dict[str, Any] = {
            "identical": self.identical,
            "source": self.source,
            "target": self.target,
            "sourceCount": self.source_count,
            "targetCount": self.target_count,
            "missingCount": self.missing_count,
            "extraCount": self.extra_count,
            "changedCount": self.changed_count,
            "unreadableCount": self.unreadable_count,
            "duplicateCount": self.duplicate_count,
            "at": self.at,
        }
        if self.while_writes_flowed is not None:
            data["whileWritesFlowed"] = dict(self.while_writes_flowed)
        if self.rechecked_keys is not None:
            data["recheckedKeys"] = self.rechecked_keys
        return data

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> VerifySummary:
        """Read a recorded summary, camelCase or 0.3's snake_case."""
        flowed = raw.get("whileWritesFlowed")
        return cls(
            identical=bool(raw.get("identical")),
            source=raw.get("source"),
            target=raw.get("target"),
            source_count=int(_either(raw, "sourceCount", "source_count")),
            target_count=int(_either(raw, "targetCount", "target_count")),
            missing_count=int(_either(raw, "missingCount", "missing_count")),
            extra_count=int(_either(raw, "extraCount", "extra_count")),
            changed_count=int(_either(raw, "changedCount", "changed_count")),
            unreadable_count=int(_either(raw, "unreadableCount", "unreadable_count")),
            duplicate_count=int(_either(raw, "duplicateCount", "duplicate_count")),
            at=str(raw.get("at") or ""),
            while_writes_flowed=dict(flowed) if flowed is not None else None,
            rechecked_keys=_optional_int(raw.get("recheckedKeys")),
        )


def verifications(raw: Mapping[str, Any] | None) -> dict[str, VerifySummary]:
    """The recorded ``verify`` object (kind → summary) as typed summaries."""
    return {str(kind): VerifySummary.from_dict(summary) for kind, summary in (raw or {}).items()}


@dataclass(frozen=True)
class ExportSummary:
    """Stage 1's export of the legacy table; online, with the stream that covers it."""

    arn: str
    time: str
    item_count: int
    bucket: str
    prefix: str
    data_prefix: str
    stream: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {
            "arn": self.arn,
            "time": self.time,
            "itemCount": self.item_count,
            "bucket": self.bucket,
            "prefix": self.prefix,
            "dataPrefix": self.data_prefix,
        }
        return {**data, "stream": dict(self.stream)} if self.stream is not None else data

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ExportSummary:
        stream = raw.get("stream")
        return cls(
            arn=str(raw.get("arn", "")),
            time=str(raw.get("time", "")),
            item_count=int(raw.get("itemCount") or 0),
            bucket=str(raw.get("bucket", "")),
            prefix=str(raw.get("prefix", "")),
            data_prefix=str(raw.get("dataPrefix", "")),
            stream=dict(stream) if stream is not None else None,
        )


@dataclass(frozen=True)
class TransformSummary:
    """Stage 1's rewrite of the export for the new table's keys."""

    items_in: int
    items_out: int
    rejects: int
    data_prefix: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "itemsIn": self.items_in,
            "itemsOut": self.items_out,
            "rejects": self.rejects,
            "dataPrefix": self.data_prefix,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> TransformSummary:
        return cls(
            items_in=int(raw.get("itemsIn") or 0),
            items_out=int(raw.get("itemsOut") or 0),
            rejects=int(raw.get("rejects") or 0),
            data_prefix=str(raw.get("dataPrefix", "")),
        )


_IMPORT_CHECK_KEYS = (
    ("arn", "arn"),
    ("processed_count", "processedCount"),
    ("expected_count", "expectedCount"),
    ("items_written", "itemsWritten"),
    ("files_skipped", "filesSkipped"),
    ("retries", "retries"),
    ("consumed_write_units", "consumedWriteUnits"),
)


@dataclass(frozen=True)
class ImportCheckSummary:
    """How the new table was filled: an ImportTable checked (``import``), or the export written (``write``)."""

    status: str
    imported_count: int
    error_count: int = 0
    method: str = "import"
    arn: str | None = None
    processed_count: int | None = None
    expected_count: int | None = None
    items_written: int | None = None
    files_skipped: int | None = None
    retries: int | None = None
    consumed_write_units: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "method": self.method,
            "status": self.status,
            "importedCount": self.imported_count,
            "errorCount": self.error_count,
        }
        for name, json_key in _IMPORT_CHECK_KEYS:
            if getattr(self, name) is not None:
                data[json_key] = getattr(self, name)
        return data

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ImportCheckSummary:
        extra = {name: raw.get(json_key) for name, json_key in _IMPORT_CHECK_KEYS}
        return cls(
            status=str(raw.get("status", "")),
            imported_count=int(raw.get("importedCount") or 0),
            error_count=int(raw.get("errorCount") or 0),
            method=str(raw.get("method") or "import"),
            **extra,
        )


@dataclass(frozen=True)
class OnlineReport:
    """The online mode's part of a report: the freeze, the catch-up, late writes, writes carried back."""

    freeze: Mapping[str, Any] | None = None
    catch_up: Mapping[str, Any] | None = None
    writes_after_unfreeze: int = 0
    carried_back: Mapping[str, Any] | None = None
    conflicts: Mapping[str, Any] | None = None  # late writes not applied (migrator.orchestrate.late_writes.summary)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "freeze": plain(self.freeze),
            "catchUp": plain(self.catch_up),
            "writesAfterUnfreeze": self.writes_after_unfreeze,
        }
        if self.carried_back:
            data["carriedBack"] = plain(self.carried_back)
        if self.conflicts:
            data["conflicts"] = plain(self.conflicts)
        return data

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> OnlineReport:
        """Read the record's ``online`` entry (or a report's top-level online keys)."""
        return cls(
            freeze=raw.get("freeze"),
            catch_up=raw.get("catchUp"),
            writes_after_unfreeze=int(raw.get("writesAfterUnfreeze") or 0),
            carried_back=raw.get("carriedBack") or None,
            conflicts=raw.get("conflicts") or None,
        )


def _optional(kind: Any, raw: Mapping[str, Any] | None) -> Any:
    return kind.from_dict(raw) if raw else None


@dataclass(frozen=True)
class FinalReport:
    """Stage 4's report: the whole migration of one stack, kept in the record and shown by ``up --stage 4``."""

    stack: str
    legacy_table: str
    new_table: str
    export: ExportSummary | None = None
    transform: TransformSummary | None = None
    import_check: ImportCheckSummary | None = None
    verify: Mapping[str, VerifySummary] = field(default_factory=dict)
    drift_accepted: VerifySummary | None = None
    legacy_deletion_protection: bool = True
    new_table_indexes: tuple[str, ...] | None = None  # None in a report of a version that did not list them
    stage_times: Mapping[str, str] = field(default_factory=dict)
    online: OnlineReport | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "stack": self.stack,
            "legacyTable": self.legacy_table,
            "newTable": self.new_table,
            "export": self.export.to_dict() if self.export else None,
            "transform": self.transform.to_dict() if self.transform else None,
            "importCheck": self.import_check.to_dict() if self.import_check else None,
            "verify": {kind: summary.to_dict() for kind, summary in self.verify.items()},
            "driftAccepted": self.drift_accepted.to_dict() if self.drift_accepted else None,
            "legacyRetained": {"table": self.legacy_table, "deletionProtection": self.legacy_deletion_protection},
            "stageTimes": dict(self.stage_times),
        }
        if self.new_table_indexes is not None:
            data["newTableIndexes"] = list(self.new_table_indexes)
        if self.online is not None:
            data.update(self.online.to_dict())
        return data

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FinalReport:
        """Read a recorded report, this version's or 0.3's."""
        indexes = raw.get("newTableIndexes")
        online = any(k in raw for k in ("freeze", "catchUp", "writesAfterUnfreeze", "carriedBack"))
        return cls(
            stack=str(raw.get("stack", "")),
            legacy_table=str(raw.get("legacyTable", "")),
            new_table=str(raw.get("newTable", "")),
            export=_optional(ExportSummary, raw.get("export")),
            transform=_optional(TransformSummary, raw.get("transform")),
            import_check=_optional(ImportCheckSummary, raw.get("importCheck")),
            verify=verifications(raw.get("verify")),
            drift_accepted=_optional(VerifySummary, raw.get("driftAccepted")),
            legacy_deletion_protection=bool((raw.get("legacyRetained") or {}).get("deletionProtection")),
            new_table_indexes=tuple(indexes) if indexes is not None else None,
            stage_times=dict(raw.get("stageTimes") or {}),
            online=OnlineReport.from_dict(raw) if online else None,
        )

    # Read as a mapping of its JSON object, so ``dict(report)`` gives the same object as 0.3's report did.
    def keys(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __getitem__(self, name: str) -> Any:
        return self.to_dict()[name]

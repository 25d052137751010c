"""The typed summaries: one JSON style for the stack commands, and 0.3's recorded summaries still read."""

from __future__ import annotations

from migrator.report.model import FinalReport, ImportCheckSummary, VerifySummary, verifications
from migrator.report.results import Status, report_text

V03_SUMMARY = {
    "identical": True,
    "source": "Users",
    "target": "Users-v2",
    "source_count": 5,
    "target_count": 5,
    "missing_count": 0,
    "extra_count": 0,
    "changed_count": 0,
    "at": "2026-01-01T00:00:00Z",
}


def test_a_summary_recorded_by_0_3_reads_and_writes_camel_case() -> None:
    summary = VerifySummary.from_dict(V03_SUMMARY)
    assert summary.source_count == 5 and summary.identical
    data = summary.to_dict()
    assert data["sourceCount"] == 5 and data["changedCount"] == 0
    assert not [k for k in data if "_" in k]
    assert VerifySummary.from_dict(data) == summary


def test_a_final_report_round_trips_and_reads_as_its_json_object() -> None:
    report = FinalReport(
        stack="dev",
        legacy_table="Users",
        new_table="Users-v2",
        import_check=ImportCheckSummary(status="COMPLETED", imported_count=5, arn="arn:import"),
        verify=verifications({"export": V03_SUMMARY}),
        new_table_indexes=(),
        stage_times={"4": "2026-01-02T00:00:00Z"},
    )
    assert FinalReport.from_dict(report.to_dict()) == report
    assert dict(report) == report.to_dict()
    assert "Users-v2 indexes: none" in report_text(report)
    assert report_text(report.to_dict()) == report_text(report)


def test_status_json_has_no_snake_case_key() -> None:
    summary = VerifySummary.from_dict(V03_SUMMARY)
    status = Status(
        stack="dev",
        stage=2,
        completed_stage=2,
        legacy_table="Users",
        new_table="Users-v2",
        active_table="Users",
        export=None,
        export_arn=None,
        transform=None,
        import_source=None,
        import_check=ImportCheckSummary(status="COMPLETED", imported_count=5),
        verify={"export": summary},
        drift_accepted=summary,
        served_traffic=False,
        stage_times={},
        lock=None,
        next_step="",
    )

    def keys(value: object) -> list[str]:
        if isinstance(value, dict):
            return [k for k, v in value.items() for k in (k, *keys(v))]
        return []

    data = status.to_dict()
    assert data["lastVerify"]["sourceCount"] == 5 and data["importCheck"]["importedCount"] == 5
    assert [k for k in keys(data) if "_" in k] == []

"""What a failed verification says in a stage's error: every count that made it fail."""

from __future__ import annotations

from migrator.data.verify.run import VerifyReport
from migrator.orchestrate.offline_steps import differences, verify_summary


def _report(**counts: int | None) -> VerifyReport:
    base = {"source_count": 10, "target_count": 10, "missing_count": 0, "extra_count": 0, "changed_count": 0}
    return VerifyReport(identical=False, samples={}, **{**base, **counts})  # type: ignore[arg-type]


def test_unreadable_items_are_named_even_when_nothing_else_differs() -> None:
    text = differences(_report(unreadable_count=2))
    assert text == "0 missing, 0 extra, 0 changed, 2 unreadable"


def test_duplicates_and_a_short_export_are_named() -> None:
    text = differences(_report(duplicate_count=1, export_item_count=12))
    assert (
        text
        == "0 missing, 0 extra, 0 changed, 1 duplicate keys, the export's manifest counts 12 items, its files hold 10"
    )


def test_the_plain_counts_alone_when_only_they_differ() -> None:
    assert differences(_report(missing_count=3, changed_count=1)) == "3 missing, 0 extra, 1 changed"


def test_the_recorded_summary_keeps_the_unreadable_count() -> None:
    summary = verify_summary(_report(unreadable_count=2), "2026-01-01T00:00:00Z")
    assert summary.unreadable_count == 2 and summary.to_dict()["unreadableCount"] == 2 and not summary.identical

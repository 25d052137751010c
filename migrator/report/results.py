"""Typed results of the library API (``Migration.up/down/status/plan``), as JSON (``to_dict``) and as text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from migrator.core.evidence import LiveWriter
from migrator.core.guard import Preview
from migrator.core.stages import StageMove, stage_name
from migrator.report.conflicts import conflicts_line
from migrator.report.model import (
    ExportSummary,
    FinalReport,
    ImportCheckSummary,
    OnlineReport,
    TransformSummary,
    VerifySummary,
    plain,
)
from migrator.report.spec_view import SpecComparison


def verify_line(kind: str, summary: VerifySummary) -> str:
    """One line for a recorded verification summary."""
    what = "new table vs export" if kind == "export" else "live legacy vs new table"
    verdict = "identical" if summary.identical else "DIFFERENT"
    return (
        f"{what}: {verdict} — {summary.source_count} source items, {summary.target_count} "
        f"target items, {summary.missing_count} missing, {summary.extra_count} extra, "
        f"{summary.changed_count} changed (at {summary.at or '?'})"
    )


def export_line(export: ExportSummary) -> str:
    """One line for stage 1's export."""
    return f"  export: {export.arn} at {export.time}, {export.item_count} items"


def import_line(check: ImportCheckSummary) -> str:
    """One line for how the new table was filled: the import's check, or the load's counts."""
    if check.method == "write":
        return (
            f"  load (BatchWriteItem): {check.items_written} items written, the table holds "
            f"{check.imported_count} (expected {check.expected_count}), {check.retries} retries"
        )
    return f"  import: {check.status}, {check.imported_count} items, {check.error_count} errors"


def report_text(report: FinalReport | Mapping[str, Any]) -> str:
    """The final report as lines (a recorded report's JSON object is read first)."""
    if not isinstance(report, FinalReport):
        report = FinalReport.from_dict(report)
    lines = [f"Migration of stack {report.stack}: {report.legacy_table} → {report.new_table} — done."]
    lines.append(export_line(report.export) if report.export else "  export: none")
    if report.transform:
        t = report.transform
        lines.append(f"  transform: {t.items_in} items in, {t.items_out} out, {t.rejects} rejects")
    if report.import_check:
        lines.append(import_line(report.import_check))
    lines += ["  verify " + verify_line(kind, summary) for kind, summary in report.verify.items()]
    drift = report.drift_accepted
    if drift:
        lines.append(
            f"  drift accepted at cutover: {drift.missing_count} missing, {drift.extra_count} extra, "
            f"{drift.changed_count} changed"
        )
    if report.new_table_indexes is not None:
        indexes = report.new_table_indexes
        lines.append(f"  {report.new_table} indexes: " + ("; ".join(indexes) if indexes else "none"))
    lines += online_lines(report.online or OnlineReport())
    lines.append(
        f"  {report.legacy_table} left the stack and is kept in AWS "
        f"(deletion protection {'on' if report.legacy_deletion_protection else 'OFF'})"
    )
    if report.stage_times:
        lines.append("  stages done: " + ", ".join(f"{k} at {v}" for k, v in sorted(report.stage_times.items())))
    return "\n".join(lines)


def freeze_line(freeze: Mapping[str, Any]) -> str:
    """One line for the report's ``freeze`` object: the total, each part, what was replayed, the lag before it."""
    parts = ", ".join(f"{name} {seconds:.2f}" for name, seconds in (freeze.get("parts") or {}).items())
    line = f"freeze: writers frozen {float(freeze.get('seconds', 0)):.2f} s ({parts})"
    line += f", {freeze.get('recordsReplayed', 0)} writes replayed in it"
    if freeze.get("lagAtFreeze") is not None:
        line += f", lag at freeze {float(freeze['lagAtFreeze']):.2f} s"
    return line


def online_lines(report: OnlineReport) -> list[str]:
    """The online mode's lines of a report: freeze, catch-up, writes after the unfreeze, writes carried back."""
    lines = []
    if report.freeze:
        lines.append("  " + freeze_line(report.freeze))
    catch_up = report.catch_up
    if catch_up:
        lines.append(
            f"  catch-up: {catch_up.get('recordsReplayed', 0)} writes replayed from the legacy table's stream "
            f"in {catch_up.get('passes', 0)} passes, {catch_up.get('rejects', 0)} rejects"
        )
    if report.writes_after_unfreeze:
        lines.append(
            f"  warning: {report.writes_after_unfreeze} write(s) reached the legacy table after the unfreeze "
            "(replayed onto the new table)"
        )
    carried = report.carried_back
    if carried:
        lines.append(f"  carried back (down 3→2): {carried.get('writes', 0)} writes")
    conflicts = conflicts_line(report.conflicts or {})
    if conflicts:
        lines.append(f"  {conflicts}")
    return lines


@dataclass(frozen=True)
class _MoveResult:
    """What ``up`` or ``down`` did: the stages run (empty when already there) and the stack outputs."""

    stack: str
    from_stage: int
    stage: int
    stages_run: tuple[int, ...]
    outputs: Mapping[str, Any]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "fromStage": self.from_stage,
            "stage": self.stage,
            "stageName": stage_name(self.stage),
            "stagesRun": list(self.stages_run),
            "outputs": plain(self.outputs),
            "warnings": list(self.warnings),
        }

    def _nothing_to_do(self) -> str:
        return f"Stack {self.stack} is already at stage {self.stage} ({stage_name(self.stage)}); nothing to do."


@dataclass(frozen=True)
class UpResult(_MoveResult):
    """What ``up`` did, with the final report once stage 4 ran; online, the cutover's ``freeze`` and ``catchUp``."""

    report: FinalReport | None = None
    freeze: Mapping[str, Any] | None = None
    catch_up: Mapping[str, Any] | None = None
    conflicts: Mapping[str, Any] | None = None  # late writes not applied since the flip (the record's summary)

    @property
    def open_conflicts(self) -> int:
        """Late-write conflicts still open (``migrate conflicts`` resolves them; stage 4 waits for none)."""
        return int((self.conflicts or {}).get("open") or 0)

    def to_dict(self) -> dict[str, Any]:
        report = self.report.to_dict() if self.report else None
        data = {**super().to_dict(), "report": report, "freeze": plain(self.freeze)}
        return {**data, "catchUp": plain(self.catch_up), "conflicts": plain(self.conflicts)}

    def text(self) -> str:
        if not self.stages_run:
            head = self._nothing_to_do()
        else:
            run = ", ".join(f"{s} ({stage_name(s)})" for s in self.stages_run)
            head = f"Stack {self.stack} is at stage {self.stage} ({stage_name(self.stage)}); ran stage {run}."
        lines = [head, *(f"warning: {w}" for w in self.warnings)]
        if self.freeze and 3 in self.stages_run:
            lines.append(freeze_line(self.freeze))
        conflicts = conflicts_line(self.conflicts or {})
        if conflicts and self.open_conflicts:
            lines.append(conflicts)
        if self.report:
            lines.append(report_text(self.report))
        return "\n".join(lines)


@dataclass(frozen=True)
class DownResult(_MoveResult):
    """What ``down`` did; online, from 3 to 2, how many writes were carried back (``carried_back``)."""

    carried_back: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "carriedBack": plain(self.carried_back)}

    def text(self) -> str:
        if not self.stages_run:
            return self._nothing_to_do()
        lines = [
            f"Stack {self.stack} went back from stage {self.from_stage} to {self.stage} ({stage_name(self.stage)})."
        ]
        if self.carried_back is not None and self.carried_back.get("freeze"):
            lines.append(
                f"{self.carried_back.get('writes', 0)} write(s) made since cutover were carried back to the legacy "
                f"table; " + freeze_line(self.carried_back["freeze"])
            )
        elif self.carried_back is not None:
            lines.append("The writers never used the new table: there was nothing to carry back.")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


@dataclass(frozen=True)
class CatchUpResult:
    """What ``migrate catch-up`` did: which way it replayed, and the replay's counts (``catchUp``)."""

    stack: str
    direction: str  # "forward": legacy → new (before cutover); "reverse": new → legacy (after it)
    source_table: str
    target_table: str
    catch_up: Mapping[str, Any]
    pending_rejects: Mapping[str, Any] | None = None  # forward: rejects not yet applied, this run's and earlier

    @property
    def ok(self) -> bool:
        """Caught up, every record applied, and no reject pending from an earlier catch-up either."""
        c = self.catch_up
        pending = (self.pending_rejects or {}).get("count")
        return bool(c.get("caughtUp")) and not c.get("rejects") and not c.get("duplicates") and not pending

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "direction": self.direction,
            "source": self.source_table,
            "target": self.target_table,
            "catchUp": plain(self.catch_up),
            "pendingRejects": plain(self.pending_rejects),
            "ok": self.ok,
        }

    def problem(self) -> str:
        """What is wrong and what to do, when not :attr:`ok`."""
        c, pending = self.catch_up, self.pending_rejects or {}
        if pending.get("count"):
            shown = (pending.get("keys") or [])[:5]
            keys = "; ".join(f"{json.dumps(e['key'], ensure_ascii=False)} ({e.get('reason')})" for e in shown)
            more = pending["count"] - min(5, len(pending.get("keys") or []))
            return (
                f"{pending['count']} write(s) of {self.source_table} are not in {self.target_table}: their items "
                f"cannot be mapped ({keys}{f'; and {more} more' if more > 0 else ''}); they are kept under "
                "replay-rejects/ in the export bucket. Fix those items or the derive rules and run `migrate "
                "catch-up` again (it reads them again), or give them up with `migrate catch-up --drop-reject KEY` "
                "(`--drop-all-rejects` for every one)."
            )
        if c.get("rejects") or c.get("duplicates"):
            return (
                f"{c.get('rejects', 0)} write(s) of {self.source_table} could not be applied "
                f"({'; '.join(c.get('rejectReasons') or [])}); they are kept under replay-rejects/ in the export "
                "bucket. Fix those items (a new write replays them) or the derive rules."
            )
        return (
            f"not caught up: the lag is {c.get('lagSeconds', 0)} s; writes come faster than the replay applies them. "
            "Run `migrate catch-up` again; it goes on from where it stopped."
        )

    def text(self) -> str:
        c = self.catch_up
        state = "caught up" if c.get("caughtUp") else "NOT caught up"
        line = (
            f"Stack {self.stack}: {c.get('recordsReplayed', 0)} writes of {self.source_table} replayed onto "
            f"{self.target_table} in {c.get('passes', 0)} passes; {state} (lag {c.get('lagSeconds', 0)} s)"
        )
        if c.get("rejects") or c.get("duplicates"):
            line += f"; {c.get('rejects', 0)} rejects: " + "; ".join(c.get("rejectReasons") or [])
        pending = self.pending_rejects or {}
        if pending.get("written"):
            line += f"; {pending['written']} earlier reject(s) now applied"
        if pending.get("count"):
            line += f"; {pending['count']} reject(s) pending"
        return line


@dataclass(frozen=True)
class Status:
    """Where a stack stands: declared stage, finished stage, tables, export and import, last verification."""

    stack: str
    stage: int
    completed_stage: int
    legacy_table: str
    new_table: str | None
    active_table: str
    export: ExportSummary | None
    export_arn: str | None
    transform: TransformSummary | None
    import_source: Mapping[str, Any] | None
    import_check: ImportCheckSummary | None
    verify: Mapping[str, VerifySummary]
    drift_accepted: VerifySummary | None
    served_traffic: bool
    stage_times: Mapping[str, str]
    lock: Mapping[str, Any] | None
    next_step: str
    cutover: Mapping[str, Any] | None = None  # online: a freeze or flip in progress (migrator.core.cutover_state)
    stream: Mapping[str, Any] | None = None  # online: the legacy table's stream as stage 1 recorded it
    online: OnlineReport | None = None  # online: the catch-up and freeze reports (set with ``stream``)
    # Where things really are: the record's presence (and where it lives), each writer as Lambda has it now.
    record_found: bool = True
    record_where: str | None = None
    writers: tuple[LiveWriter, ...] = ()

    @property
    def interrupted(self) -> bool:
        """True when the declared stage was applied (or was being applied) but its steps did not finish."""
        return self.completed_stage < self.stage

    @property
    def last_verify(self) -> tuple[str, VerifySummary] | None:
        """The most recent verification (kind, summary)."""
        if not self.verify:
            return None
        kind = max(self.verify, key=lambda k: self.verify[k].at)
        return kind, self.verify[kind]

    def to_dict(self) -> dict[str, Any]:
        last = self.last_verify
        export = self.export.to_dict() if self.export else ({"arn": self.export_arn} if self.export_arn else None)
        return {
            "stack": self.stack,
            "stage": self.stage,
            "stageName": stage_name(self.stage),
            "completedStage": self.completed_stage,
            "interrupted": self.interrupted,
            "tables": {"legacy": self.legacy_table, "new": self.new_table, "active": self.active_table},
            "record": {"found": self.record_found, "where": self.record_where, "completedStage": self.completed_stage},
            "writers": [w.to_dict() for w in self.writers],
            "export": export,
            "transform": self.transform.to_dict() if self.transform else None,
            "importSource": plain(self.import_source),
            "importCheck": self.import_check.to_dict() if self.import_check else None,
            "lastVerify": {"kind": last[0], **last[1].to_dict()} if last else None,
            "verify": {kind: summary.to_dict() for kind, summary in self.verify.items()},
            "driftAccepted": self.drift_accepted.to_dict() if self.drift_accepted else None,
            "servedTraffic": self.served_traffic,
            "stageTimes": dict(self.stage_times),
            "lock": plain(self.lock),
            "cutover": plain(self.cutover),
            "online": {"stream": plain(self.stream), **self.online.to_dict()} if self.online else None,
            "next": self.next_step,
        }

    def text(self) -> str:
        lines = [self._head(), self._tables()]
        if self.export:
            lines.append(export_line(self.export))
        elif self.export_arn:
            lines.append(f"  export: {self.export_arn} started, not finished")
        else:
            lines.append("  export: none yet")
        if self.import_source:
            src = self.import_source
            lines.append(
                f"  importSource: s3://{src.get('bucket')}/{src.get('keyPrefix')} ({src.get('itemCount')} items)"
            )
        if self.import_check:
            chk = self.import_check
            lines.append(f"  import: {chk.status}, {chk.imported_count} items, {chk.error_count} errors")
        last = self.last_verify
        lines.append("  last verification: " + (verify_line(*last) if last else "none yet"))
        if self.drift_accepted:
            lines.append("  drift was accepted at cutover (--allow-drift)")
        if self.cutover:
            lines.append(f"  cutover: {self.cutover.get('summary', '')}")
        lines += online_lines(self.online or OnlineReport())
        if self.lock:
            holder = f"{self.lock.get('command')} (pid {self.lock.get('pid')} on {self.lock.get('host')})"
            if self.lock.get("stale"):
                holder += f", stale: {self.lock['stale']}; the next run takes it over (or `migrate unlock`)"
            lines.append(f"  locked by: {holder}")
        lines.append(f"  next: {self.next_step}")
        return "\n".join(lines)

    def _head(self) -> str:
        name = stage_name(self.stage)
        if not self.record_found and self.stage > 0:
            return (
                f"Stack {self.stack}: the stack file declares stage {self.stage} ({name}), and there is no migration "
                f"record in {self.record_where or 'the record store'}."
            )
        if self.completed_stage < 0:
            return f"Stack {self.stack}: stage {self.stage} ({name}), not applied by the migrator yet."
        if self.interrupted:
            return (
                f"Stack {self.stack}: stage {self.stage} ({name}) applied, its steps not finished "
                f"(last finished: stage {self.completed_stage} ({stage_name(self.completed_stage)}))."
            )
        return f"Stack {self.stack}: stage {self.stage} ({name}), done."

    def _tables(self) -> str:
        tables = f"  tables: legacy {self.legacy_table}"
        tables += f", new {self.new_table}" if self.new_table else ""
        if self.writers:  # as Lambda has them now, not as the stack declares them
            return tables + "\n  writers: " + "; ".join(w.describe() for w in self.writers)
        return tables + f"; the stack declares the consumer on {self.active_table}"


@dataclass(frozen=True)
class PlanResult:
    """What ``up --stage N`` would do: the stage moves and their steps, and the preview of the update."""

    stack: str
    stage: int
    completed_stage: int
    target: int
    moves: tuple[StageMove, ...]
    preview: Preview | None
    preview_stage: int | None
    guard_refusal: str | None
    notes: tuple[str, ...] = ()
    spec: SpecComparison | None = None  # the new table's effective spec beside the legacy one

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "stage": self.stage,
            "completedStage": self.completed_stage,
            "target": self.target,
            "moves": [m.to_dict() for m in self.moves],
            "previewStage": self.preview_stage,
            "preview": self.preview.to_dict() if self.preview else None,
            "guard": {"ok": self.guard_refusal is None, "refusal": self.guard_refusal},
            "notes": list(self.notes),
            "spec": self.spec.to_dict() if self.spec else None,
        }

    def text(self) -> str:
        if not self.moves:
            return f"Stack {self.stack} is already at stage {self.target} ({stage_name(self.target)}); nothing to do."
        since = f"stage {self.completed_stage}" if self.completed_stage >= 0 else "nothing applied yet"
        lines = [f"Plan for stack {self.stack}: {since} → stage {self.target} (changes nothing now)."]
        for move in self.moves:
            lines.append(f"stage {move.stage} ({move.name}): declares {move.declares}")
            for step in move.to_dict()["steps"]:
                lines.append(f"  - {step['text']}")
        if self.preview is not None:
            lines.append(f"The update to stage {self.preview_stage}:")
            lines.append(self.preview.summary_text())
            lines.append("guard: " + ("ok" if self.guard_refusal is None else f"would refuse: {self.guard_refusal}"))
        lines += [f"note: {n}" for n in self.notes]
        if self.spec is not None:
            lines.append(self.spec.text())
        return "\n".join(lines)


@dataclass(frozen=True)
class UnlockResult:
    """What ``migrate unlock`` did: whose lock entry it removed (``holder``), or None when there was none."""

    stack: str
    holder: Mapping[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return {"stack": self.stack, "removed": self.holder is not None, "holder": plain(self.holder)}

    def text(self) -> str:
        if self.holder is None:
            return f"Stack {self.stack} has no lock entry; nothing to do."
        h = self.holder
        return (
            f"Removed the lock of stack {self.stack} held by `migrate {h.get('command')}` (pid {h.get('pid')} on "
            f"{h.get('host')}). Rerun the command that run was doing; every step can be rerun."
        )

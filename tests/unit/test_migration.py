"""The executor and library API with fakes of the stack and of the data plane (no Pulumi, no AWS)."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import socket
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from migrator.core.config import parse_config
from migrator.core.errors import (
    EXIT_BAD_INPUT,
    EXIT_DATA,
    ConfigError,
    DataError,
    DriftError,
    ExportFailedError,
    GuardError,
    ImportFailedError,
    PulumiError,
    RecordError,
    StackBusyError,
    StageError,
    VerificationError,
)
from migrator.core.guard import PlannedChange, Preview
from migrator.core.memory_store import MemoryRecordStore
from migrator.core.ports import CHECKPOINTS, UPDATE, PendingCreate, StateResource
from migrator.core.record import Record
from migrator.core.stages import LOAD, plan_up
from migrator.core.tablespec import TableSpec
from migrator.data.export.files import ExportLayout
from migrator.data.verify.run import VerifyReport
from migrator.engine.backend_lock import EngineLock
from migrator.orchestrate.access import AwsAccess, StackConfig
from migrator.orchestrate.access import Clock as StepClock
from migrator.orchestrate.context import StageRun, StepContext
from migrator.orchestrate.locations import client_token, export_prefix
from migrator.orchestrate.migration import Migration
from migrator.orchestrate.records import RecordRepository
from migrator.orchestrate.recovery import UpdateMark
from migrator.orchestrate.registry import StepRegistry

TABLE = "aws:dynamodb/table:Table"
BUCKET = "export-bucket-1"
# The migration's tables are the MigratingTable's children, found by URN.
CHILD = "urn:pulumi:unit::table-migration::table-migration:index:MigratingTable$aws:dynamodb/table:Table::"
LEGACY_URN = CHILD + "table-legacy"
NEW_URN = CHILD + "table-new"


def example_config(stage: str = "0") -> dict[str, Any]:
    """The README's example (MyTable Name:S → MyNewTable UUID:S, UUID = uuid5(Name)), in the offline mode
    (these fakes stand in for export, import and verify; the online mode's steps are tested on moto)."""
    return {
        "aws:region": "us-east-1",
        "stage": stage,
        "online": "false",
        "legacyTable": {"name": "MyTable", "partitionKey": {"name": "Name", "type": "S"}},
        "newTable": {"name": "MyNewTable", "partitionKey": {"name": "UUID", "type": "S"}},
        "derive": {"UUID": "uuid5(Name)"},
    }


class FakeStack:
    """A StackPort in memory: config, an 'applied' stage, a preview that a real engine would roughly give."""

    def __init__(self, config: Mapping[str, Any], events: list[tuple[Any, ...]], *, name: str = "unit") -> None:
        self._name = name
        self.config = copy.deepcopy(dict(config))
        self.events = events
        self.applied: int | None = None
        self.extra_changes: dict[int, tuple[PlannedChange, ...]] = {}
        self.fail_up: dict[int, Exception] = {}
        self.protected = {"legacy": True, "new": False}
        self.records = MemoryRecordStore()  # the record store every Migration of this stack shares
        self.pending: list[Any] = []  # pending creates an interrupted update left in the state

    @property
    def name(self) -> str:
        return self._name

    project = "table-migration"

    def get_config(self) -> dict[str, Any]:
        return copy.deepcopy(self.config)

    def set_config(self, values: Mapping[str, Any]) -> None:
        for key, value in values.items():
            if key == "stage":
                self.events.append(("set-stage", int(value)))
            self.config[key] = copy.deepcopy(value)

    def remove_config(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.config.pop(key, None)

    def _target(self) -> int:
        return int(self.config["stage"])

    def preview(self, config: Mapping[str, Any] | None = None) -> Preview:
        target = int(config["stage"]) if config and "stage" in config else self._target()
        self.events.append(("preview", target))
        changes: list[PlannedChange] = []
        was = -1 if self.applied is None else self.applied
        if target == 4 and was < 4:
            changes.append(PlannedChange(LEGACY_URN, TABLE, "table-legacy", "delete", retain_on_delete=True))
        if target <= 1 and was >= 2:
            changes.append(PlannedChange(NEW_URN, TABLE, "table-new", "delete", retain_on_delete=False))
        for change in changes:
            if self.protected[
                change.name.removeprefix("table-")
            ]:  # the engine refuses to preview deleting a protected resource
                raise PulumiError(f"resource {change.urn} cannot be deleted because it is protected")
        return Preview(tuple(changes) + self.extra_changes.get(target, ()), {})

    def up(self, on_output: Callable[[str], None] | None = None) -> dict[str, Any]:
        target = self._target()
        self.events.append(("up", target))
        if target in self.fail_up:
            raise self.fail_up.pop(target)
        self.applied = target
        # What the program declares at that stage (the README's protection table).
        self.protected = {"legacy": target <= 2, "new": target >= 3}
        return self.outputs()

    def outputs(self) -> dict[str, Any]:
        stage = self.applied if self.applied is not None else 0
        out: dict[str, Any] = {"stage": stage, "legacyTableName": "MyTable"}
        if stage >= 1:
            out["exportBucket"] = BUCKET
        return out

    def pending_creates(self) -> list[Any]:
        return list(self.pending)

    def clear_pending_creates(self, urns: Iterable[str]) -> None:
        urns = list(urns)
        self.events.append(("clear-pending", urns))
        self.pending = [p for p in self.pending if p.urn not in urns]

    def cancel_update(self) -> None:
        self.events.append(("cancel",))

    def resources(self) -> list[StateResource]:
        found = []
        applied = -1 if self.applied is None else self.applied
        if 0 <= applied < 4:
            found.append(StateResource(LEGACY_URN, TABLE, "table-legacy", self.protected["legacy"], True, "MyTable"))
        if applied >= 2:
            found.append(StateResource(NEW_URN, TABLE, "table-new", self.protected["new"], False, "MyNewTable"))
        return found


@dataclass(frozen=True)
class FakeExport:
    export_arn: str
    export_time: datetime
    item_count: int
    layout: ExportLayout


@dataclass(frozen=True)
class FakeTransform:
    items_in: int
    items_out: int
    rejects: int
    layout: ExportLayout
    rejects_prefix: str | None = None


@dataclass(frozen=True)
class FakeImportCheck:
    import_arn: str
    status: str
    imported_count: int
    error_count: int
    processed_count: int


@dataclass(frozen=True)
class FakeLoad:
    table_items: int
    expected_items: int
    items_written: int
    files_skipped: int = 0
    retries: int = 0
    consumed_units: float = 3.0


def report(*, identical: bool = True, missing: int = 0, source: int = 3) -> VerifyReport:
    """A VerifyReport as verify.py returns it."""
    return VerifyReport(
        identical=identical,
        source_count=source,
        target_count=source - missing,
        missing_count=missing,
        extra_count=0,
        changed_count=0,
        samples={"missing": [], "extra": [], "changed": []},
    )


def layout(prefix: str) -> ExportLayout:
    return ExportLayout(BUCKET, prefix, prefix + "data/", (), 3, False)


class FakeData:
    """The data plane: records each call; ``fail[step]`` raises once (after an export started, for 'export')."""

    def __init__(self, events: list[tuple[Any, ...]]) -> None:
        self.events = events
        self.fail: dict[str, Exception] = {}
        self.live = report()
        self.from_export = report()
        self.protection: bool | None = True
        self.exports_started = 0
        self.described: dict[str, TableSpec] = {}

    def _maybe_fail(self, step: str) -> None:
        if step in self.fail:
            raise self.fail.pop(step)

    def export(self, *, table, bucket, prefix, client_token, export_arn, on_started) -> FakeExport:
        self.events.append(("export", table, bucket, prefix, client_token, export_arn))
        if export_arn is None:
            self.exports_started += 1
            export_arn = f"arn:aws:dynamodb:us-east-1:1:table/{table}/export/{self.exports_started}"
            on_started(export_arn)
        self._maybe_fail("export")
        return FakeExport(export_arn, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), 3, layout(prefix + "AWSDynamoDB/x/"))

    def transform(self, source, *, dest_bucket, dest_prefix, rules, key_names) -> FakeTransform:
        self.events.append(("transform", source.prefix, dest_bucket, dest_prefix, rules, key_names))
        self._maybe_fail("transform")
        return FakeTransform(3, 3, 0, layout(dest_prefix))

    def locate(self, bucket: str, prefix: str) -> ExportLayout:
        self.events.append(("locate", bucket, prefix))
        return ExportLayout(bucket, prefix, prefix, (), None, False)

    def check_import(self, *, table: str, expected_items: int) -> FakeImportCheck:
        self.events.append(("check-import", table, expected_items))
        self._maybe_fail("check-import")
        return FakeImportCheck("arn:import/1", "COMPLETED", expected_items, 0, expected_items)

    def verify_export(self, source: ExportLayout, *, target_table: str) -> VerifyReport:
        self.events.append(("verify-export", source.prefix, target_table))
        self._maybe_fail("verify-export")
        return self.from_export

    def verify_tables(self, *, source_table: str, target_table: str, deriver: Any) -> VerifyReport:
        self.events.append(("verify-tables", source_table, target_table, deriver is not None))
        return self.live

    def deletion_protection(self, table: str) -> bool | None:
        self.events.append(("deletion-protection", table))
        return self.protection

    def protect(self, table: str) -> None:
        self.events.append(("protect", table))

    def load(self, source: ExportLayout, *, table: str, expected_items: int) -> FakeLoad:
        self.events.append(("load", source.prefix, table, expected_items))
        self._maybe_fail("load")
        return FakeLoad(table_items=expected_items, expected_items=expected_items, items_written=expected_items)

    def describe(self, table: str) -> TableSpec | None:
        self.events.append(("describe", table))
        return self.described.get(table)


class Clock:
    """A clock that moves one second per call."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        self.now += 1
        return self.now


@dataclass
class World:
    stack: FakeStack
    data: FakeData
    events: list[tuple[Any, ...]]
    lock_dir: Path
    lines: list[str]

    def migration(self) -> Migration:
        """A new Migration, as a new process would make."""
        return Migration(
            self.stack,
            progress=self.lines.append,
            clock=Clock(),
            data=self.data,
            lock_dir=self.lock_dir,
            records=self.stack.records,
        )

    def kinds(self) -> list[tuple[Any, ...]]:
        """The events without their details: (kind, first detail) for stack steps, kind for data steps."""
        return [e[:2] if e[0] in ("set-stage", "preview", "up") else (e[0],) for e in self.events]


def make_world(tmp_path: Path, *, name: str = "unit") -> World:
    """A fake stack at stage 0 with the example config, a fake data plane, one shared event log."""
    events: list[tuple[Any, ...]] = []
    return World(FakeStack(example_config(), events, name=name), FakeData(events), events, tmp_path / "locks", [])


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def progress_record(stack: FakeStack) -> dict[str, Any]:
    return stack.records.load("progress") or {}


# --- up ---------------------------------------------------------------------------------------


def test_up_to_4_runs_every_stage_in_order_with_its_steps(world: World) -> None:
    # Given a fresh stack at stage 0, when going straight to stage 4
    result = world.migration().up(4)
    # then each stage is validated, set, previewed, updated, and its steps run in the contract's order
    assert world.kinds() == [
        ("set-stage", 0), ("preview", 0), ("up", 0),
        ("set-stage", 1), ("preview", 1), ("up", 1), ("export",), ("transform",),
        ("set-stage", 2), ("preview", 2), ("up", 2), ("check-import",), ("locate",), ("verify-export",),
        ("verify-tables",), ("set-stage", 3), ("preview", 3), ("up", 3),
        ("set-stage", 4), ("preview", 4), ("up", 4), ("deletion-protection",), ("describe",),
    ]  # fmt: skip
    assert result.stages_run == (0, 1, 2, 3, 4) and result.stage == 4
    record = progress_record(world.stack)
    assert record["completedStage"] == 4 and record["servedTraffic"] is True
    assert set(record["stageTimes"]) == {"0", "1", "2", "3", "4"}
    # and the report names the export, the checks and the retained legacy table
    assert result.report is not None
    assert result.report.export.arn.endswith("/export/1")
    assert result.report.import_check.status == "COMPLETED"
    assert set(result.report.verify) == {"export", "live"}
    assert "lock" not in world.stack.config  # released


def test_stage_1_exports_to_the_contract_prefix_transforms_and_records_import_source(world: World) -> None:
    world.migration().up(1)
    export = next(e for e in world.events if e[0] == "export")
    transform = next(e for e in world.events if e[0] == "transform")
    # The export: bucket from the stack outputs, prefix exports/<stack>/<legacy>/, a token from stack + table
    assert export[1:5] == ("MyTable", BUCKET, "exports/unit/MyTable/", client_token("unit", "MyTable"))
    # The transform: into transformed/<stack>/<new>/ with the derive rules and the new key
    assert transform[2:] == (BUCKET, "transformed/unit/MyNewTable/", ("UUID=uuid5(Name)",), ("UUID",))
    # importSource points at the transform's data/ folder with its item count
    assert world.stack.config["importSource"] == {
        "bucket": BUCKET,
        "keyPrefix": "transformed/unit/MyNewTable/data/",
        "compression": "GZIP",
        "itemCount": 3,
    }


def test_a_pure_rename_imports_the_export_itself(world: World) -> None:
    world.stack.config["newTable"] = {"name": "MyNewTable", "partitionKey": {"name": "Name", "type": "S"}}
    del world.stack.config["derive"]
    world.migration().up(1)
    assert not [e for e in world.events if e[0] == "transform"]
    assert world.stack.config["importSource"]["keyPrefix"] == "exports/unit/MyTable/AWSDynamoDB/x/data/"


def test_stage_2_checks_the_import_then_verifies_against_the_import_source(world: World) -> None:
    world.migration().up(2)
    assert ("check-import", "MyNewTable", 3) in world.events
    assert ("locate", BUCKET, "transformed/unit/MyNewTable/data/") in world.events
    assert ("verify-export", "transformed/unit/MyNewTable/data/", "MyNewTable") in world.events


def test_a_completed_stage_is_a_no_op(world: World) -> None:
    migration = world.migration()
    migration.up(2)
    world.events.clear()
    result = migration.up(2)
    assert result.stages_run == () and result.stage == 2
    assert [e for e in world.events if e[0] in ("preview", "up", "export")] == []


def test_up_backwards_is_refused_and_changes_nothing(world: World) -> None:
    world.migration().up(2)
    before = copy.deepcopy(world.stack.config)
    with pytest.raises(StageError) as caught:
        world.migration().up(1)
    assert caught.value.exit_code == EXIT_BAD_INPUT
    assert "migrate down --stage 1" in str(caught.value)
    assert world.stack.config == before


@pytest.mark.parametrize("stage", [-1, 5])
def test_up_to_a_stage_outside_0_to_4_changes_nothing(world: World, stage: int) -> None:
    before = copy.deepcopy(world.stack.config)
    with pytest.raises(StageError):
        world.migration().up(stage)
    assert world.stack.config == before and world.events == []


def test_guard_refusal_puts_the_stage_back_and_does_not_update(world: World) -> None:
    # Given a stack at stage 1 whose stage 2 preview would replace the legacy table
    world.migration().up(1)
    world.stack.extra_changes[2] = (PlannedChange(LEGACY_URN, TABLE, "table-legacy", "replace", physical_id="MyTable"),)
    world.events.clear()
    # when going to stage 2
    with pytest.raises(GuardError) as caught:
        world.migration().up(2)
    # then the update never runs, the stage is back at 1, stage 1 is still the last one done
    assert caught.value.exit_code == EXIT_DATA
    assert "MyTable" in str(caught.value)
    assert ("up", 2) not in world.events
    assert world.stack.config["stage"] == "1"
    assert progress_record(world.stack)["completedStage"] == 1


def test_drift_at_cutover_is_refused_before_the_update(world: World) -> None:
    world.migration().up(2)
    world.data.live = report(identical=False, missing=2)
    world.events.clear()
    with pytest.raises(DriftError) as caught:
        world.migration().up(3)
    assert "--allow-drift" in str(caught.value) and "2 missing" in str(caught.value)
    assert [e for e in world.events if e[0] in ("set-stage", "up")] == []
    record = progress_record(world.stack)
    assert record["completedStage"] == 2 and record["servedTraffic"] is False
    assert record["verify"]["live"]["missingCount"] == 2


def test_drift_accepted_with_allow_drift_is_recorded(world: World) -> None:
    world.migration().up(2)
    world.data.live = report(identical=False, missing=2)
    result = world.migration().up(3, allow_drift=True)
    assert result.stage == 3 and any("Drift accepted" in w for w in result.warnings)
    assert progress_record(world.stack)["driftAccepted"]["missingCount"] == 2


def test_verification_differences_at_stage_2_stop_with_exit_1(world: World) -> None:
    world.migration().up(1)
    world.data.from_export = report(identical=False, missing=1)
    with pytest.raises(VerificationError) as caught:
        world.migration().up(2)
    assert caught.value.exit_code == EXIT_DATA
    assert world.stack.config["stage"] == "2"
    assert progress_record(world.stack)["completedStage"] == 1
    assert "applied, its steps not finished" in world.migration().status().next_step


def test_a_crash_after_the_export_started_resumes_on_the_same_export(world: World) -> None:
    # Given stage 1 failing right after the export started
    world.data.fail["export"] = ConnectionError("network gone")
    with pytest.raises(ConnectionError):
        world.migration().up(1)
    arn = progress_record(world.stack)["exportArn"]
    assert arn and world.stack.config["stage"] == "1"
    status = world.migration().status()
    assert status.interrupted and "rerun `migrate up --stage 1`" in status.text()
    # when the same command runs again
    world.migration().up(1)
    # then it waits on the recorded export instead of starting another, and finishes stage 1
    exports = [e for e in world.events if e[0] == "export"]
    assert [e[5] for e in exports] == [None, arn]
    assert world.data.exports_started == 1
    assert progress_record(world.stack)["completedStage"] == 1


def test_a_crash_in_the_transform_reruns_it_and_finishes(world: World) -> None:
    world.data.fail["transform"] = OSError("disk full")
    with pytest.raises(OSError):
        world.migration().up(1)
    assert "importSource" not in world.stack.config
    world.migration().up(2)
    assert [e[0] for e in world.events].count("transform") == 2
    assert world.data.exports_started == 1
    assert progress_record(world.stack)["completedStage"] == 2


def test_a_failed_update_leaves_the_stage_to_resume(world: World) -> None:
    world.stack.fail_up[1] = PulumiError("update failed")
    with pytest.raises(PulumiError):
        world.migration().up(1)
    assert world.stack.config["stage"] == "1" and progress_record(world.stack)["completedStage"] == 0
    assert "stage 1 applied, its steps not finished" in world.migration().status().next_step
    world.migration().up(1)
    assert progress_record(world.stack)["completedStage"] == 1


def test_a_failed_export_is_not_waited_on_again(world: World) -> None:
    world.data.fail["export"] = ExportFailedError("export FAILED")
    with pytest.raises(ExportFailedError):
        world.migration().up(1)
    record = progress_record(world.stack)
    assert record["exportArn"] is None and record["exportAttempt"] == 2
    world.migration().up(1)
    retry = [e for e in world.events if e[0] == "export"][-1]
    assert retry[3] == export_prefix("unit", "MyTable", 2) == "exports/unit/MyTable/attempt-2/"
    assert retry[4] == client_token("unit", "MyTable", 2) != client_token("unit", "MyTable", 1)
    assert retry[5] is None


def test_stage_4_drops_the_legacy_table_without_any_unprotect_and_keeps_it_in_aws(world: World) -> None:
    world.data.protection = False
    world.migration().up(3)
    assert world.stack.protected["legacy"] is False  # stage 3 declares it unprotected
    world.events.clear()
    world.migration().up(4)
    assert world.kinds()[:3] == [("set-stage", 4), ("preview", 4), ("up", 4)]
    assert ("protect", "MyTable") in world.events  # deletion protection turned back on in AWS


def test_a_stack_left_at_stage_3_by_an_older_version_is_unprotected_by_an_update_first(world: World) -> None:
    # Given stage 3 applied by 0.1, whose program kept the legacy table protected in the state
    world.migration().up(3)
    world.stack.protected["legacy"] = True
    world.events.clear()
    # when going to stage 4
    world.migration().up(4)
    # then stage 3 is applied again (previewed and guarded), which clears the flag, and stage 4 follows.
    assert world.kinds()[:6] == [
        ("set-stage", 3), ("preview", 3), ("up", 3), ("set-stage", 4), ("preview", 4), ("up", 4),
    ]  # fmt: skip
    assert any("still protected" in line for line in world.lines)


def test_stage_4_fails_when_the_legacy_table_is_gone_from_aws(world: World) -> None:
    world.migration().up(3)
    world.data.protection = None
    with pytest.raises(DataError, match="no longer in AWS"):
        world.migration().up(4)
    assert progress_record(world.stack)["completedStage"] == 3


# --- down -------------------------------------------------------------------------------------


def test_down_3_to_2_warns_and_keeps_served_traffic(world: World) -> None:
    world.migration().up(3)
    result = world.migration().down(2)
    assert result.stage == 2 and "since cutover" in result.warnings[0]
    assert world.stack.config["stage"] == "2"
    record = progress_record(world.stack)
    assert record["completedStage"] == 2 and record["servedTraffic"] is True
    with pytest.raises(StageError, match="served traffic"):
        world.migration().down(1)


def test_down_2_to_1_drops_the_new_table_and_forgets_the_import(world: World) -> None:
    # Given stage 2 applied but its verification failed
    world.migration().up(1)
    world.data.from_export = report(identical=False, missing=1)
    with pytest.raises(VerificationError):
        world.migration().up(2)
    world.events.clear()
    # when going back to 1
    world.migration().down(1)
    # then the new table (declared unprotected at stage 2) is dropped, allowed by the guard; the import forgotten
    assert world.kinds()[:3] == [("set-stage", 1), ("preview", 1), ("up", 1)]
    assert "importSource" not in world.stack.config
    record = progress_record(world.stack)
    assert record["completedStage"] == 0 and record["exportArn"] is None and record["exportAttempt"] == 2
    # and the next up takes a fresh export and imports again
    world.data.from_export = report()
    world.migration().up(2)
    assert world.data.exports_started == 2
    # into folders of their own, so the new files never mix with the first export's
    last_export = [e for e in world.events if e[0] == "export"][-1]
    last_transform = [e for e in world.events if e[0] == "transform"][-1]
    assert last_export[3] == "exports/unit/MyTable/attempt-2/"
    assert last_transform[3] == "transformed/unit/MyNewTable/attempt-2/"
    assert world.stack.config["importSource"]["keyPrefix"] == "transformed/unit/MyNewTable/attempt-2/data/"
    assert progress_record(world.stack)["completedStage"] == 2


@pytest.mark.parametrize(("up_to", "down_to", "reason"), [(4, 3, "left the stack"), (1, 0, "orphan")])
def test_unsafe_downs_are_refused_and_change_nothing(world: World, up_to: int, down_to: int, reason: str) -> None:
    world.migration().up(up_to)
    before = copy.deepcopy(world.stack.config)
    with pytest.raises(StageError, match=reason):
        world.migration().down(down_to)
    assert world.stack.config == before


def test_a_refused_down_preview_restores_stage_and_record(world: World) -> None:
    world.migration().up(3)
    world.stack.extra_changes[2] = (PlannedChange(NEW_URN, TABLE, "table-new", "replace"),)
    before = copy.deepcopy(world.stack.config)
    with pytest.raises(GuardError):
        world.migration().down(2)
    assert world.stack.config == before


# --- status and plan --------------------------------------------------------------------------


def test_status_in_words_and_json(world: World) -> None:
    world.migration().up(2)
    status = world.migration().status()
    data = status.to_dict()
    assert data["stage"] == 2 and data["completedStage"] == 2 and data["interrupted"] is False
    assert data["tables"] == {"legacy": "MyTable", "new": "MyNewTable", "active": "MyTable"}
    assert data["export"]["itemCount"] == 3
    assert data["importCheck"]["status"] == "COMPLETED"
    assert data["lastVerify"]["kind"] == "export" and data["lastVerify"]["identical"] is True
    assert "migrate up --stage 3" in data["next"]
    assert "stage 2 (dual), done" in status.text()


def test_status_of_a_fresh_stack_says_to_run_stage_0(world: World) -> None:
    status = world.migration().status()
    assert status.completed_stage == -1 and "up --stage 0" in status.next_step


def test_plan_previews_the_target_and_changes_nothing(world: World) -> None:
    world.migration().up(3)
    before = copy.deepcopy(world.stack.config)
    world.events.clear()
    plan = world.migration().plan(4)
    assert world.stack.config == before
    assert ("up", 4) not in world.events
    assert plan.preview_stage == 4 and plan.guard_refusal is None
    assert [m.stage for m in plan.moves] == [4]
    assert "delete[retain]" in plan.text()
    assert plan.to_dict()["guard"] == {"ok": True, "refusal": None}


def test_plan_never_writes_the_stage_into_the_stack_file(world: World) -> None:
    # Given stage 1 done, when planning stage 2
    world.migration().up(1)
    world.events.clear()
    plan = world.migration().plan(2)
    # then stage 2 was previewed without ever being set in the stack config (a kill could leave it there).
    assert plan.preview_stage == 2 and ("preview", 2) in world.events
    assert [e for e in world.events if e[0] == "set-stage"] == []


def test_plan_reports_a_guard_refusal_without_raising(world: World) -> None:
    world.migration().up(1)
    world.stack.extra_changes[2] = (PlannedChange(LEGACY_URN, TABLE, "table-legacy", "replace"),)
    plan = world.migration().plan(2)
    assert plan.guard_refusal and "replace" in plan.guard_refusal
    assert world.stack.config["stage"] == "1"


def test_plan_from_stage_0_previews_stage_1_until_import_source_exists(world: World) -> None:
    world.migration().up(0)
    plan = world.migration().plan(3)
    assert [m.stage for m in plan.moves] == [1, 2, 3]
    assert plan.preview_stage == 1
    assert any("importSource" in n for n in plan.notes)


def test_an_interrupted_cutover_resumes_without_calling_the_consumer_s_writes_drift(world: World) -> None:
    # Given stage 3's update failing after the traffic moved (the new table may now hold new writes)
    world.migration().up(2)
    world.stack.fail_up[3] = PulumiError("update failed")
    with pytest.raises(PulumiError):
        world.migration().up(3, allow_drift=False)
    world.data.live = report(identical=False, missing=5)  # the consumer wrote to the new table
    world.events.clear()
    # when rerunning stage 3
    result = world.migration().up(3)
    # then no drift check runs again and the stage finishes
    assert result.stage == 3
    assert not [e for e in world.events if e[0] == "verify-tables"]


def test_status_text_of_an_interrupted_stage_says_what_to_rerun(world: World) -> None:
    world.migration().up(1)
    world.data.fail["check-import"] = ConnectionError("gone")
    with pytest.raises(ConnectionError):
        world.migration().up(2)
    text = world.migration().status().text()
    assert "stage 2 (dual) applied, its steps not finished (last finished: stage 1 (export))" in text
    assert "rerun `migrate up --stage 2`" in text
    assert "not applied by the migrator yet" in make_world(world.lock_dir).migration().status().text()


def test_a_guard_refusal_at_cutover_does_not_record_served_traffic(world: World) -> None:
    # Given stage 2 done, and a stage 3 preview that would replace the new table
    world.migration().up(2)
    world.stack.extra_changes[3] = (PlannedChange(NEW_URN, TABLE, "table-new", "replace"),)
    # when the cutover is refused
    with pytest.raises(GuardError):
        world.migration().up(3)
    # then the new table is not marked as having served traffic, so going back to 1 stays possible
    assert progress_record(world.stack)["servedTraffic"] is False
    world.migration().down(1)
    assert world.stack.config["stage"] == "1"


def test_missing_region_is_bad_input_before_anything_changes(world: World) -> None:
    del world.stack.config["aws:region"]
    before = copy.deepcopy(world.stack.config)
    with pytest.raises(ConfigError) as caught:
        world.migration().up(1)
    assert caught.value.exit_code == EXIT_BAD_INPUT and "aws:region" in str(caught.value)
    assert world.stack.config == before and world.events == []


def test_a_failed_down_update_leaves_a_state_that_down_can_finish(world: World) -> None:
    # Given stage 3, and the update back to 2 failing half way
    world.migration().up(3)
    world.stack.fail_up[2] = PulumiError("update failed")
    with pytest.raises(PulumiError):
        world.migration().down(2)
    # then the record is not ahead of the declared stage, status says to rerun the down,
    assert world.stack.config["stage"] == "2" and progress_record(world.stack)["completedStage"] == 2
    assert "rerun `migrate down --stage 2`" in world.migration().status().next_step
    # and the same command applies the update again and finishes the move
    world.events.clear()
    result = world.migration().down(2)
    assert ("up", 2) in world.events and result.stages_run == (2,)
    assert world.stack.applied == 2 and progress_record(world.stack)["downPending"] is None
    world.events.clear()
    assert world.migration().down(2).stages_run == () and world.events == []


# --- the record lives in the record store, the stage in the working copy ------------------------------


def test_the_progress_record_is_kept_in_the_record_store_not_in_the_stack_file(world: World) -> None:
    world.migration().up(2)

    assert "progress" not in world.stack.config and "lock" not in world.stack.config
    assert progress_record(world.stack)["completedStage"] == 2


@pytest.mark.parametrize("command", ["up", "plan", "status"])
def test_a_stale_stack_file_is_refused_naming_down(world: World, command: str) -> None:
    # Given stage 3 done, and a working copy whose stack file still says stage 2 (an old checkout)
    world.migration().up(3)
    world.stack.config["stage"] = "2"
    before, events = copy.deepcopy(world.stack.config), len(world.events)

    # when up, plan or status runs there
    with pytest.raises(StageError) as caught:
        if command == "status":
            world.migration().status()
        else:
            getattr(world.migration(), command)(3)

    # then it refuses (exit 2), says the stack file is behind the record, names `down`, and changes nothing.
    assert caught.value.exit_code == EXIT_BAD_INPUT
    assert "declares stage 2, but the migration record says stage 3 is done" in str(caught.value)
    assert "roll the stack back" in str(caught.value) and "migrate down --stage 2" in str(caught.value)
    assert world.stack.config == before and len(world.events) == events


def test_down_goes_back_from_where_the_record_says_the_stack_is(world: World) -> None:
    # Given stage 3 done, and a stale working copy at stage 2 from which going back to 2 is meant
    world.migration().up(3)
    world.stack.config["stage"] = "2"
    world.events.clear()

    result = world.migration().down(2)

    # then the move 3→2 runs (with its warning) and the record agrees with the stack file again.
    assert result.from_stage == 3 and result.stages_run == (2,) and "since cutover" in result.warnings[0]
    assert ("up", 2) in world.events and progress_record(world.stack)["completedStage"] == 2
    assert world.migration().status().stage == 2


def test_a_record_left_in_stack_config_by_version_0_1_is_moved_to_the_record_store(world: World) -> None:
    # Given a stack migrated to stage 2 by version 0.1: its record in stack config, none in the store
    world.migration().up(2)
    old = progress_record(world.stack)
    world.stack.records = MemoryRecordStore()
    world.stack.config["progress"] = json.dumps(old)

    # when status reads it, nothing moves; when the next run starts, it moves once
    assert world.migration().status().completed_stage == 2
    assert "progress" in world.stack.config and world.stack.records.load("progress") is None
    world.migration().up(3)

    # then it continues from stage 2, and the record is in the store only.
    assert progress_record(world.stack)["completedStage"] == 3
    assert progress_record(world.stack)["exportArn"] == old["exportArn"]
    assert "progress" not in world.stack.config
    assert any("Moved the migration record from stack config table-migration:progress" in x for x in world.lines)


# --- pending creates an interrupted update left --------------------------------------------------------


def _pending(name: str, physical: str | None, type_: str = TABLE) -> PendingCreate:
    urn = CHILD + name if type_ == TABLE else f"urn:pulumi:unit::table-migration::{type_}::{name}"
    return PendingCreate(urn, type_, name, physical)


@pytest.mark.parametrize(("exists", "adopt"), [(True, "MyNewTable"), (None, None)])
def test_a_pending_create_of_the_new_table_is_resolved_before_the_next_preview(
    world: World, exists: bool | None, adopt: str | None
) -> None:
    # Given stage 1 done, and a pending create of the new table left by a killed stage 2 update
    world.migration().up(1)
    world.stack.pending = [_pending("table-new", "MyNewTable")]
    world.data.protection = exists  # deletion_protection() answers None when the table does not exist
    world.events.clear()
    declared: list[Any] = []
    real_preview = world.stack.preview
    world.stack.preview = lambda config=None: (
        declared.append(world.stack.config.get("adoptNewTable")),
        real_preview(config),
    )[1]  # type: ignore[method-assign]

    world.migration().up(2)

    # then the pending create is cleared before anything else, and a table that exists is declared for import
    assert world.events[1] == ("clear-pending", [NEW_URN])
    assert world.kinds()[2:5] == [("set-stage", 2), ("preview", 2), ("up", 2)]
    assert declared == [adopt]
    # and once the update took it in, the stack config no longer declares the import
    assert "adoptNewTable" not in world.stack.config


def test_a_pending_create_of_something_else_is_left_to_the_user(world: World) -> None:
    world.migration().up(1)
    world.stack.pending = [_pending("hello-world", "HelloWorld-unit", "aws:lambda/function:Function")]
    with pytest.raises(PulumiError) as caught:
        world.migration().up(2)
    text = str(caught.value)
    assert (
        "pending creates of HelloWorld-unit "
        "(urn:pulumi:unit::table-migration::aws:lambda/function:Function::hello-world)" in text
    )
    assert "pulumi refresh --stack unit --clear-pending-creates" in text
    assert ("up", 2) not in world.events and world.stack.config["stage"] == "1"


@pytest.mark.parametrize("name", ["new", "legacy", "table-new"])
def test_a_pending_create_of_a_user_s_own_table_is_never_adopted(world: World, name: str) -> None:
    # Given a pending create of a table of the user's own program (top level), named like one of ours
    world.migration().up(1)
    urn = f"urn:pulumi:unit::table-migration::{TABLE}::{name}"
    world.stack.pending = [PendingCreate(urn, TABLE, name, "MyNewTable")]
    world.events.clear()

    with pytest.raises(PulumiError) as caught:
        world.migration().up(2)

    # then it is left to the user: no refresh adopts or clears it, nothing is updated
    assert urn in str(caught.value) and "pulumi refresh --stack unit" in str(caught.value)
    assert not [e for e in world.events if e[0] in ("clear-pending", "up")]


def test_plan_says_what_up_will_do_with_a_pending_create(world: World) -> None:
    world.migration().up(1)
    world.stack.pending = [_pending("table-new", "MyNewTable")]
    plan = world.migration().plan(2)
    assert any("MyNewTable pending: `migrate up` adopts the new table if it exists" in note for note in plan.notes)
    assert world.stack.pending  # plan changes nothing


def test_the_record_store_is_the_migration_s_port_for_checkpoints(world: World) -> None:
    # A later step (an online cutover's replay) saves checkpoints often: one small write each,
    # never a stack config write and never a rewrite of the progress record.
    world.migration().up(2)
    progress, writes = progress_record(world.stack), world.stack.records.writes
    migration = world.migration()
    for second in range(5):
        migration.records.save(CHECKPOINTS, {"shard-0001": f"seq-{second}"})
    assert world.stack.records.writes == writes + 5
    assert migration.records.load(CHECKPOINTS) == {"shard-0001": "seq-4"}
    assert progress_record(world.stack) == progress and "checkpoints" not in world.stack.config


@pytest.mark.parametrize(
    ("progress", "problem"),
    [
        ("{completedStage: 2", "is not JSON"),
        (["completedStage", 2], "is not an object"),
        ({"completedStage": "two"}, "completedStage is not a whole number"),
    ],
)
@pytest.mark.parametrize(
    "command",
    [
        lambda m: m.up(3),
        lambda m: m.down(1),
        lambda m: m.status(),
        lambda m: m.plan(3),
    ],
    ids=["up", "down", "status", "plan"],
)
def test_a_broken_progress_record_is_bad_input_and_changes_nothing(
    world: World, command: Callable[[Migration], Any], progress: Any, problem: str
) -> None:
    # Given stage 2 done, then the migrator's record damaged by hand
    world.migration().up(2)
    world.stack.records.store_text("progress", progress if isinstance(progress, str) else json.dumps(progress))
    before, stored = copy.deepcopy(world.stack.config), world.stack.records.snapshot()
    world.events.clear()

    # when any command reads it, then it stops with exit 2, naming the key and the fix, before changing anything
    with pytest.raises(RecordError) as caught:
        command(world.migration())
    assert caught.value.exit_code == EXIT_BAD_INPUT
    assert str(caught.value).startswith(f"The migration record (progress): {problem}")
    assert "delete the entry" in str(caught.value)
    assert world.stack.config == before and world.stack.records.snapshot() == stored and world.events == []


# --- newTable.load: write ------------------------------------------------------------------------------


def test_with_load_write_stage_2_loads_the_export_instead_of_checking_an_import(world: World) -> None:
    # Given a new table loaded by writing (the program creates it empty)
    world.stack.config["newTable"] = {**world.stack.config["newTable"], "load": "write"}
    world.migration().up(1)
    world.events.clear()

    world.migration().up(2)

    # then stage 2's update is followed by the load (from importSource, counting the expected items), then verify
    assert world.kinds() == [("set-stage", 2), ("preview", 2), ("up", 2), ("locate",), ("load",), ("locate",),
                             ("verify-export",)]  # fmt: skip
    load = next(e for e in world.events if e[0] == "load")
    assert load[2:] == ("MyNewTable", 3)
    assert not [e for e in world.events if e[0] == "check-import"]
    check = progress_record(world.stack)["importCheck"]
    assert check["method"] == "write" and check["importedCount"] == check["expectedCount"] == 3


def test_a_failed_load_is_resumed_by_the_rerun_and_stage_2_is_not_recorded_before(world: World) -> None:
    world.stack.config["newTable"] = {**world.stack.config["newTable"], "load": "write"}
    world.migration().up(1)
    world.data.fail["load"] = ImportFailedError("Table MyNewTable holds 2 items after the load, but 3 were expected.")

    with pytest.raises(ImportFailedError):
        world.migration().up(2)
    assert progress_record(world.stack)["completedStage"] == 1

    world.migration().up(2)
    assert progress_record(world.stack)["completedStage"] == 2
    assert len([e for e in world.events if e[0] == "load"]) == 2


def test_the_final_report_lists_the_new_table_s_indexes_as_aws_describes_them(world: World) -> None:
    world.data.described["MyNewTable"] = parse_config(
        {
            "legacyTable": {
                "name": "MyNewTable",
                "partitionKey": {"name": "UUID", "type": "S"},
                "globalSecondaryIndexes": [
                    {"name": "ByScore", "partitionKey": {"name": "Score", "type": "N"}, "projection": "KEYS_ONLY"}
                ],
            }
        }
    ).legacy

    result = world.migration().up(4)

    assert result.report is not None
    assert result.report.new_table_indexes == ("ByScore (global): Score (N); KEYS_ONLY",)
    assert "MyNewTable indexes: ByScore (global): Score (N); KEYS_ONLY" in result.text()


@dataclasses.dataclass
class _Run(StageRun):
    """A stage run that says whether a replay has written to the new table since the import."""

    replayed: bool = False

    def replayed_since_import(self) -> bool:
        return self.replayed


def step_context(world: World) -> StepContext:
    """The step context of the world's stack, as a Migration builds it."""
    config = StackConfig(world.stack)
    aws = AwsAccess(config, data=world.data, progress=lambda _: None)
    records = RecordRepository(
        config, aws, project=world.stack.project, progress=lambda _: None, store=world.stack.records
    )
    return StepContext(world.stack, config, records, aws, lambda _: None, StepClock())


@pytest.mark.parametrize(("loaded", "replayed", "loads"), [(False, True, 1), (True, False, 1), (True, True, 0)])
def test_a_rerun_of_the_load_after_the_replay_began_writes_nothing(
    world: World, loaded: bool, replayed: bool, loads: int
) -> None:
    # Given stage 1 done with the new table loaded by writing, and stage 2's load finished or not, replayed onto or not
    world.stack.config["newTable"] = {**world.stack.config["newTable"], "load": "write"}
    world.migration().up(1)
    record = Record.from_config(progress_record(world.stack), declared_stage=2)
    if loaded:
        record = record.with_(import_check={"method": "write", "status": "COMPLETED"})
    config = parse_config({**world.stack.config, "stage": "2", "importSource": record.import_source})
    (move,) = plan_up(1, 2, load_write=True)
    steps = StepRegistry(step_context(world))
    world.events.clear()

    # when the load step runs again
    steps.run(_Run(move, config, record, 2, replayed=replayed), (LOAD,))

    # then it writes the export only when the replay has not yet written newer versions over it
    assert len([e for e in world.events if e[0] == "load"]) == loads


def _dead_pid() -> int:
    """A pid that no process has any more (a child that has exited and been reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _busy(host: str, pid: int, at: str) -> StackBusyError:
    return StackBusyError("Stack unit is locked by another update.", holders=(EngineLock("root", host, pid, at),))


def test_a_lock_that_this_host_s_killed_update_left_is_cancelled_and_the_update_retried(world: World) -> None:
    # Given stage 1 done, and the mark of a stage 2 update whose process was killed on this host
    world.migration().up(1)
    dead, host = _dead_pid(), socket.gethostname()
    world.stack.records.save(UPDATE, UpdateMark(host, dead, 2, "2026-12-07T06:00:00Z").to_dict())
    world.stack.fail_up[2] = _busy(host, dead, "2026-12-07T06:00:01Z")
    world.events.clear()

    world.migration().up(2)

    # then the backend's lock is cancelled once and the update runs again, and no mark is left behind
    assert [e for e in world.events if e[0] in ("up", "cancel")] == [("up", 2), ("cancel",), ("up", 2)]
    assert world.stack.records.load(UPDATE) is None
    assert any("cancelling it (`pulumi cancel`)" in line for line in world.lines)


@pytest.mark.parametrize(
    ("mark_pid", "holder", "reason"),
    [
        ("dead", ("other-host", "dead"), "a lock was taken on other-host"),
        ("dead", ("here", "alive"), "the process holding the lock"),
        ("alive", ("here", "dead"), "is still alive"),
        (None, ("here", "dead"), "no run of the migrator recorded an update"),
    ],
)
def test_a_lock_that_is_not_provably_this_host_s_dead_run_is_never_cancelled(
    world: World, mark_pid: str | None, holder: tuple[str, str], reason: str
) -> None:
    world.migration().up(1)
    dead, host = _dead_pid(), socket.gethostname()
    pids = {"dead": dead, "alive": os.getppid()}
    if mark_pid is not None:
        world.stack.records.save(UPDATE, UpdateMark(host, pids[mark_pid], 2, "2026-12-07T06:00:00Z").to_dict())
    world.stack.fail_up[2] = _busy(host if holder[0] == "here" else holder[0], pids[holder[1]], "2026-12-07T06:00:01Z")
    world.events.clear()

    with pytest.raises(StackBusyError) as caught:
        world.migration().up(2)

    assert "It is not cancelled: " in str(caught.value) and reason in str(caught.value)
    assert ("cancel",) not in world.events


def test_plan_reads_the_stack_config_once(world: World) -> None:
    # Each read of the stack config is one `pulumi config` process on the real engine: plan makes one.
    world.migration().up(1)
    reads: list[int] = []
    real_get = world.stack.get_config
    world.stack.get_config = lambda: (reads.append(1), real_get())[1]  # type: ignore[method-assign]

    world.migration().plan(3)

    assert len(reads) == 1

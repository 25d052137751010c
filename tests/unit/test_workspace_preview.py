"""Preview through the workspace adapter: engine events → PlannedChanges → the guard.

The recording command plays a canned engine-event log the way the CLI delivers it: over the SDK's
gRPC events server for CLI versions above 3.205 (this SDK's default), into the tailed event-log
file for older ones. The payloads follow the engine's JSON (``resourcePreEvent.metadata``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest
from pulumi.automation import CommandResult, EngineEvent
from pulumi.runtime.proto import events_pb2, events_pb2_grpc

from migrator.core.errors import GuardError, PulumiError
from migrator.core.guard import TABLE_TYPE, AllowedChange, check_preview
from migrator.core.memory_store import MemoryRecordStore
from migrator.engine.workspace import PulumiWorkspace, planned_change
from migrator.orchestrate.migration import Migration
from tests.unit.test_workspace import RecordingCommand

STACK = "dev"
PREFIX = "urn:pulumi:dev::table-migration::"
COMPONENT = "table-migration:index:MigratingTable"
PROVIDER = PREFIX + "pulumi:providers:aws::default_7_51_0::0b6c"
FUNCTION_TYPE = "aws:lambda/function:Function"


def urn(type_: str, name: str, *, parent: str | None = COMPONENT) -> str:
    return f"{PREFIX}{parent}${type_}::{name}" if parent else f"{PREFIX}{type_}::{name}"


def state(type_: str, name: str, *, id_: str = "", retain: bool = False, inputs: dict | None = None) -> dict:
    return {
        "type": type_,
        "urn": urn(type_, name),
        "id": id_,
        "parent": f"{PREFIX}{COMPONENT}::table",
        "provider": PROVIDER,
        "custom": True,
        "protect": False,
        "retainOnDelete": retain,
        "inputs": inputs or {},
        "outputs": {},
    }


def pre_event(
    seq: int,
    op: str,
    type_: str,
    name: str,
    *,
    old: dict | None = None,
    new: dict | None = None,
    keys: list[str] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"op": op, "urn": urn(type_, name), "type": type_, "provider": PROVIDER}
    if old:
        metadata["old"] = old
    if new:
        metadata["new"] = new
    if keys:
        metadata["keys"] = keys
        metadata["diffs"] = keys
        metadata["detailedDiff"] = {k: {"diffKind": "update-replace", "inputDiff": True} for k in keys}
    return {"sequence": seq, "timestamp": 1764183600, "resourcePreEvent": {"metadata": metadata, "planning": True}}


def summary(seq: int, changes: dict[str, int]) -> dict[str, Any]:
    return {
        "sequence": seq,
        "timestamp": 1764183601,
        "summaryEvent": {"maybeCorrupt": False, "durationSeconds": 1, "resourceChanges": changes, "PolicyPacks": {}},
    }


def stage_four_events() -> list[dict[str, Any]]:
    """Stage 4 (retire): the legacy table leaves the program (retained); the consumer is unchanged."""
    return [
        {"sequence": 0, "timestamp": 1764183600, "preludeEvent": {"config": {"table-migration:stage": "4"}}},
        pre_event(
            1,
            "same",
            FUNCTION_TYPE,
            "hello-world",
            old=state(FUNCTION_TYPE, "hello-world", id_="fn"),
            new=state(FUNCTION_TYPE, "hello-world", id_="fn"),
        ),
        pre_event(2, "delete", TABLE_TYPE, "legacy", old=state(TABLE_TYPE, "legacy", id_="MyTable", retain=True)),
        {
            "sequence": 3,
            "timestamp": 1764183600,
            "diagnosticEvent": {"message": "note", "color": "never", "severity": "info"},
        },
        summary(4, {"delete": 1, "same": 6}),
        {"sequence": 5, "timestamp": 1764183601, "cancelEvent": {}},
    ]


def key_change_events() -> list[dict[str, Any]]:
    """A key schema change of the new table after it exists: the engine plans a replacement."""
    old = state(TABLE_TYPE, "new", id_="MyNewTable", inputs={"name": "MyNewTable", "hashKey": "UUID"})
    new = state(TABLE_TYPE, "new", inputs={"name": "MyNewTable", "hashKey": "Id"})
    return [
        pre_event(1, "create-replacement", TABLE_TYPE, "new", old=old, new=new, keys=["hashKey", "attributes"]),
        pre_event(2, "replace", TABLE_TYPE, "new", old=old, new=new, keys=["hashKey", "attributes"]),
        pre_event(3, "delete-replaced", TABLE_TYPE, "new", old=old),
        pre_event(4, "create", TABLE_TYPE, "spare", new=state(TABLE_TYPE, "spare", inputs={"name": "Spare"})),
        summary(5, {"replace": 1, "create": 1, "same": 5}),
        {"sequence": 6, "timestamp": 1764183601, "cancelEvent": {}},
    ]


def play(events: list[Any], *, stdout: str = "Previewing update (dev)", code: int = 0, stderr: str = ""):
    """A handler that delivers ``events`` the way the CLI does for the ``--event-log`` it was given."""

    def handler(argv: list[str]) -> CommandResult:
        target = argv[argv.index("--event-log") + 1]
        lines = [e if isinstance(e, str) else json.dumps(e) for e in events]  # a str goes as is (a broken event)
        if target.startswith("tcp://"):
            with grpc.insecure_channel(target.removeprefix("tcp://")) as channel:
                stub = events_pb2_grpc.EventsStub(channel)
                stub.StreamEvents(iter([events_pb2.EventRequest(event=line) for line in lines]), timeout=10)
        else:
            Path(target).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return CommandResult(stdout=stdout, stderr=stderr, code=code)

    return handler


@pytest.fixture(params=["3.272.0", "3.200.0"], ids=["grpc-events", "event-log-file"])
def command(request: pytest.FixtureRequest) -> RecordingCommand:
    return RecordingCommand(version=request.param)


@pytest.fixture
def ws(tmp_path: Path, command: RecordingCommand) -> PulumiWorkspace:
    (tmp_path / "Pulumi.yaml").write_text("name: table-migration\nruntime: python\n")
    return PulumiWorkspace.open(stack=STACK, work_dir=tmp_path, command=command)


def test_preview_turns_resource_events_into_planned_changes(ws: PulumiWorkspace, command: RecordingCommand) -> None:
    command.reply("preview", handler=play(stage_four_events()))

    preview = ws.preview()

    argv = command.find("preview")[0]
    assert argv[:3] == ["preview", "--color", "never"] and argv[argv.index("--exec-kind") + 1] == "auto.local"
    assert argv[-2:] == ["--stack", STACK] and "--event-log" in argv
    assert [(c.name, c.op, c.retain_on_delete, c.physical_id) for c in preview.changes] == [
        ("legacy", "delete", True, "MyTable")
    ]
    assert preview.counts == {"delete": 1, "same": 6}
    # and every resource the preview stepped over is kept, a ``same`` step too (what the program declares)
    assert preview.resources == (urn(FUNCTION_TYPE, "hello-world"), urn(TABLE_TYPE, "legacy"))


def test_an_update_step_keeps_the_properties_it_changes() -> None:
    payload = pre_event(1, "update", TABLE_TYPE, "legacy", old=state(TABLE_TYPE, "legacy", id_="MyTable"))
    payload["resourcePreEvent"]["metadata"]["diffs"] = ["tags", "globalSecondaryIndexes"]

    change = planned_change(EngineEvent.from_json(payload))

    assert change is not None and change.diffs == ("tags", "globalSecondaryIndexes")


def test_the_guard_allows_the_planned_retain_of_the_previewed_legacy_table(
    ws: PulumiWorkspace, command: RecordingCommand
) -> None:
    command.reply("preview", handler=play(stage_four_events()))

    preview = ws.preview()

    check_preview(preview, allowed=[AllowedChange(TABLE_TYPE, "legacy", "retain")])
    with pytest.raises(GuardError, match="does not plan to drop DynamoDB table MyTable"):
        check_preview(preview, allowed=[])


def test_a_previewed_key_change_is_refused_by_the_guard(ws: PulumiWorkspace, command: RecordingCommand) -> None:
    command.reply("preview", handler=play(key_change_events()))

    preview = ws.preview()

    assert [c.op for c in preview.changes] == ["create-replacement", "replace", "delete-replaced", "create"]
    with pytest.raises(GuardError) as caught:
        check_preview(preview, allowed=[], stage="stage 3 (cutover)")
    text = str(caught.value)
    assert "does not plan to replace DynamoDB table MyNewTable (resource 'new')" in text
    assert "hashKey, attributes" in text
    assert "Spare" not in text


def test_a_failed_preview_is_our_error(ws: PulumiWorkspace, command: RecordingCommand) -> None:
    events = [{"sequence": 1, "timestamp": 1, "cancelEvent": {}}]
    command.reply("preview", handler=play(events, code=255, stdout="    error: could not load plugin aws"))

    with pytest.raises(PulumiError, match="could not preview stack dev: could not load plugin aws"):
        ws.preview()


def test_a_preview_without_a_summary_is_our_error(ws: PulumiWorkspace, command: RecordingCommand) -> None:
    events = [{"sequence": 1, "timestamp": 1, "cancelEvent": {}}]
    command.reply("preview", handler=play(events))

    with pytest.raises(PulumiError, match="ended without a result"):
        ws.preview()


def test_planned_change_reads_a_real_event_payload() -> None:
    event = EngineEvent.from_json(key_change_events()[1])

    change = planned_change(event)

    assert change is not None
    assert (change.type, change.name, change.op, change.kind) == (TABLE_TYPE, "new", "replace", "replace")
    assert change.physical_id == "MyNewTable"
    assert change.replace_keys == ("hashKey", "attributes")
    assert not change.retain_on_delete


def test_planned_change_ignores_same_steps_and_other_events() -> None:
    same, diagnostic = stage_four_events()[1], stage_four_events()[3]

    assert planned_change(EngineEvent.from_json(same)) is None
    assert planned_change(EngineEvent.from_json(diagnostic)) is None


def test_a_create_names_the_table_from_its_inputs() -> None:
    change = planned_change(EngineEvent.from_json(key_change_events()[3]))

    assert change is not None and (change.op, change.physical_id) == ("create", "Spare")


def test_the_guard_fails_closed_when_the_summary_counts_a_delete_it_never_saw(tmp_path: Path) -> None:
    # Given a stage 4 preview whose legacy-table event reaches the SDK broken: over gRPC the SDK turns
    # the parse error into a warning and goes on, so the event is lost while the summary still counts it
    command = RecordingCommand(version="3.272.0")
    (tmp_path / "Pulumi.yaml").write_text("name: table-migration\nruntime: python\n")
    ws = PulumiWorkspace.open(stack=STACK, work_dir=tmp_path, command=command)
    events: list[Any] = stage_four_events()
    events[2] = json.dumps(events[2])[:-40]  # cut short: not JSON any more
    command.reply("preview", handler=play(events))

    with pytest.warns(UserWarning, match="Failed to parse engine event"):
        preview = ws.preview()

    # then the guard refuses even what it would allow: it cannot tell which resource would go.
    assert preview.changes == () and preview.counts["delete"] == 1
    with pytest.raises(GuardError) as caught:
        check_preview(preview, allowed=[AllowedChange(TABLE_TYPE, "legacy", "retain")], stage="stage 4 (retire)")
    assert "counts 1 to delete (events for 0)" in str(caught.value)
    assert "an engine event was lost" in str(caught.value)


# --- plan: a temporary copy of the stack file -----------------------------------------------------

STACK_FILE = 'config:\n  aws:region: us-east-1\n  table-migration:stage: "2"\n  # kept as written\n'


def _flag(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_a_preview_with_config_runs_on_a_copy_and_never_writes_the_stack_file(tmp_path: Path) -> None:
    # Given a project whose stack file declares stage 2
    (tmp_path / "Pulumi.yaml").write_text("name: table-migration\nruntime: python\n")
    stack_file = tmp_path / f"Pulumi.{STACK}.yaml"
    stack_file.write_text(STACK_FILE)
    command = RecordingCommand()
    ws = PulumiWorkspace.open(stack=STACK, work_dir=tmp_path, command=command)
    copies: list[str] = []

    def set_all(argv: list[str]) -> CommandResult:
        copy = Path(_flag(argv, "--config-file") or "")
        copies.append(copy.read_text())
        copy.write_text(copy.read_text().replace('stage: "2"', 'stage: "3"'))  # what the CLI would do
        return CommandResult("", "", 0)

    def preview(argv: list[str]) -> CommandResult:
        copies.append(Path(_flag(argv, "--config-file") or "").read_text())
        return play(stage_four_events())(argv)

    command.reply("config", "set-all", handler=set_all)
    command.reply("preview", handler=preview)

    # when previewing stage 3 (what `migrate plan --stage 3` does)
    ws.preview(config={"stage": "3"})

    # then the values went into a copy of the stack file, the preview read that copy,
    (set_all_argv,) = command.find("config", "set-all")
    written = json.loads(_flag(set_all_argv, "--json") or "{}")
    assert written == {"table-migration:stage": {"value": "3", "secret": False}}
    assert _flag(set_all_argv, "--config-file") == _flag(command.find("preview")[0], "--config-file")
    assert copies[0] == STACK_FILE and 'stage: "3"' in copies[1]
    # no plan was saved for it, the copy is gone, and the stack file is byte-identical.
    assert "--save-plan" not in command.find("preview")[0]
    assert not Path(_flag(set_all_argv, "--config-file") or "").parent.exists()
    assert stack_file.read_text() == STACK_FILE


def test_a_plan_killed_mid_way_leaves_the_stack_file_byte_identical(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: table-migration\nruntime: python\n")
    stack_file = tmp_path / f"Pulumi.{STACK}.yaml"
    stack_file.write_bytes(STACK_FILE.encode())
    command = RecordingCommand()
    ws = PulumiWorkspace.open(stack=STACK, work_dir=tmp_path, command=command)
    command.reply("config", "set-all")

    def killed(argv: list[str]) -> CommandResult:
        raise KeyboardInterrupt  # Ctrl-C while the engine previews

    command.reply("preview", handler=killed)

    with pytest.raises(KeyboardInterrupt):
        ws.preview(config={"stage": "4"})

    assert stack_file.read_bytes() == STACK_FILE.encode()
    assert all("--config-file" in argv for argv in command.find("config"))


# --- update plans -----------------------------------------------------------------------------------

OUTPUTS = json.dumps({"stage": "4"})
HISTORY = json.dumps(
    [
        {
            "kind": "update",
            "startTime": "2026-11-26T19:00:00.000Z",
            "message": "",
            "environment": {},
            "config": {},
            "result": "succeeded",
            "version": 4,
            "resourceChanges": {},
        }
    ]
)


def _updating(command: RecordingCommand) -> None:
    command.reply("preview", handler=play(stage_four_events()))
    command.reply("up", stdout="Updating (dev)")
    command.reply("stack", "output", stdout=OUTPUTS)
    command.reply("stack", "history", stdout=HISTORY)
    command.reply("config", "set-all")


def test_the_update_is_held_to_the_plan_of_its_preview(tmp_path: Path) -> None:
    # Given a CLI whose update plans are out of preview
    (tmp_path / "Pulumi.yaml").write_text("name: table-migration\nruntime: python\n")
    command = RecordingCommand(version="3.272.0")
    ws = PulumiWorkspace.open(stack=STACK, work_dir=tmp_path, command=command)
    _updating(command)

    # when previewing, then updating
    ws.preview()
    ws.up()

    # then the preview saved a plan and the update ran with it; the plan is removed afterwards.
    plan = _flag(command.find("preview")[0], "--save-plan")
    assert plan and _flag(command.find("up")[0], "--plan") == plan
    assert not Path(plan).parent.exists()

    # and a config change after a preview drops its plan (it was made with the old config).
    ws.preview()
    ws.set_config({"stage": "4"})
    ws.up()
    assert "--plan" not in command.find("up")[1]


def test_an_older_cli_updates_without_a_plan(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: table-migration\nruntime: python\n")
    command = RecordingCommand(version="3.189.0")
    ws = PulumiWorkspace.open(stack=STACK, work_dir=tmp_path, command=command)
    _updating(command)

    ws.preview()
    ws.up()

    assert not ws.supports_update_plans()
    assert "--save-plan" not in command.find("preview")[0] and "--plan" not in command.find("up")[0]


@pytest.mark.parametrize("value", ["off", "0", "False"])
def test_update_plans_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    # Given a CLI with update plans, and the switch set
    (tmp_path / "Pulumi.yaml").write_text("name: table-migration\nruntime: python\n")
    command = RecordingCommand(version="3.190.0")
    ws = PulumiWorkspace.open(stack=STACK, work_dir=tmp_path, command=command)
    _updating(command)
    monkeypatch.setenv("TABLE_MIGRATION_UPDATE_PLANS", value)

    ws.preview()
    ws.up()

    # then neither the preview saves a plan nor the update is held to one
    assert not ws.supports_update_plans()
    assert "--save-plan" not in command.find("preview")[0] and "--plan" not in command.find("up")[0]
    # and without the switch the same CLI plans
    monkeypatch.setenv("TABLE_MIGRATION_UPDATE_PLANS", "on")
    assert ws.supports_update_plans()


def test_migrate_plan_passes_a_config_file_and_never_sets_config(tmp_path: Path) -> None:
    # Given a stack at stage 2 (done), behind the workspace adapter and a recording CLI
    (tmp_path / "Pulumi.yaml").write_text("name: table-migration\nruntime: python\n")
    stack_file = tmp_path / f"Pulumi.{STACK}.yaml"
    stack_file.write_text(STACK_FILE)
    command = RecordingCommand()
    config = {
        "aws:region": "us-east-1",
        "table-migration:stage": "2",
        "table-migration:legacyTable": json.dumps({"name": "MyTable", "partitionKey": {"name": "Name", "type": "S"}}),
        "table-migration:newTable": json.dumps({"name": "MyNewTable", "partitionKey": {"name": "UUID", "type": "S"}}),
        "table-migration:derive": json.dumps({"UUID": "uuid5(Name)"}),
        "table-migration:importSource": json.dumps({"bucket": "b", "keyPrefix": "t/data/", "itemCount": 3}),
    }
    command.reply("config", stdout=json.dumps({k: {"value": v, "secret": False} for k, v in config.items()}))
    command.reply("config", "set-all")
    command.reply("preview", handler=play(stage_four_events()))
    command.reply("stack", "export", stdout=json.dumps({"version": 3, "deployment": {"resources": []}}))
    ws = PulumiWorkspace.open(stack=STACK, work_dir=tmp_path, command=command)
    records = MemoryRecordStore()
    records.save("progress", {"completedStage": 2})

    # when `migrate plan --stage 4` runs
    plan = Migration(ws, records=records, lock_dir=tmp_path / "locks").plan(4)

    # then it previewed stage 4 on a copy of the stack file, and wrote no config at all.
    assert plan.preview_stage == 4 and plan.guard_refusal is None
    (preview,) = command.find("preview")
    assert "--config-file" in preview
    writes = [argv for argv in command.find("config") if argv[1:2] and argv[1] in ("set", "set-all", "rm", "rm-all")]
    assert writes and all("--config-file" in argv for argv in writes)
    assert stack_file.read_text() == STACK_FILE

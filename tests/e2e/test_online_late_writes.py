"""Late writes at the cutover, through the engine double: a slow writer never overwrites a newer write.

A slow invocation reads its item before the freeze and writes the legacy table only after the flip (a
slow downstream call outlived the in-flight wait). A fast writer, on the new table since the flip,
writes the same key. The replay of the legacy table's late writes must keep the newer write, keep both
images as a conflict, record stage 3, refuse stage 4 until the conflict is resolved with
``migrate conflicts``, and record the resolution.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from migrator.cli.app import app
from migrator.core.errors import DataError
from migrator.orchestrate.conflict_steps import Resolution
from migrator.orchestrate.migration import Migration
from migrator.orchestrate.stream_steps import StreamSteps
from tests.cli_result import exited
from tests.conftest import Moto
from tests.e2e.conftest import fast_data_plane, seed_legacy, stack_records
from tests.e2e.online_support import LEGACY, NEW, online_engine


def migration_of(engine: Any, moto: Moto, tmp_path: Any) -> Migration:
    return Migration(engine, aws=moto.settings, data=fast_data_plane(moto), lock_dir=tmp_path / "locks")


def u5(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def new_note(moto: Moto, name: str) -> str | None:
    item = moto.dynamodb.get_item(TableName=NEW, Key={"UUID": {"S": u5(name)}}, ConsistentRead=True).get("Item")
    return (item or {}).get("Note", {}).get("S")


def cut_over_with_a_slow_writer(moto: Moto, tmp_path: Any, monkeypatch: Any) -> tuple[Any, Any, str, str]:
    """Stages 0-2, then stage 3 with a slow writer and a fast writer to one key after the flip."""
    engine = online_engine(moto)
    engine.up()
    items = seed_legacy(moto.dynamodb, 20)
    migration_of(engine, moto, tmp_path).up(2)
    # moto's ImportTable keeps B values in a form a condition's equal value does not match (see README): the
    # late writes go to imported items without binary attributes.
    plain = [i["Name"]["S"] for i in items if not any(next(iter(v)) in ("B", "BS") for v in i.values())]
    slow, calm = plain[0], plain[1]
    # The slow invocation started before the freeze: it read its item then
    read = moto.dynamodb.get_item(TableName=LEGACY, Key={"Name": {"S": slow}}, ConsistentRead=True)["Item"]
    original = StreamSteps.legacy_writes

    def writes_after_the_flip(self: StreamSteps, run: Any) -> None:
        # the fast writer uses the new table since the flip and writes the key first
        moto.dynamodb.update_item(
            TableName=NEW,
            Key={"UUID": {"S": u5(slow)}},
            UpdateExpression="SET Note = :n",
            ExpressionAttributeValues={":n": {"S": "fast, newer"}},
        )
        # the slow invocation's write reaches the legacy table only now, and another one nobody overtook
        moto.dynamodb.put_item(TableName=LEGACY, Item={**read, "Note": {"S": "slow, older"}})
        moto.dynamodb.update_item(
            TableName=LEGACY,
            Key={"Name": {"S": calm}},
            UpdateExpression="SET Note = :n",
            ExpressionAttributeValues={":n": {"S": "late, alone"}},
        )
        original(self, run)

    monkeypatch.setattr(StreamSteps, "legacy_writes", writes_after_the_flip)
    result = migration_of(engine, moto, tmp_path).up(3)
    monkeypatch.setattr(StreamSteps, "legacy_writes", original)
    return engine, result, slow, calm


def test_a_slow_writer_after_the_flip_does_not_overwrite_a_newer_write(moto: Moto, tmp_path: Any, monkeypatch):
    # Given stage 3 with a slow and a fast writer to one key after the flip
    engine, result, slow, calm = cut_over_with_a_slow_writer(moto, tmp_path, monkeypatch)
    # Then the newer write is kept, the lone late write applied, and stage 3 is recorded with the conflict named
    assert new_note(moto, slow) == "fast, newer"
    assert new_note(moto, calm) == "late, alone"
    record = stack_records(moto, engine).load("progress")
    assert record["completedStage"] == 3
    assert result.open_conflicts == 1 and result.conflicts["keys"] == [{"UUID": u5(slow)}]
    assert any("migrate conflicts" in w for w in result.warnings)
    assert "1 conflict(s) open" in result.text()
    # and both images are kept in the export bucket
    listed = migration_of(engine, moto, tmp_path).conflicts()
    (conflict,) = listed.conflicts
    assert listed.location.startswith("s3://") and "replay-conflicts/" in listed.location
    assert conflict.late["Note"] == {"S": "slow, older"} and conflict.current["Note"] == {"S": "fast, newer"}
    # and status names it, with what to run next
    status = migration_of(engine, moto, tmp_path).status()
    assert "1 conflict(s) open" in status.text() and "migrate conflicts" in status.next_step

    # When stage 4 is asked for, it is refused (exit 1), naming the command
    with pytest.raises(DataError) as refused:
        migration_of(engine, moto, tmp_path).up(4)
    assert refused.value.exit_code == 1 and "migrate conflicts" in (refused.value.hint or "")
    assert stack_records(moto, engine).load("progress")["completedStage"] == 3

    # When the user keeps the new table's item, stage 4 proceeds, and the resolution is recorded
    done = migration_of(engine, moto, tmp_path).conflicts(Resolution("dropped", (conflict.id,)))
    assert [c.status for c in done.resolved] == ["dropped"] and done.open == ()
    assert new_note(moto, slow) == "fast, newer"
    log = stack_records(moto, engine).load("progress")["online"]["conflicts"]["log"]
    assert [(e["id"], e["action"]) for e in log] == [(conflict.id, "dropped")]
    assert migration_of(engine, moto, tmp_path).up(4).stage == 4


def test_applying_a_conflict_writes_the_late_image_and_the_cli_lists_and_resolves(
    moto: Moto, tmp_path: Any, monkeypatch: Any
) -> None:
    from typer.testing import CliRunner

    import migrator.cli.stack as cli_stack

    # Given a conflict at stage 3, and the CLI on the same stack
    engine, _, slow, _ = cut_over_with_a_slow_writer(moto, tmp_path, monkeypatch)
    monkeypatch.setattr(cli_stack, "open_stack", lambda *a, **k: engine)
    monkeypatch.setattr(cli_stack, "Migration", lambda port, **k: migration_of(port, moto, tmp_path))
    runner = CliRunner()
    # When listed: exit 1 while one is open, the key and both images shown
    listed = runner.invoke(app, ["conflicts", "--stack", engine.name])
    exited(listed, 1)
    assert u5(slow) in listed.stdout and "slow, older" in listed.stdout and "fast, newer" in listed.stdout
    # A mix that says two things is bad input, and changes nothing
    exited(runner.invoke(app, ["conflicts", "--apply", "--drop", "--all"]), 2)
    exited(runner.invoke(app, ["conflicts", "--apply", '{"UUID": "nope"}']), 2)
    # When applied by its key as JSON
    applied = runner.invoke(app, ["conflicts", "--apply", f'{{"UUID": "{u5(slow)}"}}'])
    exited(applied, 0)
    # Then the late image is in the new table and nothing is open
    assert new_note(moto, slow) == "slow, older"
    assert migration_of(engine, moto, tmp_path).conflicts().open == ()
    exited(runner.invoke(app, ["conflicts"]), 0)

"""A replay's rejects stay pending until their item maps cleanly or the user drops them.

The derive rule here reads a non-key attribute (``UUID = uuid5(Created)``), so a legacy item written
without it cannot be mapped: a reject. A second ``catch-up`` that finds no new record must not call
that "caught up".
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from typer.testing import CliRunner

import migrator.cli.stack as cli_stack
from migrator.cli.app import app
from migrator.orchestrate.migration import Migration
from tests.cli_result import exited
from tests.conftest import Moto
from tests.e2e.conftest import fast_data_plane, seed_legacy, stack_records
from tests.e2e.online_support import LEGACY, NEW, online_engine


def migration_of(engine: Any, moto: Moto, tmp_path: Any) -> Migration:
    return Migration(engine, aws=moto.settings, data=fast_data_plane(moto), lock_dir=tmp_path / "locks")


def in_new(moto: Moto, created: int) -> bool:
    key = {"UUID": {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, str(created)))}}
    return "Item" in moto.dynamodb.get_item(TableName=NEW, Key=key, ConsistentRead=True)


def test_a_reject_stays_pending_until_it_maps_cleanly_or_is_dropped(moto: Moto, tmp_path: Any, monkeypatch) -> None:
    # Given stage 2 done online with a derive rule on a non-key attribute
    engine = online_engine(moto, derive={"UUID": "uuid5(Created)"})
    engine.up()
    seed_legacy(moto.dynamodb, 10)
    migration_of(engine, moto, tmp_path).up(2)
    # and a legacy write the rule cannot map
    moto.dynamodb.put_item(TableName=LEGACY, Item={"Name": {"S": "no-created"}, "Note": {"S": "bad"}})
    first = migration_of(engine, moto, tmp_path).catch_up(timeout=20)
    assert not first.ok and first.pending_rejects["count"] == 1
    assert '{"Name": "no-created"}' in first.problem()

    # When catch-up runs again with no new write
    second = migration_of(engine, moto, tmp_path).catch_up(timeout=20)
    # Then it is still not "caught up": the reject is pending, its key named, and what to do
    assert second.catch_up["recordsReplayed"] == 0
    assert not second.ok and "no-created" in second.problem() and "--drop-reject" in second.problem()

    # When the item is fixed (it maps now) the next catch-up applies it and nothing is pending
    moto.dynamodb.put_item(TableName=LEGACY, Item={"Name": {"S": "no-created"}, "Created": {"N": "77"}})
    fixed = migration_of(engine, moto, tmp_path).catch_up(timeout=20)
    assert fixed.ok and in_new(moto, 77)
    assert migration_of(engine, moto, tmp_path).catch_up(timeout=20).ok

    # Given another reject, the documented command gives it up, recorded; catch-up is clean again
    moto.dynamodb.put_item(TableName=LEGACY, Item={"Name": {"S": "hopeless"}})
    monkeypatch.setattr(cli_stack, "open_stack", lambda *a, **k: engine)
    monkeypatch.setattr(cli_stack, "Migration", lambda port, **k: migration_of(port, moto, tmp_path))
    runner = CliRunner()
    pending = exited(runner.invoke(app, ["catch-up", "--json"]), 1)
    assert json.loads(pending.stdout)["pendingRejects"]["keys"][0]["key"] == {"Name": "hopeless"}
    exited(runner.invoke(app, ["catch-up", "--drop-reject", '{"Name": "nope"}']), 2)
    exited(runner.invoke(app, ["catch-up", "--drop-reject", '{"Name": "hopeless"}']), 0)
    dropped = stack_records(moto, engine).load("progress")["online"]["droppedRejects"]
    assert [d["key"] for d in dropped] == [{"Name": "hopeless"}]
    exited(runner.invoke(app, ["catch-up"]), 0)

"""Which resources are the migration's: the MigratingTable's children, by URN, under their new names and old.

- A stack made with 0.2's child names (``legacy``, ``new``, ``export-bucket``…) switches to the current
  program mid-migration: the aliases keep every table and the bucket (no create, delete or replace).
- A user's own table named ``new`` is not the migration's new table: going back never drops it.
- A program with two MigratingTables is refused before anything changes (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import migrator.cli.stack as cli_stack
from migrator.cli import app
from migrator.core.errors import GuardError
from tests.conftest import Moto
from tests.e2e.conftest import NEW, STACK, example_config, missing_from_new, moto_snapshot, seed_legacy
from tests.e2e.mock_engine import REPOSITORY, MockEngineStack, program_under_mocks
from tests.e2e.own_program import ORDERS_V2, migration_of, orders_config, own_stack, put_orders, write_program

OLD_NAMES = {"legacy", "new", "export-bucket", "export-bucket-public-access", "export-bucket-tls-only"}


def test_a_stack_made_with_the_old_child_names_keeps_its_tables_and_bucket(moto: Moto, tmp_path: Path) -> None:
    # Given the example stack taken to stage 2 by the program as 0.2 declared it (children "legacy", "new"…)
    project = write_program(tmp_path / "old", "from tests.e2e.old_names import main\n\nmain()\n")
    engine = MockEngineStack(STACK, example_config(moto.endpoint), program_under_mocks, work_dir=project)
    engine.up()
    items = seed_legacy(moto.dynamodb, 50)
    migration_of(engine, moto, tmp_path).up(2)
    assert {r.name for r in engine.resources()} >= OLD_NAMES
    snapshot = moto_snapshot(moto)

    # when the same stack runs the current program (children "table-legacy", "table-new"…, with aliases)
    engine.work_dir = REPOSITORY
    preview = engine.preview()

    # then the preview changes nothing but the TLS-only bucket policy, which the current program declares only
    # against AWS itself (an emulator can enforce it only as a Deny of every request) and which is retained:
    # every table, the bucket and its other settings are the same resources
    assert [(c.op, c.name, c.retain_on_delete) for c in preview.changes] == [
        ("delete", "export-bucket-tls-only", True)
    ], preview.summary_text()

    # and the migration finishes on it: the state holds the new names only, AWS lost nothing
    result = migration_of(engine, moto, tmp_path).up(4)
    names = {r.name for r in engine.resources()}
    assert {"table-new", "table-export-bucket", "table-export-bucket-public-access"} <= names
    assert not OLD_NAMES & names
    assert missing_from_new(moto.dynamodb, items) == ([], [])
    assert set(moto_snapshot(moto)["buckets"]) == set(snapshot["buckets"])
    assert result.report is not None and result.report.verify["live"].identical is True


USER_TABLE_PROGRAM = """
import pulumi
import pulumi_aws as aws
from migrator.program import MigratingTable

MigratingTable("orders")
if pulumi.Config("shop").get_bool("scratch"):
    # the user's own table, named like the migration's new one
    aws.dynamodb.Table(
        "new",
        name="Scratch",
        hash_key="Id",
        attributes=[aws.dynamodb.TableAttributeArgs(name="Id", type="S")],
        billing_mode="PAY_PER_REQUEST",
    )
"""


def test_a_user_s_table_named_new_is_never_dropped_with_the_migration_s_new_table(moto: Moto, tmp_path: Path) -> None:
    # Given a program with a MigratingTable at stage 2, and a table of the user's own named "new"
    project = write_program(tmp_path / "shop", USER_TABLE_PROGRAM)
    engine = own_stack(moto, project, {**orders_config(), "shop:scratch": "true"})
    engine.up()
    put_orders(moto.dynamodb, "Orders", 10)
    migration_of(engine, moto, tmp_path).up(2)
    moto.dynamodb.put_item(TableName="Scratch", Item={"Id": {"S": "keep me"}})

    # when that table leaves the program in the same update that goes back to stage 1 (which drops OrdersV2)
    engine.set_config({"shop:scratch": "false"})
    with pytest.raises(GuardError) as refused:
        migration_of(engine, moto, tmp_path).down(1)

    # then the guard refuses: going back may drop the migration's new table only, not the user's "new"
    assert "does not plan to delete DynamoDB table Scratch (resource 'new')" in str(refused.value)
    tables = moto.dynamodb.list_tables()["TableNames"]
    assert "Scratch" in tables and ORDERS_V2 in tables
    assert moto.dynamodb.get_item(TableName="Scratch", Key={"Id": {"S": "keep me"}}).get("Item")
    assert engine.get_config()["stage"] == "2"


TWO_COMPONENTS = """
from migrator.core.config import parse_config
from migrator.program import MigratingTable

MigratingTable("orders")
MigratingTable(
    "invoices",
    parse_config(
        {
            "aws:region": "us-east-1",
            "legacyTable": {"name": "Invoices", "partitionKey": {"name": "Id", "type": "S"}},
        }
    ),
)
"""


def test_a_program_with_two_migrating_tables_is_refused_before_anything_changes(
    moto: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a program that declares two MigratingTables
    project = write_program(tmp_path / "shop", TWO_COMPONENTS)
    engine = own_stack(moto, project, {**orders_config(), "endpoint": moto.endpoint})
    monkeypatch.setattr(cli_stack, "open_stack", lambda name, work_dir, *, create: engine)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    before = moto.dynamodb.list_tables()["TableNames"]

    # when `migrate up --stage 0` runs
    result = CliRunner().invoke(app, ["up", "--stage", "0", "--stack", "shop"])

    # then it exits 2 naming the limit, with nothing updated and no table made
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "declares 2 MigratingTables ('invoices', 'orders')" in result.stderr
    assert "one migration per stack" in result.stderr and "Traceback" not in result.stderr
    assert engine.updates == 0 and engine.resources() == []
    assert {t for t in moto.dynamodb.list_tables()["TableNames"] if t != "table-migration-records"} == set(before)
    assert NEW not in moto.dynamodb.list_tables()["TableNames"]

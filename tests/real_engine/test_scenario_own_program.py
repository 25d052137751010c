"""A user's own program on the real engine (README, "Migrating your own table"): a table made outside
Pulumi adopted with ``legacyTable.adopt``, and a top-level table moved under ``MigratingTable`` with
an alias. Each ends at stage 0 with the table in the state, under the component, and no diff after.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.real_engine.helpers import Project, RealEngine

pytestmark = pytest.mark.real_engine

MIGRATE = str(Path(sys.executable).with_name("migrate"))
TABLE = "aws:dynamodb/table:Table"

ADOPTING = """
from migrator.program import MigratingTable, load_config

MigratingTable("orders", load_config())
"""

TOP_LEVEL = """
import pulumi_aws as aws

aws.dynamodb.Table(
    "orders",
    name="AliasOrders",
    hash_key="Customer",
    range_key="Created",
    attributes=[
        aws.dynamodb.TableAttributeArgs(name="Customer", type="S"),
        aws.dynamodb.TableAttributeArgs(name="Created", type="N"),
    ],
    billing_mode="PAY_PER_REQUEST",
    tags={"team": "shop"},
)
"""

MOVED = """
import pulumi
from migrator.program import MigratingTable, load_config

MigratingTable(
    "orders",
    load_config(),
    legacy_aliases=[pulumi.Alias(name="orders", parent=pulumi.ROOT_STACK_RESOURCE)],
)
"""


def migrate(engine: RealEngine, project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    """``migrate ARGS --stack test --work-dir <project>``; fail the test unless it exits 0."""
    command = [MIGRATE, *args, "--stack", "test", "--work-dir", str(project.folder)]
    done = subprocess.run(command, env=engine.env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"migrate {' '.join(args)}: {done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


def legacy_entries(project: Project) -> list[dict]:
    return [r for r in project.state() if r["type"] == TABLE]


def test_a_table_made_outside_pulumi_is_adopted_with_its_index_and_tags_and_no_diff_after(
    real_engine: RealEngine,
) -> None:
    # given a table made outside Pulumi, with a global secondary index and tags
    real_engine.client("dynamodb").create_table(
        TableName="AdoptOrders",
        KeySchema=[{"AttributeName": "Customer", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "Customer", "AttributeType": "S"},
            {"AttributeName": "Status", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByStatus",
                "KeySchema": [{"AttributeName": "Status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "team", "Value": "shop"}],
    )
    project = real_engine.project("adopt", ADOPTING)
    # when the config is written from it with --adopt and stage 0 runs
    migrate(
        real_engine, project, "init", "--table", "AdoptOrders", "--adopt", "--new-name", "AdoptOrdersV2",
        "--partition-key", "Id:S", "--derive", "Id=uuid5(Customer)", "--json",
    )  # fmt: skip
    migrate(real_engine, project, "up", "--stage", "0", "--yes", "--json")

    # then the table is in the state under the component, with its index and tags, and nothing differs
    (entry,) = legacy_entries(project)
    assert entry["id"] == "AdoptOrders" and "MigratingTable$aws:dynamodb/table:Table" in entry["urn"]
    assert [g["name"] for g in entry["outputs"]["globalSecondaryIndexes"]] == ["ByStatus"]
    assert entry["outputs"]["tags"] == {"team": "shop"}
    assert project.preview() == {}


def test_a_top_level_table_moves_under_migrating_table_by_its_alias(real_engine: RealEngine) -> None:
    # given a program of the user's own that declares the table at the top level
    project = real_engine.project("aliases", TOP_LEVEL)
    project.up()
    (before,) = legacy_entries(project)
    # when the migration's config is written and the program declares MigratingTable with the alias
    migrate(
        real_engine, project, "init", "--table", "AliasOrders", "--new-name", "AliasOrdersV2",
        "--partition-key", "Id:S", "--derive", "Id=uuid5(Customer)", "--json",
    )  # fmt: skip
    project.write(MOVED)
    plan = migrate(real_engine, project, "plan", "--stage", "0", "--json")
    migrate(real_engine, project, "up", "--stage", "0", "--yes", "--json")

    # then the same table (same id, created when it was) is now the component's child, and nothing differs
    report = json.loads(plan.stdout)
    assert report["guard"]["ok"], report["guard"]
    table_ops = [c["op"] for c in report["preview"]["changes"] if c["type"] == TABLE]
    assert not {"create", "delete", "replace", "create-replacement", "delete-replaced"} & set(table_ops), table_ops
    (after,) = legacy_entries(project)
    assert after["id"] == before["id"] == "AliasOrders"
    assert after["urn"] != before["urn"] and "MigratingTable$aws:dynamodb/table:Table" in after["urn"]
    assert after.get("created") == before.get("created")
    assert after["protect"] is True
    assert project.preview() == {}

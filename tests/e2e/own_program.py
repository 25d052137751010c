"""A Pulumi program of the user's own for the end-to-end tests: a project folder, its stack on the double, items.

The double runs the folder's ``__main__.py`` as the engine runs a project's program, so each test writes
the program it needs (a plain table, the same table under a ``MigratingTable``, two components…).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from migrator.orchestrate.migration import Migration
from tests.conftest import Moto
from tests.e2e.conftest import fast_data_plane
from tests.e2e.mock_engine import MockEngineStack, program_under_mocks

TABLE = "aws:dynamodb/table:Table"
ORDERS = "Orders"
ORDERS_V2 = "OrdersV2"

# A table of the user's own program, as they declared it before the migration (top level, no component).
PLAIN_PROGRAM = """
import pulumi_aws as aws

aws.dynamodb.Table(
    "orders",
    name="Orders",
    hash_key="Customer",
    range_key="Created",
    attributes=[
        aws.dynamodb.TableAttributeArgs(name="Customer", type="S"),
        aws.dynamodb.TableAttributeArgs(name="Created", type="N"),
        aws.dynamodb.TableAttributeArgs(name="Status", type="S"),
    ],
    billing_mode="PAY_PER_REQUEST",
    global_secondary_indexes=[
        aws.dynamodb.TableGlobalSecondaryIndexArgs(
            name="ByStatus",
            key_schemas=[aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name="Status", key_type="HASH")],
            projection_type="INCLUDE",
            non_key_attributes=["Total"],
        )
    ],
    tags={"team": "shop"},
    ttl=aws.dynamodb.TableTtlArgs(attribute_name="ExpiresAt", enabled=True),
    deletion_protection_enabled=True,
)
"""

# The same table, now under a MigratingTable; the alias names where it was.
COMPONENT_PROGRAM = """
import pulumi
from migrator.program import MigratingTable

orders = MigratingTable("orders", legacy_aliases=[pulumi.Alias(name="orders", parent=pulumi.ROOT_STACK_RESOURCE)])
pulumi.export("ordersTable", orders.active_table_name)
"""


def orders_config(**legacy: Any) -> dict[str, Any]:
    """The stack config that describes the plain program's table, and its migration to OrdersV2."""
    return {
        "aws:region": "us-east-1",
        "stage": "0",
        # The plain program has no writer function to freeze at cutover: it migrates offline.
        "online": False,
        "legacyTable": {
            "name": ORDERS,
            "partitionKey": {"name": "Customer", "type": "S"},
            "sortKey": {"name": "Created", "type": "N"},
            "globalSecondaryIndexes": [
                {
                    "name": "ByStatus",
                    "partitionKey": {"name": "Status", "type": "S"},
                    "projection": {"include": ["Total"]},
                }
            ],
            "tags": {"team": "shop"},
            "ttlAttribute": "ExpiresAt",
            "deletionProtection": True,
            **legacy,
        },
        "newTable": {
            "name": ORDERS_V2,
            "partitionKey": {"name": "OrderId", "type": "S"},
            "sortKey": {"name": "Created", "type": "N"},
        },
        "derive": {"OrderId": "uuid5(Customer)"},
    }


def order(i: int) -> dict[str, Any]:
    """Order ``i`` in DynamoDB JSON; every one has a Status (the index's key) and a Total."""
    return {
        "Customer": {"S": f"customer-{i % 7}"},
        "Created": {"N": str(1_700_000_000 + i)},
        "Status": {"S": ("open", "paid", "shipped")[i % 3]},
        "Total": {"N": str(i * 3)},
        "Note": {"S": f"order {i}"},
    }


def put_orders(dynamodb: Any, table: str, count: int) -> list[dict[str, Any]]:
    """Write ``count`` orders to ``table``."""
    items = [order(i) for i in range(count)]
    for item in items:
        dynamodb.put_item(TableName=table, Item=item)
    return items


def write_program(project: Path, source: str) -> Path:
    """Make ``project`` a Pulumi project whose program is ``source``."""
    project.mkdir(parents=True, exist_ok=True)
    (project / "Pulumi.yaml").write_text("name: shop\nruntime: python\n")
    (project / "__main__.py").write_text(textwrap.dedent(source))
    return project


def own_stack(moto: Moto, project: Path, config: dict[str, Any], name: str = "shop") -> MockEngineStack:
    """The double running ``project``'s program; it talks to moto whatever the config says."""
    return MockEngineStack(name, config, program_under_mocks, work_dir=project, settings=moto.settings)


def migration_of(engine: MockEngineStack, moto: Moto, tmp_path: Path, lines: list[str] | None = None) -> Migration:
    """A Migration of ``engine``'s stack on moto (a new one per call, as a new process would be)."""
    say: Callable[[str], None] = lines.append if lines is not None else (lambda _m: None)
    return Migration(engine, aws=moto.settings, progress=say, data=fast_data_plane(moto), lock_dir=tmp_path / "locks")


def table_steps(preview: Any) -> list[tuple[str, str]]:
    """(resource name, op) of every step of a preview on a DynamoDB table."""
    return [(c.name, c.op) for c in preview.changes if c.type == TABLE]


def index_names(dynamodb: Any, table: str) -> set[str]:
    """The secondary indexes ``table`` has in moto."""
    described = dynamodb.describe_table(TableName=table)["Table"]
    return {i["IndexName"] for i in (described.get("GlobalSecondaryIndexes") or [])} | {
        i["IndexName"] for i in (described.get("LocalSecondaryIndexes") or [])
    }

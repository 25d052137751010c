"""The README's whole example program ("Migrating your own table") runs, and declares what the README says."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.stack.harness import Recorded, run_program

README = Path(__file__).resolve().parents[2] / "README.md"
FUNCTION = "aws:lambda/function:Function"


def readme_program() -> str:
    """The Python block that follows "A whole program" in the README."""
    text = README.read_text(encoding="utf-8")
    start = text.index("A whole program (`__main__.py`")
    match = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert match is not None
    return match.group(1)


def config() -> dict[str, Any]:
    return {
        "aws:region": "eu-west-1",
        "legacyTable": {
            "name": "Orders",
            "partitionKey": {"name": "Customer", "type": "S"},
            "sortKey": {"name": "Created", "type": "N"},
            "billing": {"mode": "PROVISIONED", "read": 5, "write": 5},
        },
        "newTable": {
            "name": "OrdersV2",
            "partitionKey": {"name": "OrderId", "type": "S"},
            "sortKey": {"name": "Created", "type": "N"},
        },
        "derive": {"OrderId": "uuid5(Customer)"},
        "importSource": {"bucket": "b", "keyPrefix": "t/data/", "compression": "GZIP", "itemCount": 1},
    }


def run(stage: int) -> Recorded:
    source = readme_program()
    return run_program(config(), stage, program=lambda: exec(compile(source, "README.md", "exec"), {}))  # noqa: S102


@pytest.mark.parametrize(("stage", "active", "granted"), [(0, "Orders", 1), (2, "Orders", 2), (3, "OrdersV2", 2)])
def test_the_readme_program_wires_both_consumers_to_the_active_table(stage: int, active: str, granted: int) -> None:
    recorded = run(stage)

    for name in ("api", "worker"):
        variables = recorded.one(name, type=FUNCTION).inputs["environment"]["variables"]
        assert variables["TABLE_NAME"] == active
        assert variables["PARTITION_KEY"] == ("OrderId" if stage >= 3 else "Customer")
        policy = json.loads(recorded.one(f"{name}-tables").inputs["policy"])
        assert len(policy["Statement"][0]["Resource"]) == 2 * granted  # each table and its indexes
    assert recorded.outputs["ordersTable"] == active


def test_the_readme_program_keeps_the_table_s_identity_and_its_options() -> None:
    legacy = run(0).one("orders-legacy")

    assert {"name": "orders", "type": "", "stack": "", "project": "", "parentUrn": "", "noParent": True} in (
        legacy.aliases
    )
    assert legacy.ignore_changes == ("readCapacity", "writeCapacity")
    assert (legacy.protect, legacy.retain_on_delete) == (True, True)
